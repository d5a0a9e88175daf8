// SPDX-License-Identifier: Apache-2.0
#include "network/etc_files.hpp"

#include <algorithm>

#include "common/strings.hpp"

namespace berth::net {

std::string hosts_content(const HostsConfig& c) {
  std::string out = "127.0.0.1\tlocalhost\n";
  if (c.ipv6) {
    out +=
        "::1\tlocalhost ip6-localhost ip6-loopback\n"
        "fe00::0\tip6-localnet\n"
        "ff00::0\tip6-mcastprefix\n"
        "ff02::1\tip6-allnodes\n"
        "ff02::2\tip6-allrouters\n";
  }
  for (const auto& e : c.extra) out += e.ip + "\t" + join(e.names, " ") + "\n";
  std::vector<std::string> names;
  if (!c.hostname.empty()) {
    if (!c.domainname.empty()) names.push_back(c.hostname + "." + c.domainname);
    names.push_back(c.hostname);
  }
  for (const auto& a : c.aliases)
    if (std::find(names.begin(), names.end(), a) == names.end()) names.push_back(a);
  if (!names.empty())
    for (const auto& a : c.addresses) out += a.str() + "\t" + join(names, " ") + "\n";
  return out;
}

static bool is_loopback_ns(const std::string& s) {
  auto a = IpAddr::parse(s);
  if (!a) return false;
  if (a->is_v4()) return a->bytes[0] == 127;
  return a->to_u128() == 1;
}

std::string resolv_content(const std::string& host_resolv, const ResolvConfig& c) {
  std::vector<std::string> ns, search, options;
  for (const auto& raw : split(host_resolv, '\n')) {
    std::string_view line = trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    auto fields = split(std::string(line), ' ');
    std::vector<std::string> f;
    for (auto& x : fields)
      for (auto& y : split(x, '\t'))
        if (!y.empty()) f.push_back(y);
    if (f.empty()) continue;
    if (f[0] == "nameserver" && f.size() > 1) {
      if (is_loopback_ns(f[1])) continue;
      auto a = IpAddr::parse(f[1]);
      if (a && a->is_v6() && !c.ipv6) continue;
      ns.push_back(f[1]);
    } else if ((f[0] == "search" || f[0] == "domain") && f.size() > 1) {
      search.assign(f.begin() + 1, f.end());
    } else if (f[0] == "options") {
      options.insert(options.end(), f.begin() + 1, f.end());
    }
  }
  if (!c.nameservers.empty()) ns = c.nameservers;
  if (ns.empty()) {
    ns = {"8.8.8.8", "8.8.4.4"};
    if (c.ipv6) {
      ns.push_back("2001:4860:4860::8888");
      ns.push_back("2001:4860:4860::8844");
    }
  }
  if (!c.search.empty()) search = c.search;
  if (!c.options.empty()) options = c.options;
  std::string out;
  if (!c.embedded_dns.empty()) {
    // The embedded server forwards to `ns`; the container only sees the embedded one.
    out += "# upstream: " + join(ns, " ") + "\n";
    out += "nameserver " + c.embedded_dns + "\n";
    // ndots:0 unless the user chose an ndots (--dns-option ndots:N), as Docker does.
    if (std::none_of(options.begin(), options.end(), [](const std::string& o) { return o.rfind("ndots:", 0) == 0; }))
      options.insert(options.begin(), "ndots:0");
  } else {
    for (const auto& n : ns) out += "nameserver " + n + "\n";
  }
  if (!search.empty()) out += "search " + join(search, " ") + "\n";
  if (!options.empty()) out += "options " + join(options, " ") + "\n";
  return out;
}

}  // namespace berth::net
