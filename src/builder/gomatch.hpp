// SPDX-License-Identifier: Apache-2.0
// Go's path/filepath.Match on Linux, reproduced exactly (including which malformed patterns are
// reported: only the chunks examined before the first mismatch are syntax-checked, as in Go).
#pragma once

#include <string_view>

#include "common/result.hpp"

namespace berth::builder {

// Errc::InvalidArgument "syntax error in pattern" for malformed patterns.
Result<bool> go_filepath_match(std::string_view pattern, std::string_view name);

}  // namespace berth::builder
