// SPDX-License-Identifier: Apache-2.0
#include "builder/dockerignore.hpp"

#include <optional>

#include "builder/dockerfile/utf8.hpp"

namespace berth::builder {

std::string go_clean_path(std::string_view p) {
  if (p.empty()) return ".";
  bool rooted = p[0] == '/';
  std::vector<std::string_view> out;
  std::size_t dotdot = 0;  // number of leading ".." kept (non-rooted)
  std::size_t i = 0;
  while (i < p.size()) {
    std::size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    std::string_view el = p.substr(i, j - i);
    i = j + 1;
    if (el.empty() || el == ".") continue;
    if (el == "..") {
      if (out.size() > dotdot) {
        out.pop_back();
      } else if (!rooted) {
        out.push_back(el);
        dotdot++;
      }
      continue;
    }
    out.push_back(el);
  }
  std::string r = rooted ? "/" : "";
  for (std::size_t k = 0; k < out.size(); ++k) {
    if (k) r += '/';
    r += out[k];
  }
  if (r.empty()) return ".";
  return r;
}

namespace {

std::string go_dir(std::string_view p) {
  auto slash = p.rfind('/');
  std::string_view d = slash == std::string_view::npos ? std::string_view() : p.substr(0, slash + 1);
  return go_clean_path(d);
}

// Syntax check equivalent to Go's filepath.Match(pattern, ".") returning ErrBadPattern.
bool valid_go_pattern(std::string_view p) {
  for (std::size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '\\') {
      if (++i >= p.size()) return false;
      continue;
    }
    if (c != '[') continue;
    ++i;
    if (i < p.size() && p[i] == '^') ++i;
    int nrange = 0;
    for (;;) {
      if (i < p.size() && p[i] == ']' && nrange > 0) break;
      // lo
      auto get_esc = [&](std::size_t& k) -> bool {
        if (k >= p.size() || p[k] == '-' || p[k] == ']') return false;
        if (p[k] == '\\') {
          ++k;
          if (k >= p.size()) return false;
        }
        auto d = dockerfile::utf8::decode(p, k);
        k += d.width;
        return true;
      };
      if (!get_esc(i)) return false;
      if (i < p.size() && p[i] == '-') {
        ++i;
        if (!get_esc(i)) return false;
      }
      ++nrange;
      if (i >= p.size()) return false;
    }
  }
  return true;
}

enum class MatchType { Exact, Prefix, Suffix, Regexp };

// The regular expression patternmatcher would build, as tokens matched over runes.
struct Tok {
  enum Kind { Lit, AnyNoSlash, StarNoSlash, DotStar, OptDirs, Class } kind;
  char32_t r = 0;
  bool negated = false;
  std::vector<std::pair<char32_t, char32_t>> ranges;
};

struct Pattern {
  std::string cleaned;
  bool exclusion = false;
  MatchType type = MatchType::Exact;
  std::vector<Tok> toks;
};

void compile(Pattern& p) {
  namespace u8 = dockerfile::utf8;
  MatchType t = MatchType::Exact;
  const std::string& s = p.cleaned;
  std::size_t pos = 0;
  auto peek = [&]() -> char32_t { return pos < s.size() ? u8::decode(s, pos).rune : u8::kEof; };
  auto next = [&]() -> char32_t {
    if (pos >= s.size()) return u8::kEof;
    auto d = u8::decode(s, pos);
    pos += d.width;
    return d.rune;
  };
  auto lit = [&](char32_t c) { p.toks.push_back(Tok{Tok::Lit, c, false, {}}); };
  for (int i = 0; peek() != u8::kEof; ++i) {
    char32_t ch = next();
    if (ch == '*') {
      if (peek() == '*') {
        next();
        if (peek() == '/') next();
        if (peek() == u8::kEof) {
          if (t == MatchType::Exact) {
            t = MatchType::Prefix;
          } else {
            p.toks.push_back(Tok{Tok::DotStar, 0, false, {}});
            t = MatchType::Regexp;
          }
        } else {
          p.toks.push_back(Tok{Tok::OptDirs, 0, false, {}});
          t = MatchType::Regexp;
        }
        if (i == 0) t = MatchType::Suffix;
      } else {
        p.toks.push_back(Tok{Tok::StarNoSlash, 0, false, {}});
        t = MatchType::Regexp;
      }
    } else if (ch == '?') {
      p.toks.push_back(Tok{Tok::AnyNoSlash, 0, false, {}});
      t = MatchType::Regexp;
    } else if (ch == '\\') {
      if (peek() != u8::kEof) {
        lit(next());
        t = MatchType::Regexp;
      } else {
        lit('\\');
      }
    } else if (ch == '[') {
      Tok c{Tok::Class, 0, false, {}};
      if (peek() == '^') {
        next();
        c.negated = true;
      }
      while (peek() != u8::kEof && peek() != ']') {
        char32_t lo = next();
        if (lo == '\\' && peek() != u8::kEof) lo = next();
        char32_t hi = lo;
        if (peek() == '-') {
          next();
          hi = next();
          if (hi == '\\' && peek() != u8::kEof) hi = next();
        }
        c.ranges.emplace_back(lo, hi);
      }
      next();  // ']' (the syntax check guarantees it)
      p.toks.push_back(std::move(c));
      t = MatchType::Regexp;
    } else if (ch == ']') {
      lit(ch);
      t = MatchType::Regexp;
    } else {
      lit(ch);
    }
  }
  p.type = t;
}

bool match_toks(const std::vector<Tok>& toks, std::size_t ti, const std::vector<char32_t>& s, std::size_t si) {
  while (ti < toks.size()) {
    const Tok& t = toks[ti];
    switch (t.kind) {
      case Tok::StarNoSlash:
        for (std::size_t k = si;; ++k) {
          if (match_toks(toks, ti + 1, s, k)) return true;
          if (k >= s.size() || s[k] == '/') return false;
        }
      case Tok::DotStar:
        for (std::size_t k = si;; ++k) {
          if (match_toks(toks, ti + 1, s, k)) return true;
          if (k >= s.size() || s[k] == '\n') return false;
        }
      case Tok::OptDirs:
        if (match_toks(toks, ti + 1, s, si)) return true;
        for (std::size_t k = si; k < s.size() && s[k] != '\n'; ++k) {
          if (s[k] == '/' && match_toks(toks, ti + 1, s, k + 1)) return true;
        }
        return false;
      case Tok::AnyNoSlash:
        if (si >= s.size() || s[si] == '/' || s[si] == '\n') return false;
        break;
      case Tok::Lit:
        if (si >= s.size() || s[si] != t.r) return false;
        break;
      case Tok::Class: {
        if (si >= s.size()) return false;
        bool in = false;
        for (auto [lo, hi] : t.ranges) in = in || (s[si] >= lo && s[si] <= hi);
        if (in == t.negated) return false;
        break;
      }
    }
    ++ti;
    ++si;
  }
  return si == s.size();
}

Result<bool> match_one(const Pattern& p, std::string_view path) {
  switch (p.type) {
    case MatchType::Exact:
      return path == p.cleaned;
    case MatchType::Prefix: {
      std::string_view pre = std::string_view(p.cleaned).substr(0, p.cleaned.size() - 2);
      return path.substr(0, pre.size()) == pre;
    }
    case MatchType::Suffix: {
      std::string_view suffix = std::string_view(p.cleaned).substr(2);
      if (path.size() >= suffix.size() && path.substr(path.size() - suffix.size()) == suffix) return true;
      return !suffix.empty() && suffix[0] == '/' && path == suffix.substr(1);
    }
    case MatchType::Regexp: {
      std::vector<char32_t> rs;
      rs.reserve(path.size());
      for (std::size_t i = 0; i < path.size();) {
        auto d = dockerfile::utf8::decode(path, i);
        rs.push_back(d.rune);
        i += d.width;
      }
      return match_toks(p.toks, 0, rs, 0);
    }
  }
  return false;
}

std::string join_prefix(const std::vector<std::string_view>& dirs, std::size_t n) {
  std::string r;
  for (std::size_t k = 0; k < n; ++k) {
    if (k) r += '/';
    r += dirs[k];
  }
  return r;
}

std::vector<std::string_view> split_slash(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  for (;;) {
    auto j = s.find('/', i);
    out.push_back(s.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
    if (j == std::string_view::npos) return out;
    i = j + 1;
  }
}

Result<bool> parent_matches(const Pattern& p, std::string_view file) {
  std::string parent = go_dir(file);
  if (parent == ".") return false;
  auto dirs = split_slash(parent);
  for (std::size_t i = 0; i < dirs.size(); ++i) {
    auto m = match_one(p, join_prefix(dirs, i + 1));
    if (m && *m) return true;
  }
  return false;
}

}  // namespace

struct PatternMatcher::Impl {
  std::vector<Pattern> patterns;
  bool exclusions = false;
};

PatternMatcher::PatternMatcher() : impl_(std::make_unique<Impl>()) {}
PatternMatcher::~PatternMatcher() = default;
PatternMatcher::PatternMatcher(PatternMatcher&&) noexcept = default;
PatternMatcher& PatternMatcher::operator=(PatternMatcher&&) noexcept = default;

Result<PatternMatcher> PatternMatcher::create(const std::vector<std::string>& patterns) {
  PatternMatcher pm;
  for (const auto& raw : patterns) {
    std::string p(dockerfile::utf8::trim_space(raw));
    if (p.empty()) continue;
    p = go_clean_path(p);
    Pattern np;
    if (p[0] == '!') {
      if (p.size() == 1) return fail(Errc::InvalidArgument, "illegal exclusion pattern: \"!\"");
      np.exclusion = true;
      p.erase(0, 1);
      pm.impl_->exclusions = true;
    }
    if (!valid_go_pattern(p)) return fail(Errc::InvalidArgument, "syntax error in pattern: " + p);
    np.cleaned = std::move(p);
    compile(np);
    pm.impl_->patterns.push_back(std::move(np));
  }
  return pm;
}

bool PatternMatcher::exclusions() const { return impl_->exclusions; }
std::size_t PatternMatcher::size() const { return impl_->patterns.size(); }

Result<bool> PatternMatcher::matches_or_parent_matches(std::string_view file) const {
  bool matched = false;
  for (const auto& p : impl_->patterns) {
    if (p.exclusion != matched) continue;
    bool m = TRY(match_one(p, file));
    if (!m) m = TRY(parent_matches(p, file));
    if (m) matched = !p.exclusion;
  }
  return matched;
}

Result<bool> PatternMatcher::matches_using_parent_results(std::string_view file, const MatchInfo& parent,
                                                          MatchInfo* out) const {
  const auto& pm = parent.parent_matched;
  if (!pm.empty() && pm.size() != impl_->patterns.size()) {
    return fail(Errc::InvalidArgument, "wrong number of values in parentMatched");
  }
  bool matched = false;
  MatchInfo info;
  info.parent_matched.assign(impl_->patterns.size(), false);
  for (std::size_t i = 0; i < impl_->patterns.size(); ++i) {
    const auto& p = impl_->patterns[i];
    bool m = !pm.empty() && pm[i];
    if (!m) {
      if (p.exclusion != matched) continue;
      m = TRY(match_one(p, file));
      if (!m && pm.empty()) m = TRY(parent_matches(p, file));
    }
    info.parent_matched[i] = m;
    if (m) matched = !p.exclusion;
  }
  if (out) *out = std::move(info);
  return matched;
}

std::vector<std::string> read_dockerignore(std::string_view content) {
  std::vector<std::string> out;
  bool first = true;
  std::size_t i = 0;
  while (i < content.size()) {
    auto nl = content.find('\n', i);
    std::string_view line = content.substr(i, nl == std::string_view::npos ? std::string_view::npos : nl - i);
    i = nl == std::string_view::npos ? content.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (first && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
    first = false;
    if (!line.empty() && line[0] == '#') continue;
    std::string_view p = dockerfile::utf8::trim_space(line);
    if (p.empty()) continue;
    bool invert = p[0] == '!';
    if (invert) p = dockerfile::utf8::trim_space(p.substr(1));
    std::string pat(p);
    if (!pat.empty()) {
      pat = go_clean_path(pat);
      if (pat.size() > 1 && pat[0] == '/') pat.erase(0, 1);
    }
    out.push_back(invert ? "!" + pat : pat);
  }
  return out;
}

Result<bool> dockerignore_matches(std::string_view file, const std::vector<std::string>& patterns) {
  auto pm = TRY(PatternMatcher::create(patterns));
  std::string f = go_clean_path(file);
  if (f == ".") return false;
  return pm.matches_or_parent_matches(f);
}

}  // namespace berth::builder
