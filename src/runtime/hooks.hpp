// SPDX-License-Identifier: Apache-2.0
// OCI hooks: each hook is executed with the container state JSON on stdin, its own args/env, and
// killed when its timeout expires.
#pragma once

#include <string>
#include <vector>

#include "common/result.hpp"
#include "runtime/spec.hpp"

namespace berth::runtime {

// Runs the hooks in order; the first failure stops and is returned ("<kind> hook #i: ...").
Status run_hooks(const std::vector<Hook>& hooks, const std::string& kind, const std::string& state_json);

}  // namespace berth::runtime
