// SPDX-License-Identifier: Apache-2.0
#include "builder/gomatch.hpp"

#include "builder/dockerfile/utf8.hpp"

namespace berth::builder {

namespace {

namespace u8 = dockerfile::utf8;

struct Chunk {
  bool star;
  std::string_view chunk;
  std::string_view rest;
};

Chunk scan_chunk(std::string_view p) {
  bool star = false;
  while (!p.empty() && p[0] == '*') {
    p.remove_prefix(1);
    star = true;
  }
  bool inrange = false;
  std::size_t i = 0;
  for (; i < p.size(); ++i) {
    char c = p[i];
    if (c == '\\') {
      if (i + 1 < p.size()) ++i;
    } else if (c == '[') {
      inrange = true;
    } else if (c == ']') {
      inrange = false;
    } else if (c == '*' && !inrange) {
      break;
    }
  }
  return {star, p.substr(0, i), p.substr(i)};
}

// false = ErrBadPattern
bool get_esc(std::string_view& chunk, char32_t& r) {
  if (chunk.empty() || chunk[0] == '-' || chunk[0] == ']') return false;
  if (chunk[0] == '\\') {
    chunk.remove_prefix(1);
    if (chunk.empty()) return false;
  }
  auto d = u8::decode(chunk, 0);
  r = d.rune;
  bool bad = d.rune == u8::kRuneError && d.width == 1;
  chunk.remove_prefix(d.width);
  if (chunk.empty()) bad = true;
  return !bad;
}

struct ChunkResult {
  std::string_view rest;
  bool ok;
  bool bad;
};

ChunkResult match_chunk(std::string_view chunk, std::string_view s) {
  bool failed = false;
  while (!chunk.empty()) {
    if (!failed && s.empty()) failed = true;
    switch (chunk[0]) {
      case '[': {
        char32_t r = 0;
        if (!failed) {
          auto d = u8::decode(s, 0);
          r = d.rune;
          s.remove_prefix(d.width);
        }
        chunk.remove_prefix(1);
        bool negated = false;
        if (!chunk.empty() && chunk[0] == '^') {
          negated = true;
          chunk.remove_prefix(1);
        }
        bool match = false;
        int nrange = 0;
        for (;;) {
          if (!chunk.empty() && chunk[0] == ']' && nrange > 0) {
            chunk.remove_prefix(1);
            break;
          }
          char32_t lo = 0, hi = 0;
          if (!get_esc(chunk, lo)) return {{}, false, true};
          hi = lo;
          if (chunk[0] == '-') {
            chunk.remove_prefix(1);
            if (!get_esc(chunk, hi)) return {{}, false, true};
          }
          if (lo <= r && r <= hi) match = true;
          ++nrange;
        }
        if (match == negated) failed = true;
        break;
      }
      case '?':
        if (!failed) {
          if (s[0] == '/') failed = true;
          auto d = u8::decode(s, 0);
          s.remove_prefix(d.width);
        }
        chunk.remove_prefix(1);
        break;
      case '\\':
        chunk.remove_prefix(1);
        if (chunk.empty()) return {{}, false, true};
        [[fallthrough]];
      default:
        if (!failed) {
          if (chunk[0] != s[0]) failed = true;
          s.remove_prefix(1);
        }
        chunk.remove_prefix(1);
    }
  }
  if (failed) return {{}, false, false};
  return {s, true, false};
}

}  // namespace

Result<bool> go_filepath_match(std::string_view pattern, std::string_view name) {
  auto bad = [] { return fail(Errc::InvalidArgument, "syntax error in pattern"); };
  while (!pattern.empty()) {
    auto c = scan_chunk(pattern);
    pattern = c.rest;
    if (c.star && c.chunk.empty()) return name.find('/') == std::string_view::npos;
    auto m = match_chunk(c.chunk, name);
    if (m.ok && (m.rest.empty() || !pattern.empty())) {
      name = m.rest;
      continue;
    }
    if (m.bad) return bad();
    bool advanced = false;
    if (c.star) {
      for (std::size_t i = 0; i < name.size() && name[i] != '/'; ++i) {
        auto t = match_chunk(c.chunk, name.substr(i + 1));
        if (t.ok) {
          if (pattern.empty() && !t.rest.empty()) continue;
          name = t.rest;
          advanced = true;
          break;
        }
        if (t.bad) return bad();
      }
    }
    if (!advanced) return false;
  }
  return name.empty();
}

}  // namespace berth::builder
