// SPDX-License-Identifier: Apache-2.0
// NetworkManager: the facade berthd uses. Owns the drivers (bridge, macvlan, ipvlan), IPAM and
// the firewall; persists every network and endpoint under `state_dir` so that a restarted daemon
// picks up running containers' networking (live restore) and can clean it up later.
//
//   auto nm = TRY(NetworkManager::open(cfg));        // restores state, ensures default "bridge"
//   Network n = TRY(nm->create_network({.name = "n1"}));
//   Endpoint e = TRY(nm->connect("n1", {.container_id = id, .pid = pid,
//                                       .ports = {{.container_port_start = 80, .host_port_start = 8080}}}));
//   ... TRY(nm->disconnect("n1", id)); TRY(nm->delete_network("n1"));
//
// Thread-safe (one mutex). Namespace work happens on short-lived threads (netns.hpp).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "network/firewall.hpp"
#include "network/ip.hpp"
#include "network/ipam.hpp"
#include "network/netlink.hpp"

namespace berth::net {

struct ManagerConfig {
  std::string state_dir;                       // e.g. /var/lib/berth/network
  std::vector<AddressPool> pools_v4 = default_pools_v4();
  std::vector<AddressPool> pools_v6;           // empty = default_pools_v6(state_dir)
  std::string default_bridge = "berth0";       // the "bridge" network's interface
  std::optional<IpPrefix> default_bridge_ip;   // daemon.json "bip", e.g. 172.17.0.1/16
  bool create_default_network = true;
  std::string bridge_prefix = "br-";           // user-defined bridges: prefix + id[:12]
  std::string veth_prefix = "veth";            // host side veths: prefix + 7 hex
  int mtu = 1500;
  bool ip_forward = true;                      // sets net.ipv4.ip_forward (and IPv6 forwarding)
  FirewallConfig firewall;
  std::uint16_t ephemeral_first = 49153, ephemeral_last = 60999;
  // Embedded DNS at 127.0.0.11 for containers on user-defined networks (not "bridge").
  bool embedded_dns = true;
  // Where unknown names go, queried from the daemon's netns ("ip" or "ip:port"); empty = the
  // nameservers of /etc/resolv.conf (loopback ones work too: the daemon runs on the host).
  std::vector<std::string> dns_upstreams;
};

// A --publish request: host port 0 = any free ephemeral port. A container range maps onto an
// equally long host range; a single container port with a host range takes the first free one.
struct PortSpec {
  Proto proto = Proto::Tcp;
  IpAddr host_ip;
  std::uint16_t host_port_start = 0, host_port_end = 0;           // end 0 = start
  std::uint16_t container_port_start = 0, container_port_end = 0;  // end 0 = start
};
Result<PortSpec> parse_port_spec(std::string_view s);  // "[ip:][hport[-hend]:]cport[-cend][/proto]"

struct NetworkSpec {
  std::string name;
  std::string driver = "bridge";               // bridge | macvlan | ipvlan
  std::vector<SubnetConfig> ipv4;              // empty = from pools_v4
  bool enable_ipv6 = false;
  std::vector<SubnetConfig> ipv6;              // empty (with enable_ipv6) = from pools_v6
  bool internal = false;
  std::map<std::string, std::string> options;  // com.docker.network.bridge.name,
                                               // com.docker.network.bridge.enable_ip_masquerade,
                                               // com.docker.network.driver.mtu, parent,
                                               // macvlan_mode, ipvlan_mode
  std::map<std::string, std::string> labels;
};

struct Network {
  std::string id, name, driver;
  std::string interface;                       // bridge name, or the macvlan/ipvlan parent
  std::vector<SubnetConfig> subnets;
  bool enable_ipv6 = false, internal = false, masquerade = true;
  int mtu = 1500;
  std::map<std::string, std::string> options, labels;
  std::string created;                         // RFC 3339
};

struct EndpointSpec {
  std::string container_id;
  std::string netns_path;                      // or pid
  int pid = 0;
  std::string ifname = "eth0";
  IpAddr ipv4, ipv6;                           // static addresses (optional)
  std::optional<Mac> mac;
  std::vector<std::string> aliases;
  std::vector<PortSpec> ports;
  // The embedded DNS forwards this container's other names here instead of the daemon-wide
  // upstreams (docker run --dns on a user network). "ip" or "ip:port", reached from the host.
  std::vector<std::string> dns_servers;
  // Legacy links on a user network (docker run --link name:alias): alias -> target name, which
  // the embedded DNS resolves on this network for this container only (as dockerd does).
  std::map<std::string, std::string> links;
};

struct Endpoint {
  std::string network_id, container_id;
  std::string host_ifname;                     // veth on the host ("" for macvlan)
  std::string ifname;                          // inside the container
  std::optional<IpPrefix> ipv4, ipv6;          // address/len
  IpAddr gateway4, gateway6;
  Mac mac{};
  std::vector<std::string> aliases;
  std::vector<PortMapping> ports;
  std::string netns_path;                      // as given (or /proc/<pid>/ns/net)
  bool dns = false;                            // served by the embedded DNS (127.0.0.11)
  std::vector<std::string> dns_servers;        // per-container upstreams (EndpointSpec)
  std::map<std::string, std::string> links;    // link alias -> target name (EndpointSpec)
};

class NetworkManager {
 public:
  static Result<std::unique_ptr<NetworkManager>> open(ManagerConfig cfg);
  ~NetworkManager();

  Result<Network> create_network(NetworkSpec spec);
  // Conflict while endpoints remain; PermissionDenied for the predefined "bridge".
  Status delete_network(const std::string& id_or_name);
  // Deletes every user-defined network without endpoints; returns their names.
  Result<std::vector<std::string>> prune();
  Result<Network> network(const std::string& id_or_name);
  std::vector<Network> networks();

  Result<Endpoint> connect(const std::string& network, EndpointSpec spec);
  // Removes the interface (if the netns still exists), the address and published ports.
  // macvlan/ipvlan interfaces live only inside the container: pass its netns (path) to remove
  // them from a running container; without it they go away with the netns.
  Status disconnect(const std::string& network, const std::string& container_id,
                    const std::string& netns_path = {});
  // `defer_links`: the host ends of veth pairs are deleted by a background thread instead of
  // before returning (a veth deletion waits for an RCU grace period, 15–50 ms under load: off
  // the `docker run --rm` / `docker stop` path). Addresses, ports, DNS and state are released
  // at once either way. Use it when the container's netns goes away too (the pair dies with
  // it). wait_deferred() / delete_network / destroy_all / the destructor wait for the thread.
  Status disconnect_all(const std::string& container_id, bool defer_links = false);
  void wait_deferred();
  // Whether the container's resolv.conf should point at the embedded DNS (127.0.0.11): it is on
  // at least one user-defined network. Names served: aliases given at connect (the daemon passes
  // the container name, hostname and short id as aliases), scoped to shared networks, also as
  // "<name>.<network>"; link aliases for the linking container only; PTR of endpoint addresses
  // -> "<first alias>.<network>".
  bool uses_embedded_dns(const std::string& container_id);
  std::vector<Endpoint> endpoints(const std::string& network_id = {});

  // Removes every network, endpoint and the firewall table (tests, uninstall).
  Status destroy_all();
  Firewall& firewall() { return *fw_; }

 private:
  NetworkManager() = default;
  Status delete_network_impl(const std::string& id_or_name, bool allow_predefined);
  Status disconnect_impl(const std::string& network, const std::string& container_id,
                         const std::string& netns_path, bool defer_links);
  struct Reaper;
  std::unique_ptr<Reaper> reaper_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<Firewall> fw_;
  std::unique_ptr<class DnsServer> dns_;
};

}  // namespace berth::net
