// SPDX-License-Identifier: Apache-2.0
// berth port CONTAINER [PRIVATE_PORT[/PROTO]]: the published ports from the container's
// NetworkSettings.Ports, "80/tcp -> 0.0.0.0:8080" lines in docker's natural order.
#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "cli/cmd_util.hpp"

namespace berth::cli {

// Go's net.JoinHostPort.
static std::string join_host_port(const std::string& host, const std::string& port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + port;
  return host + ":" + port;
}

// sortorder.NaturalLess: digit runs compare as numbers.
static bool natural_less(const std::string& a, const std::string& b) {
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    bool da = std::isdigit(static_cast<unsigned char>(a[i])), db = std::isdigit(static_cast<unsigned char>(b[j]));
    if (da && db) {
      std::size_t ei = i, ej = j;
      while (ei < a.size() && std::isdigit(static_cast<unsigned char>(a[ei]))) ++ei;
      while (ej < b.size() && std::isdigit(static_cast<unsigned char>(b[ej]))) ++ej;
      std::string na = a.substr(i, ei - i), nb = b.substr(j, ej - j);
      na.erase(0, std::min(na.find_first_not_of('0'), na.size()));
      nb.erase(0, std::min(nb.find_first_not_of('0'), nb.size()));
      if (na.size() != nb.size()) return na.size() < nb.size();
      if (na != nb) return na < nb;
      i = ei;
      j = ej;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

static int run_port(App& app, const ParsedFlags& f) {
  auto info = inspect_container(app, f.args[0]);
  if (!info) return report(app, info.error());
  const Json& ns = (*info)["NetworkSettings"];
  Json ports = ns.is_object() && ns.contains("Ports") && ns["Ports"].is_object() ? ns["Ports"] : Json::object();
  std::vector<std::string> out;
  if (f.args.size() > 1) {
    std::string p = f.args[1];
    if (p.find('/') == std::string::npos) p += "/tcp";
    auto it = ports.find(p);
    if (it == ports.end() || !it->is_array())
      return report(app, Error(Errc::NotFound, "Error: No public port '" + f.args[1] + "' published for " + f.args[0]));
    for (const auto& fe : *it) out.push_back(join_host_port(fe.value("HostIp", ""), fe.value("HostPort", "")));
  } else {
    for (auto it = ports.begin(); it != ports.end(); ++it)
      if (it->is_array())
        for (const auto& fe : *it)
          out.push_back(it.key() + " -> " + join_host_port(fe.value("HostIp", ""), fe.value("HostPort", "")));
  }
  std::sort(out.begin(), out.end(), natural_less);
  std::string s;
  for (const auto& l : out) s += l + "\n";
  app.out(s);
  return 0;
}

const Command& cmd_port() {
  static const Command c{"port", {"container port"}, "CONTAINER [PRIVATE_PORT[/PROTO]]",
                         "List port mappings or a specific mapping for the container", {}, 1, 2, true, run_port};
  return c;
}

}  // namespace berth::cli
