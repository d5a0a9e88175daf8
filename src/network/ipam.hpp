// SPDX-License-Identifier: Apache-2.0
// IP address management: subnets picked from address pools, addresses handed out per network
// and persisted (one JSON file per network, replaced atomically after every change) so that a
// daemon restart keeps every container's address.
//
//   Ipam ipam(state_dir + "/ipam");
//   auto pools = default_pools_v4();
//   IpPrefix sn = TRY(pick_subnet(pools, in_use));
//   TRY(ipam.create_network(id, {{.subnet = sn}}));
//   IpAddr a = TRY(ipam.allocate(id, AF_INET, "container-id"));      // next free address
//   IpAddr b = TRY(ipam.allocate(id, AF_INET, "c2", wanted));         // static; Conflict if taken
//   TRY(ipam.release(id, a));
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "network/ip.hpp"

namespace berth::net {

// Docker's "default-address-pools" entry: split `base` into subnets of prefix length `size`.
struct AddressPool {
  IpPrefix base;
  int size = 0;
};

// 172.17.0.0/16 … 172.31.0.0/16 as /16s, then 192.168.0.0/16 split into /20s (Docker's defaults).
std::vector<AddressPool> default_pools_v4();
// A ULA /48 derived from `seed` (e.g. the daemon's state dir or machine-id), split into /64s.
std::vector<AddressPool> default_pools_v6(const std::string& seed);
// Parses "172.17.0.0/12:16" or "base=172.17.0.0/12,size=16".
Result<AddressPool> parse_pool(std::string_view s);

// The first subnet of the pools that overlaps none of `in_use`.
Result<IpPrefix> pick_subnet(const std::vector<AddressPool>& pools,
                             const std::vector<IpPrefix>& in_use);

struct SubnetConfig {
  IpPrefix subnet;                 // network address (host bits cleared on create)
  IpAddr gateway;                  // unset = first host address
  std::optional<IpPrefix> ip_range;  // dynamic allocations only from here
};

// Allocation state of one subnet.
struct SubnetState {
  SubnetConfig config;
  std::map<IpAddr, std::string> allocated;  // address -> owner (endpoint/container id)
  u128 cursor = 0;                          // offset of the last dynamic allocation
};

// Replaces `path` atomically (temp file + rename: a reader or a restarted daemon sees the old or
// the new content). `durable` adds fsync of the file and the directory; the per-container hot
// path (endpoint files, IPAM allocations) skips it: after a power loss the containers are gone
// too, and NetworkManager::open repairs IPAM state from the networks and endpoints.
Status write_state_file(const std::string& path, std::string_view data, bool durable);

class Ipam {
 public:
  explicit Ipam(std::string dir) : dir_(std::move(dir)) {}

  // Validates (gateway and range inside the subnet, no two subnets overlapping) and persists.
  // Fills in the default gateway. AlreadyExists if the network has IPAM state already.
  Result<std::vector<SubnetConfig>> create_network(const std::string& network,
                                                   std::vector<SubnetConfig> subnets);
  Status delete_network(const std::string& network);
  Result<std::vector<SubnetState>> load(const std::string& network) const;

  // An address of `family` (AF_INET/AF_INET6) for `owner`; `want` requests a static address.
  // Errors: NotFound (no subnet of that family), Conflict (taken / gateway), InvalidArgument
  // (outside the subnets), Unavailable (exhausted).
  Result<IpAddr> allocate(const std::string& network, int family, const std::string& owner,
                          const IpAddr& want = {});
  // Releasing an address that is not allocated is fine.
  Status release(const std::string& network, const IpAddr& addr);
  // Releases every address of `owner`.
  Status release_owner(const std::string& network, const std::string& owner);

  // Pure allocation step (unit-tested without files).
  static Result<IpAddr> allocate_in(SubnetState& s, const std::string& owner, const IpAddr& want);

 private:
  std::string path(const std::string& network) const;
  Status save(const std::string& network, const std::vector<SubnetState>& st, bool durable = false) const;
  std::string dir_;
};

}  // namespace berth::net
