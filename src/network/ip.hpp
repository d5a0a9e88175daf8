// SPDX-License-Identifier: Apache-2.0
// IPv4/IPv6 addresses and prefixes as plain values (no sockets, no kernel state).
//   auto p = TRY(IpPrefix::parse("10.213.0.0/24"));
//   IpAddr gw = p.host(1);            // 10.213.0.1
//   p.contains(gw); p.overlaps(other);
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace berth::net {

using u128 = unsigned __int128;

struct IpAddr {
  int family = 0;  // AF_INET or AF_INET6; 0 = unset
  std::array<std::uint8_t, 16> bytes{};  // v4 uses the first 4

  static Result<IpAddr> parse(std::string_view s);
  static IpAddr v4(std::uint32_t host_order);
  static IpAddr from_u128(int family, u128 v);
  bool is_v4() const { return family == 2; }
  bool is_v6() const { return family == 10; }
  bool valid() const { return family != 0; }
  int bits() const { return is_v4() ? 32 : 128; }
  std::size_t size() const { return is_v4() ? 4 : 16; }
  u128 to_u128() const;
  std::string str() const;
  bool is_unspecified() const;
  bool operator==(const IpAddr&) const = default;
  auto operator<=>(const IpAddr&) const = default;
};

struct IpPrefix {
  IpAddr addr;     // may have host bits set (an interface address "10.0.0.2/24")
  int len = 0;

  // "10.0.0.0/24", "fd00::/64"; a bare address gets the full length.
  static Result<IpPrefix> parse(std::string_view s);
  IpPrefix network() const;          // host bits cleared
  bool contains(const IpAddr& a) const;
  bool contains(const IpPrefix& p) const { return p.len >= len && contains(p.addr); }
  bool overlaps(const IpPrefix& p) const;
  // The n-th address of the network (0 = network address); saturates at the last one.
  IpAddr host(u128 n) const;
  // Offset of `a` inside the network.
  u128 offset(const IpAddr& a) const;
  // Number of addresses, saturated to 2^127 for huge v6 prefixes.
  u128 size() const;
  IpAddr last() const;               // broadcast for v4
  std::string str() const;           // "addr/len"
  bool operator==(const IpPrefix&) const = default;
};

}  // namespace berth::net
