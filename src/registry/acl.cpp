// SPDX-License-Identifier: Apache-2.0
#include "registry/acl.hpp"

#include <algorithm>

#include "common/file.hpp"
#include "common/strings.hpp"

namespace berth::registry {

bool glob_match(std::string_view p, std::string_view s) {
  std::size_t pi = 0, si = 0, star = std::string_view::npos, mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == s[si])) {
      ++pi;
      ++si;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = si;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

Result<Acl> Acl::parse(std::string_view text) {
  Acl acl;
  int lineno = 0;
  for (auto& raw : split(text, '\n')) {
    ++lineno;
    std::string_view line = raw;
    if (auto h = line.find('#'); h != line.npos) line = line.substr(0, h);
    std::vector<std::string> f;
    for (auto& w : split(line, ' '))
      for (auto& x : split(w, '\t'))
        if (!trim(x).empty()) f.emplace_back(trim(x));
    if (f.empty()) continue;
    if (f.size() != 3)
      return fail(Errc::InvalidArgument, "acl line " + std::to_string(lineno) + ": want `who what actions`");
    Rule r;
    r.who = f[0];
    std::string what = f[1];
    if (what == "registry:catalog") {
      r.type = "registry";
      r.pattern = "catalog";
    } else {
      if (what.starts_with("repository:")) what = what.substr(11);
      r.type = "repository";
      r.pattern = what;
    }
    for (auto& a : split(f[2], ',')) {
      if (a == "*") {
        r.actions = {"pull", "push", "delete", "*"};
        break;
      }
      if (a != "pull" && a != "push" && a != "delete")
        return fail(Errc::InvalidArgument, "acl line " + std::to_string(lineno) + ": unknown action " + a);
      r.actions.push_back(a);
    }
    acl.rules_.push_back(std::move(r));
  }
  return acl;
}

Result<Acl> Acl::load(const std::string& path) {
  auto text = TRYC(read_file(path, 16 << 20), "read acl " + path);
  return TRYC(parse(text), path);
}

std::vector<std::string> Acl::allowed(std::string_view user, std::string_view type, std::string_view name,
                                      const std::vector<std::string>& wanted) const {
  std::vector<std::string> out;
  for (auto& r : rules_) {
    bool who = user.empty() ? r.who == "@anonymous" : (r.who == "*" || r.who == user);
    if (!who || r.type != type || !glob_match(r.pattern, name)) continue;
    for (auto& w : wanted) {
      if (std::find(out.begin(), out.end(), w) != out.end()) continue;
      if (std::find(r.actions.begin(), r.actions.end(), w) != r.actions.end()) out.push_back(w);
    }
  }
  // Keep the order of `wanted`.
  std::vector<std::string> ordered;
  for (auto& w : wanted)
    if (std::find(out.begin(), out.end(), w) != out.end() &&
        std::find(ordered.begin(), ordered.end(), w) == ordered.end())
      ordered.push_back(w);
  return ordered;
}

}  // namespace berth::registry
