// SPDX-License-Identifier: Apache-2.0
// Docker-style (pflag) command-line parsing: `--flag=value`, `--flag value`, combined short
// bools `-it`, a short flag's value glued on (`-p80:80`) or next (`-p 80:80`), repeated list
// flags (`-e A=1 -e B=2`), `--` ends flags. Commands such as `run` and `exec` stop parsing at the
// first positional argument (the image / container), so `berth run img ls -l` passes `-l` to ls.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace berth::cli {

enum class FlagKind { Bool, String, List, Int };

struct FlagSpec {
  std::string name;       // long name without dashes: "all"
  char shorthand = 0;     // 'a' or 0
  FlagKind kind = FlagKind::Bool;
  std::string help;
  std::string value_name = {};  // shown in --help ("string", "list", "int", "bytes" ...)
  std::string def = {};         // default shown in --help (and returned by str())
  bool hidden = false;
};

class ParsedFlags {
 public:
  bool has(std::string_view name) const { return values_.count(std::string(name)) != 0; }
  bool flag(std::string_view name) const;  // Bool flags: true/false
  // Last value given, or the spec's default.
  std::string str(std::string_view name) const;
  std::optional<std::string> opt(std::string_view name) const;
  const std::vector<std::string>& list(std::string_view name) const;
  std::int64_t integer(std::string_view name, std::int64_t def) const;

  std::vector<std::string> args;  // positionals (after the command name)
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
  std::map<std::string, std::string, std::less<>> defaults_;
};

struct ParseOptions {
  bool interspersed = true;  // false: stop at the first positional (run, exec)
};

// Errors carry pflag's wording: "unknown flag: --bogus", "unknown shorthand flag: 'z' in -z",
// "flag needs an argument: --name", `invalid argument "x" for "-n, --last" flag: ...`.
Result<ParsedFlags> parse_flags(const std::vector<FlagSpec>& specs,
                                const std::vector<std::string>& argv,
                                const ParseOptions& opts = {});

// The "Options:" block of --help, aligned like cobra's.
std::string flag_usages(const std::vector<FlagSpec>& specs);

}  // namespace berth::cli
