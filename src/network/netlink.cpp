// SPDX-License-Identifier: Apache-2.0
#include "network/netlink.hpp"

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <libmnl/libmnl.h>
#include <sys/socket.h>

#include <cstring>
#include <vector>

#include "common/strings.hpp"
#include "network/netns.hpp"

// libmnl's iteration macros assign void* (C); these are the C++ equivalents.
#define BERTH_FOR_ATTR(attr, nlh, off)                                                         \
  for (attr = static_cast<nlattr*>(mnl_nlmsg_get_payload_offset(nlh, off));                    \
       mnl_attr_ok(attr, static_cast<int>(static_cast<char*>(mnl_nlmsg_get_payload_tail(nlh)) - \
                                          reinterpret_cast<char*>(attr)));                     \
       attr = mnl_attr_next(attr))
#define BERTH_FOR_NESTED(attr, nest)                                                              \
  for (attr = static_cast<nlattr*>(mnl_attr_get_payload(nest));                                   \
       mnl_attr_ok(attr, static_cast<int>(static_cast<char*>(mnl_attr_get_payload(nest)) +         \
                                          mnl_attr_get_payload_len(nest) -                        \
                                          reinterpret_cast<char*>(attr)));                        \
       attr = mnl_attr_next(attr))

namespace berth::net {

Result<Mac> parse_mac(std::string_view s) {
  auto parts = split(s, ':');
  Mac m{};
  if (parts.size() != 6) return fail(Errc::InvalidArgument, "invalid MAC address \"" + std::string(s) + "\"");
  for (int i = 0; i < 6; ++i) {
    if (parts[i].size() != 2) return fail(Errc::InvalidArgument, "invalid MAC address \"" + std::string(s) + "\"");
    char* end = nullptr;
    unsigned long v = std::strtoul(parts[i].c_str(), &end, 16);
    if (*end != 0) return fail(Errc::InvalidArgument, "invalid MAC address \"" + std::string(s) + "\"");
    m[i] = static_cast<std::uint8_t>(v);
  }
  return m;
}

std::string mac_str(const Mac& m) {
  return hex_encode(&m[0], 1) + ":" + hex_encode(&m[1], 1) + ":" + hex_encode(&m[2], 1) + ":" +
         hex_encode(&m[3], 1) + ":" + hex_encode(&m[4], 1) + ":" + hex_encode(&m[5], 1);
}

Mac mac_from_ip(const IpAddr& a) {
  Mac m{0x02, 0x42, 0, 0, 0, 0};
  if (a.is_v4()) {
    for (int i = 0; i < 4; ++i) m[2 + i] = a.bytes[i];
  } else {
    for (int i = 0; i < 4; ++i) m[2 + i] = a.bytes[12 + i];
  }
  return m;
}

struct Netlink::Req {
  std::vector<char> buf = std::vector<char>(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* nlh = nullptr;
  bool dump = false;
  // NLM_F_DUMP shares bits with NLM_F_EXCL/NLM_F_CREATE, so whether this is a dump is kept here.
  Req(std::uint16_t type, std::uint16_t flags) : dump(flags == NLM_F_DUMP) {
    nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | flags;
  }
  ifinfomsg* ifinfo() {
    auto* ifm = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    ifm->ifi_family = AF_UNSPEC;
    return ifm;
  }
};

Result<Netlink> Netlink::open() {
  Netlink nl;
  nl.sock_ = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (!nl.sock_) return fail_errno("open netlink socket");
  if (mnl_socket_bind(nl.sock_, 0, MNL_SOCKET_AUTOPID) < 0) return fail_errno("bind netlink socket");
  int one = 1;
  mnl_socket_setsockopt(nl.sock_, NETLINK_EXT_ACK, &one, sizeof one);
  mnl_socket_setsockopt(nl.sock_, NETLINK_CAP_ACK, &one, sizeof one);
  nl.portid_ = mnl_socket_get_portid(nl.sock_);
  return nl;
}

Result<Netlink> Netlink::open_in(int netns_fd) {
  std::optional<Netlink> out;
  TRY(run_in_netns(netns_fd, [&]() -> Status {
    out.emplace(TRY(open()));
    return ok();
  }));
  return std::move(*out);
}

Netlink::Netlink(Netlink&& o) noexcept
    : sock_(std::exchange(o.sock_, nullptr)), seq_(o.seq_), portid_(o.portid_) {}
Netlink& Netlink::operator=(Netlink&& o) noexcept {
  if (this != &o) {
    if (sock_) mnl_socket_close(sock_);
    sock_ = std::exchange(o.sock_, nullptr);
    seq_ = o.seq_;
    portid_ = o.portid_;
  }
  return *this;
}
Netlink::~Netlink() {
  if (sock_) mnl_socket_close(sock_);
}

namespace {
struct CbData {
  std::vector<std::string>* replies;
  std::string ext_msg;
};

int collect_cb(const nlmsghdr* nlh, void* data) {
  auto* d = static_cast<CbData*>(data);
  if (d->replies) d->replies->emplace_back(reinterpret_cast<const char*>(nlh), nlh->nlmsg_len);
  return MNL_CB_OK;
}

// Extracts the extended-ack message (NLMSGERR_ATTR_MSG) of an error reply, if any.
std::string ext_ack_message(const char* buf, std::size_t len) {
  auto* nlh = reinterpret_cast<const nlmsghdr*>(buf);
  while (mnl_nlmsg_ok(nlh, static_cast<int>(len))) {
    if (nlh->nlmsg_type == NLMSG_ERROR && (nlh->nlmsg_flags & NLM_F_ACK_TLVS)) {
      auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
      std::size_t off = sizeof(nlmsgerr);
      if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) off += err->msg.nlmsg_len - sizeof(nlmsghdr);
      nlattr* attr;
      BERTH_FOR_ATTR(attr, nlh, off) {
        if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG)
          return mnl_attr_get_str(attr);
      }
    }
    int l = static_cast<int>(len);
    nlh = mnl_nlmsg_next(nlh, &l);
    len = static_cast<std::size_t>(l);
  }
  return {};
}
}  // namespace

Status Netlink::transact(Req& req, const char* what, const std::string& subject,
                         std::vector<std::string>* replies) {
  std::uint32_t seq = seq_++;
  req.nlh->nlmsg_seq = seq;
  if (!req.dump) req.nlh->nlmsg_flags |= NLM_F_ACK;
  if (mnl_socket_sendto(sock_, req.nlh, req.nlh->nlmsg_len) < 0) return fail_errno(what, subject);
  std::vector<char> buf(32768);
  CbData data{replies, {}};
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(sock_, buf.data(), buf.size());
    if (n < 0) return fail_errno(what, subject);
    int r = mnl_cb_run(buf.data(), static_cast<std::size_t>(n), seq, portid_, collect_cb, &data);
    if (r < 0) {
      int err = errno;
      std::string ext = ext_ack_message(buf.data(), static_cast<std::size_t>(n));
      Errc code = err == ENODEV ? Errc::NotFound : errc_from_errno(err);
      if (ext.empty())
        return fail(Error(code, std::string(what) + " " + subject + ": " + std::strerror(err), err));
      return fail(Error(code,
                        std::string(what) + " " + subject + ": " + ext + " (" + std::strerror(err) + ")",
                        err));
    }
    if (r == MNL_CB_STOP) return ok();
  }
}

Status Netlink::add_link(const std::string& name, const char* kind, const char* what,
                         const std::function<void(Req&)>& fill_data,
                         const std::function<void(Req&)>& fill_top) {
  if (name.empty() || name.size() >= IFNAMSIZ)
    return fail(Errc::InvalidArgument, "invalid interface name \"" + name + "\"");
  Req req(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  req.ifinfo();
  mnl_attr_put_strz(req.nlh, IFLA_IFNAME, name.c_str());
  if (fill_top) fill_top(req);
  nlattr* info = mnl_attr_nest_start(req.nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(req.nlh, IFLA_INFO_KIND, kind);
  if (fill_data) {
    nlattr* data = mnl_attr_nest_start(req.nlh, IFLA_INFO_DATA);
    fill_data(req);
    mnl_attr_nest_end(req.nlh, data);
  }
  mnl_attr_nest_end(req.nlh, info);
  return transact(req, what, name);
}

Status Netlink::create_bridge(const std::string& name, int mtu, const std::optional<Mac>& mac) {
  TRY(add_link(name, "bridge", "create bridge", nullptr, [&](Req& r) {
    if (mac) mnl_attr_put(r.nlh, IFLA_ADDRESS, 6, mac->data());
  }));
  // Set after creation (an IFLA_MTU at creation is not "set by user"): only an explicit change
  // keeps the bridge from following its ports' MTU.
  if (mtu > 0) {
    auto li = TRY(get_link(name));
    if (li.mtu == mtu) TRY(set_mtu(name, mtu == 68 ? 69 : mtu - 1));
    TRY(set_mtu(name, mtu));
  }
  return ok();
}

Status Netlink::create_veth(const std::string& name, const std::string& peer, int mtu,
                            int peer_netns_fd) {
  if (peer.empty() || peer.size() >= IFNAMSIZ)
    return fail(Errc::InvalidArgument, "invalid interface name \"" + peer + "\"");
  return add_link(
      name, "veth", "create veth",
      [&](Req& r) {
        nlattr* p = mnl_attr_nest_start(r.nlh, VETH_INFO_PEER);
        r.ifinfo();
        mnl_attr_put_strz(r.nlh, IFLA_IFNAME, peer.c_str());
        if (mtu > 0) mnl_attr_put_u32(r.nlh, IFLA_MTU, static_cast<std::uint32_t>(mtu));
        if (peer_netns_fd >= 0) mnl_attr_put_u32(r.nlh, IFLA_NET_NS_FD, static_cast<std::uint32_t>(peer_netns_fd));
        mnl_attr_nest_end(r.nlh, p);
      },
      [&](Req& r) {
        if (mtu > 0) mnl_attr_put_u32(r.nlh, IFLA_MTU, static_cast<std::uint32_t>(mtu));
      });
}

Status Netlink::create_macvlan(const std::string& name, const std::string& parent,
                               MacvlanMode mode, int netns_fd) {
  int parent_idx = TRYC(link_index(parent), "macvlan parent");
  return add_link(
      name, "macvlan", "create macvlan",
      [&](Req& r) { mnl_attr_put_u32(r.nlh, IFLA_MACVLAN_MODE, static_cast<std::uint32_t>(mode)); },
      [&](Req& r) {
        mnl_attr_put_u32(r.nlh, IFLA_LINK, static_cast<std::uint32_t>(parent_idx));
        if (netns_fd >= 0) mnl_attr_put_u32(r.nlh, IFLA_NET_NS_FD, static_cast<std::uint32_t>(netns_fd));
      });
}

Status Netlink::create_ipvlan(const std::string& name, const std::string& parent, IpvlanMode mode,
                              int netns_fd) {
  int parent_idx = TRYC(link_index(parent), "ipvlan parent");
  auto st = add_link(
      name, "ipvlan", "create ipvlan",
      [&](Req& r) { mnl_attr_put_u16(r.nlh, IFLA_IPVLAN_MODE, static_cast<std::uint16_t>(mode)); },
      [&](Req& r) {
        mnl_attr_put_u32(r.nlh, IFLA_LINK, static_cast<std::uint32_t>(parent_idx));
        if (netns_fd >= 0) mnl_attr_put_u32(r.nlh, IFLA_NET_NS_FD, static_cast<std::uint32_t>(netns_fd));
      });
  if (!st && st.error().sys_errno() == EOPNOTSUPP)
    return fail(Errc::Unimplemented,
                "ipvlan is not available: this kernel was built without CONFIG_IPVLAN");
  return st;
}

Status Netlink::delete_link(const std::string& name) {
  Req req(RTM_DELLINK, 0);
  req.ifinfo();
  mnl_attr_put_strz(req.nlh, IFLA_IFNAME, name.c_str());
  return transact(req, "delete link", name);
}

static void parse_link(const nlmsghdr* nlh, LinkInfo* li) {
  auto* ifm = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  li->index = ifm->ifi_index;
  li->up = (ifm->ifi_flags & IFF_UP) != 0;
  nlattr* a;
  BERTH_FOR_ATTR(a, nlh, sizeof(ifinfomsg)) {
    switch (mnl_attr_get_type(a)) {
      case IFLA_IFNAME: li->name = mnl_attr_get_str(a); break;
      case IFLA_MTU: li->mtu = static_cast<int>(mnl_attr_get_u32(a)); break;
      case IFLA_MASTER: li->master = static_cast<int>(mnl_attr_get_u32(a)); break;
      case IFLA_ADDRESS:
        if (mnl_attr_get_payload_len(a) == 6) std::memcpy(li->mac.data(), mnl_attr_get_payload(a), 6);
        break;
      case IFLA_LINK_NETNSID: li->netns_id = static_cast<int>(mnl_attr_get_u32(a)); break;
      case IFLA_LINKINFO: {
        nlattr* b;
        BERTH_FOR_NESTED(b, a) {
          if (mnl_attr_get_type(b) == IFLA_INFO_KIND) li->kind = mnl_attr_get_str(b);
        }
        break;
      }
      default: break;
    }
  }
}

Result<LinkInfo> Netlink::get_link(const std::string& name) {
  Req req(RTM_GETLINK, 0);
  req.ifinfo();
  mnl_attr_put_strz(req.nlh, IFLA_IFNAME, name.c_str());
  std::vector<std::string> replies;
  TRY(transact(req, "get link", name, &replies));
  for (auto& r : replies) {
    auto* nlh = reinterpret_cast<const nlmsghdr*>(r.data());
    if (nlh->nlmsg_type != RTM_NEWLINK) continue;
    LinkInfo li;
    parse_link(nlh, &li);
    return li;
  }
  return fail(Errc::NotFound, "link " + name + " not found");
}

Result<std::vector<LinkInfo>> Netlink::list_links() {
  Req req(RTM_GETLINK, NLM_F_DUMP);
  req.ifinfo();
  std::vector<std::string> replies;
  TRY(transact(req, "list links", "", &replies));
  std::vector<LinkInfo> out;
  for (auto& r : replies) {
    auto* nlh = reinterpret_cast<const nlmsghdr*>(r.data());
    if (nlh->nlmsg_type != RTM_NEWLINK) continue;
    LinkInfo li;
    parse_link(nlh, &li);
    out.push_back(std::move(li));
  }
  return out;
}

Result<int> Netlink::link_index(const std::string& name) {
  auto li = TRY(get_link(name));
  return li.index;
}

bool Netlink::link_exists(const std::string& name) { return get_link(name).has_value(); }

Status Netlink::set_link(const std::string& name, const char* what,
                         const std::function<void(Req&)>& fill) {
  Req req(RTM_NEWLINK, 0);
  auto* ifm = req.ifinfo();
  (void)ifm;
  mnl_attr_put_strz(req.nlh, IFLA_IFNAME, name.c_str());
  fill(req);
  return transact(req, what, name);
}

Status Netlink::set_up(const std::string& name, bool up) {
  Req req(RTM_NEWLINK, 0);
  auto* ifm = req.ifinfo();
  ifm->ifi_change = IFF_UP;
  ifm->ifi_flags = up ? IFF_UP : 0;
  mnl_attr_put_strz(req.nlh, IFLA_IFNAME, name.c_str());
  return transact(req, up ? "set link up" : "set link down", name);
}

Status Netlink::set_mtu(const std::string& name, int mtu) {
  return set_link(name, "set mtu", [&](Req& r) {
    mnl_attr_put_u32(r.nlh, IFLA_MTU, static_cast<std::uint32_t>(mtu));
  });
}

Status Netlink::set_mac(const std::string& name, const Mac& mac) {
  return set_link(name, "set mac", [&](Req& r) { mnl_attr_put(r.nlh, IFLA_ADDRESS, 6, mac.data()); });
}

Status Netlink::rename(const std::string& name, const std::string& new_name) {
  if (new_name.empty() || new_name.size() >= IFNAMSIZ)
    return fail(Errc::InvalidArgument, "invalid interface name \"" + new_name + "\"");
  int idx = TRY(link_index(name));
  Req req(RTM_NEWLINK, 0);
  auto* ifm = req.ifinfo();
  ifm->ifi_index = idx;
  mnl_attr_put_strz(req.nlh, IFLA_IFNAME, new_name.c_str());
  return transact(req, "rename link", name + " to " + new_name);
}

Status Netlink::set_master(const std::string& name, const std::string& master) {
  int midx = master.empty() ? 0 : TRY(link_index(master));
  return set_link(name, "set master", [&](Req& r) {
    mnl_attr_put_u32(r.nlh, IFLA_MASTER, static_cast<std::uint32_t>(midx));
  });
}

Status Netlink::move_to_netns(const std::string& name, int netns_fd) {
  return set_link(name, "move link to netns", [&](Req& r) {
    mnl_attr_put_u32(r.nlh, IFLA_NET_NS_FD, static_cast<std::uint32_t>(netns_fd));
  });
}

Status Netlink::set_hairpin(const std::string& port, bool on) {
  int idx = TRY(link_index(port));
  Req req(RTM_NEWLINK, 0);
  auto* ifm = req.ifinfo();
  ifm->ifi_family = AF_BRIDGE;
  ifm->ifi_index = idx;
  nlattr* p = mnl_attr_nest_start(req.nlh, IFLA_PROTINFO | NLA_F_NESTED);
  mnl_attr_put_u8(req.nlh, IFLA_BRPORT_MODE, on ? 1 : 0);
  mnl_attr_nest_end(req.nlh, p);
  return transact(req, "set hairpin", port);
}

Status Netlink::add_address(const std::string& link, const IpPrefix& addr) {
  int idx = TRY(link_index(link));
  Req req(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(req.nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = static_cast<std::uint8_t>(addr.addr.family);
  ifa->ifa_prefixlen = static_cast<std::uint8_t>(addr.len);
  ifa->ifa_index = static_cast<std::uint32_t>(idx);
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  if (addr.addr.is_v6()) ifa->ifa_flags = IFA_F_NODAD;
  mnl_attr_put(req.nlh, IFA_LOCAL, addr.addr.size(), addr.addr.bytes.data());
  mnl_attr_put(req.nlh, IFA_ADDRESS, addr.addr.size(), addr.addr.bytes.data());
  if (addr.addr.is_v4() && addr.len < 31) {
    IpAddr b = addr.last();
    mnl_attr_put(req.nlh, IFA_BROADCAST, 4, b.bytes.data());
  }
  if (addr.addr.is_v6()) mnl_attr_put_u32(req.nlh, IFA_FLAGS, IFA_F_NODAD);
  return transact(req, "add address", addr.str() + " to " + link);
}

Status Netlink::del_address(const std::string& link, const IpPrefix& addr) {
  int idx = TRY(link_index(link));
  Req req(RTM_DELADDR, 0);
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(req.nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = static_cast<std::uint8_t>(addr.addr.family);
  ifa->ifa_prefixlen = static_cast<std::uint8_t>(addr.len);
  ifa->ifa_index = static_cast<std::uint32_t>(idx);
  mnl_attr_put(req.nlh, IFA_LOCAL, addr.addr.size(), addr.addr.bytes.data());
  return transact(req, "delete address", addr.str() + " from " + link);
}

Result<std::vector<IpPrefix>> Netlink::addresses(const std::string& link) {
  int idx = link.empty() ? 0 : TRY(link_index(link));
  Req req(RTM_GETADDR, NLM_F_DUMP);
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(req.nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = AF_UNSPEC;
  std::vector<std::string> replies;
  TRY(transact(req, "list addresses", link, &replies));
  std::vector<IpPrefix> out;
  for (auto& r : replies) {
    auto* nlh = reinterpret_cast<const nlmsghdr*>(r.data());
    if (nlh->nlmsg_type != RTM_NEWADDR) continue;
    auto* m = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
    if (idx != 0 && static_cast<int>(m->ifa_index) != idx) continue;
    IpPrefix p;
    p.addr.family = m->ifa_family;
    p.len = m->ifa_prefixlen;
    nlattr* a;
    bool have = false;
    BERTH_FOR_ATTR(a, nlh, sizeof(ifaddrmsg)) {
      int t = mnl_attr_get_type(a);
      if ((t == IFA_LOCAL || (t == IFA_ADDRESS && !have)) &&
          mnl_attr_get_payload_len(a) == p.addr.size()) {
        std::memcpy(p.addr.bytes.data(), mnl_attr_get_payload(a), p.addr.size());
        have = true;
      }
    }
    if (have) out.push_back(p);
  }
  return out;
}

Status Netlink::add_route(const IpPrefix& dst, const IpAddr& gateway, const std::string& link) {
  int idx = TRY(link_index(link));
  Req req(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  auto* rt = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(req.nlh, sizeof(rtmsg)));
  rt->rtm_family = static_cast<std::uint8_t>(dst.addr.family);
  rt->rtm_dst_len = static_cast<std::uint8_t>(dst.len);
  rt->rtm_table = RT_TABLE_MAIN;
  rt->rtm_protocol = RTPROT_BOOT;
  rt->rtm_scope = gateway.valid() ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
  rt->rtm_type = RTN_UNICAST;
  if (dst.len > 0) {
    IpAddr n = dst.network().addr;
    mnl_attr_put(req.nlh, RTA_DST, n.size(), n.bytes.data());
  }
  if (gateway.valid()) mnl_attr_put(req.nlh, RTA_GATEWAY, gateway.size(), gateway.bytes.data());
  mnl_attr_put_u32(req.nlh, RTA_OIF, static_cast<std::uint32_t>(idx));
  return transact(req, "add route", dst.str() + " via " + (gateway.valid() ? gateway.str() : "link") + " dev " + link);
}

}  // namespace berth::net
