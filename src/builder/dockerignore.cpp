// SPDX-License-Identifier: Apache-2.0
#include "builder/dockerignore.hpp"

#include <cctype>
#include <functional>
#include <optional>

#include "builder/gomatch.hpp"

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

enum class MatchType { Exact, Prefix, Suffix, Regexp };

bool should_escape(char32_t c) {
  switch (c) {
    case '.': case '+': case '(': case ')': case '|': case '{': case '}': case '$':
      return true;
    default:
      return false;
  }
}

// The subset of Go regexp syntax that patternmatcher's generated expressions can contain,
// parsed with Go's rules and matched by backtracking over runes.
struct Atom {
  enum Kind { Lit, Class, Dot, Group, Begin, End } kind = Lit;
  char32_t r = 0;
  bool negated = false;
  std::vector<std::pair<char32_t, char32_t>> ranges;
  std::vector<Atom> group;
  char quant = 0;  // 0, '*' or '?'
};

class RegexParser {
 public:
  explicit RegexParser(std::string_view re) {
    for (std::size_t i = 0; i < re.size();) {
      auto d = dockerfile::utf8::decode(re, i);
      rs_.push_back(d.rune);
      i += d.width;
    }
  }
  bool parse(std::vector<Atom>& out) { return seq(out, false) && pos_ == rs_.size(); }

 private:
  bool more() const { return pos_ < rs_.size(); }
  static bool perl_class(char32_t c, Atom& a) {
    auto add = [&](char32_t lo, char32_t hi) { a.ranges.emplace_back(lo, hi); };
    switch (c) {
      case 'd': case 'D': add('0', '9'); break;
      case 's': case 'S': add('\t', '\n'); add('\f', '\r'); add(' ', ' '); break;
      case 'w': case 'W': add('0', '9'); add('A', 'Z'); add('_', '_'); add('a', 'z'); break;
      default: return false;
    }
    if (c == 'D' || c == 'S' || c == 'W') a.negated = true;
    return true;
  }
  static bool simple_escape(char32_t c, char32_t& out) {
    switch (c) {
      case 'a': out = 7; return true;
      case 'f': out = '\f'; return true;
      case 't': out = '\t'; return true;
      case 'n': out = '\n'; return true;
      case 'r': out = '\r'; return true;
      case 'v': out = '\v'; return true;
      default:
        if (c < 0x80 && !std::isalnum(static_cast<int>(c))) {
          out = c;
          return true;
        }
        return false;
    }
  }
  bool class_char(char32_t& out) {
    if (!more()) return false;
    char32_t c = rs_[pos_++];
    if (c != '\\') {
      out = c;
      return true;
    }
    if (!more()) return false;
    return simple_escape(rs_[pos_++], out);
  }
  bool cls(Atom& a) {
    a.kind = Atom::Class;
    if (more() && rs_[pos_] == '^') {
      a.negated = true;
      ++pos_;
    }
    bool first = true;
    while (!more() || rs_[pos_] != ']' || first) {
      if (!more()) return false;
      first = false;
      if (rs_[pos_] == '\\' && pos_ + 1 < rs_.size()) {
        Atom tmp;
        if (perl_class(rs_[pos_ + 1], tmp) && !tmp.negated) {
          for (auto r : tmp.ranges) a.ranges.push_back(r);
          pos_ += 2;
          continue;
        }
      }
      char32_t lo = 0, hi = 0;
      if (!class_char(lo)) return false;
      hi = lo;
      if (pos_ + 1 < rs_.size() && rs_[pos_] == '-' && rs_[pos_ + 1] != ']') {
        ++pos_;
        if (!class_char(hi)) return false;
        if (hi < lo) return false;
      }
      a.ranges.emplace_back(lo, hi);
    }
    ++pos_;  // ']'
    return true;
  }
  bool seq(std::vector<Atom>& out, bool in_group) {
    while (more()) {
      char32_t c = rs_[pos_];
      if (c == ')') {
        if (!in_group) return false;
        return true;
      }
      ++pos_;
      if (c == '*' || c == '?' || c == '+') {
        if (c == '+' || out.empty() || out.back().quant != 0 || out.back().kind == Atom::Begin ||
            out.back().kind == Atom::End) {
          return false;
        }
        out.back().quant = static_cast<char>(c);
        continue;
      }
      Atom a;
      switch (c) {
        case '(':
          a.kind = Atom::Group;
          if (!seq(a.group, true) || !more() || rs_[pos_] != ')') return false;
          ++pos_;
          break;
        case '[':
          if (!cls(a)) return false;
          break;
        case '.': a.kind = Atom::Dot; break;
        case '^': a.kind = Atom::Begin; break;
        case '$': a.kind = Atom::End; break;
        case '\\': {
          if (!more()) return false;
          char32_t e = rs_[pos_++];
          if (perl_class(e, a)) {
            a.kind = Atom::Class;
          } else if (!simple_escape(e, a.r)) {
            return false;
          }
          break;
        }
        default:
          a.r = c;
      }
      out.push_back(std::move(a));
    }
    return !in_group;
  }

  std::vector<char32_t> rs_;
  std::size_t pos_ = 0;
};

using Runes = std::vector<char32_t>;
template <class K>
bool match_seq(const std::vector<Atom>& seq, std::size_t ai, const Runes& s, std::size_t si, const K& k);

template <class K>
bool step(const Atom& a, const Runes& s, std::size_t si, const K& k) {
  switch (a.kind) {
    case Atom::Lit:
      return si < s.size() && s[si] == a.r && k(si + 1);
    case Atom::Dot:
      return si < s.size() && s[si] != '\n' && k(si + 1);
    case Atom::Class: {
      if (si >= s.size()) return false;
      bool in = false;
      for (auto [lo, hi] : a.ranges) in = in || (s[si] >= lo && s[si] <= hi);
      return in != a.negated && k(si + 1);
    }
    case Atom::Begin:
      return si == 0 && k(si);
    case Atom::End:
      return si == s.size() && k(si);
    case Atom::Group: {
      std::function<bool(std::size_t)> kk = [&](std::size_t sj) { return k(sj); };
      return match_seq(a.group, 0, s, si, kk);
    }
  }
  return false;
}

template <class K>
bool match_seq(const std::vector<Atom>& seq, std::size_t ai, const Runes& s, std::size_t si, const K& k) {
  if (ai == seq.size()) return k(si);
  const Atom& a = seq[ai];
  auto rest = [&](std::size_t sj) { return match_seq(seq, ai + 1, s, sj, k); };
  if (a.quant == 0) return step(a, s, si, rest);
  if (a.quant == '?') return step(a, s, si, rest) || rest(si);
  // '*': greedy, never loops on an empty iteration
  std::function<bool(std::size_t)> star = [&](std::size_t sj) -> bool {
    auto again = [&](std::size_t sk) { return sk != sj && star(sk); };
    return step(a, s, sj, again) || rest(sj);
  };
  return star(si);
}

struct Pattern {
  std::string cleaned;
  bool exclusion = false;
  MatchType type = MatchType::Exact;
  std::vector<Atom> re;
  bool bad = false;  // the generated regexp does not compile: an error when evaluated
};

void compile(Pattern& p) {
  namespace u8 = dockerfile::utf8;
  std::string re = "^";
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
            re += ".*";
            t = MatchType::Regexp;
          }
        } else {
          re += "(.*/)?";
          t = MatchType::Regexp;
        }
        if (i == 0) t = MatchType::Suffix;
      } else {
        re += "[^/]*";
        t = MatchType::Regexp;
      }
    } else if (ch == '?') {
      re += "[^/]";
      t = MatchType::Regexp;
    } else if (should_escape(ch)) {
      re += '\\';
      u8::append(re, ch);
    } else if (ch == '\\') {
      if (peek() != u8::kEof) {
        re += '\\';
        u8::append(re, next());
        t = MatchType::Regexp;
      } else {
        re += "\\\\";
      }
    } else if (ch == '[' || ch == ']') {
      u8::append(re, ch);
      t = MatchType::Regexp;
    } else {
      u8::append(re, ch);
    }
  }
  if (t == MatchType::Regexp) {
    re += "$";
    RegexParser rp(re);
    if (!rp.parse(p.re)) p.bad = true;
  }
  p.type = t;
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
      if (p.bad) return fail(Errc::InvalidArgument, "syntax error in pattern");
      Runes rs;
      rs.reserve(path.size());
      for (std::size_t i = 0; i < path.size();) {
        auto d = dockerfile::utf8::decode(path, i);
        rs.push_back(d.rune);
        i += d.width;
      }
      auto done = [](std::size_t) { return true; };
      return match_seq(p.re, 0, rs, 0, done);
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
    // patternmatcher checks the syntax with filepath.Match(p, ".").
    if (!go_filepath_match(p, ".")) return fail(Errc::InvalidArgument, "syntax error in pattern: " + p);
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
