// SPDX-License-Identifier: Apache-2.0
// Small UTF-8 / Go-compatible character helpers shared by the Dockerfile front end.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace berth::builder::dockerfile::utf8 {

constexpr char32_t kRuneError = 0xFFFD;
constexpr char32_t kEof = static_cast<char32_t>(-1);

struct Decoded {
  char32_t rune;
  std::size_t width;
};

// Decodes the rune at s[pos] the way Go does: invalid bytes give (U+FFFD, 1).
Decoded decode(std::string_view s, std::size_t pos);
void append(std::string& out, char32_t r);
// unicode.IsSpace
bool is_space(char32_t r);
// unicode.IsLetter / IsDigit (ASCII exact; non-ASCII approximated as letters)
bool is_letter(char32_t r);
bool is_digit(char32_t r);
// strings.TrimSpace / TrimLeftFunc(IsSpace)
std::string_view trim_space(std::string_view s);
std::string_view trim_left_space(std::string_view s);
// strconv.Quote
std::string go_quote(std::string_view s);

}  // namespace berth::builder::dockerfile::utf8
