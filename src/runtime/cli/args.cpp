// SPDX-License-Identifier: Apache-2.0
#include "runtime/cli/args.hpp"

#include <cstdio>

#include "common/log.hpp"

namespace berth::runtime::cli {

const FlagSpec* Args::find(const std::string& n) const {
  for (auto& s : specs_)
    for (auto& nm : s.names)
      if (nm == n) return &s;
  return nullptr;
}

Status Args::parse(const std::vector<std::string>& argv) {
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--") {
      pos_.insert(pos_.end(), argv.begin() + static_cast<long>(i) + 1, argv.end());
      return ok();
    }
    if (a.size() < 2 || a[0] != '-') {
      pos_.insert(pos_.end(), argv.begin() + static_cast<long>(i), argv.end());
      return ok();
    }
    std::string name = a.substr(a[1] == '-' ? 2 : 1);
    std::optional<std::string> val;
    if (auto eq = name.find('='); eq != std::string::npos) {
      val = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const FlagSpec* s = find(name);
    if (!s) return fail(Errc::InvalidArgument, "flag provided but not defined: -" + name);
    if (s->takes_value && !val) {
      if (i + 1 >= argv.size()) return fail(Errc::InvalidArgument, "flag needs an argument: -" + name);
      val = argv[++i];
    }
    vals_[s->names[0]].push_back(val.value_or("true"));
  }
  return ok();
}

bool Args::has(const std::string& name) const {
  auto* s = find(name);
  return s && vals_.count(s->names[0]);
}

bool Args::flag(const std::string& name) const {
  auto v = value(name);
  return v == "true" || v == "1";
}

std::string Args::value(const std::string& name, const std::string& def) const {
  auto* s = find(name);
  if (!s) return def;
  auto it = vals_.find(s->names[0]);
  if (it == vals_.end() || it->second.empty()) return def;
  return it->second.back();
}

std::vector<std::string> Args::values(const std::string& name) const {
  auto* s = find(name);
  if (!s) return {};
  auto it = vals_.find(s->names[0]);
  return it == vals_.end() ? std::vector<std::string>{} : it->second;
}

bool g_log_to_file = false;

int report(const Error& e) {
  if (g_log_to_file) log::error("{}", e.message());
  std::fprintf(stderr, "berth-runtime: %s\n", e.message().c_str());
  return 1;
}

bool need_args(const Args& a, std::size_t n, const char* verb, bool exact) {
  auto got = a.positional().size();
  if (exact ? got == n : got >= n) return true;
  std::fprintf(stderr, "berth-runtime: \"%s\" requires %s %zu argument%s\n", verb,
               exact ? "exactly" : "a minimum of", n, n == 1 ? "" : "s");
  return false;
}

}  // namespace berth::runtime::cli
