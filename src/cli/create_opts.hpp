// SPDX-License-Identifier: Apache-2.0
// `run`/`create` flags and the ContainerCreate body built from them: byte for byte the JSON the
// docker CLI (28.x) sends for the same flags (see testdata/*.json, captured from docker).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>  // CreateRequest holds a Json; cli-internal header

#include "cli/flags.hpp"
#include "cli/template.hpp"
#include "common/result.hpp"

namespace berth::cli {

std::vector<FlagSpec> container_create_flags(bool for_run);

struct CreateRequest {
  Json body;          // POST /containers/create body
  std::string name;   // ?name=
  std::string platform;
  std::string image;
  bool tty = false, interactive = false, detach = false, auto_remove = false;
  std::string detach_keys;
  std::string pull = "missing";  // always|missing|never
  std::string cidfile;
};

// args = [IMAGE, CMD...]; for_run: `run` semantics (-d controls attaching).
Result<CreateRequest> build_create_request(const ParsedFlags& f, bool for_run);

}  // namespace berth::cli
