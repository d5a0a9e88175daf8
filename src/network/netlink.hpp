// SPDX-License-Identifier: Apache-2.0
// rtnetlink through libmnl: links (bridge, veth, macvlan, ipvlan), addresses, routes.
// A Netlink object is bound to the netns it was opened in; to configure a container's side,
// open one with Netlink::open_in(netns_fd) (done on a short-lived thread, see netns.hpp) — the
// calling thread never changes namespace. Not thread-safe: one object per thread.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "network/ip.hpp"

struct mnl_socket;

namespace berth::net {

using Mac = std::array<std::uint8_t, 6>;
Result<Mac> parse_mac(std::string_view s);
std::string mac_str(const Mac& m);
// Locally administered unicast MAC derived from an IPv4 address (02:42:a.b.c.d, as Docker).
Mac mac_from_ip(const IpAddr& a);

struct LinkInfo {
  int index = 0;
  std::string name;
  std::string kind;  // "bridge", "veth", "macvlan", ... ("" for physical/unknown)
  int mtu = 0;
  Mac mac{};
  bool up = false;
  int master = 0;    // ifindex of the bridge it is enslaved to
  int netns_id = -1;
};

enum class MacvlanMode : std::uint32_t { Private = 1, Vepa = 2, Bridge = 4, Passthru = 8 };
enum class IpvlanMode : std::uint16_t { L2 = 0, L3 = 1, L3S = 2 };

class Netlink {
 public:
  // A socket in the caller's current netns.
  static Result<Netlink> open();
  // A socket in the netns referred to by `netns_fd`.
  static Result<Netlink> open_in(int netns_fd);

  Netlink(Netlink&&) noexcept;
  Netlink& operator=(Netlink&&) noexcept;
  ~Netlink();

  // Links. Creation never replaces an existing link (AlreadyExists).
  Status create_bridge(const std::string& name, int mtu = 0, const std::optional<Mac>& mac = {});
  // A veth pair; the peer is put into `peer_netns_fd` right away if >= 0.
  Status create_veth(const std::string& name, const std::string& peer, int mtu = 0,
                     int peer_netns_fd = -1);
  Status create_macvlan(const std::string& name, const std::string& parent, MacvlanMode mode,
                        int peer_netns_fd = -1);
  // Fails with Unimplemented and a clear message if the kernel has no ipvlan.
  Status create_ipvlan(const std::string& name, const std::string& parent, IpvlanMode mode,
                       int peer_netns_fd = -1);
  Status delete_link(const std::string& name);
  Result<LinkInfo> get_link(const std::string& name);
  Result<std::vector<LinkInfo>> list_links();
  Result<int> link_index(const std::string& name);
  bool link_exists(const std::string& name);

  Status set_up(const std::string& name, bool up);
  Status set_mtu(const std::string& name, int mtu);
  Status set_mac(const std::string& name, const Mac& mac);
  Status rename(const std::string& name, const std::string& new_name);
  // Enslaves to a bridge ("" = release).
  Status set_master(const std::string& name, const std::string& master);
  Status move_to_netns(const std::string& name, int netns_fd);
  // Bridge port hairpin mode (needed for container -> own published port).
  Status set_hairpin(const std::string& port, bool on);

  // Addresses and routes.
  Status add_address(const std::string& link, const IpPrefix& addr);
  Status del_address(const std::string& link, const IpPrefix& addr);
  // Addresses of `link`; every address of the netns when `link` is empty.
  Result<std::vector<IpPrefix>> addresses(const std::string& link);
  // Route to `dst` (len 0 = default) via `gateway` (unset = on-link) over `link`.
  Status add_route(const IpPrefix& dst, const IpAddr& gateway, const std::string& link);

 private:
  Netlink() = default;
  struct Req;
  Status transact(Req& req, const char* what, const std::string& subject,
                  std::vector<std::string>* replies = nullptr);
  Status set_link(const std::string& name, const char* what,
                  const std::function<void(Req&)>& fill);
  Status add_link(const std::string& name, const char* kind, const char* what,
                  const std::function<void(Req&)>& fill_data,
                  const std::function<void(Req&)>& fill_top);
  mnl_socket* sock_ = nullptr;
  std::uint32_t seq_ = 1;
  std::uint32_t portid_ = 0;
};

// Deletes a link on scope exit unless release()d (failure paths while wiring an endpoint).
class LinkGuard {
 public:
  LinkGuard() = default;
  LinkGuard(Netlink* nl, std::string name) : nl_(nl), name_(std::move(name)) {}
  LinkGuard(LinkGuard&& o) noexcept : nl_(std::exchange(o.nl_, nullptr)), name_(std::move(o.name_)) {}
  LinkGuard& operator=(LinkGuard&&) = delete;
  LinkGuard(const LinkGuard&) = delete;
  ~LinkGuard() {
    if (nl_) (void)nl_->delete_link(name_);
  }
  void release() { nl_ = nullptr; }
  const std::string& name() const { return name_; }

 private:
  Netlink* nl_ = nullptr;
  std::string name_;
};

}  // namespace berth::net
