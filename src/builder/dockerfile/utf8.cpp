// SPDX-License-Identifier: Apache-2.0
#include "builder/dockerfile/utf8.hpp"

#include <cstdio>

namespace berth::builder::dockerfile::utf8 {

Decoded decode(std::string_view s, std::size_t pos) {
  auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char c = b(pos);
  if (c < 0x80) return {c, 1};
  std::size_t n = s.size() - pos;
  auto cont = [&](std::size_t i) { return pos + i < s.size() && (b(pos + i) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) {
    if (n >= 2 && cont(1)) return {static_cast<char32_t>(((c & 0x1F) << 6) | (b(pos + 1) & 0x3F)), 2};
  } else if (c >= 0xE0 && c <= 0xEF) {
    if (n >= 3 && cont(1) && cont(2)) {
      char32_t r = ((c & 0x0F) << 12) | ((b(pos + 1) & 0x3F) << 6) | (b(pos + 2) & 0x3F);
      if (r >= 0x800 && !(r >= 0xD800 && r <= 0xDFFF)) return {r, 3};
    }
  } else if (c >= 0xF0 && c <= 0xF4) {
    if (n >= 4 && cont(1) && cont(2) && cont(3)) {
      char32_t r = ((c & 0x07) << 18) | ((b(pos + 1) & 0x3F) << 12) | ((b(pos + 2) & 0x3F) << 6) |
                   (b(pos + 3) & 0x3F);
      if (r >= 0x10000 && r <= 0x10FFFF) return {r, 4};
    }
  }
  return {kRuneError, 1};
}

void append(std::string& out, char32_t r) {
  if (r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) r = kRuneError;
  if (r < 0x80) {
    out.push_back(static_cast<char>(r));
  } else if (r < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (r >> 6)));
    out.push_back(static_cast<char>(0x80 | (r & 0x3F)));
  } else if (r < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (r >> 12)));
    out.push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (r & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (r >> 18)));
    out.push_back(static_cast<char>(0x80 | ((r >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (r & 0x3F)));
  }
}

bool is_space(char32_t r) {
  switch (r) {
    case '\t': case '\n': case '\v': case '\f': case '\r': case ' ': case 0x85: case 0xA0:
    case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return r >= 0x2000 && r <= 0x200A;
  }
}

namespace {
struct Range {
  char32_t lo, hi;
};
// Decimal digit (Nd) blocks outside ASCII that commonly occur.
constexpr Range kDigits[] = {{0x660, 0x669}, {0x6F0, 0x6F9}, {0x7C0, 0x7C9}, {0x966, 0x96F}, {0x9E6, 0x9EF},
                             {0xA66, 0xA6F}, {0xAE6, 0xAEF}, {0xB66, 0xB6F}, {0xBE6, 0xBEF}, {0xC66, 0xC6F},
                             {0xCE6, 0xCEF}, {0xD66, 0xD6F}, {0xE50, 0xE59}, {0xED0, 0xED9}, {0xF20, 0xF29},
                             {0x1040, 0x1049}, {0x17E0, 0x17E9}, {0x1810, 0x1819}, {0xFF10, 0xFF19},
                             {0x1D7CE, 0x1D7FF}};
// Blocks that hold no letters (marks, punctuation, symbols, numbers, emoji, private use),
// with the letters inside them listed in kLetterExceptions.
constexpr Range kNonLetters[] = {{0x300, 0x36F},   {0x2000, 0x2BFF}, {0x2E00, 0x2FFF}, {0x3000, 0x303F},
                                 {0xD800, 0xF8FF}, {0xFE00, 0xFE6F}, {0xFF00, 0xFF20}, {0xFF3B, 0xFF40},
                                 {0xFF5B, 0xFF65}, {0xFFF0, 0xFFFF}, {0x1F000, 0x1FAFF}, {0xE0000, 0x10FFFF}};
constexpr Range kLetterExceptions[] = {{0x2071, 0x2071}, {0x207F, 0x207F}, {0x2090, 0x209C}, {0x2102, 0x2102},
                                       {0x2107, 0x2107}, {0x210A, 0x2113}, {0x2115, 0x2115}, {0x2119, 0x211D},
                                       {0x2124, 0x2124}, {0x2126, 0x2126}, {0x2128, 0x2128}, {0x212A, 0x212D},
                                       {0x212F, 0x2139}, {0x213C, 0x213F}, {0x2145, 0x2149}, {0x214E, 0x214E},
                                       {0x2183, 0x2184}, {0x2C00, 0x2CE4}, {0x3005, 0x3006}, {0x3031, 0x3035},
                                       {0x303B, 0x303C}};
template <std::size_t N>
bool in(const Range (&t)[N], char32_t r) {
  for (const auto& x : t) {
    if (r >= x.lo && r <= x.hi) return true;
  }
  return false;
}
}  // namespace

bool is_digit(char32_t r) {
  if (r < 0x80) return r >= '0' && r <= '9';
  return in(kDigits, r);
}

// unicode.IsLetter, exact for ASCII/Latin-1, approximated by blocks elsewhere.
bool is_letter(char32_t r) {
  if (r < 0x80) return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z');
  if (r == kRuneError || is_space(r)) return false;
  if (r < 0xC0) return r == 0xAA || r == 0xB5 || r == 0xBA;
  if (r == 0xD7 || r == 0xF7) return false;
  if (in(kLetterExceptions, r)) return true;
  if (in(kNonLetters, r) || in(kDigits, r)) return false;
  return true;
}

std::string_view trim_left_space(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto d = decode(s, i);
    if (!is_space(d.rune)) break;
    i += d.width;
  }
  return s.substr(i);
}

std::string_view trim_space(std::string_view s) {
  s = trim_left_space(s);
  // Trim from the right: walk back over whole runes.
  while (!s.empty()) {
    std::size_t start = s.size() - 1;
    while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80 && s.size() - start < 4) {
      --start;
    }
    auto d = decode(s, start);
    if (start + d.width != s.size()) {
      start = s.size() - 1;
      d = decode(s, start);
    }
    if (!is_space(d.rune) || d.width != s.size() - start) break;
    s = s.substr(0, start);
  }
  return s;
}

namespace {
bool is_print(char32_t r) {
  if (r < 0x20 || r == 0x7F) return false;
  if (r < 0x7F) return true;
  if (r <= 0xA0 || r == 0xAD) return false;
  if (r == 0x1680 || (r >= 0x2000 && r <= 0x200F) || (r >= 0x2028 && r <= 0x202F) ||
      (r >= 0x205F && r <= 0x206F) || r == 0x3000 || r == 0xFEFF || (r >= 0xFFF9 && r <= 0xFFFB) ||
      r == 0xFFFE || r == 0xFFFF || (r >= 0xD800 && r <= 0xF8FF) || (r >= 0x600 && r <= 0x605) ||
      r == 0x61C || r == 0x6DD || r == 0x70F || r == 0x180E || (r >= 0xE0000 && r <= 0xE007F) ||
      r >= 0xF0000) {
    return false;
  }
  return true;
}
}  // namespace

std::string go_quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  char buf[16];
  for (std::size_t i = 0; i < s.size();) {
    auto d = decode(s, i);
    if (d.rune == kRuneError && d.width == 1) {
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(s[i]));
      out += buf;
      i += 1;
      continue;
    }
    char32_t r = d.rune;
    i += d.width;
    if (r == '"' || r == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(r));
    } else if (is_print(r)) {
      append(out, r);
    } else {
      switch (r) {
        case '\a': out += "\\a"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\v': out += "\\v"; break;
        default:
          if (r < ' ' || r == 0x7F) {
            std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(r));
          } else if (r < 0x10000) {
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(r));
          } else {
            std::snprintf(buf, sizeof buf, "\\U%08x", static_cast<unsigned>(r));
          }
          out += buf;
      }
    }
  }
  out.push_back('"');
  return out;
}

}  // namespace berth::builder::dockerfile::utf8
