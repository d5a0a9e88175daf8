// SPDX-License-Identifier: Apache-2.0
// The behaviour (not the code) follows moby/buildkit frontend/dockerfile/parser: same line
// joining, directive, comment, continuation, heredoc and per-instruction argument rules, so the
// AST dump matches BuildKit's byte for byte.
#include "builder/dockerfile/parser.hpp"

#include <cctype>
#include <cstdio>
#include <optional>

#include "builder/dockerfile/shell_lex.hpp"
#include "builder/dockerfile/utf8.hpp"

namespace berth::builder::dockerfile {

namespace u8 = utf8;

namespace {

constexpr std::size_t kMaxLine = 64 * 1024;

struct PErr {
  std::string msg;
};
template <class T>
using PResult = tl::expected<T, PErr>;
inline tl::unexpected<PErr> pfail(std::string m) { return tl::unexpected(PErr{std::move(m)}); }

// ---------- JSON array (encoding/json semantics for []any) ----------

class JsonArray {
 public:
  explicit JsonArray(std::string_view s) : s_(s) {}
  enum class Outcome { Ok, Syntax, NotStrings };
  Outcome parse(std::vector<std::string>& out) {
    skip_ws();
    if (!array(out)) return Outcome::Syntax;
    skip_ws();
    if (i_ != s_.size()) return Outcome::Syntax;
    return all_strings_ ? Outcome::Ok : Outcome::NotStrings;
  }

 private:
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  bool lit(std::string_view w) {
    if (s_.substr(i_, w.size()) != w) return false;
    i_ += w.size();
    return true;
  }
  bool digits() {
    std::size_t b = i_;
    while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
    return i_ > b;
  }
  bool number() {
    if (i_ < s_.size() && s_[i_] == '-') ++i_;
    if (i_ >= s_.size()) return false;
    if (s_[i_] == '0') {
      ++i_;
    } else if (!digits()) {
      return false;
    }
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      if (!digits()) return false;
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (!digits()) return false;
    }
    return true;
  }
  int hex4(std::size_t at) const {
    if (at + 4 > s_.size()) return -1;
    int v = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      char c = s_[at + k];
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (d < 0) return -1;
      v = v * 16 + d;
    }
    return v;
  }
  bool string(std::string* out) {
    if (i_ >= s_.size() || s_[i_] != '"') return false;
    ++i_;
    while (i_ < s_.size()) {
      unsigned char c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') {
        ++i_;
        return true;
      }
      if (c < 0x20) return false;
      if (c == '\\') {
        if (i_ + 1 >= s_.size()) return false;
        char e = s_[i_ + 1];
        i_ += 2;
        switch (e) {
          case '"': case '\\': case '/': if (out) out->push_back(e); break;
          case 'b': if (out) out->push_back('\b'); break;
          case 'f': if (out) out->push_back('\f'); break;
          case 'n': if (out) out->push_back('\n'); break;
          case 'r': if (out) out->push_back('\r'); break;
          case 't': if (out) out->push_back('\t'); break;
          case 'u': {
            int v = hex4(i_);
            if (v < 0) return false;
            i_ += 4;
            char32_t r = static_cast<char32_t>(v);
            if (r >= 0xD800 && r < 0xDC00) {
              if (i_ + 6 <= s_.size() && s_[i_] == '\\' && s_[i_ + 1] == 'u') {
                int lo = hex4(i_ + 2);
                if (lo >= 0xDC00 && lo < 0xE000) {
                  r = 0x10000 + ((r - 0xD800) << 10) + (static_cast<char32_t>(lo) - 0xDC00);
                  i_ += 6;
                } else {
                  r = u8::kRuneError;
                }
              } else {
                r = u8::kRuneError;
              }
            } else if (r >= 0xDC00 && r < 0xE000) {
              r = u8::kRuneError;
            }
            if (out) u8::append(*out, r);
            break;
          }
          default:
            return false;
        }
        continue;
      }
      auto d = u8::decode(s_, i_);
      if (out) {
        if (d.rune == u8::kRuneError && d.width == 1) {
          u8::append(*out, u8::kRuneError);
        } else {
          out->append(s_.substr(i_, d.width));
        }
      }
      i_ += d.width;
    }
    return false;
  }
  bool value(std::vector<std::string>* top) {
    skip_ws();
    if (i_ >= s_.size()) return false;
    char c = s_[i_];
    if (c == '"') {
      if (top) {
        std::string v;
        if (!string(&v)) return false;
        top->push_back(std::move(v));
        return true;
      }
      return string(nullptr);
    }
    if (top) all_strings_ = false;
    if (c == '[') {
      std::vector<std::string> ignore;
      ++i_;
      skip_ws();
      if (i_ < s_.size() && s_[i_] == ']') {
        ++i_;
        return true;
      }
      for (;;) {
        if (!value(nullptr)) return false;
        skip_ws();
        if (i_ < s_.size() && s_[i_] == ',') {
          ++i_;
          continue;
        }
        if (i_ < s_.size() && s_[i_] == ']') {
          ++i_;
          return true;
        }
        return false;
      }
    }
    if (c == '{') {
      ++i_;
      skip_ws();
      if (i_ < s_.size() && s_[i_] == '}') {
        ++i_;
        return true;
      }
      for (;;) {
        skip_ws();
        if (!string(nullptr)) return false;
        skip_ws();
        if (i_ >= s_.size() || s_[i_] != ':') return false;
        ++i_;
        if (!value(nullptr)) return false;
        skip_ws();
        if (i_ < s_.size() && s_[i_] == ',') {
          ++i_;
          continue;
        }
        if (i_ < s_.size() && s_[i_] == '}') {
          ++i_;
          return true;
        }
        return false;
      }
    }
    if (c == 't') return lit("true");
    if (c == 'f') return lit("false");
    if (c == 'n') return lit("null");
    return number();
  }
  bool array(std::vector<std::string>& out) {
    if (i_ >= s_.size() || s_[i_] != '[') return false;
    ++i_;
    skip_ws();
    if (i_ < s_.size() && s_[i_] == ']') {
      ++i_;
      return true;
    }
    for (;;) {
      if (!value(&out)) return false;
      skip_ws();
      if (i_ < s_.size() && s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (i_ < s_.size() && s_[i_] == ']') {
        ++i_;
        return true;
      }
      return false;
    }
  }

  std::string_view s_;
  std::size_t i_ = 0;
  bool all_strings_ = true;
};

// ---------- helpers ----------

bool is_re_ws(char c) { return c == '\t' || c == '\v' || c == '\f' || c == '\r' || c == ' '; }

// regexp `[\t\v\f\r ]+` Split(s, limit) for inputs without leading/trailing separators.
std::vector<std::string> split_ws(std::string_view s, int limit) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (true) {
    if (limit > 0 && static_cast<int>(out.size()) == limit - 1) {
      out.emplace_back(s.substr(i));
      return out;
    }
    std::size_t j = i;
    while (j < s.size() && !is_re_ws(s[j])) ++j;
    out.emplace_back(s.substr(i, j - i));
    if (j >= s.size()) return out;
    while (j < s.size() && is_re_ws(s[j])) ++j;
    i = j;
    if (i >= s.size()) {
      out.emplace_back();
      return out;
    }
  }
}

// unicode.IsSpace(rune(b)) applied to a single byte, as BuildKit's byte loops do.
bool byte_is_space(unsigned char c) {
  return c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r' || c == ' ' || c == 0x85 || c == 0xA0;
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct Directives {
  char32_t escape = '\\';
  // directive parser state
  bool done = false;
  int line = 0;
  std::vector<std::string> seen;
  std::vector<Directive> found;
};

bool re_space(char c) { return c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' '; }

// Parses "# name = value" per BuildKit's directive regexp. Returns true when it was a directive.
PResult<bool> possible_directive(Directives& d, std::string_view line) {
  d.line++;
  if (d.done) return false;
  if (line.empty() || line[0] != '#') {
    d.done = true;
    return false;
  }
  std::string_view rest = u8::trim_left_space(line.substr(1));
  std::size_t i = 0;
  if (i >= rest.size() || !std::isalpha(static_cast<unsigned char>(rest[i]))) {
    d.done = true;
    return false;
  }
  while (i < rest.size() && std::isalnum(static_cast<unsigned char>(rest[i]))) ++i;
  std::string key = lower_ascii(rest.substr(0, i));
  while (i < rest.size() && re_space(rest[i])) ++i;
  if (i >= rest.size() || rest[i] != '=') {
    d.done = true;
    return false;
  }
  ++i;
  std::string_view v = rest.substr(i);
  if (v.empty() || v.find('\n') != std::string_view::npos) {
    d.done = true;
    return false;
  }
  std::size_t b = 0;
  while (b < v.size() && re_space(v[b])) ++b;
  std::size_t e = v.size();
  while (e > b && re_space(v[e - 1])) --e;
  std::string value = b < e ? std::string(v.substr(b, e - b)) : std::string(v.substr(v.size() - 1));
  if (key != "syntax" && key != "escape" && key != "check") {
    d.done = true;
    return false;
  }
  for (const auto& s : d.seen) {
    if (s == key) return pfail("only one " + key + " parser directive can be used");
  }
  d.seen.push_back(key);
  if (key == "escape") {
    if (value != "`" && value != "\\") {
      return pfail("invalid escape token '" + value + "' does not match ` or \\");
    }
    d.escape = static_cast<unsigned char>(value[0]);
  }
  d.found.push_back(Directive{key, value, d.line});
  return true;
}

bool is_comment(std::string_view line) {
  auto t = u8::trim_left_space(line);
  return !t.empty() && t[0] == '#';
}

std::string_view trim_newline(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

// BuildKit's line continuation regexp: `([^E])E[ \t]*$|^E[ \t]*$` for escape token E.
bool trim_continuation(std::string& line, char32_t esc) {
  std::size_t j = line.size();
  while (j > 0 && (line[j - 1] == ' ' || line[j - 1] == '\t')) --j;
  if (j == 0 || static_cast<unsigned char>(line[j - 1]) != esc) return false;
  if (j == 1) {
    line.clear();
    return true;
  }
  if (static_cast<unsigned char>(line[j - 2]) == esc) return false;
  line.resize(j - 1);
  return true;
}

// ---------- line parsers ----------

std::vector<std::string> parse_words(std::string_view rest, char32_t esc) {
  enum { InSpaces, InWord, InQuote } phase = InSpaces;
  std::vector<std::string> words;
  char32_t quote = 0;
  bool blank_ok = false;
  std::string cur;
  char32_t ch = 0;
  std::size_t w = 0;
  for (std::size_t pos = 0; pos <= rest.size(); pos += w) {
    if (pos != rest.size()) {
      auto d = u8::decode(rest, pos);
      ch = d.rune;
      w = d.width;
    }
    if (phase == InSpaces) {
      if (pos == rest.size()) break;
      if (u8::is_space(ch)) continue;
      phase = InWord;
    }
    if (pos == rest.size()) {
      if (blank_ok || !cur.empty()) words.push_back(cur);
      break;
    }
    if (phase == InWord) {
      if (u8::is_space(ch)) {
        phase = InSpaces;
        if (blank_ok || !cur.empty()) words.push_back(cur);
        cur.clear();
        blank_ok = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blank_ok = true;
        phase = InQuote;
      }
      if (ch == esc) {
        if (pos + w == rest.size()) continue;
        u8::append(cur, ch);
        pos += w;
        auto d = u8::decode(rest, pos);
        ch = d.rune;
        w = d.width;
      }
      u8::append(cur, ch);
      continue;
    }
    // InQuote
    if (ch == quote) phase = InWord;
    if (ch == esc && quote != '\'') {
      if (pos + w == rest.size()) {
        phase = InWord;
        continue;
      }
      pos += w;
      u8::append(cur, ch);
      auto d = u8::decode(rest, pos);
      ch = d.rune;
      w = d.width;
    }
    u8::append(cur, ch);
  }
  return words;
}

struct Parsed {
  std::vector<Node> args;
  bool json = false;
};

Node leaf(std::string v) {
  Node n;
  n.value = std::move(v);
  return n;
}

PResult<Parsed> parse_json(std::string_view rest) {
  rest = u8::trim_left_space(rest);
  if (rest.empty() || rest[0] != '[') return pfail("not a JSON array");
  std::vector<std::string> items;
  JsonArray ja(rest);
  switch (ja.parse(items)) {
    case JsonArray::Outcome::Syntax:
      return pfail("not a JSON array");
    case JsonArray::Outcome::NotStrings:
      return pfail("when using JSON array syntax, arrays must be comprised of strings only");
    case JsonArray::Outcome::Ok:
      break;
  }
  Parsed p;
  p.json = true;
  for (auto& s : items) p.args.push_back(leaf(std::move(s)));
  return p;
}

const std::string kNotStrings = "when using JSON array syntax, arrays must be comprised of strings only";

PResult<Parsed> parse_maybe_json(std::string_view rest) {
  if (rest.empty()) return Parsed{};
  auto j = parse_json(rest);
  if (j) return j;
  if (j.error().msg == kNotStrings) return j;
  Parsed p;
  p.args.push_back(leaf(std::string(rest)));
  return p;
}

PResult<Parsed> parse_whitespace_delimited(std::string_view rest) {
  Parsed p;
  if (rest.empty()) return p;
  for (auto& s : split_ws(rest, -1)) p.args.push_back(leaf(std::move(s)));
  return p;
}

PResult<Parsed> parse_maybe_json_to_list(std::string_view rest) {
  auto j = parse_json(rest);
  if (j) return j;
  if (j.error().msg == kNotStrings) return j;
  return parse_whitespace_delimited(rest);
}

PResult<Parsed> parse_name_val(std::string_view rest, std::string_view key, char32_t esc) {
  Parsed p;
  auto words = parse_words(rest, esc);
  if (words.empty()) return p;
  if (words[0].find('=') == std::string::npos) {
    auto parts = split_ws(rest, 2);
    if (parts.size() < 2) return pfail(std::string(key) + " must have two arguments");
    p.args.push_back(leaf(parts[0]));
    p.args.push_back(leaf(parts[1]));
    p.args.push_back(leaf(""));
    return p;
  }
  for (auto& w : words) {
    auto eq = w.find('=');
    if (eq == std::string::npos) {
      return pfail("Syntax error - can't find = in " + u8::go_quote(w) + ". Must be of the form: name=value");
    }
    p.args.push_back(leaf(w.substr(0, eq)));
    p.args.push_back(leaf(w.substr(eq + 1)));
    p.args.push_back(leaf("="));
  }
  return p;
}

PResult<Parsed> parse_name_or_name_val(std::string_view rest, char32_t esc) {
  Parsed p;
  for (auto& w : parse_words(rest, esc)) p.args.push_back(leaf(std::move(w)));
  return p;
}

PResult<Parsed> parse_string(std::string_view rest) {
  Parsed p;
  if (!rest.empty()) p.args.push_back(leaf(std::string(rest)));
  return p;
}

PResult<Parsed> parse_health(std::string_view rest) {
  std::size_t sep = 0;
  while (sep < rest.size() && !byte_is_space(static_cast<unsigned char>(rest[sep]))) ++sep;
  std::size_t next = sep;
  while (next < rest.size() && byte_is_space(static_cast<unsigned char>(rest[next]))) ++next;
  Parsed p;
  if (sep == 0) return p;
  auto cmd = parse_maybe_json(rest.substr(next));
  if (!cmd) return cmd;
  p.args.push_back(leaf(std::string(rest.substr(0, sep))));
  for (auto& a : cmd->args) p.args.push_back(std::move(a));
  p.json = cmd->json;
  return p;
}

// BuildKit's extractBuilderFlags: byte-wise, each byte re-encoded as a rune.
PResult<std::pair<std::string, std::vector<std::string>>> extract_flags(std::string_view line, char32_t esc) {
  enum { InSpaces, InWord, InQuote } phase = InSpaces;
  std::vector<std::string> words;
  std::string cur;
  unsigned char quote = 0;
  bool blank_ok = false;
  unsigned char ch = 0;
  for (std::size_t pos = 0; pos <= line.size(); ++pos) {
    if (pos != line.size()) ch = static_cast<unsigned char>(line[pos]);
    if (phase == InSpaces) {
      if (pos == line.size()) break;
      if (byte_is_space(ch)) continue;
      if (ch != '-' || pos + 1 == line.size() || line[pos + 1] != '-') {
        return std::pair{std::string(line.substr(pos)), std::move(words)};
      }
      phase = InWord;
    }
    if (pos == line.size()) {
      if (cur != "--" && (blank_ok || !cur.empty())) words.push_back(cur);
      break;
    }
    if (phase == InWord) {
      if (byte_is_space(ch)) {
        phase = InSpaces;
        if (cur == "--") return std::pair{std::string(line.substr(pos)), std::move(words)};
        if (blank_ok || !cur.empty()) words.push_back(cur);
        cur.clear();
        blank_ok = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blank_ok = true;
        phase = InQuote;
        continue;
      }
      if (ch == esc) {
        if (pos + 1 == line.size()) continue;
        ++pos;
        ch = static_cast<unsigned char>(line[pos]);
      }
      u8::append(cur, ch);
      continue;
    }
    // InQuote
    if (ch == quote) {
      phase = InWord;
      continue;
    }
    if (ch == esc) {
      if (pos + 1 == line.size()) {
        phase = InWord;
        continue;
      }
      ++pos;
      ch = static_cast<unsigned char>(line[pos]);
    }
    u8::append(cur, ch);
  }
  return std::pair{std::string(), std::move(words)};
}

PResult<Node> node_from_line(std::string_view line, const Directives& d, std::vector<std::string> comments);

PResult<Parsed> parse_sub_command(std::string_view rest, const Directives& d) {
  Parsed p;
  if (rest.empty()) return p;
  auto child = node_from_line(rest, d, {});
  if (!child) return tl::unexpected(child.error());
  Node holder;
  holder.children.push_back(std::move(*child));
  p.args.push_back(std::move(holder));
  return p;
}

PResult<Node> node_from_line(std::string_view line, const Directives& d, std::vector<std::string> comments) {
  auto trimmed = u8::trim_space(line);
  std::string cmd;
  std::vector<std::string> flags;
  std::string args;
  {
    std::size_t j = 0;
    while (j < trimmed.size() && !is_re_ws(trimmed[j])) ++j;
    cmd = std::string(trimmed.substr(0, j));
    if (j < trimmed.size()) {
      while (j < trimmed.size() && is_re_ws(trimmed[j])) ++j;
      auto f = extract_flags(trimmed.substr(j), d.escape);
      if (!f) return tl::unexpected(f.error());
      args = std::string(u8::trim_space(f->first));
      flags = std::move(f->second);
    }
  }
  std::string lc = lower_ascii(cmd);
  PResult<Parsed> parsed = Parsed{};
  if (lc == "add" || lc == "copy" || lc == "volume") {
    parsed = parse_maybe_json_to_list(args);
  } else if (lc == "cmd" || lc == "entrypoint" || lc == "run" || lc == "shell") {
    parsed = parse_maybe_json(args);
  } else if (lc == "arg") {
    parsed = parse_name_or_name_val(args, d.escape);
  } else if (lc == "env") {
    parsed = parse_name_val(args, "ENV", d.escape);
  } else if (lc == "label") {
    parsed = parse_name_val(args, "LABEL", d.escape);
  } else if (lc == "expose" || lc == "from") {
    parsed = parse_whitespace_delimited(args);
  } else if (lc == "healthcheck") {
    parsed = parse_health(args);
  } else if (lc == "maintainer" || lc == "stopsignal" || lc == "user" || lc == "workdir") {
    parsed = parse_string(args);
  } else if (lc == "onbuild") {
    parsed = parse_sub_command(args, d);
  } else {
    Parsed ig;  // unknown instruction: kept with one empty argument (rejected later)
    ig.args.push_back(Node{});
    parsed = std::move(ig);
  }
  if (!parsed) return tl::unexpected(parsed.error());
  Node n;
  n.value = std::move(cmd);
  n.original = std::string(line);
  n.flags = std::move(flags);
  n.args = std::move(parsed->args);
  n.json = parsed->json;
  n.prev_comment = std::move(comments);
  return n;
}

bool can_contain_heredoc(const Node& node) {
  const Node* n = &node;
  if (lower_ascii(n->value) == "onbuild" && !n->args.empty() && !n->args[0].children.empty()) {
    n = &n->args[0].children[0];
  }
  auto c = lower_ascii(n->value);
  if (c != "add" && c != "copy" && c != "run") return false;
  return !n->json;
}

class NoEnv final : public EnvGetter {
 public:
  const std::string* get(std::string_view) const override { return nullptr; }
};

PResult<std::optional<Heredoc>> heredoc_from_word(std::string_view src) {
  // ^(\d*)<<(-?)\s*([^<]*)$
  std::size_t i = 0;
  while (i < src.size() && std::isdigit(static_cast<unsigned char>(src[i]))) ++i;
  std::string_view fd = src.substr(0, i);
  if (src.substr(i, 2) != "<<") return std::optional<Heredoc>{};
  i += 2;
  bool chomp = false;
  if (i < src.size() && src[i] == '-') {
    chomp = true;
    ++i;
  }
  while (i < src.size() && re_space(src[i])) ++i;
  std::string_view rest = src.substr(i);
  if (rest.find('<') != std::string_view::npos || rest.find('\n') != std::string_view::npos) {
    return std::optional<Heredoc>{};
  }
  if (rest.empty()) return std::optional<Heredoc>{};
  ShellLex lex('\\');
  lex.skip_unset_env = true;
  NoEnv env;
  auto words = lex.process_words(rest, env);
  if (!words) return pfail(words.error().message());
  if (words->size() != 1) return std::optional<Heredoc>{};
  lex.raw_quotes = true;
  auto raw = lex.process_words(rest, env);
  if (!raw) return pfail(raw.error().message());
  if (raw->size() != words->size()) {
    return pfail("internal lexing of heredoc produced inconsistent results: " + std::string(rest));
  }
  auto quotes = [](const std::string& s) {
    std::size_t n = 0;
    for (char c : s) n += (c == '\'' || c == '"');
    return n;
  };
  Heredoc h;
  h.name = (*words)[0];
  h.expand = quotes((*words)[0]) == quotes((*raw)[0]);
  h.chomp = chomp;
  unsigned long v = 0;
  for (char c : fd) v = v * 10 + static_cast<unsigned>(c - '0');
  h.file_descriptor = static_cast<unsigned>(v);
  return std::optional<Heredoc>(std::move(h));
}

PResult<std::vector<Heredoc>> heredocs_from_line(std::string_view line) {
  ShellLex lex('\\');
  lex.raw_quotes = true;
  lex.raw_escapes = true;
  lex.skip_unset_env = true;
  NoEnv env;
  auto words = lex.process_words(line, env);
  std::vector<Heredoc> docs;
  if (!words) return docs;
  for (const auto& w : *words) {
    auto h = heredoc_from_word(w);
    if (!h) return tl::unexpected(h.error());
    if (*h) docs.push_back(std::move(**h));
  }
  return docs;
}

void dump_into(const Node& n, std::string& out);

std::string dump_node(const Node& n) {
  std::string s;
  dump_into(n, s);
  return std::string(u8::trim_space(s));
}

void dump_into(const Node& n, std::string& str) {
  str += lower_ascii(n.value);
  if (!n.flags.empty()) {
    str += " [";
    for (std::size_t i = 0; i < n.flags.size(); ++i) {
      if (i) str += ' ';
      str += u8::go_quote(n.flags[i]);
    }
    str += ']';
  }
  for (const auto& c : n.children) {
    str += '(';
    str += dump_node(c);
    str += ")\n";
  }
  for (const auto& a : n.args) {
    str += ' ';
    if (!a.children.empty()) {
      str += dump_node(a);
    } else {
      str += u8::go_quote(a.value);
    }
  }
}

Error located(const std::string& msg, int line) {
  return Error(Errc::InvalidArgument, "dockerfile parse error on line " + std::to_string(line) + ": " + msg);
}

}  // namespace

std::string Node::dump() const { return dump_node(*this); }
std::string Node::command() const { return lower_ascii(value); }

Result<Heredoc> parse_heredoc(std::string_view src) {
  auto h = heredoc_from_word(src);
  if (!h) return fail(Errc::InvalidArgument, h.error().msg);
  if (!*h) return Heredoc{};
  return std::move(**h);
}

std::string chomp_heredoc_content(std::string_view src) {
  std::string out;
  out.reserve(src.size());
  bool at_start = true;
  for (char c : src) {
    if (at_start && c == '\t') continue;
    at_start = c == '\n';
    out.push_back(c);
  }
  return out;
}

Result<ParseResult> parse(std::string_view input) {
  // Split into lines that keep their terminators (like BuildKit's scanLines).
  std::vector<std::string_view> lines;
  for (std::size_t i = 0; i < input.size();) {
    auto nl = input.find('\n', i);
    std::size_t e = nl == std::string_view::npos ? input.size() : nl + 1;
    if (e - i > kMaxLine) {
      return fail(Errc::InvalidArgument, "dockerfile line greater than max allowed size of " +
                                             std::to_string(kMaxLine - 1));
    }
    lines.push_back(input.substr(i, e - i));
    i = e;
  }
  if (!lines.empty() && lines[0].substr(0, 3) == "\xEF\xBB\xBF") lines[0].remove_prefix(3);

  Directives d;
  ParseResult res;
  Node& root = res.ast;
  bool have_child = false;
  std::vector<std::string> comments;
  int current = 0;
  std::size_t li = 0;

  auto process_line = [&](std::string_view token, bool strip_left, bool& directive_ok) -> PResult<std::string_view> {
    token = trim_newline(token);
    if (strip_left) token = u8::trim_left_space(token);
    auto dir = possible_directive(d, token);
    if (!dir) return tl::unexpected(dir.error());
    directive_ok = *dir;
    if (is_comment(token)) return std::string_view();
    return token;
  };

  while (li < lines.size()) {
    std::string_view raw = lines[li++];
    if (is_comment(raw)) {
      auto t = raw.substr(1);
      std::string c(u8::trim_space(t));
      if (c.empty()) {
        comments.clear();
      } else {
        comments.push_back(std::move(c));
      }
    }
    bool directive_ok = false;
    auto pl = process_line(raw, true, directive_ok);
    if (!pl) return fail(located(pl.error().msg, current + 1));
    if (directive_ok && !comments.empty()) comments.pop_back();
    current++;
    int start_line = current;
    std::string buf(*pl);
    bool continued = trim_continuation(buf, d.escape);
    if (!continued && buf.empty()) continue;

    bool empty_continuation = false;
    while (continued && li < lines.size()) {
      std::string_view next_raw = lines[li++];
      bool dummy = false;
      auto np = process_line(next_raw, false, dummy);
      if (!np) return fail(located(np.error().msg, current + 1));
      current++;
      if (is_comment(next_raw)) continue;
      if (u8::trim_left_space(trim_newline(*np)).empty()) {
        empty_continuation = true;
        continue;
      }
      std::string part(*np);
      continued = trim_continuation(part, d.escape);
      buf += part;
    }
    if (empty_continuation) {
      res.warnings.push_back(Warning{"Empty continuation line found in: " + buf, current});
    }
    auto child = node_from_line(buf, d, comments);
    if (!child) return fail(located(child.error().msg, start_line));
    if (can_contain_heredoc(*child) && buf.find("<<") != std::string::npos) {
      auto docs = heredocs_from_line(buf);
      if (!docs) return fail(located(docs.error().msg, start_line));
      for (auto& h : *docs) {
        bool terminated = false;
        std::string content = h.content;
        while (li < lines.size()) {
          std::string_view hl = lines[li++];
          current++;
          std::string_view term = trim_newline(hl);
          if (h.chomp) {
            while (!term.empty() && term[0] == '\t') term.remove_prefix(1);
          }
          if (term == h.name) {
            terminated = true;
            break;
          }
          content += hl;
        }
        if (!terminated) return fail(located("unterminated heredoc", start_line));
        h.content = std::move(content);
        child->heredocs.push_back(std::move(h));
      }
    }
    child->start_line = start_line;
    child->end_line = current;
    if (!have_child) root.start_line = start_line;
    have_child = true;
    root.end_line = current;
    root.children.push_back(std::move(*child));
    comments.clear();
  }
  if (!have_child) return fail(located("file with no instructions", current == 0 ? 1 : current));
  res.escape_token = d.escape;
  res.directives = std::move(d.found);
  return res;
}

Result<std::string> dump_ast(std::string_view dockerfile) {
  auto r = TRY(parse(dockerfile));
  return r.ast.dump() + "\n";
}

}  // namespace berth::builder::dockerfile
