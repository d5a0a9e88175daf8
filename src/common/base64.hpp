// SPDX-License-Identifier: Apache-2.0
// Base64 (RFC 4648): the standard and the URL-safe alphabets.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace berth {

// url: '-' and '_' instead of '+' and '/'; pad: '=' up to a multiple of 4.
std::string base64_encode(std::string_view in, bool url = false, bool pad = true);
// Accepts both alphabets, with or without padding; nullopt on any other character.
std::optional<std::string> base64_decode(std::string_view in);

}  // namespace berth
