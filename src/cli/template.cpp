// SPDX-License-Identifier: Apache-2.0
#include "cli/template.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <functional>

#include <nlohmann/json.hpp>

#include "common/strings.hpp"

namespace berth::cli {

// ---------------------------------------------------------------------------------------------
// AST

struct Pipeline;

struct Arg {
  enum Kind { Field, Var, Literal, Func, Sub } kind = Literal;
  std::vector<std::string> path;  // Field/Var/Sub: field chain after the base
  std::string name;               // Var: "$x" ; Func: function name
  Json lit;                       // Literal
  std::shared_ptr<Pipeline> sub;  // Sub: (pipeline)
};

struct Cmd {
  std::vector<Arg> args;
};

struct Pipeline {
  std::vector<std::string> decl;  // $x := / $i, $e :=
  bool assign = false;            // $x = (re-assign)
  std::vector<Cmd> cmds;
};

struct TemplateNode {
  enum Kind { List, Text, Action, If, Range, With } kind = List;
  std::string text;
  Pipeline pipe;
  std::vector<TemplateNode> list, else_list;
};

namespace {

Error tmpl_error(const std::string& msg) {
  return Error(Errc::InvalidArgument, "template: " + msg);
}

// ---------------------------------------------------------------------------------------------
// Lexing of `{{ ... }}` contents

struct Tok {
  enum Kind { Field, Var, Ident, Str, Num, Pipe, LParen, RParen, Declare, Assign, Comma } kind;
  std::string text;
  std::vector<std::string> path;
};

bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

Result<std::vector<Tok>> lex_action(std::string_view s) {
  std::vector<Tok> out;
  std::size_t i = 0;
  auto read_chain = [&](std::vector<std::string>& path) {
    while (i < s.size() && s[i] == '.') {
      std::size_t st = ++i;
      while (i < s.size() && ident_char(s[i])) ++i;
      if (i > st) path.emplace_back(s.substr(st, i - st));
    }
  };
  while (i < s.size()) {
    char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '.') {
      Tok t{Tok::Field, {}, {}};
      read_chain(t.path);
      out.push_back(std::move(t));
    } else if (c == '$') {
      std::size_t st = i++;
      while (i < s.size() && ident_char(s[i])) ++i;
      Tok t{Tok::Var, std::string(s.substr(st, i - st)), {}};
      read_chain(t.path);
      out.push_back(std::move(t));
    } else if (c == '"' || c == '`') {
      char q = c;
      std::string v;
      ++i;
      bool closed = false;
      while (i < s.size()) {
        char d = s[i++];
        if (d == q) {
          closed = true;
          break;
        }
        if (q == '"' && d == '\\' && i < s.size()) {
          char e = s[i++];
          switch (e) {
            case 'n': v += '\n'; break;
            case 't': v += '\t'; break;
            case 'r': v += '\r'; break;
            case '\\': v += '\\'; break;
            case '"': v += '"'; break;
            default: v += '\\'; v += e;
          }
        } else {
          v += d;
        }
      }
      if (!closed) return fail(tmpl_error("unterminated quoted string"));
      out.push_back({Tok::Str, std::move(v), {}});
    } else if (std::isdigit(static_cast<unsigned char>(c)) ||
               (c == '-' && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
      std::size_t st = i++;
      while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
      out.push_back({Tok::Num, std::string(s.substr(st, i - st)), {}});
    } else if (ident_char(c)) {
      std::size_t st = i;
      while (i < s.size() && ident_char(s[i])) ++i;
      out.push_back({Tok::Ident, std::string(s.substr(st, i - st)), {}});
    } else if (c == '|') {
      out.push_back({Tok::Pipe, "|", {}});
      ++i;
    } else if (c == '(') {
      out.push_back({Tok::LParen, "(", {}});
      ++i;
    } else if (c == ')') {
      ++i;
      Tok t{Tok::RParen, ")", {}};
      read_chain(t.path);
      out.push_back(std::move(t));
    } else if (c == ',') {
      out.push_back({Tok::Comma, ",", {}});
      ++i;
    } else if (c == ':' && i + 1 < s.size() && s[i + 1] == '=') {
      out.push_back({Tok::Declare, ":=", {}});
      i += 2;
    } else if (c == '=') {
      out.push_back({Tok::Assign, "=", {}});
      ++i;
    } else {
      return fail(tmpl_error(std::string("unexpected \"") + c + "\" in command"));
    }
  }
  return out;
}

class PipeParser {
 public:
  explicit PipeParser(std::vector<Tok> toks) : t_(std::move(toks)) {}

  Result<Pipeline> parse_all() {
    auto p = TRY(pipeline());
    if (pos_ != t_.size()) return fail(tmpl_error("unexpected \"" + t_[pos_].text + "\" in operand"));
    return p;
  }

 private:
  bool at(Tok::Kind k) const { return pos_ < t_.size() && t_[pos_].kind == k; }

  Result<Pipeline> pipeline() {
    Pipeline p;
    // declarations: $x := ... | $i, $e := ...
    std::size_t save = pos_;
    if (at(Tok::Var) && t_[pos_].path.empty()) {
      std::vector<std::string> vars{t_[pos_].text};
      std::size_t k = pos_ + 1;
      if (k < t_.size() && t_[k].kind == Tok::Comma && k + 1 < t_.size() && t_[k + 1].kind == Tok::Var) {
        vars.push_back(t_[k + 1].text);
        k += 2;
      }
      if (k < t_.size() && (t_[k].kind == Tok::Declare || t_[k].kind == Tok::Assign)) {
        p.assign = t_[k].kind == Tok::Assign;
        p.decl = std::move(vars);
        pos_ = k + 1;
      } else {
        pos_ = save;
      }
    }
    for (;;) {
      Cmd c;
      while (pos_ < t_.size() && !at(Tok::Pipe) && !at(Tok::RParen)) c.args.push_back(TRY(operand()));
      if (c.args.empty()) return fail(tmpl_error("missing value for command"));
      p.cmds.push_back(std::move(c));
      if (!at(Tok::Pipe)) break;
      ++pos_;
    }
    return p;
  }

  Result<Arg> operand() {
    const Tok& t = t_[pos_++];
    Arg a;
    switch (t.kind) {
      case Tok::Field:
        a.kind = Arg::Field;
        a.path = t.path;
        return a;
      case Tok::Var:
        a.kind = Arg::Var;
        a.name = t.text;
        a.path = t.path;
        return a;
      case Tok::Str:
        a.lit = t.text;
        return a;
      case Tok::Num: {
        if (auto n = parse_int(t.text)) {
          a.lit = *n;
        } else {
          char* end = nullptr;
          double d = std::strtod(t.text.c_str(), &end);
          if (!end || *end) return fail(tmpl_error("bad number syntax: \"" + t.text + "\""));
          a.lit = d;
        }
        return a;
      }
      case Tok::Ident:
        if (t.text == "true" || t.text == "false") {
          a.lit = t.text == "true";
        } else if (t.text == "nil") {
          a.lit = nullptr;
        } else {
          a.kind = Arg::Func;
          a.name = t.text;
        }
        return a;
      case Tok::LParen: {
        auto p = TRY(pipeline());
        if (!at(Tok::RParen)) return fail(tmpl_error("unclosed left paren"));
        a.kind = Arg::Sub;
        a.path = t_[pos_].path;
        ++pos_;
        a.sub = std::make_shared<Pipeline>(std::move(p));
        return a;
      }
      default:
        return fail(tmpl_error("unexpected \"" + t.text + "\" in operand"));
    }
  }

  std::vector<Tok> t_;
  std::size_t pos_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Template structure: text and {{actions}}, with {{- -}} trimming

struct Item {
  bool action;
  std::string text;  // raw text, or action body (trimmed of markers)
};

Result<std::vector<Item>> split_items(std::string_view s) {
  std::vector<Item> items;
  std::size_t i = 0;
  bool trim_next = false;
  while (i <= s.size()) {
    std::size_t open = s.find("{{", i);
    std::string text(s.substr(i, open == std::string_view::npos ? std::string_view::npos : open - i));
    if (trim_next) {
      std::size_t k = 0;
      while (k < text.size() && std::isspace(static_cast<unsigned char>(text[k]))) ++k;
      text.erase(0, k);
    }
    if (open == std::string_view::npos) {
      if (!text.empty()) items.push_back({false, std::move(text)});
      break;
    }
    std::size_t body = open + 2;
    bool trim_left = body + 1 < s.size() && s[body] == '-' &&
                     std::isspace(static_cast<unsigned char>(s[body + 1]));
    if (trim_left) {
      while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
      body += 1;
    }
    if (!text.empty()) items.push_back({false, std::move(text)});
    // find the closing }} outside string literals
    std::size_t j = body;
    char quote = 0;
    std::size_t close = std::string_view::npos;
    while (j + 1 < s.size() + 1 && j < s.size()) {
      char c = s[j];
      if (quote) {
        if (c == '\\' && quote == '"') {
          j += 2;
          continue;
        }
        if (c == quote) quote = 0;
      } else if (c == '"' || c == '`') {
        quote = c;
      } else if (c == '}' && j + 1 < s.size() && s[j + 1] == '}') {
        close = j;
        break;
      }
      ++j;
    }
    if (close == std::string_view::npos) return fail(tmpl_error("unclosed action"));
    std::size_t end = close;
    trim_next = false;
    if (end > body && s[end - 1] == '-' && end - 1 > body &&
        std::isspace(static_cast<unsigned char>(s[end - 2]))) {
      trim_next = true;
      end -= 1;
    }
    std::string_view inner = s.substr(body, end - body);
    // comments {{/* ... */}}
    std::string_view tr = trim(inner);
    if (!(tr.size() >= 4 && tr.substr(0, 2) == "/*" && tr.substr(tr.size() - 2) == "*/"))
      items.push_back({true, std::string(inner)});
    i = close + 2;
  }
  return items;
}

class TreeParser {
 public:
  explicit TreeParser(std::vector<Item> items) : items_(std::move(items)) {}

  Result<TemplateNode> parse() {
    TemplateNode root;
    std::string stop = TRY(list(root.list));
    if (!stop.empty()) return fail(tmpl_error("unexpected {{" + stop + "}}"));
    return root;
  }

 private:
  static std::string first_word(std::string_view s) {
    s = trim(s);
    std::size_t k = 0;
    while (k < s.size() && ident_char(s[k])) ++k;
    return std::string(s.substr(0, k));
  }

  // Parses nodes until {{end}} or {{else ...}}; returns "end", "else <rest>" or "" at EOF.
  Result<std::string> list(std::vector<TemplateNode>& out) {
    while (pos_ < items_.size()) {
      const Item& it = items_[pos_++];
      if (!it.action) {
        TemplateNode n;
        n.kind = TemplateNode::Text;
        n.text = it.text;
        out.push_back(std::move(n));
        continue;
      }
      std::string body(trim(it.text));
      std::string w = first_word(body);
      if (w == "end") return std::string("end");
      if (w == "else") return "else " + std::string(trim(std::string_view(body).substr(4)));
      if (w == "if" || w == "range" || w == "with") {
        TemplateNode n;
        n.kind = w == "if" ? TemplateNode::If : w == "range" ? TemplateNode::Range : TemplateNode::With;
        TRY(control(n, std::string_view(body).substr(w.size())));
        out.push_back(std::move(n));
        continue;
      }
      if (w == "define" || w == "template" || w == "block")
        return fail(tmpl_error("{{" + w + "}} is not supported"));
      TemplateNode n;
      n.kind = TemplateNode::Action;
      n.pipe = TRY(parse_pipe(body));
      out.push_back(std::move(n));
    }
    return std::string();
  }

  Status control(TemplateNode& n, std::string_view pipe_text) {
    n.pipe = TRY(parse_pipe(pipe_text));
    std::string stop = TRY(list(n.list));
    if (stop.empty()) return fail(tmpl_error("unexpected EOF"));
    if (stop == "end") return ok();
    std::string rest(trim(std::string_view(stop).substr(4)));
    std::string w = first_word(rest);
    if (w == "if" || w == "with") {
      // {{else if X}} == {{else}}{{if X}}...{{end}} sharing our {{end}}
      TemplateNode inner;
      inner.kind = w == "if" ? TemplateNode::If : TemplateNode::With;
      TRY(control(inner, std::string_view(rest).substr(w.size())));
      n.else_list.push_back(std::move(inner));
      return ok();
    }
    if (!trim(rest).empty()) return fail(tmpl_error("unexpected \"" + rest + "\" in else"));
    std::string stop2 = TRY(list(n.else_list));
    if (stop2 != "end") return fail(tmpl_error("expected end; found " + (stop2.empty() ? "EOF" : stop2)));
    return ok();
  }

  static Result<Pipeline> parse_pipe(std::string_view text) {
    auto toks = TRY(lex_action(text));
    if (toks.empty()) return fail(tmpl_error("missing value for command"));
    return PipeParser(std::move(toks)).parse_all();
  }

  std::vector<Item> items_;
  std::size_t pos_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Evaluation

bool truthy(const Json& v) {
  if (v.is_null()) return false;
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number_integer()) return v.get<std::int64_t>() != 0;
  if (v.is_number_unsigned()) return v.get<std::uint64_t>() != 0;
  if (v.is_number_float()) return v.get<double>() != 0;
  if (v.is_string()) return !v.get_ref<const std::string&>().empty();
  if (v.is_array() || v.is_object()) return !v.empty();
  return true;
}

std::string go_json(const Json& v) { return v.dump(-1, ' ', false, Json::error_handler_t::replace); }

// What Go's json.Marshal prints: like go_json, with <, >, & and
// U+2028/U+2029 escaped as \u003c, \u003e, \u0026, \u2028, \u2029. Those characters only occur
// inside strings, so escaping the whole text is exact.
std::string marshal_json(const Json& v) {
  std::string in = go_json(v), out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '<') out += "\\u003c";
    else if (c == '>') out += "\\u003e";
    else if (c == '&') out += "\\u0026";
    else if (c == '\xe2' && i + 2 < in.size() && in[i + 1] == '\x80' && (in[i + 2] == '\xa8' || in[i + 2] == '\xa9')) {
      out += in[i + 2] == '\xa8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else out += c;
  }
  return out;
}

double as_double(const Json& v) { return v.is_number() ? v.get<double>() : 0; }

int compare(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) {
    double x = as_double(a), y = as_double(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  std::string x = a.is_string() ? a.get<std::string>() : go_print(a);
  std::string y = b.is_string() ? b.get<std::string>() : go_print(b);
  return x.compare(y) < 0 ? -1 : x == y ? 0 : 1;
}

bool equal(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) return as_double(a) == as_double(b);
  return a == b;
}

std::string as_string(const Json& v) { return v.is_string() ? v.get<std::string>() : go_print(v); }

std::string go_sprintf(const std::string& fmt, const std::vector<Json>& args) {
  std::string out;
  std::size_t ai = 0;
  for (std::size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%' || i + 1 >= fmt.size()) {
      out += fmt[i];
      continue;
    }
    char verb = fmt[++i];
    if (verb == '%') {
      out += '%';
      continue;
    }
    if (ai >= args.size()) {
      out += std::string("%!") + verb + "(MISSING)";
      continue;
    }
    const Json& a = args[ai++];
    switch (verb) {
      case 'q': out += go_json(Json(as_string(a))); break;
      case 'd': out += a.is_number() ? std::to_string(a.get<std::int64_t>()) : go_print(a); break;
      default: out += go_print(a);
    }
  }
  return out;
}

class Exec {
 public:
  Exec(const Json& root, bool header) : header_(header) { vars_.push_back({"$", root}); }

  Status walk(const std::vector<TemplateNode>& nodes, const Json& dot, std::string& out) {
    for (const auto& n : nodes) TRY(node(n, dot, out));
    return ok();
  }

 private:
  Status node(const TemplateNode& n, const Json& dot, std::string& out) {
    switch (n.kind) {
      case TemplateNode::List: return walk(n.list, dot, out);
      case TemplateNode::Text: out += n.text; return ok();
      case TemplateNode::Action: {
        Json v = TRY(pipeline(n.pipe, dot));
        if (!n.pipe.decl.empty()) return ok();
        out += misses(n.pipe, dot) ? std::string(kNoValue) : go_print(v);
        return ok();
      }
      case TemplateNode::If:
      case TemplateNode::With: {
        std::size_t mark = vars_.size();
        Json v = TRY(pipeline(n.pipe, dot));
        Status st = ok();
        if (truthy(v))
          st = walk(n.list, n.kind == TemplateNode::With ? v : dot, out);
        else
          st = walk(n.else_list, dot, out);
        vars_.resize(mark);
        return st;
      }
      case TemplateNode::Range: {
        std::size_t mark = vars_.size();
        Pipeline p = n.pipe;
        std::vector<std::string> decl = std::move(p.decl);
        p.decl.clear();
        Json v = TRY(pipeline(p, dot));
        auto body = [&](const Json& key, const Json& elem) -> Status {
          std::size_t m2 = vars_.size();
          if (decl.size() == 1) vars_.push_back({decl[0], elem});
          if (decl.size() == 2) {
            vars_.push_back({decl[0], key});
            vars_.push_back({decl[1], elem});
          }
          Status st = walk(n.list, elem, out);
          vars_.resize(m2);
          return st;
        };
        if (!truthy(v)) {
          TRY(walk(n.else_list, dot, out));
        } else if (v.is_array()) {
          for (std::size_t i = 0; i < v.size(); ++i) TRY(body(Json(i), v[i]));
        } else if (v.is_object()) {
          std::vector<std::string> keys;
          for (auto it = v.begin(); it != v.end(); ++it) keys.push_back(it.key());
          std::sort(keys.begin(), keys.end());
          for (const auto& k : keys) TRY(body(Json(k), v[k]));
        } else if (v.is_number_integer()) {
          for (std::int64_t i = 0; i < v.get<std::int64_t>(); ++i) TRY(body(Json(i), Json(i)));
        } else {
          return fail(tmpl_error("range can't iterate over " + go_print(v)));
        }
        vars_.resize(mark);
        return ok();
      }
    }
    return ok();
  }

  // docker's CLI formats its Go types, whose field names differ from the API's JSON keys only
  // in case (APIVersion/ApiVersion, ID/Id): an exact key wins, else one equal ignoring case.
  static Json::const_iterator find_key(const Json& obj, const std::string& f) {
    auto it = obj.find(f);
    if (it != obj.end()) return it;
    for (auto j = obj.begin(); j != obj.end(); ++j)
      if (j.key().size() == f.size() &&
          std::equal(f.begin(), f.end(), j.key().begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
          }))
        return j;
    return obj.end();
  }

  // A lone field that misses in its map prints "<no value>" (Go's invalid reflect.Value).
  static bool misses(const Pipeline& p, const Json& dot) {
    if (p.cmds.size() != 1 || p.cmds[0].args.size() != 1) return false;
    const Arg& a = p.cmds[0].args[0];
    if (a.kind != Arg::Field || a.path.empty()) return false;
    const Json* cur = &dot;
    for (const auto& f : a.path) {
      if (!cur->is_object()) return false;
      auto it = find_key(*cur, f);
      if (it == cur->end()) return true;
      cur = &*it;
    }
    return false;
  }

  Result<Json> pipeline(const Pipeline& p, const Json& dot) {
    Json v;
    bool have = false;
    for (const auto& c : p.cmds) {
      v = TRY(command(c, dot, have ? &v : nullptr));
      have = true;
    }
    if (!p.decl.empty()) {
      if (p.assign) {
        for (auto it = vars_.rbegin(); it != vars_.rend(); ++it)
          if (it->first == p.decl[0]) {
            it->second = v;
            return v;
          }
        return fail(tmpl_error("undefined variable: " + p.decl[0]));
      }
      vars_.push_back({p.decl.back(), v});
    }
    return v;
  }

  static Result<Json> field_chain(Json v, const std::vector<std::string>& path) {
    for (const auto& f : path) {
      if (v.is_object()) {
        auto it = find_key(v, f);
        if (it == v.end()) return Json();  // map miss: "<no value>" (marked below)
        Json next = *it;
        v = std::move(next);
      } else if (v.is_null()) {
        return Json();
      } else {
        return fail(tmpl_error("can't evaluate field " + f + " in type " +
                               (v.is_string() ? "string" : v.is_array() ? "[]interface {}" : "interface {}")));
      }
    }
    return v;
  }

  Result<Json> arg(const Arg& a, const Json& dot) {
    switch (a.kind) {
      case Arg::Literal: return a.lit;
      case Arg::Field: return field_chain(dot, a.path);
      case Arg::Var: {
        for (auto it = vars_.rbegin(); it != vars_.rend(); ++it)
          if (it->first == a.name) return field_chain(it->second, a.path);
        return fail(tmpl_error("undefined variable \"" + a.name + "\""));
      }
      case Arg::Sub: {
        Json v = TRY(pipeline(*a.sub, dot));
        return field_chain(std::move(v), a.path);
      }
      case Arg::Func: return call(a.name, {});
    }
    return Json();
  }

  Result<Json> command(const Cmd& c, const Json& dot, const Json* piped) {
    const Arg& first = c.args[0];
    if (first.kind == Arg::Func) {
      std::vector<Json> args;
      for (std::size_t i = 1; i < c.args.size(); ++i) args.push_back(TRY(arg(c.args[i], dot)));
      if (piped) args.push_back(*piped);
      return call(first.name, std::move(args));
    }
    if (first.kind == Arg::Field && !first.path.empty() && first.path.back() == "Label" &&
        c.args.size() + (piped ? 1 : 0) == 2) {
      // docker's list rows have one method, Label "key": the value of that label ("" if unset),
      // read from the row's Labels ("k=v,k2=v2") or a Labels object.
      if (header_) return Json("LABEL");
      Json key = piped ? *piped : TRY(arg(c.args[1], dot));
      std::vector<std::string> recv_path(first.path.begin(), first.path.end() - 1);
      Json recv = TRY(field_chain(dot, recv_path));
      std::string k = as_string(key);
      if (recv.is_object() && recv.contains("Labels")) {
        const Json& l = recv["Labels"];
        if (l.is_object()) return Json(l.contains(k) && l[k].is_string() ? l[k].get<std::string>() : std::string());
        if (l.is_string())
          for (const auto& kv : split(l.get<std::string>(), ',')) {
            auto eq = kv.find('=');
            if (kv.substr(0, eq) == k) return Json(eq == std::string::npos ? std::string() : kv.substr(eq + 1));
          }
      }
      return Json("");
    }
    if (c.args.size() > 1 || piped) {
      // Go: a field with arguments is a method call; the rows' Label is the only method.
      return fail(tmpl_error("can't give argument to non-function"));
    }
    return arg(first, dot);
  }

  Result<Json> call(const std::string& fn, std::vector<Json> a) {
    auto need = [&](std::size_t n) -> Status {
      if (a.size() < n)
        return fail(tmpl_error("wrong number of args for " + fn + ": want " + std::to_string(n) +
                               " got " + std::to_string(a.size())));
      return ok();
    };
    if (header_) {
      // HeaderFunctions: pass the header text through.
      if (a.empty()) return Json("");
      return Json(as_string(a[0]));
    }
    if (fn == "json") {
      TRY(need(1));
      return Json(go_json(a[0]));
    }
    if (fn == "join") {
      TRY(need(2));
      std::vector<std::string> parts;
      if (a[0].is_array())
        for (const auto& e : a[0]) parts.push_back(as_string(e));
      else if (!a[0].is_null())
        parts.push_back(as_string(a[0]));
      return Json(join(parts, as_string(a[1])));
    }
    if (fn == "lower") {
      TRY(need(1));
      return Json(to_lower(as_string(a[0])));
    }
    if (fn == "upper") {
      TRY(need(1));
      return Json(to_upper(as_string(a[0])));
    }
    if (fn == "title") {
      TRY(need(1));
      std::string s = as_string(a[0]);
      bool start = true;
      for (auto& ch : s) {
        if (start && std::isalpha(static_cast<unsigned char>(ch)))
          ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        start = std::isspace(static_cast<unsigned char>(ch)) != 0;
      }
      return Json(s);
    }
    if (fn == "split") {
      TRY(need(2));
      Json arr = Json::array();
      std::string s = as_string(a[0]), sep = as_string(a[1]);
      if (sep.empty()) {
        for (char ch : s) arr.push_back(std::string(1, ch));
      } else {
        std::size_t st = 0;
        for (;;) {
          auto k = s.find(sep, st);
          arr.push_back(s.substr(st, k == std::string::npos ? std::string::npos : k - st));
          if (k == std::string::npos) break;
          st = k + sep.size();
        }
      }
      return arr;
    }
    if (fn == "truncate") {
      TRY(need(2));
      std::string s = as_string(a[0]);
      auto n = static_cast<std::size_t>(std::max<double>(0, as_double(a[1])));
      return Json(s.size() < n ? s : s.substr(0, n));
    }
    if (fn == "pad") {
      TRY(need(3));
      auto l = static_cast<std::size_t>(std::max<double>(0, as_double(a[1])));
      auto r = static_cast<std::size_t>(std::max<double>(0, as_double(a[2])));
      return Json(std::string(l, ' ') + as_string(a[0]) + std::string(r, ' '));
    }
    if (fn == "len") {
      TRY(need(1));
      if (a[0].is_string()) return Json(a[0].get<std::string>().size());
      if (a[0].is_array() || a[0].is_object()) return Json(a[0].size());
      if (a[0].is_null()) return Json(0);
      return fail(tmpl_error("len of type " + std::string(a[0].type_name())));
    }
    if (fn == "index") {
      TRY(need(1));
      Json v = a[0];
      for (std::size_t i = 1; i < a.size(); ++i) {
        if (v.is_array() && a[i].is_number()) {
          auto k = a[i].get<std::int64_t>();
          if (k < 0 || static_cast<std::size_t>(k) >= v.size())
            return fail(tmpl_error("index out of range: " + std::to_string(k)));
          Json n = v[static_cast<std::size_t>(k)];
          v = std::move(n);
        } else if (v.is_object()) {
          auto it = v.find(as_string(a[i]));
          if (it == v.end()) return Json();
          Json n = *it;
          v = std::move(n);
        } else {
          return fail(tmpl_error("can't index item of type " + std::string(v.type_name())));
        }
      }
      return v;
    }
    if (fn == "printf") {
      TRY(need(1));
      std::vector<Json> rest(a.begin() + 1, a.end());
      return Json(go_sprintf(as_string(a[0]), rest));
    }
    if (fn == "print" || fn == "println") {
      std::string s;
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (i > 0 && (fn == "println" || (!a[i].is_string() && !a[i - 1].is_string()))) s += ' ';
        s += go_print(a[i]);
      }
      if (fn == "println") s += '\n';
      return Json(s);
    }
    if (fn == "eq") {
      TRY(need(2));
      for (std::size_t i = 1; i < a.size(); ++i)
        if (equal(a[0], a[i])) return Json(true);
      return Json(false);
    }
    if (fn == "ne") {
      TRY(need(2));
      return Json(!equal(a[0], a[1]));
    }
    if (fn == "lt" || fn == "le" || fn == "gt" || fn == "ge") {
      TRY(need(2));
      int c = compare(a[0], a[1]);
      bool r = fn == "lt" ? c < 0 : fn == "le" ? c <= 0 : fn == "gt" ? c > 0 : c >= 0;
      return Json(r);
    }
    if (fn == "not") {
      TRY(need(1));
      return Json(!truthy(a[0]));
    }
    if (fn == "and" || fn == "or") {
      TRY(need(1));
      for (std::size_t i = 0; i + 1 < a.size(); ++i)
        if (truthy(a[i]) == (fn == "or")) return a[i];
      return a.back();
    }
    return fail(tmpl_error("function \"" + fn + "\" not defined"));
  }

 public:
  static constexpr const char* kNoValue = "<no value>";

 private:
  bool header_;
  std::vector<std::pair<std::string, Json>> vars_;
};

}  // namespace

std::string go_json_marshal(const Json& v) { return marshal_json(v); }

std::string go_print(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null: return "<nil>";
    case Json::value_t::string: return v.get<std::string>();
    case Json::value_t::boolean: return v.get<bool>() ? "true" : "false";
    case Json::value_t::number_integer: return std::to_string(v.get<std::int64_t>());
    case Json::value_t::number_unsigned: return std::to_string(v.get<std::uint64_t>());
    case Json::value_t::number_float: {
      double d = v.get<double>();
      char buf[64];
      if (d == static_cast<double>(static_cast<std::int64_t>(d)) && std::abs(d) < 1e21) {
        std::snprintf(buf, sizeof buf, "%.0f", d);
        return buf;
      }
      return v.dump();
    }
    case Json::value_t::array: {
      std::string s = "[";
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (i) s += ' ';
        s += go_print(v[i]);
      }
      return s + "]";
    }
    case Json::value_t::object: {
      std::vector<std::string> keys;
      for (auto it = v.begin(); it != v.end(); ++it) keys.push_back(it.key());
      std::sort(keys.begin(), keys.end());
      std::string s = "map[";
      for (std::size_t i = 0; i < keys.size(); ++i) {
        if (i) s += ' ';
        s += keys[i] + ":" + go_print(v[keys[i]]);
      }
      return s + "]";
    }
    default: return v.dump();
  }
}

Template::Template() = default;
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;
Template::~Template() = default;

Result<Template> Template::parse(std::string_view text) {
  auto items = TRY(split_items(text));
  TemplateNode root = TRY(TreeParser(std::move(items)).parse());
  Template t;
  t.root_ = std::make_shared<const TemplateNode>(std::move(root));
  return t;
}

Result<std::string> Template::execute(const Json& dot, bool header_mode) const {
  std::string out;
  if (!root_) return out;
  try {
    Exec ex(dot, header_mode);
    TRY(ex.walk(root_->list, dot, out));
  } catch (const std::exception& e) {
    return fail(tmpl_error(std::string("executing: ") + e.what()));
  }
  return out;
}

}  // namespace berth::cli
