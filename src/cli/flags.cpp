// SPDX-License-Identifier: Apache-2.0
#include "cli/flags.hpp"

#include <algorithm>

#include "common/strings.hpp"

namespace berth::cli {

namespace {

const std::vector<std::string> kEmpty;

const FlagSpec* find_long(const std::vector<FlagSpec>& specs, std::string_view name) {
  for (const auto& s : specs)
    if (s.name == name) return &s;
  return nullptr;
}
const FlagSpec* find_short(const std::vector<FlagSpec>& specs, char c) {
  for (const auto& s : specs)
    if (s.shorthand == c) return &s;
  return nullptr;
}

std::string flag_label(const FlagSpec& s) {
  if (s.shorthand) return std::string("-") + s.shorthand + ", --" + s.name;
  return "--" + s.name;
}

Status store(ParsedFlags& out, const FlagSpec& s, std::string value) {
  if (s.kind == FlagKind::Bool) {
    if (value != "true" && value != "false" && value != "1" && value != "0")
      return fail(Errc::InvalidArgument, "invalid argument \"" + value + "\" for \"" +
                                             flag_label(s) + "\" flag: strconv.ParseBool: parsing \"" +
                                             value + "\": invalid syntax");
    value = (value == "true" || value == "1") ? "true" : "false";
  } else if (s.kind == FlagKind::Int) {
    if (!parse_int(value))
      return fail(Errc::InvalidArgument, "invalid argument \"" + value + "\" for \"" +
                                             flag_label(s) + "\" flag: strconv.ParseInt: parsing \"" +
                                             value + "\": invalid syntax");
  }
  auto& v = out.values_[s.name];
  if (s.kind != FlagKind::List) v.clear();
  v.push_back(std::move(value));
  return ok();
}

}  // namespace

bool ParsedFlags::flag(std::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) {
    auto d = defaults_.find(name);
    return d != defaults_.end() && d->second == "true";
  }
  return it->second.back() == "true";
}

std::string ParsedFlags::str(std::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) {
    auto d = defaults_.find(name);
    return d == defaults_.end() ? std::string() : d->second;
  }
  return it->second.back();
}

std::optional<std::string> ParsedFlags::opt(std::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

const std::vector<std::string>& ParsedFlags::list(std::string_view name) const {
  auto it = values_.find(name);
  return it == values_.end() ? kEmpty : it->second;
}

std::int64_t ParsedFlags::integer(std::string_view name, std::int64_t def) const {
  auto s = str(name);
  if (s.empty()) return def;
  return parse_int(s).value_or(def);
}

Result<ParsedFlags> parse_flags(const std::vector<FlagSpec>& specs,
                                const std::vector<std::string>& argv, const ParseOptions& opts) {
  ParsedFlags out;
  for (const auto& s : specs)
    if (!s.def.empty()) out.defaults_[s.name] = s.def;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--") {
      out.args.insert(out.args.end(), argv.begin() + i + 1, argv.end());
      break;
    }
    if (a.size() > 2 && a[0] == '-' && a[1] == '-') {
      auto [name, value] = split_once(std::string_view(a).substr(2), '=');
      bool has_value = a.find('=') != std::string::npos;
      const FlagSpec* s = find_long(specs, name);
      if (!s) return fail(Errc::InvalidArgument, "unknown flag: --" + std::string(name));
      if (s->kind == FlagKind::Bool) {
        TRY(store(out, *s, has_value ? std::string(value) : "true"));
      } else if (has_value) {
        TRY(store(out, *s, std::string(value)));
      } else {
        if (i + 1 >= argv.size())
          return fail(Errc::InvalidArgument, "flag needs an argument: --" + s->name);
        TRY(store(out, *s, argv[++i]));
      }
      continue;
    }
    if (a.size() > 1 && a[0] == '-') {
      // One or more shorthands: -it, -p80:80, -e K=V, -a=true
      for (std::size_t j = 1; j < a.size(); ++j) {
        const FlagSpec* s = find_short(specs, a[j]);
        if (!s)
          return fail(Errc::InvalidArgument, std::string("unknown shorthand flag: '") + a[j] +
                                                 "' in " + a);
        if (s->kind == FlagKind::Bool) {
          if (j + 1 < a.size() && a[j + 1] == '=') {
            TRY(store(out, *s, a.substr(j + 2)));
            break;
          }
          TRY(store(out, *s, "true"));
          continue;
        }
        std::string rest = a.substr(j + 1);
        if (!rest.empty() && rest[0] == '=') rest.erase(0, 1);
        if (!rest.empty() || j + 1 < a.size()) {
          TRY(store(out, *s, rest));
        } else {
          if (i + 1 >= argv.size())
            return fail(Errc::InvalidArgument, std::string("flag needs an argument: '") + a[j] +
                                                   "' in -" + a[j]);
          TRY(store(out, *s, argv[++i]));
        }
        break;
      }
      continue;
    }
    // positional ("-" alone is a positional too: `berth cp - ...`)
    if (!opts.interspersed) {
      out.args.insert(out.args.end(), argv.begin() + i, argv.end());
      break;
    }
    out.args.push_back(a);
  }
  return out;
}

std::string flag_usages(const std::vector<FlagSpec>& specs) {
  struct Line {
    std::string left, help;
  };
  std::vector<Line> lines;
  std::size_t width = 0;
  for (const auto& s : specs) {
    if (s.hidden) continue;
    std::string left = s.shorthand ? std::string("  -") + s.shorthand + ", --" + s.name
                                   : "      --" + s.name;
    if (s.kind != FlagKind::Bool) {
      std::string vn = s.value_name;
      if (vn.empty()) vn = s.kind == FlagKind::Int ? "int" : s.kind == FlagKind::List ? "list" : "string";
      left += " " + vn;
    }
    std::string help = s.help;
    if (!s.def.empty() && s.kind != FlagKind::Bool)
      help += s.kind == FlagKind::String ? " (default \"" + s.def + "\")" : " (default " + s.def + ")";
    width = std::max(width, left.size());
    lines.push_back({std::move(left), std::move(help)});
  }
  std::string out;
  for (auto& l : lines) {
    out += l.left;
    out.append(width - l.left.size() + 3, ' ');
    out += l.help;
    out += '\n';
  }
  return out;
}

}  // namespace berth::cli
