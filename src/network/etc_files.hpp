// SPDX-License-Identifier: Apache-2.0
// Content of a container's /etc/hosts and /etc/resolv.conf (pure functions; the daemon writes
// the files and bind-mounts them).
#pragma once

#include <string>
#include <vector>

#include "network/ip.hpp"

namespace berth::net {

struct HostEntry {
  std::string ip;
  std::vector<std::string> names;
};

struct HostsConfig {
  std::string hostname;              // container hostname
  std::string domainname;            // optional: adds "hostname.domainname"
  std::vector<IpAddr> addresses;     // the container's own addresses (one line each)
  std::vector<std::string> aliases;  // extra names for the container's own addresses
  std::vector<HostEntry> extra;      // --add-host
  bool ipv6 = true;                  // the ip6-* loopback/multicast lines
};
std::string hosts_content(const HostsConfig& c);

struct ResolvConfig {
  std::vector<std::string> nameservers;  // --dns; empty = take from the host file
  std::vector<std::string> search;       // --dns-search; empty = from the host file
  std::vector<std::string> options;      // --dns-option; empty = from the host file
  bool ipv6 = false;                     // whether IPv6 default nameservers may be used
  std::string embedded_dns;              // e.g. "127.0.0.11" when the network has one
};
// `host_resolv` is the host's /etc/resolv.conf content (systemd-resolved's stub file should be
// replaced by /run/systemd/resolve/resolv.conf by the caller). Loopback nameservers are dropped
// (they would be the container's own loopback); with none left, Google's public ones are used as
// Docker does.
std::string resolv_content(const std::string& host_resolv, const ResolvConfig& c);

}  // namespace berth::net
