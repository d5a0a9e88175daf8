// SPDX-License-Identifier: Apache-2.0
// OCI image-spec / Docker image types: descriptors, manifests, indexes, image configs (with
// Docker's container config fields) and platforms. JSON lives in image.cpp (nlohmann stays out
// of this header); parse_* never throw and keep the raw bytes authoritative: digests are always
// computed over the bytes received, never over a re-serialization.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/digest.hpp"
#include "common/result.hpp"

namespace berth::oci {

struct Platform {
  std::string os = "linux";
  std::string architecture;
  std::string variant;
  std::string os_version;
  std::string str() const;  // "linux/arm64/v8"
};

// "linux", "linux/amd64", "linux/arm/v7", "amd64" (os defaults to linux). Normalizes
// architecture aliases (x86_64 -> amd64, aarch64 -> arm64, armhf -> arm/v7, ...).
Result<Platform> parse_platform(std::string_view s);
Platform normalize_platform(Platform p);
// The platform of this host (runtime uname + build arch).
Platform host_platform();
// True when `have` (from an index) can run on `want` (variants: an empty wanted variant
// matches any; arm64 "v8" equals an empty variant).
bool platform_matches(const Platform& want, const Platform& have);

struct Descriptor {
  std::string media_type;
  Digest digest;
  std::int64_t size = 0;
  std::vector<std::string> urls;
  std::map<std::string, std::string> annotations;
  std::optional<Platform> platform;
};

struct Manifest {
  int schema_version = 2;
  std::string media_type;
  Descriptor config;
  std::vector<Descriptor> layers;
  std::map<std::string, std::string> annotations;
};

struct Index {
  int schema_version = 2;
  std::string media_type;
  std::vector<Descriptor> manifests;
  std::map<std::string, std::string> annotations;
};

struct Healthcheck {
  std::vector<std::string> test;
  std::int64_t interval = 0, timeout = 0, start_period = 0, start_interval = 0;  // ns
  int retries = 0;
};

// The "config" object of an image config (Docker's container.Config subset images carry).
struct ContainerConfig {
  std::string user;
  std::vector<std::string> exposed_ports;  // "80/tcp"
  std::vector<std::string> env;
  std::optional<std::vector<std::string>> entrypoint;
  std::optional<std::vector<std::string>> cmd;
  std::vector<std::string> volumes;
  std::string working_dir;
  std::map<std::string, std::string> labels;
  std::string stop_signal;
  std::optional<int> stop_timeout;
  std::optional<Healthcheck> healthcheck;
  std::vector<std::string> on_build;
  std::vector<std::string> shell;
  bool args_escaped = false;
};

struct HistoryEntry {
  std::string created;  // RFC 3339
  std::string created_by;
  std::string author;
  std::string comment;
  bool empty_layer = false;
};

struct ImageConfig {
  std::string created;
  std::string author;
  std::string architecture;
  std::string os;
  std::string variant;
  std::string os_version;
  ContainerConfig config;
  std::vector<Digest> diff_ids;
  std::vector<HistoryEntry> history;
  // Docker-only top-level fields kept for inspect.
  std::string docker_version;
  std::string comment;
  std::string parent;  // legacy "parent" image id
};

Result<Descriptor> parse_descriptor(std::string_view json);
Result<Manifest> parse_manifest(std::string_view json);
Result<Index> parse_index(std::string_view json);
Result<ImageConfig> parse_image_config(std::string_view json);
// The "mediaType" field of a manifest/index document ("" when absent); schemaVersion 1 documents
// yield the schema1 media type.
Result<std::string> sniff_media_type(std::string_view json);

std::string to_json(const Descriptor& d);
std::string to_json(const Manifest& m);
std::string to_json(const Index& i);
std::string to_json(const ImageConfig& c);
// Docker's API shape of a container config ("Env", "Cmd", ... with Docker's capitalization).
std::string container_config_to_docker_json(const ContainerConfig& c);
Result<ContainerConfig> parse_docker_container_config(std::string_view json);

}  // namespace berth::oci
