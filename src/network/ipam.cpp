// SPDX-License-Identifier: Apache-2.0
#include "network/ipam.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include <sys/socket.h>

#include <nlohmann/json.hpp>

#include "common/file.hpp"
#include "common/strings.hpp"

namespace berth::net {

using json = nlohmann::json;

std::vector<AddressPool> default_pools_v4() {
  // 172.17.0.0/16 .. 172.31.0.0/16 (not 172.16/16), then 192.168.0.0/16 in /20s.
  return {{*IpPrefix::parse("172.17.0.0/16"), 16}, {*IpPrefix::parse("172.18.0.0/15"), 16},
          {*IpPrefix::parse("172.20.0.0/14"), 16}, {*IpPrefix::parse("172.24.0.0/13"), 16},
          {*IpPrefix::parse("192.168.0.0/16"), 20}};
}

std::vector<AddressPool> default_pools_v6(const std::string& seed) {
  // 40-bit global ID from FNV-1a of the seed (RFC 4193 wants randomness; a stable hash keeps the
  // pool the same across restarts without storing it).
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : seed) h = (h ^ c) * 1099511628211ull;
  IpAddr a;
  a.family = AF_INET6;
  a.bytes[0] = 0xfd;
  for (int i = 0; i < 5; ++i) a.bytes[1 + i] = static_cast<std::uint8_t>(h >> (8 * i));
  return {{IpPrefix{a, 48}, 64}};
}

Result<AddressPool> parse_pool(std::string_view s) {
  std::string base, size;
  if (s.find('=') != std::string_view::npos) {
    for (auto& kv : split(s, ',')) {
      auto [k, v] = split_once(kv, '=');
      if (trim(k) == "base") base = std::string(trim(v));
      else if (trim(k) == "size") size = std::string(trim(v));
    }
  } else {
    auto pos = s.rfind(':');
    if (pos == std::string_view::npos) return fail(Errc::InvalidArgument, "address pool needs base and size");
    base = std::string(s.substr(0, pos));
    size = std::string(s.substr(pos + 1));
  }
  AddressPool p;
  p.base = TRY(IpPrefix::parse(base)).network();
  auto n = parse_uint(size);
  if (!n || static_cast<int>(*n) < p.base.len || static_cast<int>(*n) > p.base.addr.bits())
    return fail(Errc::InvalidArgument, "invalid address pool size \"" + size + "\"");
  p.size = static_cast<int>(*n);
  return p;
}

Result<IpPrefix> pick_subnet(const std::vector<AddressPool>& pools,
                             const std::vector<IpPrefix>& in_use) {
  for (const auto& pool : pools) {
    IpPrefix base = pool.base.network();
    int bits = base.addr.bits();
    u128 step = u128(1) << (bits - pool.size);
    u128 count = u128(1) << std::min(pool.size - base.len, 20);  // at most ~1M candidates
    for (u128 k = 0; k < count; ++k) {
      IpPrefix cand{IpAddr::from_u128(base.addr.family, base.addr.to_u128() + k * step), pool.size};
      bool clash = false;
      for (const auto& u : in_use) {
        if (cand.overlaps(u)) {
          clash = true;
          break;
        }
      }
      if (!clash) return cand;
    }
  }
  return fail(Errc::Unavailable, "all predefined address pools have been fully subnetted");
}

static bool reserved(const SubnetState& s, const IpAddr& a) {
  const IpPrefix& sn = s.config.subnet;
  if (a == sn.network().addr) return sn.addr.is_v4() ? sn.len < 31 : sn.len < 127;
  if (sn.addr.is_v4() && sn.len < 31 && a == sn.last()) return true;
  return false;
}

Result<IpAddr> Ipam::allocate_in(SubnetState& s, const std::string& owner, const IpAddr& want) {
  const IpPrefix& sn = s.config.subnet;
  if (want.valid()) {
    if (!sn.contains(want))
      return fail(Errc::InvalidArgument, "address " + want.str() + " is not in subnet " + sn.str());
    if (want == s.config.gateway || reserved(s, want))
      return fail(Errc::Conflict, "address " + want.str() + " is reserved in " + sn.str());
    if (auto it = s.allocated.find(want); it != s.allocated.end())
      return fail(Errc::Conflict, "address " + want.str() + " already in use by " + it->second);
    s.allocated.emplace(want, owner);
    return want;
  }
  IpPrefix range = s.config.ip_range ? *s.config.ip_range : sn;
  range = range.network();
  u128 size = range.size();
  u128 limit = std::min<u128>(size, u128(1) << 24);  // bounded scan of huge v6 ranges
  u128 start = s.cursor >= size ? 0 : s.cursor;
  for (u128 i = 1; i <= limit; ++i) {
    u128 off = (start + i) % size;
    IpAddr a = range.host(off);
    if (a == s.config.gateway || reserved(s, a) || s.allocated.count(a)) continue;
    s.allocated.emplace(a, owner);
    s.cursor = off;
    return a;
  }
  return fail(Errc::Unavailable, "no available addresses in " + range.str());
}

std::string Ipam::path(const std::string& network) const { return dir_ + "/" + network + ".json"; }

Status write_state_file(const std::string& path, std::string_view data, bool durable) {
  if (durable) return atomic_write_file(path, data, 0600);
  std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  {
    auto fd = TRY(open_file(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600));
    if (auto st = write_all(fd.get(), data); !st) {
      ::unlink(tmp.c_str());
      return st;
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return fail(Error::from_errno(e, "rename", path));
  }
  return ok();
}

Status Ipam::save(const std::string& network, const std::vector<SubnetState>& st, bool durable) const {
  json j = json::array();
  for (const auto& s : st) {
    json o;
    o["subnet"] = s.config.subnet.str();
    o["gateway"] = s.config.gateway.str();
    if (s.config.ip_range) o["ip_range"] = s.config.ip_range->str();
    IpPrefix range = s.config.ip_range ? s.config.ip_range->network() : s.config.subnet;
    o["cursor"] = range.host(s.cursor).str();
    json alloc = json::object();
    for (const auto& [a, owner] : s.allocated) alloc[a.str()] = owner;
    o["allocated"] = alloc;
    j.push_back(o);
  }
  TRY(mkdir_all(dir_, 0700));
  return write_state_file(path(network), j.dump(1), durable);
}

Result<std::vector<SubnetState>> Ipam::load(const std::string& network) const {
  auto text = read_file(path(network));
  if (!text) return fail(Errc::NotFound, "no IPAM state for network " + network);
  std::vector<SubnetState> out;
  try {
    json j = json::parse(*text);
    for (const auto& o : j) {
      SubnetState s;
      s.config.subnet = TRY(IpPrefix::parse(o.at("subnet").get<std::string>()));
      s.config.gateway = TRY(IpAddr::parse(o.at("gateway").get<std::string>()));
      if (o.contains("ip_range")) s.config.ip_range = TRY(IpPrefix::parse(o["ip_range"].get<std::string>()));
      IpPrefix range = s.config.ip_range ? s.config.ip_range->network() : s.config.subnet;
      if (o.contains("cursor"))
        s.cursor = range.offset(TRY(IpAddr::parse(o["cursor"].get<std::string>())));
      for (const auto& [k, v] : o.at("allocated").items())
        s.allocated.emplace(TRY(IpAddr::parse(k)), v.get<std::string>());
      out.push_back(std::move(s));
    }
  } catch (const std::exception& e) {
    return fail(Errc::DataLoss, "IPAM state of " + network + ": " + e.what());
  }
  return out;
}

Result<std::vector<SubnetConfig>> Ipam::create_network(const std::string& network,
                                                       std::vector<SubnetConfig> subnets) {
  if (path_exists(path(network))) return fail(Errc::AlreadyExists, "IPAM state exists for " + network);
  std::vector<SubnetState> st;
  for (auto& c : subnets) {
    c.subnet = c.subnet.network();
    if (!c.gateway.valid()) {
      c.gateway = c.subnet.host(1);
    } else if (!c.subnet.contains(c.gateway)) {
      return fail(Errc::InvalidArgument,
                  "gateway " + c.gateway.str() + " is not in subnet " + c.subnet.str());
    }
    if (c.ip_range && !c.subnet.contains(*c.ip_range))
      return fail(Errc::InvalidArgument,
                  "ip-range " + c.ip_range->str() + " is not in subnet " + c.subnet.str());
    for (const auto& o : st)
      if (o.config.subnet.overlaps(c.subnet))
        return fail(Errc::InvalidArgument, "subnets " + o.config.subnet.str() + " and " +
                                               c.subnet.str() + " overlap");
    SubnetState s;
    s.config = c;
    if (c.ip_range) {
      // Start scanning at the beginning of the range.
      s.cursor = c.ip_range->network().size() - 1;
    }
    st.push_back(std::move(s));
  }
  TRY(save(network, st, true));
  return subnets;
}

Status Ipam::delete_network(const std::string& network) {
  if (::unlink(path(network).c_str()) != 0 && errno != ENOENT) return fail_errno("unlink", path(network));
  return ok();
}

Result<IpAddr> Ipam::allocate(const std::string& network, int family, const std::string& owner,
                              const IpAddr& want) {
  auto st = TRY(load(network));
  for (auto& s : st) {
    if (s.config.subnet.addr.family != family) continue;
    if (want.valid() && !s.config.subnet.contains(want)) continue;
    auto a = allocate_in(s, owner, want);
    if (!a) {
      if (a.error().is(Errc::Unavailable)) continue;
      return a;
    }
    TRY(save(network, st));
    return a;
  }
  if (want.valid())
    return fail(Errc::InvalidArgument, "no configured subnet contains " + want.str());
  return fail(Errc::NotFound, std::string("no ") + (family == AF_INET ? "IPv4" : "IPv6") +
                                  " subnet with free addresses on network " + network);
}

Status Ipam::release(const std::string& network, const IpAddr& addr) {
  auto st = TRY(load(network));
  bool changed = false;
  for (auto& s : st) changed |= s.allocated.erase(addr) > 0;
  if (changed) TRY(save(network, st));
  return ok();
}

Status Ipam::release_owner(const std::string& network, const std::string& owner) {
  auto st = TRY(load(network));
  bool changed = false;
  for (auto& s : st) {
    for (auto it = s.allocated.begin(); it != s.allocated.end();) {
      if (it->second == owner) {
        it = s.allocated.erase(it);
        changed = true;
      } else {
        ++it;
      }
    }
  }
  if (changed) TRY(save(network, st));
  return ok();
}

}  // namespace berth::net
