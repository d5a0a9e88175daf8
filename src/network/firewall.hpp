// SPDX-License-Identifier: Apache-2.0
// berth's packet filtering and NAT, all in the kernel through nftables (libnftables), in one
// table of its own (`inet berth` by default). Nothing outside that table is touched.
//
//   table inet berth {
//     map tcp4 { type inet_service : ipv4_addr . inet_service }            published on any IP
//     map tcp4_addr { type ipv4_addr . inet_service : ipv4_addr . inet_service }  on one host IP
//     (same for udp4, sctp4, tcp6, udp6, sctp6 and their _addr maps)
//     chain berth-user { }          <- yours: consulted first for forwarded traffic; berth
//                                      never flushes it (like DOCKER-USER)
//     chain filter_fwd { hook forward, priority filter - 1:
//       jump berth-user; isolation between berth networks; internal networks }
//     chain nat_pre  { hook prerouting: fib daddr type local jump publish }
//     chain nat_out  { hook output:     fib daddr type local jump publish }   (127.0.0.1:PORT)
//     chain publish  { dnat ip to ip daddr . tcp dport map @tcp4_addr; dnat ip to tcp dport map @tcp4 ... }
//     chain nat_post { masquerade subnet -> outside; 127.0.0.0/8 -> bridge; hairpin }
//   }
//
// Published ports are map elements: adding/removing a mapping is one element operation, and
// 1000 ports are 1000 map entries (no process, no rule per port).
// Note: nftables runs every base chain of a hook; an accept here does not override a drop in
// another table (e.g. an iptables-nft FORWARD policy DROP): such hosts must allow berth's
// bridges there.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "network/ip.hpp"

struct nft_ctx;

namespace berth::net {

struct FirewallConfig {
  std::string table = "berth";          // tests use "berth-test-…"
  std::string user_chain = "berth-user";
};

// One bridge network as the firewall sees it.
struct FirewallNetwork {
  std::string bridge;
  std::vector<IpPrefix> subnets;
  bool internal = false;   // no traffic in or out of the bridge except to itself
  bool masquerade = true;  // SNAT outbound traffic from the subnets
};

enum class Proto : std::uint8_t { Tcp, Udp, Sctp };
std::string_view proto_name(Proto p);
Result<Proto> parse_proto(std::string_view s);

// One published port, already resolved to a single host port.
struct PortMapping {
  Proto proto = Proto::Tcp;
  IpAddr host_ip;            // unset or unspecified = every host address
  std::uint16_t host_port = 0;
  IpAddr container_ip;
  std::uint16_t container_port = 0;
  bool operator==(const PortMapping&) const = default;
};

// Rule text (pure, unit-tested).
std::string nft_base_ruleset(const FirewallConfig& c);
std::string nft_network_rules(const FirewallConfig& c, const std::vector<FirewallNetwork>& nets);
// verb: "add" (idempotent), "create" (fails if present) or "delete".
std::string nft_port_elements(const FirewallConfig& c, std::string_view verb,
                              const std::vector<PortMapping>& ports);

// For an error of berth's first nftables transaction: why nftables cannot be used at all (kernel
// without nf_tables, no CAP_NET_ADMIN) as a sentence for the daemon log, or "" for other errors.
// There is no iptables fallback: berthd then runs without bridge networking.
std::string nft_unavailable_reason(const std::string& err);

class Firewall {
 public:
  // Creates the table, chains and maps if missing (idempotent; existing elements and the user
  // chain are kept).
  static Result<std::unique_ptr<Firewall>> open(FirewallConfig c);
  ~Firewall();

  // Replaces berth's per-network rules (atomically, one nft transaction).
  Status sync_networks(const std::vector<FirewallNetwork>& nets);
  // Conflict if an element already exists for that host ip/port/proto.
  Status add_ports(const std::vector<PortMapping>& ports);
  Status remove_ports(const std::vector<PortMapping>& ports);
  // Deletes the whole table (uninstall / tests).
  Status destroy();
  // `nft list table` text.
  Result<std::string> list();
  // Runs nft commands (one transaction).
  Status run(const std::string& cmds);
  const FirewallConfig& config() const { return c_; }

 private:
  Firewall() = default;
  FirewallConfig c_;
  nft_ctx* ctx_ = nullptr;
  std::mutex mu_;
};

// Removes its mappings on scope exit unless release()d.
class PortMappingGuard {
 public:
  PortMappingGuard() = default;
  PortMappingGuard(Firewall* fw, std::vector<PortMapping> p) : fw_(fw), ports_(std::move(p)) {}
  PortMappingGuard(PortMappingGuard&& o) noexcept
      : fw_(std::exchange(o.fw_, nullptr)), ports_(std::move(o.ports_)) {}
  PortMappingGuard& operator=(PortMappingGuard&&) = delete;
  PortMappingGuard(const PortMappingGuard&) = delete;
  ~PortMappingGuard() {
    if (fw_) (void)fw_->remove_ports(ports_);
  }
  void release() { fw_ = nullptr; }
  const std::vector<PortMapping>& ports() const { return ports_; }

 private:
  Firewall* fw_ = nullptr;
  std::vector<PortMapping> ports_;
};

}  // namespace berth::net
