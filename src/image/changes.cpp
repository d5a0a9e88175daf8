// SPDX-License-Identifier: Apache-2.0
// --change instructions for import and commit (the subset of Dockerfile instructions Docker
// accepts there: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR).
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>

#include "common/strings.hpp"
#include "image/service_impl.hpp"

namespace berth::image {

namespace {

// JSON array form, or shell form wrapped in /bin/sh -c when `shell` is set.
std::vector<std::string> exec_or_shell(std::string_view arg, bool shell) {
  std::string a(trim(arg));
  if (a.starts_with("[")) {
    try {
      auto j = nlohmann::json::parse(a);
      if (j.is_array()) {
        std::vector<std::string> out;
        for (auto& v : j) out.push_back(v.get<std::string>());
        return out;
      }
    } catch (const std::exception&) {
    }
  }
  if (shell) return {"/bin/sh", "-c", a};
  std::vector<std::string> out;
  for (auto& w : split(a, ' '))
    if (!w.empty()) out.push_back(w);
  return out;
}

std::string unquote(std::string_view s) {
  if (s.size() >= 2 && ((s.front() == '"' && s.back() == '"') || (s.front() == '\'' && s.back() == '\'')))
    return std::string(s.substr(1, s.size() - 2));
  return std::string(s);
}

// "a=b c=\"d e\"" -> pairs; "a b c" (legacy single pair) -> {a, "b c"}.
std::vector<std::pair<std::string, std::string>> kv_pairs(std::string_view arg) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string a(trim(arg));
  auto eq = a.find('=');
  auto sp = a.find_first_of(" \t");
  if (eq == std::string::npos || (sp != std::string::npos && sp < eq)) {
    if (sp == std::string::npos) return {{a, ""}};
    return {{a.substr(0, sp), std::string(trim(a.substr(sp + 1)))}};
  }
  std::size_t i = 0;
  while (i < a.size()) {
    while (i < a.size() && a[i] == ' ') ++i;
    std::size_t k = a.find('=', i);
    if (k == std::string::npos) break;
    std::string key = a.substr(i, k - i);
    std::size_t j = k + 1;
    std::string val;
    if (j < a.size() && (a[j] == '"' || a[j] == '\'')) {
      char q = a[j];
      std::size_t end = a.find(q, j + 1);
      if (end == std::string::npos) end = a.size();
      val = a.substr(j + 1, end - j - 1);
      i = end + 1;
    } else {
      std::size_t end = a.find(' ', j);
      if (end == std::string::npos) end = a.size();
      val = a.substr(j, end - j);
      i = end;
    }
    out.emplace_back(key, val);
  }
  return out;
}

}  // namespace

Status apply_changes(oci::ContainerConfig& c, const std::vector<std::string>& changes) {
  for (auto& line : changes) {
    std::string_view l = trim(line);
    if (l.empty()) continue;
    auto sp = l.find_first_of(" \t");
    std::string cmd = to_lower(l.substr(0, sp));
    std::string_view arg = sp == std::string_view::npos ? std::string_view{} : trim(l.substr(sp));
    if (cmd == "cmd") c.cmd = exec_or_shell(arg, true);
    else if (cmd == "entrypoint") c.entrypoint = exec_or_shell(arg, true);
    else if (cmd == "env") {
      for (auto& [k, v] : kv_pairs(arg)) {
        std::string kv = k + "=" + unquote(v);
        auto it = std::find_if(c.env.begin(), c.env.end(),
                               [&](const std::string& e) { return e.starts_with(k + "="); });
        if (it != c.env.end()) *it = kv;
        else c.env.push_back(kv);
      }
    } else if (cmd == "label") {
      for (auto& [k, v] : kv_pairs(arg)) c.labels[unquote(k)] = unquote(v);
    } else if (cmd == "expose") {
      for (auto& p : split(arg, ' ')) {
        if (p.empty()) continue;
        std::string port = p.find('/') == std::string::npos ? p + "/tcp" : p;
        if (std::find(c.exposed_ports.begin(), c.exposed_ports.end(), port) == c.exposed_ports.end())
          c.exposed_ports.push_back(port);
      }
    } else if (cmd == "volume") {
      for (auto& v : exec_or_shell(arg, false))
        if (std::find(c.volumes.begin(), c.volumes.end(), v) == c.volumes.end()) c.volumes.push_back(v);
    } else if (cmd == "user") c.user = std::string(arg);
    else if (cmd == "workdir") c.working_dir = std::string(arg);
    else if (cmd == "stopsignal") c.stop_signal = std::string(arg);
    else if (cmd == "onbuild") c.on_build.push_back(std::string(arg));
    else
      return fail(Errc::InvalidArgument,
                  fmt::format("{} is not a valid change command", to_lower(cmd)));
  }
  return ok();
}

}  // namespace berth::image
