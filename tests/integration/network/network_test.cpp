// SPDX-License-Identifier: Apache-2.0
// Network integration tests (root). Safety: the whole test process first moves into a private
// network namespace of its own (the "host" of these tests), so bridges, veths, nftables tables
// and sysctls never touch the real host; "containers" are further anonymous namespaces held by
// fds. Traffic goes only between these namespaces. Addresses: 10.213.0.0/16, fd00:213::/48.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>
#include <chrono>
#include <cstdio>
#include <cstring>

#include <gtest/gtest.h>

#include "common/file.hpp"
#include "common/strings.hpp"
#include "network/dns.hpp"
#include "network/firewall.hpp"
#include "network/manager.hpp"
#include "network/netlink.hpp"
#include "network/netns.hpp"
#include "support/test_support.hpp"

namespace berth::net {
namespace {

// Runs before main(): the test process gets its own netns (only when root; otherwise the tests
// skip). Threads created later inherit it.
const bool g_private_netns = [] {
  if (::geteuid() != 0) return false;
  if (::unshare(CLONE_NEWNET) != 0) return false;
  auto nl = Netlink::open();
  if (nl) (void)nl->set_up("lo", true);
  return true;
}();

#define REQUIRE_NETNS()                                                   \
  do {                                                                    \
    REQUIRE_ROOT();                                                       \
    ASSERT_TRUE(g_private_netns) << "could not unshare a private netns"; \
  } while (0)

IpAddr A(const char* s) { return *IpAddr::parse(s); }
IpPrefix P(const char* s) { return *IpPrefix::parse(s); }

sockaddr_storage sockaddr_of(const IpAddr& ip, std::uint16_t port, socklen_t* len) {
  sockaddr_storage ss{};
  if (ip.is_v6()) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    std::memcpy(&s6->sin6_addr, ip.bytes.data(), 16);
    *len = sizeof(sockaddr_in6);
  } else {
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    s4->sin_family = AF_INET;
    s4->sin_port = htons(port);
    std::memcpy(&s4->sin_addr, ip.bytes.data(), 4);
    *len = sizeof(sockaddr_in);
  }
  return ss;
}

// A socket of `type` created inside netns `ns` (-1 = the test's netns), bound to ip:port.
UniqueFd make_socket(int ns, int type, const IpAddr& bind_ip, std::uint16_t port) {
  UniqueFd fd;
  auto st = run_in_netns(ns, [&]() -> Status {
    fd.reset(::socket(bind_ip.is_v6() ? AF_INET6 : AF_INET, type | SOCK_CLOEXEC, 0));
    if (!fd) return fail_errno("socket");
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (port || !bind_ip.is_unspecified()) {
      socklen_t len;
      auto ss = sockaddr_of(bind_ip, port, &len);
      if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) return fail_errno("bind");
    }
    if (type == SOCK_STREAM && port && ::listen(fd.get(), 16) != 0) return fail_errno("listen");
    return ok();
  });
  EXPECT_TRUE(st) << st.error().message();
  return fd;
}

UniqueFd listen_tcp(int ns, const char* ip, std::uint16_t port) {
  return make_socket(ns, SOCK_STREAM, A(ip), port);
}

// Connects from netns `ns` to ip:port; true on success within timeout_ms.
bool tcp_connect(int ns, const IpAddr& ip, std::uint16_t port, int timeout_ms = 1500,
                 UniqueFd* out = nullptr) {
  IpAddr any = ip.is_v6() ? A("::") : A("0.0.0.0");
  UniqueFd fd = make_socket(ns, SOCK_STREAM, any, 0);
  if (!fd) return false;
  int fl = ::fcntl(fd.get(), F_GETFL);
  ::fcntl(fd.get(), F_SETFL, fl | O_NONBLOCK);
  socklen_t len;
  auto ss = sockaddr_of(ip, port, &len);
  int r = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len);
  if (r != 0 && errno != EINPROGRESS) return false;
  pollfd p{fd.get(), POLLOUT, 0};
  if (::poll(&p, 1, timeout_ms) != 1) return false;
  int err = 0;
  socklen_t el = sizeof err;
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &el);
  if (err != 0) return false;
  ::fcntl(fd.get(), F_SETFL, fl);
  if (out) *out = std::move(fd);
  return true;
}

// Accepts one connection on `lfd` within timeout; returns the peer's address ("" if none).
std::string accept_peer(int lfd, int timeout_ms = 1500) {
  pollfd p{lfd, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) != 1) return "";
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  UniqueFd c(::accept4(lfd, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_CLOEXEC));
  if (!c) return "";
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET)
    ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr, buf, sizeof buf);
  else
    ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr, buf, sizeof buf);
  return buf;
}

// Full round trip: connect from `from_ns` to ip:port, expect `lfd` to accept; returns the peer.
std::string reach(int from_ns, const IpAddr& ip, std::uint16_t port, int lfd) {
  UniqueFd c;
  if (!tcp_connect(from_ns, ip, port, 1500, &c)) return "";
  return accept_peer(lfd);
}

class NetworkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0 || !g_private_netns) GTEST_SKIP() << "needs root and a private netns";
    tag_ = random_hex(4);
    cfg_.state_dir = scratch_.sub("state");
    cfg_.pools_v4 = {{P("10.213.0.0/16"), 24}};
    cfg_.pools_v6 = {{P("fd00:213::/48"), 64}};
    cfg_.default_bridge = "bt0" + tag_;
    cfg_.default_bridge_ip = P("10.213.100.1/24");
    cfg_.bridge_prefix = "bt1";
    cfg_.veth_prefix = "bt2";
    cfg_.firewall.table = "berth-test-" + tag_;
    auto m = NetworkManager::open(cfg_);
    ASSERT_TRUE(m) << m.error().message();
    nm_ = std::move(*m);
  }
  void TearDown() override {
    if (!nm_) return;
    auto st = nm_->destroy_all();
    EXPECT_TRUE(st) << st.error().message();
    nm_.reset();
    // Nothing left behind: no bt* links, no table.
    auto nl = Netlink::open();
    ASSERT_TRUE(nl);
    auto links = nl->list_links();
    ASSERT_TRUE(links);
    for (const auto& l : *links) EXPECT_NE(l.name.rfind("bt", 0), 0u) << "leftover link " << l.name;
    auto fw = Firewall::open(cfg_.firewall);  // recreates it empty: check, then delete
    ASSERT_TRUE(fw);
    auto text = (*fw)->list();
    ASSERT_TRUE(text);
    EXPECT_EQ(text->find(" : 10.213."), std::string::npos) << *text;
    ASSERT_TRUE((*fw)->destroy());
  }

  // A "container": an anonymous netns.
  UniqueFd container() {
    auto ns = new_netns();
    EXPECT_TRUE(ns) << ns.error().message();
    return ns ? std::move(*ns) : UniqueFd();
  }
  std::string ns_path(const UniqueFd& fd) { return "/proc/self/fd/" + std::to_string(fd.get()); }

  Endpoint connect(const std::string& net, const std::string& cid, const UniqueFd& ns,
                   std::vector<PortSpec> ports = {}, IpAddr ip = {}) {
    EndpointSpec s;
    s.container_id = cid;
    s.netns_path = ns_path(ns);
    s.ports = std::move(ports);
    s.ipv4 = ip;
    auto e = nm_->connect(net, s);
    EXPECT_TRUE(e) << e.error().message();
    return e ? *e : Endpoint{};
  }

  test::Scratch scratch_{"net"};
  std::string tag_;
  ManagerConfig cfg_;
  std::unique_ptr<NetworkManager> nm_;
};

TEST(Netlink, VethBridgeAddressesRoutesInNetns) {
  REQUIRE_NETNS();
  auto nl = *Netlink::open();
  std::string tag = random_hex(4);
  std::string br = "bt3" + tag, veth = "bt4" + tag, peer = "bt5" + tag;
  auto ns = *new_netns();
  {
    ASSERT_TRUE(nl.create_bridge(br, 1400));
    LinkGuard g_br(&nl, br);
    EXPECT_TRUE(nl.create_bridge(br).error().is(Errc::AlreadyExists));
    ASSERT_TRUE(nl.create_veth(veth, peer, 0, ns.get()));
    LinkGuard g_veth(&nl, veth);
    ASSERT_TRUE(nl.set_master(veth, br));
    ASSERT_TRUE(nl.set_up(veth, true));
    auto li = *nl.get_link(veth);
    EXPECT_EQ(li.kind, "veth");
    EXPECT_EQ(li.master, *nl.link_index(br));
    EXPECT_EQ(nl.get_link(br)->mtu, 1400);
    EXPECT_FALSE(nl.link_exists(peer));  // it went into the netns
    ASSERT_TRUE(nl.add_address(br, P("10.213.200.1/24")));
    ASSERT_TRUE(nl.set_up(br, true));

    auto cnl = *Netlink::open_in(ns.get());
    ASSERT_TRUE(cnl.link_exists(peer));
    ASSERT_TRUE(cnl.rename(peer, "eth0"));
    Mac mac = *parse_mac("02:42:0a:d5:c8:02");
    ASSERT_TRUE(cnl.set_mac("eth0", mac));
    ASSERT_TRUE(cnl.set_mtu("eth0", 1400));
    ASSERT_TRUE(cnl.add_address("eth0", P("10.213.200.2/24")));
    ASSERT_TRUE(cnl.add_address("eth0", P("fd00:213:200::2/64")));
    ASSERT_TRUE(cnl.set_up("eth0", true));
    ASSERT_TRUE(cnl.add_route(P("0.0.0.0/0"), A("10.213.200.1"), "eth0"));
    EXPECT_TRUE(cnl.add_route(P("0.0.0.0/0"), A("10.213.200.1"), "eth0").error().is(Errc::AlreadyExists));
    auto info = *cnl.get_link("eth0");
    EXPECT_EQ(mac_str(info.mac), "02:42:0a:d5:c8:02");
    EXPECT_EQ(info.mtu, 1400);
    auto addrs = *cnl.addresses("eth0");
    EXPECT_NE(std::find(addrs.begin(), addrs.end(), P("10.213.200.2/24")), addrs.end());
    EXPECT_NE(std::find(addrs.begin(), addrs.end(), P("fd00:213:200::2/64")), addrs.end());
    // Real traffic: the netns reaches a listener on the bridge address.
    auto l = listen_tcp(-1, "10.213.200.1", 7001);
    EXPECT_EQ(reach(ns.get(), A("10.213.200.1"), 7001, l.get()), "10.213.200.2");
    // Errors carry the kernel's extended ack / errno.
    auto bad = nl.create_veth("bt6" + tag, "bt6" + tag);
    EXPECT_FALSE(bad);
    EXPECT_TRUE(nl.delete_link("bt7nosuch").error().is(Errc::NotFound));
  }
  // Guards removed both.
  EXPECT_FALSE(nl.link_exists(br));
  EXPECT_FALSE(nl.link_exists(veth));
}

TEST_F(NetworkTest, DefaultBridgeTwoContainersTalk) {
  auto def = nm_->network("bridge");
  ASSERT_TRUE(def);
  EXPECT_EQ(def->interface, cfg_.default_bridge);
  EXPECT_EQ(def->subnets[0].subnet.str(), "10.213.100.0/24");
  auto a = container(), b = container();
  Endpoint ea = connect("bridge", "berth-test-a", a);
  Endpoint eb = connect("bridge", "berth-test-b", b);
  EXPECT_EQ(ea.ipv4->str(), "10.213.100.2/24");
  EXPECT_EQ(eb.ipv4->str(), "10.213.100.3/24");
  EXPECT_EQ(mac_str(ea.mac), "02:42:0a:d5:64:02");
  auto lb = listen_tcp(b.get(), "0.0.0.0", 80);
  EXPECT_EQ(reach(a.get(), eb.ipv4->addr, 80, lb.get()), "10.213.100.2");
  // The container has eth0 with its MAC, and a default route through the gateway (reaches the
  // host's listener on the bridge address).
  auto cnl = *Netlink::open_in(a.get());
  EXPECT_EQ(mac_str(cnl.get_link("eth0")->mac), "02:42:0a:d5:64:02");
  auto lh = listen_tcp(-1, "10.213.100.1", 7002);
  EXPECT_EQ(reach(a.get(), A("10.213.100.1"), 7002, lh.get()), "10.213.100.2");
  // Double connect is a conflict; disconnect removes the interface inside the container.
  EndpointSpec again;
  again.container_id = "berth-test-a";
  again.netns_path = ns_path(a);
  EXPECT_TRUE(nm_->connect("bridge", again).error().is(Errc::Conflict));
  ASSERT_TRUE(nm_->disconnect("bridge", "berth-test-a"));
  EXPECT_FALSE(cnl.link_exists("eth0"));
  EXPECT_TRUE(nm_->disconnect("bridge", "berth-test-a").error().is(Errc::NotFound));
}

TEST_F(NetworkTest, PublishedPortFromHostLoopbackAndBridgeIp) {
  auto c = container();
  auto spec = *parse_port_spec("18080:80");
  Endpoint e = connect("bridge", "berth-test-web", c, {spec});
  ASSERT_EQ(e.ports.size(), 1u);
  EXPECT_EQ(e.ports[0].host_port, 18080);
  auto l = listen_tcp(c.get(), "0.0.0.0", 80);
  // Host -> 127.0.0.1:18080 is DNATed in the kernel (no proxy), source masqueraded to the bridge.
  EXPECT_EQ(reach(-1, A("127.0.0.1"), 18080, l.get()), "10.213.100.1");
  // Host -> bridge IP:18080.
  EXPECT_FALSE(reach(-1, A("10.213.100.1"), 18080, l.get()).empty());
  // Another container on the same bridge through the published port on the gateway (hairpin).
  auto d = container();
  connect("bridge", "berth-test-client", d);
  EXPECT_FALSE(reach(d.get(), A("10.213.100.1"), 18080, l.get()).empty());
  // The rule is in berth's table as a map element.
  auto text = *nm_->firewall().list();
  EXPECT_NE(text.find("18080 : 10.213.100.2 . 80"), std::string::npos) << text;
  // A second mapping of the same host port conflicts; nothing half-done remains.
  auto c2 = container();
  EndpointSpec s2;
  s2.container_id = "berth-test-web2";
  s2.netns_path = ns_path(c2);
  s2.ports = {spec};
  auto e2 = nm_->connect("bridge", s2);
  ASSERT_FALSE(e2);
  EXPECT_TRUE(e2.error().is(Errc::Conflict)) << e2.error().message();
  EXPECT_FALSE(Netlink::open_in(c2.get())->link_exists("eth0"));
  EXPECT_EQ(nm_->endpoints().size(), 2u);
  // Removing the mapping removes the rule: the port no longer reaches the container.
  ASSERT_TRUE(nm_->disconnect("bridge", "berth-test-web"));
  EXPECT_EQ(nm_->firewall().list()->find("18080"), std::string::npos);
  EXPECT_TRUE(reach(-1, A("127.0.0.1"), 18080, l.get()).empty());
}

TEST_F(NetworkTest, PortRangesUdpHostIpAndEphemeral) {
  auto c = container();
  std::vector<PortSpec> ports{*parse_port_spec("127.0.0.1:19000-19001:90-91/udp"),
                              *parse_port_spec("19100-19105:100"), *parse_port_spec("110"),
                              *parse_port_spec("19200:120/sctp")};
  Endpoint e = connect("bridge", "berth-test-ranges", c, ports);
  ASSERT_EQ(e.ports.size(), 5u);
  EXPECT_EQ(e.ports[0].host_port, 19000);
  EXPECT_EQ(e.ports[1].host_port, 19001);
  EXPECT_EQ(e.ports[1].container_port, 91);
  EXPECT_EQ(e.ports[2].host_port, 19100);
  EXPECT_GE(e.ports[3].host_port, cfg_.ephemeral_first);
  EXPECT_EQ(e.ports[4].proto, Proto::Sctp);
  auto text = *nm_->firewall().list();
  EXPECT_NE(text.find("127.0.0.1 . 19001 : 10.213.100.2 . 91"), std::string::npos) << text;
  EXPECT_NE(text.find("19200 : 10.213.100.2 . 120"), std::string::npos) << text;
  // UDP through 127.0.0.1:19001 arrives at the container's :91.
  auto u = make_socket(c.get(), SOCK_DGRAM, A("0.0.0.0"), 91);
  auto s = make_socket(-1, SOCK_DGRAM, A("0.0.0.0"), 0);
  socklen_t len;
  auto ss = sockaddr_of(A("127.0.0.1"), 19001, &len);
  ASSERT_EQ(::sendto(s.get(), "hi", 2, 0, reinterpret_cast<sockaddr*>(&ss), len), 2);
  pollfd p{u.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 1500), 1);
  char buf[8] = {};
  EXPECT_EQ(::recv(u.get(), buf, sizeof buf, 0), 2);
  // The ephemeral TCP port works too.
  auto l = listen_tcp(c.get(), "0.0.0.0", 110);
  EXPECT_FALSE(reach(-1, A("127.0.0.1"), e.ports[3].host_port, l.get()).empty());
  // A second container asking for the range gets the next free port of it.
  auto c2 = container();
  Endpoint e2 = connect("bridge", "berth-test-ranges2", c2, {*parse_port_spec("19100-19105:100")});
  ASSERT_EQ(e2.ports.size(), 1u);
  EXPECT_EQ(e2.ports[0].host_port, 19101);
}

TEST_F(NetworkTest, UserNetworksAreIsolatedAndMasqueradeOutbound) {
  NetworkSpec s1;
  s1.name = "berth-test-n1";
  auto n1 = nm_->create_network(s1);
  ASSERT_TRUE(n1) << n1.error().message();
  EXPECT_EQ(n1->subnets[0].subnet.str(), "10.213.0.0/24");
  EXPECT_EQ(n1->interface, "bt1" + n1->id.substr(0, 12));
  EXPECT_TRUE(nm_->create_network(s1).error().is(Errc::Conflict));
  NetworkSpec s2;
  s2.name = "berth-test-n2";
  s2.ipv4 = {{P("10.213.50.0/24"), A("10.213.50.254"), P("10.213.50.128/25")}};
  auto n2 = nm_->create_network(s2);
  ASSERT_TRUE(n2) << n2.error().message();
  NetworkSpec s3;
  s3.name = "berth-test-overlap";
  s3.ipv4 = {{P("10.213.50.0/25"), {}, {}}};
  EXPECT_TRUE(nm_->create_network(s3).error().is(Errc::Conflict));

  auto a = container(), a2 = container(), b = container();
  Endpoint ea = connect("berth-test-n1", "berth-test-a", a);
  Endpoint ea2 = connect("berth-test-n1", "berth-test-a2", a2, {}, A("10.213.0.77"));
  Endpoint eb = connect("berth-test-n2", "berth-test-b", b);
  EXPECT_EQ(ea2.ipv4->addr.str(), "10.213.0.77");
  EXPECT_EQ(eb.ipv4->addr.str(), "10.213.50.128");
  EXPECT_EQ(eb.gateway4.str(), "10.213.50.254");

  auto la2 = listen_tcp(a2.get(), "0.0.0.0", 80);
  auto lb = listen_tcp(b.get(), "0.0.0.0", 80);
  // Same network: reachable.
  EXPECT_EQ(reach(a.get(), ea2.ipv4->addr, 80, la2.get()), ea.ipv4->addr.str());
  // Across networks: dropped both ways (routing through the host would otherwise work).
  EXPECT_TRUE(reach(a.get(), eb.ipv4->addr, 80, lb.get()).empty());
  EXPECT_TRUE(reach(b.get(), ea2.ipv4->addr, 80, la2.get()).empty());

  // Outbound: an "outside" namespace behind an uplink veth; containers' traffic is masqueraded
  // to the uplink address.
  auto nl = *Netlink::open();
  auto out = container();
  std::string up = "bt8" + tag_, up_peer = "bt9" + tag_;
  ASSERT_TRUE(nl.create_veth(up, up_peer, 0, out.get()));
  LinkGuard g(&nl, up);
  ASSERT_TRUE(nl.add_address(up, P("10.213.254.1/30")));
  ASSERT_TRUE(nl.set_up(up, true));
  auto onl = *Netlink::open_in(out.get());
  ASSERT_TRUE(onl.add_address(up_peer, P("10.213.254.2/30")));
  ASSERT_TRUE(onl.set_up(up_peer, true));
  auto lo = listen_tcp(out.get(), "10.213.254.2", 9000);
  EXPECT_EQ(reach(a.get(), A("10.213.254.2"), 9000, lo.get()), "10.213.254.1");
  EXPECT_EQ(reach(b.get(), A("10.213.254.2"), 9000, lo.get()), "10.213.254.1");

  // Internal network: no way out.
  NetworkSpec si;
  si.name = "berth-test-internal";
  si.internal = true;
  auto ni = nm_->create_network(si);
  ASSERT_TRUE(ni);
  auto i = container();
  connect("berth-test-internal", "berth-test-i", i);
  EXPECT_TRUE(reach(i.get(), A("10.213.254.2"), 9000, lo.get()).empty());

  // The user chain is consulted first: a drop there blocks forwarded traffic.
  ASSERT_TRUE(nm_->firewall().run("add rule inet " + cfg_.firewall.table + " berth-user ip daddr 10.213.254.2 drop\n"));
  EXPECT_TRUE(reach(a.get(), A("10.213.254.2"), 9000, lo.get()).empty());
  // ... and berth keeps the user's rules when it rewrites its own (new network).
  NetworkSpec s4;
  s4.name = "berth-test-n4";
  ASSERT_TRUE(nm_->create_network(s4));
  EXPECT_NE(nm_->firewall().list()->find("ip daddr 10.213.254.2 drop"), std::string::npos);

  // A network in use cannot be removed.
  EXPECT_TRUE(nm_->delete_network("berth-test-n1").error().is(Errc::Conflict));
  ASSERT_TRUE(nm_->disconnect_all("berth-test-a"));
  ASSERT_TRUE(nm_->disconnect_all("berth-test-a2"));
  ASSERT_TRUE(nm_->delete_network("berth-test-n1"));
  EXPECT_FALSE(nl.link_exists(n1->interface));
  EXPECT_TRUE(nm_->delete_network("bridge").error().is(Errc::PermissionDenied));
  // prune removes unused user networks only (n4 unused; n2 and internal still have endpoints).
  auto pruned = nm_->prune();
  ASSERT_TRUE(pruned);
  EXPECT_EQ(*pruned, std::vector<std::string>{"berth-test-n4"});
  EXPECT_TRUE(nm_->network("berth-test-n2"));
}

TEST_F(NetworkTest, DualStackIpv6) {
  NetworkSpec s;
  s.name = "berth-test-v6";
  s.enable_ipv6 = true;
  auto n = nm_->create_network(s);
  ASSERT_TRUE(n) << n.error().message();
  ASSERT_EQ(n->subnets.size(), 2u);
  EXPECT_EQ(n->subnets[1].subnet.str(), "fd00:213::/64");
  auto a = container(), b = container();
  Endpoint ea = connect("berth-test-v6", "berth-test-a", a);
  Endpoint eb = connect("berth-test-v6", "berth-test-b", b, {*parse_port_spec("18443:443")});
  ASSERT_TRUE(ea.ipv6 && eb.ipv6);
  EXPECT_EQ(eb.ipv6->addr.str(), "fd00:213::3");
  auto l = listen_tcp(b.get(), "::", 80);
  EXPECT_EQ(reach(a.get(), eb.ipv6->addr, 80, l.get()), ea.ipv6->addr.str());
  // Published on both families.
  ASSERT_EQ(eb.ports.size(), 2u);
  auto text = *nm_->firewall().list();
  EXPECT_NE(text.find("18443 : fd00:213::3 . 443"), std::string::npos) << text;
}

TEST_F(NetworkTest, StateSurvivesRestart) {
  NetworkSpec s;
  s.name = "berth-test-persist";
  auto n = nm_->create_network(s);
  ASSERT_TRUE(n);
  auto a = container();
  Endpoint ea = connect("berth-test-persist", "berth-test-a", a, {*parse_port_spec("18500:80")});
  // "Daemon restart": drop the manager without cleanup, open a new one on the same state.
  nm_.reset();
  auto m = NetworkManager::open(cfg_);
  ASSERT_TRUE(m) << m.error().message();
  nm_ = std::move(*m);
  auto again = nm_->network("berth-test-persist");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->id, n->id);
  ASSERT_EQ(nm_->endpoints(n->id).size(), 1u);
  EXPECT_EQ(nm_->endpoints(n->id)[0].ipv4, ea.ipv4);
  // The live container still works through its published port, and addresses are not reused.
  auto l = listen_tcp(a.get(), "0.0.0.0", 80);
  EXPECT_FALSE(reach(-1, A("127.0.0.1"), 18500, l.get()).empty());
  auto b = container();
  Endpoint eb = connect("berth-test-persist", "berth-test-b", b);
  EXPECT_NE(eb.ipv4->addr, ea.ipv4->addr);
  EXPECT_EQ(nm_->networks().size(), 2u);  // + default bridge, not created twice
  // IPAM files are written without fsync: after a "power loss" the file may be garbage, or hold
  // an owner whose endpoint file never reached the disk. open() rebuilds/prunes it.
  std::string ipam_file = cfg_.state_dir + "/ipam/" + n->id + ".json";
  nm_.reset();
  ASSERT_TRUE(write_file(ipam_file, ""));
  m = NetworkManager::open(cfg_);
  ASSERT_TRUE(m) << m.error().message();
  nm_ = std::move(*m);
  auto st = Ipam(cfg_.state_dir + "/ipam").load(n->id);
  ASSERT_TRUE(st) << st.error().message();
  ASSERT_EQ(st->size(), 1u);
  EXPECT_EQ((*st)[0].allocated.count(ea.ipv4->addr), 1u);
  EXPECT_EQ((*st)[0].allocated.count(eb.ipv4->addr), 1u);
  // An allocation without an endpoint (its file never reached the disk) is released at open.
  nm_.reset();
  std::string a4 = ea.ipv4->addr.str();
  std::string ghost = a4.substr(0, a4.rfind('.')) + ".200";
  auto text = read_file(ipam_file);
  ASSERT_TRUE(text);
  auto at = text->find("\"allocated\": {");
  ASSERT_NE(at, std::string::npos) << *text;
  text->insert(at + 14, "\"" + ghost + "\": \"berth-test-ghost\",");
  ASSERT_TRUE(write_file(ipam_file, *text));
  ASSERT_TRUE(Ipam(cfg_.state_dir + "/ipam").load(n->id)->at(0).allocated.count(A(ghost.c_str())));
  m = NetworkManager::open(cfg_);
  ASSERT_TRUE(m) << m.error().message();
  nm_ = std::move(*m);
  st = Ipam(cfg_.state_dir + "/ipam").load(n->id);
  ASSERT_TRUE(st);
  EXPECT_EQ((*st)[0].allocated.count(A(ghost.c_str())), 0u);
  EXPECT_EQ((*st)[0].allocated.count(ea.ipv4->addr), 1u);
  EXPECT_EQ((*st)[0].allocated.count(eb.ipv4->addr), 1u);
}

TEST_F(NetworkTest, DeferredVethDeletion) {
  // disconnect_all(…, true) releases address, ports and state at once and leaves the veth
  // deletion to the background thread; wait_deferred() waits for it.
  auto a = container();
  Endpoint ea = connect("bridge", "berth-test-a", a, {*parse_port_spec("18600:80")});
  ASSERT_FALSE(ea.host_ifname.empty());
  auto nl = *Netlink::open();
  ASSERT_TRUE(nl.link_exists(ea.host_ifname));
  ASSERT_TRUE(nm_->disconnect_all("berth-test-a", true));
  EXPECT_TRUE(nm_->endpoints().empty());
  auto st = Ipam(cfg_.state_dir + "/ipam").load(nm_->network("bridge")->id);
  ASSERT_TRUE(st);
  EXPECT_EQ((*st)[0].allocated.count(ea.ipv4->addr), 0u);
  auto map = nm_->firewall().list();
  ASSERT_TRUE(map);
  EXPECT_EQ(map->find("18600"), std::string::npos) << *map;
  nm_->wait_deferred();
  EXPECT_FALSE(nl.link_exists(ea.host_ifname));
  EXPECT_FALSE(Netlink::open_in(a.get())->link_exists("eth0"));  // the pair went with it
}

TEST_F(NetworkTest, MacvlanBridgeModeOnVethParent) {
  auto nl = *Netlink::open();
  std::string parent = "bta" + tag_, peer = "btb" + tag_;
  ASSERT_TRUE(nl.create_veth(parent, peer));
  LinkGuard g(&nl, parent);
  ASSERT_TRUE(nl.set_up(parent, true));
  ASSERT_TRUE(nl.set_up(peer, true));
  NetworkSpec s;
  s.name = "berth-test-mv";
  s.driver = "macvlan";
  s.ipv4 = {{P("10.213.60.0/24"), {}, {}}};
  EXPECT_TRUE(nm_->create_network(s).error().is(Errc::InvalidArgument));  // no parent
  s.options["parent"] = parent;
  auto n = nm_->create_network(s);
  ASSERT_TRUE(n) << n.error().message();
  auto a = container(), b = container();
  Endpoint ea = connect("berth-test-mv", "berth-test-a", a);
  Endpoint eb = connect("berth-test-mv", "berth-test-b", b);
  EXPECT_TRUE(ea.host_ifname.empty());
  EXPECT_EQ(Netlink::open_in(a.get())->get_link("eth0")->kind, "macvlan");
  auto l = listen_tcp(b.get(), "0.0.0.0", 80);
  EXPECT_EQ(reach(a.get(), eb.ipv4->addr, 80, l.get()), ea.ipv4->addr.str());
  EXPECT_TRUE(nm_->disconnect("berth-test-mv", "berth-test-a", ns_path(a)));
  EXPECT_FALSE(Netlink::open_in(a.get())->link_exists("eth0"));
  EXPECT_TRUE(nm_->disconnect("berth-test-mv", "berth-test-b"));
  EXPECT_TRUE(nm_->delete_network("berth-test-mv"));
}

TEST_F(NetworkTest, IpvlanAbsentGivesClearError) {
  auto nl = *Netlink::open();
  std::string parent = "btc" + tag_, peer = "btd" + tag_;
  ASSERT_TRUE(nl.create_veth(parent, peer));
  LinkGuard g(&nl, parent);
  NetworkSpec s;
  s.name = "berth-test-ipvl";
  s.driver = "ipvlan";
  s.options["parent"] = parent;
  auto n = nm_->create_network(s);
  if (n) {
    // This kernel has ipvlan: it must work like macvlan.
    auto a = container();
    connect("berth-test-ipvl", "berth-test-a", a);
    EXPECT_EQ(Netlink::open_in(a.get())->get_link("eth0")->kind, "ipvlan");
    ASSERT_TRUE(nm_->disconnect("berth-test-ipvl", "berth-test-a"));
    return;
  }
  EXPECT_TRUE(n.error().is(Errc::Unimplemented)) << n.error().message();
  EXPECT_NE(n.error().message().find("CONFIG_IPVLAN"), std::string::npos);
  EXPECT_FALSE(nm_->network("berth-test-ipvl"));
}

// 1000 published ports: one nft transaction of map elements, no process, still reachable.
TEST_F(NetworkTest, ThousandPublishedPorts) {
  auto c = container();
  auto t0 = std::chrono::steady_clock::now();
  Endpoint e = connect("bridge", "berth-test-many", c, {*parse_port_spec("20000-20999:10000-10999")});
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(e.ports.size(), 1000u);
  std::printf("connect with 1000 published ports: %.1f ms\n", ms);
  auto l = listen_tcp(c.get(), "0.0.0.0", 10500);
  EXPECT_FALSE(reach(-1, A("127.0.0.1"), 20500, l.get()).empty());
  t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(nm_->disconnect("bridge", "berth-test-many"));
  ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("disconnect (remove 1000 ports): %.1f ms\n", ms);
  EXPECT_EQ(nm_->firewall().list()->find("20500"), std::string::npos);
}

// Latency of wiring one container (veth + netns config + IPAM + state files).
TEST_F(NetworkTest, ConnectLatency) {
  std::vector<double> v;
  for (int i = 0; i < 10; ++i) {
    auto c = container();
    auto t0 = std::chrono::steady_clock::now();
    connect("bridge", "berth-test-lat" + std::to_string(i), c);
    v.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    ASSERT_TRUE(nm_->disconnect("bridge", "berth-test-lat" + std::to_string(i)));
  }
  std::sort(v.begin(), v.end());
  std::printf("connect latency: median %.2f ms, max %.2f ms\n", v[v.size() / 2], v.back());
  EXPECT_LT(v[v.size() / 2], 500.0);  // sanity only: the machine is shared; the number is printed
}

std::vector<std::uint8_t> dns_query(std::uint16_t id, const std::string& name, std::uint16_t type) {
  std::vector<std::uint8_t> q{static_cast<std::uint8_t>(id >> 8), static_cast<std::uint8_t>(id), 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0};
  for (const auto& l : split(name, '.')) {
    q.push_back(static_cast<std::uint8_t>(l.size()));
    q.insert(q.end(), l.begin(), l.end());
  }
  q.insert(q.end(), {0, static_cast<std::uint8_t>(type >> 8), static_cast<std::uint8_t>(type), 0, 1});
  return q;
}

// Asks 127.0.0.11:53 inside netns `ns`; returns the raw reply (empty on timeout).
std::vector<std::uint8_t> ask(int ns, const std::string& name, std::uint16_t type = 1) {
  UniqueFd s = make_socket(ns, SOCK_DGRAM, A("0.0.0.0"), 0);
  auto q = dns_query(0x4242, name, type);
  socklen_t len;
  auto ss = sockaddr_of(A("127.0.0.11"), 53, &len);
  if (::sendto(s.get(), q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&ss), len) < 0) return {};
  pollfd p{s.get(), POLLIN, 0};
  if (::poll(&p, 1, 1000) != 1) return {};
  std::vector<std::uint8_t> buf(1500);
  ssize_t n = ::recv(s.get(), buf.data(), buf.size(), 0);
  buf.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return buf;
}

// Asks over TCP (one connection, one question); returns the reply (empty on failure).
std::vector<std::uint8_t> ask_tcp(int ns, const std::string& name, std::uint16_t type = 1) {
  UniqueFd c;
  if (!tcp_connect(ns, A("127.0.0.11"), 53, 1500, &c)) return {};
  auto q = dns_query(0x4343, name, type);
  std::vector<std::uint8_t> msg{static_cast<std::uint8_t>(q.size() >> 8), static_cast<std::uint8_t>(q.size())};
  msg.insert(msg.end(), q.begin(), q.end());
  if (::write(c.get(), msg.data(), msg.size()) != static_cast<ssize_t>(msg.size())) return {};
  std::vector<std::uint8_t> in;
  std::uint8_t buf[1500];
  while (in.size() < 2 || in.size() < 2u + ((in[0] << 8) | in[1])) {
    pollfd p{c.get(), POLLIN, 0};
    if (::poll(&p, 1, 1500) != 1) return {};
    ssize_t n = ::read(c.get(), buf, sizeof buf);
    if (n <= 0) return {};
    in.insert(in.end(), buf, buf + n);
  }
  return std::vector<std::uint8_t>(in.begin() + 2, in.begin() + 2 + ((in[0] << 8) | in[1]));
}

// "d.c.b.a.in-addr.arpa" of an IPv4 address.
std::string reverse_name(const IpAddr& a) {
  return std::to_string(a.bytes[3]) + "." + std::to_string(a.bytes[2]) + "." + std::to_string(a.bytes[1]) + "." +
         std::to_string(a.bytes[0]) + ".in-addr.arpa";
}

// The last A record's address of a reply ("" if no answer).
std::string answer_a(const std::vector<std::uint8_t>& r) {
  if (r.size() < 12 || r[7] == 0) return "";
  char buf[INET_ADDRSTRLEN];
  ::inet_ntop(AF_INET, r.data() + r.size() - 4, buf, sizeof buf);
  return buf;
}

TEST_F(NetworkTest, EmbeddedDnsScopedToNetworkAndForwards) {
  // A fake upstream resolver on the test host's loopback answers everything with 10.213.99.99.
  nm_.reset();
  UniqueFd up = make_socket(-1, SOCK_DGRAM, A("127.0.0.1"), 15353);
  cfg_.dns_upstreams = {"127.0.0.1:15353"};
  auto m = NetworkManager::open(cfg_);
  ASSERT_TRUE(m) << m.error().message();
  nm_ = std::move(*m);
  std::atomic<bool> stop{false};
  std::thread upstream([&] {
    while (!stop) {
      pollfd p{up.get(), POLLIN, 0};
      if (::poll(&p, 1, 100) != 1) continue;
      std::uint8_t buf[1500];
      sockaddr_storage from{};
      socklen_t fl = sizeof from;
      ssize_t n = ::recvfrom(up.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
      auto q = dns_parse_query(buf, static_cast<std::size_t>(n));
      if (!q) continue;
      auto r = dns_make_answer(buf, static_cast<std::size_t>(n), *q, {A("10.213.99.99")});
      ::sendto(up.get(), r.data(), r.size(), 0, reinterpret_cast<sockaddr*>(&from), fl);
    }
  });
  auto stop_upstream = [&] {
    stop = true;
    if (upstream.joinable()) upstream.join();
  };

  NetworkSpec s1, s2;
  s1.name = "berth-test-dns1";
  s2.name = "berth-test-dns2";
  ASSERT_TRUE(nm_->create_network(s1));
  ASSERT_TRUE(nm_->create_network(s2));
  auto a = container(), b = container(), c = container(), d = container();
  auto with_alias = [&](const std::string& net, const std::string& id, const UniqueFd& ns,
                        std::vector<std::string> aliases) {
    EndpointSpec s;
    s.container_id = id;
    s.netns_path = ns_path(ns);
    s.aliases = std::move(aliases);
    auto e = nm_->connect(net, s);
    EXPECT_TRUE(e) << e.error().message();
    return e ? *e : Endpoint{};
  };
  Endpoint ea = with_alias("berth-test-dns1", "berth-test-a", a, {"alpha"});
  Endpoint eb = with_alias("berth-test-dns1", "berth-test-b", b, {"bravo", "db"});
  Endpoint ec = with_alias("berth-test-dns2", "berth-test-c", c, {"charlie"});
  with_alias("bridge", "berth-test-d", d, {"delta"});
  EXPECT_TRUE(nm_->uses_embedded_dns("berth-test-a"));
  EXPECT_FALSE(nm_->uses_embedded_dns("berth-test-d"));  // default bridge: no embedded DNS

  EXPECT_EQ(answer_a(ask(a.get(), "bravo")), eb.ipv4->addr.str());
  EXPECT_EQ(answer_a(ask(a.get(), "DB")), eb.ipv4->addr.str());
  EXPECT_EQ(answer_a(ask(b.get(), "alpha")), ea.ipv4->addr.str());
  // Network-scoped: a does not see c (other network) — the name goes upstream instead.
  EXPECT_EQ(answer_a(ask(a.get(), "charlie")), "10.213.99.99");
  EXPECT_EQ(answer_a(ask(c.get(), "charlie")), ec.ipv4->addr.str());
  // Other names are forwarded to the host's resolvers.
  EXPECT_EQ(answer_a(ask(a.get(), "example.org")), "10.213.99.99");
  // AAAA for a v4-only container: answered locally with no records.
  auto r6 = ask(a.get(), "bravo", 28);
  ASSERT_GE(r6.size(), 12u);
  EXPECT_EQ(r6[7], 0);
  EXPECT_EQ(r6[3] & 0x0f, 0);
  // The default bridge has no 127.0.0.11.
  EXPECT_TRUE(ask(d.get(), "alpha").empty());
  // TCP, "<name>.<network>", PTR (first alias + network; only for addresses on shared networks).
  EXPECT_EQ(answer_a(ask_tcp(a.get(), "bravo")), eb.ipv4->addr.str());
  EXPECT_EQ(answer_a(ask(a.get(), "bravo.berth-test-dns1")), eb.ipv4->addr.str());
  EXPECT_EQ(answer_a(ask(a.get(), "bravo.berth-test-dns2")), "10.213.99.99");
  std::string ptr = "\x05" "bravo" "\x0f" "berth-test-dns1";
  for (const auto& r : {ask(a.get(), reverse_name(eb.ipv4->addr), 12), ask_tcp(a.get(), reverse_name(eb.ipv4->addr), 12)}) {
    ASSERT_GE(r.size(), 12u);
    EXPECT_EQ(r[7], 1);
    EXPECT_NE(std::string(r.begin(), r.end()).find(ptr), std::string::npos);
  }
  auto other = ask(a.get(), reverse_name(ec.ipv4->addr), 12);  // forwarded: the fake has no PTR
  EXPECT_EQ(std::string(other.begin(), other.end()).find("charlie"), std::string::npos);
  // A link alias (docker run --link bravo:lnk on a user network) for the linking container only.
  auto e = container();
  {
    EndpointSpec s;
    s.container_id = "berth-test-e";
    s.netns_path = ns_path(e);
    s.aliases = {"echo"};
    s.links = {{"lnk", "bravo"}, {"alpha", "bravo"}};
    ASSERT_TRUE(nm_->connect("berth-test-dns1", s));
  }
  EXPECT_EQ(answer_a(ask(e.get(), "lnk")), eb.ipv4->addr.str());
  EXPECT_EQ(answer_a(ask(e.get(), "alpha")), eb.ipv4->addr.str());  // the alias hides the name
  EXPECT_EQ(answer_a(ask(a.get(), "lnk")), "10.213.99.99");
  EXPECT_EQ(answer_a(ask(b.get(), "alpha")), ea.ipv4->addr.str());
  ASSERT_TRUE(nm_->disconnect("berth-test-dns1", "berth-test-e"));
  // After disconnect, the name is gone and the container's DNS socket closed.
  ASSERT_TRUE(nm_->disconnect("berth-test-dns1", "berth-test-b"));
  EXPECT_EQ(answer_a(ask(a.get(), "bravo")), "10.213.99.99");
  ASSERT_TRUE(nm_->disconnect("berth-test-dns1", "berth-test-a"));
  EXPECT_TRUE(ask(a.get(), "bravo").empty());
  stop_upstream();
}

// Several containers behind one alias come back in varying order (round robin, as dockerd);
// an upstream that refuses or fails is skipped for the next one (dockerd tries up to three).
TEST_F(NetworkTest, EmbeddedDnsShufflesAndTriesNextUpstream) {
  nm_.reset();
  // 15356: nothing listens (ICMP refused); 15355 answers SERVFAIL; 15353 answers 10.213.99.99.
  UniqueFd bad = make_socket(-1, SOCK_DGRAM, A("127.0.0.1"), 15355);
  UniqueFd good = make_socket(-1, SOCK_DGRAM, A("127.0.0.1"), 15353);
  cfg_.dns_upstreams = {"127.0.0.1:15356", "127.0.0.1:15355", "127.0.0.1:15353"};
  auto m = NetworkManager::open(cfg_);
  ASSERT_TRUE(m) << m.error().message();
  nm_ = std::move(*m);
  std::atomic<bool> stop{false};
  std::atomic<int> bad_seen{0};
  std::thread upstreams([&] {
    while (!stop) {
      pollfd p[2] = {{bad.get(), POLLIN, 0}, {good.get(), POLLIN, 0}};
      if (::poll(p, 2, 100) < 1) continue;
      for (int i = 0; i < 2; ++i) {
        if (!(p[i].revents & POLLIN)) continue;
        std::uint8_t buf[1500];
        sockaddr_storage from{};
        socklen_t fl = sizeof from;
        ssize_t n = ::recvfrom(p[i].fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
        auto q = dns_parse_query(buf, static_cast<std::size_t>(n));
        if (!q) continue;
        auto r = dns_make_answer(buf, static_cast<std::size_t>(n), *q, {A("10.213.99.99")});
        if (i == 0) {
          ++bad_seen;
          r = dns_make_answer(buf, static_cast<std::size_t>(n), *q, {});
          r[3] = 0x82;  // SERVFAIL
        }
        ::sendto(p[i].fd, r.data(), r.size(), 0, reinterpret_cast<sockaddr*>(&from), fl);
      }
    }
  });
  NetworkSpec s1;
  s1.name = "berth-test-dnsrr";
  ASSERT_TRUE(nm_->create_network(s1));
  auto a = container(), b = container(), c = container();
  std::set<std::string> ips;
  for (auto [id, ns] : {std::pair{"berth-test-a", &a}, std::pair{"berth-test-b", &b}, std::pair{"berth-test-c", &c}}) {
    EndpointSpec s;
    s.container_id = id;
    s.netns_path = ns_path(*ns);
    s.aliases = {id};
    if (ns != &a) s.aliases.push_back("svc");
    auto e = nm_->connect("berth-test-dnsrr", s);
    ASSERT_TRUE(e) << e.error().message();
    if (ns != &a) ips.insert(e->ipv4->addr.str());
  }
  std::set<std::string> last;
  for (int i = 0; i < 24 && last.size() < 2; ++i) {
    auto r = ask(a.get(), "svc");
    ASSERT_GE(r.size(), 12u);
    EXPECT_EQ(r[7], 2);
    last.insert(answer_a(r));
  }
  EXPECT_EQ(last, ips);
  EXPECT_EQ(answer_a(ask(a.get(), "example.org")), "10.213.99.99");
  EXPECT_GT(bad_seen.load(), 0);
  // Over TCP none of them answers (UDP-only fakes): SERVFAIL after trying all three.
  auto t = ask_tcp(a.get(), "example.org");
  ASSERT_GE(t.size(), 12u);
  EXPECT_EQ(t[3] & 0x0f, 2);
  stop = true;
  upstreams.join();
}

// MB/s of one TCP stream from netns `from` to a listener on `ip`:`port` in the test host.
double tcp_throughput(int from, const char* ip, std::uint16_t port, std::size_t bytes) {
  UniqueFd l = listen_tcp(-1, ip, port);
  std::thread rx([&] {
    pollfd p{l.get(), POLLIN, 0};
    if (::poll(&p, 1, 3000) != 1) return;
    UniqueFd c(::accept4(l.get(), nullptr, nullptr, SOCK_CLOEXEC));
    std::vector<char> buf(1 << 16);
    while (::read(c.get(), buf.data(), buf.size()) > 0) {
    }
  });
  UniqueFd c;
  auto t0 = std::chrono::steady_clock::now();
  if (tcp_connect(from, A(ip), port, 2000, &c)) {
    std::vector<char> buf(1 << 16, 'x');
    for (std::size_t sent = 0; sent < bytes;) {
      ssize_t n = ::write(c.get(), buf.data(), buf.size());
      if (n <= 0) break;
      sent += static_cast<std::size_t>(n);
    }
    c.reset();
  }
  rx.join();
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return static_cast<double>(bytes) / s / 1e6;
}

// Manual benchmark (CPU heavy; run with --gtest_also_run_disabled_tests): container -> host over
// the berth bridge vs over a plain veth pair.
TEST_F(NetworkTest, DISABLED_ThroughputBridgeVsPlainVeth) {
  const std::size_t kBytes = 512u << 20;
  auto c = container();
  connect("bridge", "berth-test-tput", c);
  auto nl = *Netlink::open();
  auto v = container();
  std::string h = "bte" + tag_, p = "btf" + tag_;
  ASSERT_TRUE(nl.create_veth(h, p, 0, v.get()));
  LinkGuard g(&nl, h);
  ASSERT_TRUE(nl.add_address(h, P("10.213.201.1/30")));
  ASSERT_TRUE(nl.set_up(h, true));
  auto vnl = *Netlink::open_in(v.get());
  ASSERT_TRUE(vnl.add_address(p, P("10.213.201.2/30")));
  ASSERT_TRUE(vnl.set_up(p, true));
  for (int round = 0; round < 2; ++round) {
    double br = tcp_throughput(c.get(), "10.213.100.1", 7200, kBytes);
    double ve = tcp_throughput(v.get(), "10.213.201.1", 7201, kBytes);
    std::printf("throughput container->host: bridge %.0f MB/s, plain veth %.0f MB/s (%.1f%%)\n", br,
                ve, 100.0 * br / ve);
  }
}

}  // namespace
}  // namespace berth::net
