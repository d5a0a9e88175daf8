// SPDX-License-Identifier: Apache-2.0
#include "builder/dockerfile/shell_lex.hpp"

#include <algorithm>

#include "builder/dockerfile/utf8.hpp"

namespace berth::builder::dockerfile {

namespace u8 = utf8;

EnvList EnvList::from_strings(const std::vector<std::string>& kv) {
  EnvList l;
  for (const auto& e : kv) {
    auto eq = e.find('=');
    if (eq == std::string::npos) {
      l.set(e, "");
    } else {
      l.set(std::string_view(e).substr(0, eq), std::string_view(e).substr(eq + 1));
    }
  }
  return l;
}

void EnvList::set(std::string_view key, std::string_view value) {
  for (auto& [k, v] : entries_) {
    if (k == key) {
      v = value;
      return;
    }
  }
  entries_.emplace_back(std::string(key), std::string(value));
}

const std::string* EnvList::get(std::string_view key) const {
  for (const auto& [k, v] : entries_) {
    if (k == key) return &v;
  }
  return nullptr;
}

bool EnvList::erase(std::string_view key) {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const auto& p) { return p.first == key; });
  if (it == entries_.end()) return false;
  entries_.erase(it);
  return true;
}

std::vector<std::string> EnvList::to_strings() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& [k, v] : entries_) out.push_back(k + "=" + v);
  return out;
}

namespace {

// Error type internal to the lexer; converted to berth::Error at the API boundary.
struct LexError {
  std::string msg;
};

template <class T>
using LResult = tl::expected<T, LexError>;

inline tl::unexpected<LexError> lfail(std::string m) { return tl::unexpected(LexError{std::move(m)}); }

// Rune-level glob used by ${var#p}, ${var%p} and ${var/p/r}: '*' any sequence, '?' one rune,
// '\' escapes '*', '?', '\' (and is dropped before '}' or '/').
struct Glob {
  enum Kind { Lit, Star, One };
  struct Tok {
    Kind kind;
    char32_t r;
  };
  std::vector<Tok> toks;
};

LResult<Glob> compile_glob(std::string_view pattern) {
  Glob g;
  std::vector<char32_t> rs;
  for (std::size_t i = 0; i < pattern.size();) {
    auto d = u8::decode(pattern, i);
    rs.push_back(d.rune);
    i += d.width;
  }
  for (std::size_t i = 0; i < rs.size(); ++i) {
    char32_t c = rs[i];
    if (c == '*') {
      g.toks.push_back({Glob::Star, 0});
    } else if (c == '?') {
      g.toks.push_back({Glob::One, 0});
    } else if (c == '\\') {
      if (i + 1 < rs.size() && (rs[i + 1] == '}' || rs[i + 1] == '/')) continue;
      if (i + 1 >= rs.size()) return lfail("invalid escape '\\'");
      char32_t n = rs[++i];
      if (n != '*' && n != '?' && n != '\\') {
        std::string m = "invalid escape '\\";
        u8::append(m, n);
        return lfail(m + "'");
      }
      g.toks.push_back({Glob::Lit, n});
    } else {
      g.toks.push_back({Glob::Lit, c});
    }
  }
  return g;
}

bool glob_match(const Glob& g, std::size_t ti, const std::vector<char32_t>& s, std::size_t si, std::size_t se) {
  while (ti < g.toks.size()) {
    const auto& t = g.toks[ti];
    if (t.kind == Glob::Star) {
      for (std::size_t k = se; k + 1 > si; --k) {
        if (glob_match(g, ti + 1, s, k, se)) return true;
        if (k == si) break;
      }
      return false;
    }
    if (si >= se) return false;
    if (t.kind == Glob::Lit && s[si] != t.r) return false;
    ++ti;
    ++si;
  }
  return si == se;
}

std::vector<char32_t> runes(std::string_view s) {
  std::vector<char32_t> out;
  for (std::size_t i = 0; i < s.size();) {
    auto d = u8::decode(s, i);
    out.push_back(d.rune);
    i += d.width;
  }
  return out;
}

std::string from_runes(const std::vector<char32_t>& r, std::size_t b, std::size_t e) {
  std::string out;
  for (std::size_t i = b; i < e; ++i) u8::append(out, r[i]);
  return out;
}

LResult<std::string> trim_prefix(std::string_view pattern, std::string_view value, bool greedy) {
  auto g = compile_glob(pattern);
  if (!g) return lfail("invalid pattern (" + std::string(pattern) + ") in substitution: " + g.error().msg);
  auto v = runes(value);
  if (greedy) {
    for (std::size_t k = v.size() + 1; k-- > 0;) {
      if (glob_match(*g, 0, v, 0, k)) return from_runes(v, k, v.size());
    }
  } else {
    for (std::size_t k = 0; k <= v.size(); ++k) {
      if (glob_match(*g, 0, v, 0, k)) return from_runes(v, k, v.size());
    }
  }
  return std::string(value);
}

LResult<std::string> trim_suffix(std::string_view pattern, std::string_view value, bool greedy) {
  auto g = compile_glob(pattern);
  if (!g) return lfail("invalid pattern (" + std::string(pattern) + ") in substitution: " + g.error().msg);
  auto v = runes(value);
  std::size_t n = v.size();
  if (greedy) {
    for (std::size_t k = n + 1; k-- > 0;) {
      if (glob_match(*g, 0, v, n - k, n)) return from_runes(v, 0, n - k);
    }
  } else {
    for (std::size_t k = 0; k <= n; ++k) {
      if (glob_match(*g, 0, v, n - k, n)) return from_runes(v, 0, n - k);
    }
  }
  return std::string(value);
}

LResult<std::string> replace(std::string_view pattern, std::string_view value, std::string_view repl, bool all) {
  auto g = compile_glob(pattern);
  if (!g) return lfail("invalid pattern (" + std::string(pattern) + ") in substitution: " + g.error().msg);
  auto v = runes(value);
  std::string out;
  std::size_t i = 0;
  bool done = false;
  std::size_t last_end = std::string::npos;  // Go ignores empty matches abutting a previous match
  while (i <= v.size()) {
    std::size_t match_end = std::string::npos;
    if (!done) {
      for (std::size_t k = v.size() + 1; k-- > i;) {
        if (k == i && last_end == i) break;
        if (glob_match(*g, 0, v, i, k)) {
          match_end = k;
          break;
        }
      }
    }
    if (match_end != std::string::npos) {
      out += repl;
      if (!all) done = true;
      if (match_end > i) last_end = match_end;
      if (match_end == i) {
        if (i < v.size()) u8::append(out, v[i]);
        ++i;
      } else {
        i = match_end;
      }
      continue;
    }
    if (i < v.size()) u8::append(out, v[i]);
    ++i;
  }
  return out;
}

bool is_special_param(char32_t c) {
  switch (c) {
    case '@': case '*': case '#': case '?': case '-': case '$': case '!': case '0':
      return true;
    default:
      return false;
  }
}

class Word {
 public:
  Word(const ShellLex& lex, std::string_view src, const EnvGetter& env)
      : lex_(lex), src_(src), env_(env), raw_escapes_(lex.raw_escapes) {}

  LResult<std::pair<std::string, std::vector<std::string>>> process() {
    return process_stop_on(u8::kEof, raw_escapes_);
  }

 private:
  struct Words {
    std::string* buf;
    std::vector<std::string> words;
    bool in_word = false;
    void add_char(char32_t ch) {
      if (u8::is_space(ch) && in_word) {
        if (!buf->empty()) {
          words.push_back(*buf);
          buf->clear();
          in_word = false;
        }
      } else if (!u8::is_space(ch)) {
        add_raw_char(ch);
      }
    }
    void add_raw_char(char32_t ch) {
      u8::append(*buf, ch);
      in_word = true;
    }
    void add_string(std::string_view s) {
      for (std::size_t i = 0; i < s.size();) {
        auto d = u8::decode(s, i);
        add_char(d.rune);
        i += d.width;
      }
    }
    void add_raw_string(std::string_view s) {
      *buf += s;
      in_word = true;
    }
    std::vector<std::string> get() {
      if (!buf->empty()) {
        words.push_back(*buf);
        buf->clear();
        in_word = false;
      }
      return std::move(words);
    }
  };

  char32_t peek() const { return pos_ >= src_.size() ? u8::kEof : u8::decode(src_, pos_).rune; }
  char32_t next() {
    if (pos_ >= src_.size()) return u8::kEof;
    auto d = u8::decode(src_, pos_);
    pos_ += d.width;
    return d.rune;
  }

  LResult<std::pair<std::string, std::vector<std::string>>> process_stop_on(char32_t stop, bool raw_escapes) {
    std::string result;
    words_buffer_.clear();
    Words words{&words_buffer_};
    bool saved = raw_escapes_;
    raw_escapes_ = raw_escapes;
    struct Restore {
      bool& r;
      bool v;
      ~Restore() { r = v; }
    } restore{raw_escapes_, saved};

    while (peek() != u8::kEof) {
      char32_t ch = peek();
      if (stop != u8::kEof && ch == stop) {
        next();
        return std::pair{std::move(result), words.get()};
      }
      if (ch == '$' || ch == '<' || (!lex_.skip_process_quotes && (ch == '\'' || ch == '"'))) {
        LResult<std::string> tmp = ch == '$'    ? process_dollar()
                                   : ch == '<'  ? process_possible_heredoc()
                                   : ch == '\'' ? process_single_quote()
                                                : process_double_quote();
        if (!tmp) return tl::unexpected(tmp.error());
        result += *tmp;
        if (ch == '$') {
          words.add_string(*tmp);
        } else {
          words.add_raw_string(*tmp);
        }
        continue;
      }
      ch = next();
      if (ch == lex_.escape()) {
        if (raw_escapes_) {
          words.add_raw_char(ch);
          u8::append(result, ch);
        }
        ch = next();
        if (ch == u8::kEof) break;
        words.add_raw_char(ch);
      } else {
        words.add_char(ch);
      }
      u8::append(result, ch);
    }
    if (stop != u8::kEof) {
      std::string m = "unexpected end of statement while looking for matching ";
      u8::append(m, stop);
      return lfail(m);
    }
    return std::pair{std::move(result), words.get()};
  }

  LResult<std::string> process_single_quote() {
    std::string result;
    char32_t ch = next();
    if (lex_.raw_quotes) u8::append(result, ch);
    for (;;) {
      ch = next();
      if (ch == u8::kEof) return lfail("unexpected end of statement while looking for matching single-quote");
      if (ch == '\'') {
        if (lex_.raw_quotes) u8::append(result, ch);
        return result;
      }
      u8::append(result, ch);
    }
  }

  LResult<std::string> process_double_quote() {
    std::string result;
    char32_t ch = next();
    if (lex_.raw_quotes) u8::append(result, ch);
    for (;;) {
      char32_t p = peek();
      if (p == u8::kEof) return lfail("unexpected end of statement while looking for matching double-quote");
      if (p == '"') {
        ch = next();
        if (lex_.raw_quotes) u8::append(result, ch);
        return result;
      }
      if (p == '$') {
        auto v = process_dollar();
        if (!v) return v;
        result += *v;
        continue;
      }
      ch = next();
      if (ch == lex_.escape()) {
        if (raw_escapes_) u8::append(result, ch);
        char32_t q = peek();
        if (q == u8::kEof) continue;
        if (q == '"' || q == '$' || q == lex_.escape()) ch = next();
      }
      u8::append(result, ch);
    }
  }

  const std::string* get_env(std::string_view name) const { return env_.get(name); }

  std::string process_name() {
    std::string name;
    while (peek() != u8::kEof) {
      char32_t ch = peek();
      if (name.empty() && u8::is_digit(ch)) {
        while (peek() != u8::kEof && u8::is_digit(peek())) u8::append(name, next());
        return name;
      }
      if (name.empty() && is_special_param(ch)) {
        u8::append(name, next());
        return name;
      }
      if (!u8::is_letter(ch) && !u8::is_digit(ch) && ch != '_') break;
      u8::append(name, next());
    }
    return name;
  }

  LResult<std::string> process_dollar() {
    next();
    if (peek() != '{') {
      std::string name = process_name();
      if (name.empty()) return std::string("$");
      const std::string* v = get_env(name);
      if (!v && lex_.skip_unset_env) return "$" + name;
      return v ? *v : std::string();
    }
    next();
    switch (peek()) {
      case u8::kEof:
        return lfail("syntax error: missing '}'");
      case '{': case '}': case ':':
        return lfail("syntax error: bad substitution");
      default:
        break;
    }
    std::string name = process_name();
    char32_t ch = next();
    std::string chs;
    u8::append(chs, ch == u8::kEof ? u8::kRuneError : ch);
    bool null_is_unset = false;
    auto unsupported = [&]() { return lfail("unsupported modifier (" + chs + ") in substitution"); };

    if (ch == '}') {
      const std::string* v = get_env(name);
      if (!v && lex_.skip_unset_env) return "${" + name + "}";
      return v ? *v : std::string();
    }
    if (ch == ':') {
      null_is_unset = true;
      ch = next();
      u8::append(chs, ch == u8::kEof ? u8::kRuneError : ch);
    } else if (ch == '/') {
      bool all = peek() == '/';
      if (all) next();
      auto pat = process_stop_on('/', true);
      if (!pat) {
        if (peek() == u8::kEof) return lfail("syntax error: missing '/' in ${}");
        return tl::unexpected(pat.error());
      }
      std::string pattern = pat->first;
      auto rep = process_stop_on('}', true);
      if (!rep) {
        if (peek() == u8::kEof) return lfail("syntax error: missing '}'");
        return tl::unexpected(rep.error());
      }
      const std::string* v = get_env(name);
      if (lex_.skip_unset_env && !v) return "${" + name + "/" + pattern + "/" + rep->first + "}";
      return replace(pattern, v ? *v : std::string(), rep->first, all);
    } else if (ch != '+' && ch != '-' && ch != '?' && ch != '#' && ch != '%') {
      return unsupported();
    }
    // ':' fallthrough and the + - ? # % modifiers
    bool raw = ch == '#' || ch == '%';
    if (null_is_unset && raw) return unsupported();
    auto w = process_stop_on('}', raw);
    if (!w) {
      if (peek() == u8::kEof) return lfail("syntax error: missing '}'");
      return tl::unexpected(w.error());
    }
    std::string word = w->first;
    const std::string* vp = get_env(name);
    bool set = vp != nullptr;
    std::string value = set ? *vp : std::string();
    if (lex_.skip_unset_env && !set) return "${" + name + chs + word + "}";
    switch (ch) {
      case '-':
        if (!set || (null_is_unset && value.empty())) return word;
        return value;
      case '+':
        if (!set || (null_is_unset && value.empty())) return std::string();
        return word;
      case '?':
        if (!set) return lfail(name + ": " + (word.empty() ? "is not allowed to be unset" : word));
        if (null_is_unset && value.empty()) {
          return lfail(name + ": " + (word.empty() ? "is not allowed to be empty" : word));
        }
        return value;
      case '%':
      case '#': {
        bool greedy = false;
        if (!word.empty() && static_cast<unsigned char>(word[0]) == ch) {
          greedy = true;
          word.erase(0, 1);
        }
        if (ch == '%') return trim_suffix(word, value, greedy);
        return trim_prefix(word, value, greedy);
      }
      default:
        return unsupported();
    }
  }

  LResult<std::string> process_possible_heredoc() {
    next();
    if (peek() != '<') return std::string("<");
    next();
    std::string result = "<<";
    for (char32_t c = peek(); c == '\t' || c == '\r' || c == ' '; c = peek()) {
      u8::append(result, c);
      next();
    }
    return result;
  }

  const ShellLex& lex_;
  std::string_view src_;
  std::size_t pos_ = 0;
  const EnvGetter& env_;
  bool raw_escapes_;
  std::string words_buffer_;  // shared by nested calls, as BuildKit's lexer does
};

Error to_error(const LexError& e, std::string_view source) {
  std::string q = utf8::go_quote(source);
  return Error(Errc::InvalidArgument, "failed to process " + q + ": " + e.msg);
}

}  // namespace

Result<std::string> ShellLex::process_word(std::string_view word, const EnvGetter& env) const {
  Word w(*this, word, env);
  auto r = w.process();
  if (!r) return fail(to_error(r.error(), word));
  return std::move(r->first);
}

Result<std::vector<std::string>> ShellLex::process_words(std::string_view word, const EnvGetter& env) const {
  Word w(*this, word, env);
  auto r = w.process();
  if (!r) return fail(to_error(r.error(), word));
  return std::move(r->second);
}

}  // namespace berth::builder::dockerfile
