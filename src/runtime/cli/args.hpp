// SPDX-License-Identifier: Apache-2.0
// A small urfave/cli-compatible flag parser for runc's command line: "--flag value",
// "--flag=value", "-f value", single-dash long flags, repeated flags; parsing stops at the first
// positional argument (everything after it is positional, as exec's command needs).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "runtime/container.hpp"

namespace berth::runtime::cli {

struct FlagSpec {
  std::vector<std::string> names;  // "bundle", "b"
  bool takes_value = true;
};

class Args {
 public:
  Args(std::vector<FlagSpec> specs) : specs_(std::move(specs)) {}
  Status parse(const std::vector<std::string>& argv);
  bool has(const std::string& name) const;
  bool flag(const std::string& name) const;  // bool flags ("--x", "--x=true")
  std::string value(const std::string& name, const std::string& def = {}) const;
  std::vector<std::string> values(const std::string& name) const;
  const std::vector<std::string>& positional() const { return pos_; }

 private:
  const FlagSpec* find(const std::string& n) const;
  std::vector<FlagSpec> specs_;
  std::map<std::string, std::vector<std::string>> vals_;  // keyed by names[0]
  std::vector<std::string> pos_;
};

using Command = int (*)(const Globals& g, const std::vector<std::string>& argv);

extern bool g_log_to_file;
// Prints the error like runc (stderr + --log) and returns 1.
int report(const Error& e);
// Requires exactly n positional args; prints runc's usage error otherwise.
bool need_args(const Args& a, std::size_t n, const char* verb, bool exact = true);

int cmd_create(const Globals&, const std::vector<std::string>&);
int cmd_run(const Globals&, const std::vector<std::string>&);
int cmd_start(const Globals&, const std::vector<std::string>&);
int cmd_state(const Globals&, const std::vector<std::string>&);
int cmd_list(const Globals&, const std::vector<std::string>&);
int cmd_kill(const Globals&, const std::vector<std::string>&);
int cmd_delete(const Globals&, const std::vector<std::string>&);
int cmd_spec(const Globals&, const std::vector<std::string>&);
int cmd_exec(const Globals&, const std::vector<std::string>&);
int cmd_pause(const Globals&, const std::vector<std::string>&);
int cmd_resume(const Globals&, const std::vector<std::string>&);
int cmd_ps(const Globals&, const std::vector<std::string>&);
int cmd_update(const Globals&, const std::vector<std::string>&);
// `--await-command` (await_command.cpp): the command line (argv[0] first) a spare shim sends on
// fd 3, with stdio and working directory in place; nothing when none came. report_result()
// then tells the shim the command's exit code on that channel.
std::optional<std::vector<std::string>> await_command();
void report_result(int code);
int cmd_events(const Globals&, const std::vector<std::string>&);
int cmd_features(const Globals&, const std::vector<std::string>&);
int cmd_checkpoint(const Globals&, const std::vector<std::string>&);
int cmd_restore(const Globals&, const std::vector<std::string>&);

}  // namespace berth::runtime::cli
