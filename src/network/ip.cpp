// SPDX-License-Identifier: Apache-2.0
#include "network/ip.hpp"

#include <arpa/inet.h>

#include <cstring>

#include "common/strings.hpp"

namespace berth::net {

Result<IpAddr> IpAddr::parse(std::string_view s) {
  std::string str(trim(s));
  IpAddr a;
  if (::inet_pton(AF_INET, str.c_str(), a.bytes.data()) == 1) {
    a.family = AF_INET;
    return a;
  }
  if (::inet_pton(AF_INET6, str.c_str(), a.bytes.data()) == 1) {
    a.family = AF_INET6;
    return a;
  }
  return fail(Errc::InvalidArgument, "invalid IP address \"" + str + "\"");
}

IpAddr IpAddr::v4(std::uint32_t h) {
  IpAddr a;
  a.family = AF_INET;
  a.bytes[0] = h >> 24;
  a.bytes[1] = h >> 16;
  a.bytes[2] = h >> 8;
  a.bytes[3] = h;
  return a;
}

IpAddr IpAddr::from_u128(int family, u128 v) {
  IpAddr a;
  a.family = family;
  std::size_t n = family == AF_INET ? 4 : 16;
  for (std::size_t i = 0; i < n; ++i) a.bytes[n - 1 - i] = static_cast<std::uint8_t>(v >> (8 * i));
  return a;
}

u128 IpAddr::to_u128() const {
  u128 v = 0;
  for (std::size_t i = 0; i < size(); ++i) v = (v << 8) | bytes[i];
  return v;
}

std::string IpAddr::str() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (!valid()) return "";
  ::inet_ntop(family, bytes.data(), buf, sizeof buf);
  return buf;
}

bool IpAddr::is_unspecified() const { return !valid() || to_u128() == 0; }

Result<IpPrefix> IpPrefix::parse(std::string_view s) {
  auto [a, l] = split_once(trim(s), '/');
  IpPrefix p;
  p.addr = TRY(IpAddr::parse(a));
  if (l.empty() && s.find('/') == std::string_view::npos) {
    p.len = p.addr.bits();
    return p;
  }
  auto n = parse_uint(l);
  if (!n || *n > static_cast<std::uint64_t>(p.addr.bits()))
    return fail(Errc::InvalidArgument, "invalid prefix length in \"" + std::string(s) + "\"");
  p.len = static_cast<int>(*n);
  return p;
}

static u128 mask_of(int bits, int len) {
  if (len <= 0) return 0;
  u128 all = bits == 32 ? u128(0xffffffffu) : ~u128(0);
  int host = bits - len;
  return host >= 128 ? 0 : (all >> host) << host;
}

IpPrefix IpPrefix::network() const {
  IpPrefix p = *this;
  p.addr = IpAddr::from_u128(addr.family, addr.to_u128() & mask_of(addr.bits(), len));
  return p;
}

bool IpPrefix::contains(const IpAddr& a) const {
  if (a.family != addr.family) return false;
  u128 m = mask_of(addr.bits(), len);
  return (a.to_u128() & m) == (addr.to_u128() & m);
}

bool IpPrefix::overlaps(const IpPrefix& p) const {
  if (p.addr.family != addr.family) return false;
  return len <= p.len ? contains(p.addr) : p.contains(addr);
}

u128 IpPrefix::size() const {
  int host = addr.bits() - len;
  if (host >= 127) return u128(1) << 127;
  return u128(1) << host;
}

IpAddr IpPrefix::host(u128 n) const {
  u128 max = size() - 1;
  if (n > max) n = max;
  return IpAddr::from_u128(addr.family, network().addr.to_u128() + n);
}

u128 IpPrefix::offset(const IpAddr& a) const { return a.to_u128() - network().addr.to_u128(); }

IpAddr IpPrefix::last() const {
  u128 m = mask_of(addr.bits(), len);
  u128 all = addr.bits() == 32 ? u128(0xffffffffu) : ~u128(0);
  return IpAddr::from_u128(addr.family, (addr.to_u128() & m) | (all & ~m));
}

std::string IpPrefix::str() const { return addr.str() + "/" + std::to_string(len); }

}  // namespace berth::net
