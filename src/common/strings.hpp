// SPDX-License-Identifier: Apache-2.0
// Small string helpers used everywhere.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth {

std::vector<std::string> split(std::string_view s, char sep);
// Splits at the first `sep`; {s, ""} when absent.
std::pair<std::string_view, std::string_view> split_once(std::string_view s, char sep);
std::string_view trim(std::string_view s);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
std::string to_lower(std::string_view s);
std::string to_upper(std::string_view s);  // ASCII only, like to_lower
// Escapes for inclusion inside a JSON string literal (no surrounding quotes).
std::string json_escape(std::string_view s);
std::optional<std::int64_t> parse_int(std::string_view s);
std::optional<std::uint64_t> parse_uint(std::string_view s);
// "512k", "1.5g", "100m", "1024" -> bytes (binary units, as docker's RAMInBytes).
std::optional<std::int64_t> parse_bytes(std::string_view s);
// 1536 -> "1.5kB" (decimal units, as docker's HumanSize).
std::string human_size(double bytes);
std::string hex_encode(const unsigned char* data, std::size_t n);
// Random lowercase hex string of n characters (from getrandom).
std::string random_hex(std::size_t n);

}  // namespace berth
