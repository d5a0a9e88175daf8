// SPDX-License-Identifier: Apache-2.0
// Unit tests (no root, no kernel state): addresses, IPAM, /etc files, nftables rule text, port specs.
#include <sys/socket.h>

#include <gtest/gtest.h>

#include "common/file.hpp"
#include "common/strings.hpp"
#include "network/dns.hpp"
#include "network/etc_files.hpp"
#include "network/firewall.hpp"
#include "network/ip.hpp"
#include "network/ipam.hpp"
#include "network/manager.hpp"
#include "network/netlink.hpp"

namespace berth::net {
namespace {

IpAddr A(const char* s) { return *IpAddr::parse(s); }
IpPrefix P(const char* s) { return *IpPrefix::parse(s); }

TEST(Ip, ParseAndPrint) {
  EXPECT_EQ(A("10.213.0.7").str(), "10.213.0.7");
  EXPECT_EQ(A("fd00::1").str(), "fd00::1");
  EXPECT_FALSE(IpAddr::parse("10.0.0.256"));
  EXPECT_FALSE(IpPrefix::parse("10.0.0.0/33"));
  EXPECT_EQ(P("10.213.0.9/24").network().str(), "10.213.0.0/24");
  EXPECT_EQ(P("10.213.0.0/24").host(1).str(), "10.213.0.1");
  EXPECT_EQ(P("10.213.0.0/24").last().str(), "10.213.0.255");
  EXPECT_EQ(P("fd00:1::/64").host(2).str(), "fd00:1::2");
  EXPECT_TRUE(P("10.0.0.0/8").overlaps(P("10.213.0.0/16")));
  EXPECT_TRUE(P("10.213.0.0/16").overlaps(P("10.0.0.0/8")));
  EXPECT_FALSE(P("10.213.0.0/24").overlaps(P("10.213.1.0/24")));
  EXPECT_FALSE(P("10.213.0.0/24").overlaps(P("fd00::/8")));
  EXPECT_EQ(P("10.213.0.3").len, 32);
}

TEST(Ipam, PickSubnetSkipsUsed) {
  std::vector<AddressPool> pools{{P("10.213.0.0/16"), 24}};
  auto s = pick_subnet(pools, {P("10.213.0.0/24"), P("10.213.1.128/25")});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->str(), "10.213.2.0/24");
  EXPECT_FALSE(pick_subnet({{P("10.213.0.0/24"), 24}}, {P("10.0.0.0/8")}));
  auto d = default_pools_v4();
  EXPECT_EQ(pick_subnet(d, {})->str(), "172.17.0.0/16");
  auto v6 = default_pools_v6("seed");
  EXPECT_EQ(v6[0].base.addr.bytes[0], 0xfd);
  EXPECT_EQ(pick_subnet(v6, {})->len, 64);
  EXPECT_EQ(parse_pool("172.17.0.0/12:16")->size, 16);
  EXPECT_EQ(parse_pool("base=10.10.0.0/16,size=24")->base.str(), "10.10.0.0/16");
  EXPECT_FALSE(parse_pool("10.10.0.0/16:8"));
}

TEST(Ipam, AllocateReleaseConflictPersist) {
  auto dir = *TempDir::create("/tmp", "berth-test-ipam-");
  Ipam ipam(dir.path());
  auto cfg = ipam.create_network("n1", {{P("10.213.5.0/29"), {}, {}}});
  ASSERT_TRUE(cfg) << cfg.error().message();
  EXPECT_EQ((*cfg)[0].gateway.str(), "10.213.5.1");
  EXPECT_TRUE(ipam.create_network("n1", {{P("10.213.5.0/29"), {}, {}}}).error().is(Errc::AlreadyExists));
  EXPECT_EQ(ipam.allocate("n1", AF_INET, "a")->str(), "10.213.5.2");
  EXPECT_EQ(ipam.allocate("n1", AF_INET, "b")->str(), "10.213.5.3");
  // Static requests.
  EXPECT_EQ(ipam.allocate("n1", AF_INET, "c", A("10.213.5.6"))->str(), "10.213.5.6");
  EXPECT_TRUE(ipam.allocate("n1", AF_INET, "d", A("10.213.5.6")).error().is(Errc::Conflict));
  EXPECT_TRUE(ipam.allocate("n1", AF_INET, "d", A("10.213.5.1")).error().is(Errc::Conflict));
  EXPECT_TRUE(ipam.allocate("n1", AF_INET, "d", A("10.213.5.7")).error().is(Errc::Conflict));  // broadcast
  EXPECT_TRUE(ipam.allocate("n1", AF_INET, "d", A("10.213.6.1")).error().is(Errc::InvalidArgument));
  // A new Ipam over the same dir sees the allocations (persisted).
  Ipam again(dir.path());
  EXPECT_EQ(again.allocate("n1", AF_INET, "d")->str(), "10.213.5.4");
  EXPECT_EQ(again.allocate("n1", AF_INET, "e")->str(), "10.213.5.5");
  EXPECT_TRUE(again.allocate("n1", AF_INET, "f").error().is(Errc::NotFound));  // exhausted
  ASSERT_TRUE(again.release("n1", A("10.213.5.3")));
  EXPECT_EQ(again.allocate("n1", AF_INET, "f")->str(), "10.213.5.3");
  ASSERT_TRUE(again.release_owner("n1", "f"));
  auto st = again.load("n1");
  ASSERT_TRUE(st);
  EXPECT_EQ((*st)[0].allocated.size(), 4u);
  EXPECT_TRUE(again.allocate("n1", AF_INET6, "x").error().is(Errc::NotFound));
  ASSERT_TRUE(again.delete_network("n1"));
  EXPECT_FALSE(again.load("n1"));
}

TEST(Ipam, RangeGatewayAndV6) {
  auto dir = *TempDir::create("/tmp", "berth-test-ipam-");
  Ipam ipam(dir.path());
  EXPECT_TRUE(ipam.create_network("bad", {{P("10.213.0.0/24"), A("10.213.1.1"), {}}}).error().is(Errc::InvalidArgument));
  EXPECT_TRUE(ipam.create_network("bad2", {{P("10.213.0.0/24"), {}, P("10.213.1.0/28")}}).error().is(Errc::InvalidArgument));
  EXPECT_TRUE(ipam.create_network("bad3", {{P("10.213.0.0/24"), {}, {}}, {P("10.213.0.0/25"), {}, {}}})
                  .error().is(Errc::InvalidArgument));
  ASSERT_TRUE(ipam.create_network("r", {{P("10.213.0.0/24"), A("10.213.0.254"), P("10.213.0.128/25")},
                                        {P("fd00:db8::/64"), {}, {}}}));
  EXPECT_EQ(ipam.allocate("r", AF_INET, "a")->str(), "10.213.0.128");
  EXPECT_EQ(ipam.allocate("r", AF_INET, "b")->str(), "10.213.0.129");
  EXPECT_EQ(ipam.allocate("r", AF_INET, "s", A("10.213.0.5"))->str(), "10.213.0.5");  // static outside range
  EXPECT_EQ(ipam.allocate("r", AF_INET6, "a")->str(), "fd00:db8::2");
  EXPECT_EQ(ipam.allocate("r", AF_INET6, "c", A("fd00:db8::99"))->str(), "fd00:db8::99");
}

TEST(EtcFiles, Hosts) {
  HostsConfig c;
  c.hostname = "web";
  c.addresses = {A("10.213.0.2")};
  c.aliases = {"api", "web"};
  c.extra = {{"10.9.9.9", {"db"}}};
  std::string h = hosts_content(c);
  EXPECT_NE(h.find("127.0.0.1\tlocalhost\n"), std::string::npos);
  EXPECT_NE(h.find("::1\tlocalhost ip6-localhost ip6-loopback\n"), std::string::npos);
  EXPECT_NE(h.find("10.9.9.9\tdb\n"), std::string::npos);
  EXPECT_NE(h.find("10.213.0.2\tweb api\n"), std::string::npos);
  c.ipv6 = false;
  EXPECT_EQ(hosts_content(c).find("ip6-"), std::string::npos);
}

TEST(EtcFiles, Resolv) {
  std::string host = "# comment\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nnameserver fe80::1\nsearch a.example b.example\noptions edns0 trust-ad\n";
  std::string r = resolv_content(host, {});
  EXPECT_EQ(r, "nameserver 10.0.0.2\nsearch a.example b.example\noptions edns0 trust-ad\n");
  // Only loopback servers: Docker's public defaults.
  EXPECT_EQ(resolv_content("nameserver 127.0.0.53\n", {}), "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
  ResolvConfig c;
  c.nameservers = {"1.1.1.1"};
  c.search = {"corp"};
  c.options = {"ndots:2"};
  EXPECT_EQ(resolv_content(host, c), "nameserver 1.1.1.1\nsearch corp\noptions ndots:2\n");
  ResolvConfig e;
  e.embedded_dns = "127.0.0.11";
  std::string er = resolv_content("nameserver 10.0.0.2\n", e);
  EXPECT_NE(er.find("nameserver 127.0.0.11\n"), std::string::npos);
  EXPECT_NE(er.find("options ndots:0\n"), std::string::npos);
  EXPECT_EQ(er.find("nameserver 10.0.0.2"), std::string::npos);
  // --dns-option ndots:N wins over the embedded DNS's ndots:0.
  e.options = {"ndots:3"};
  EXPECT_NE(resolv_content("", e).find("options ndots:3\n"), std::string::npos) << resolv_content("", e);
}

TEST(Firewall, UnavailableReason) {
  EXPECT_NE(nft_unavailable_reason("nftables: Error: cache initialization failed: Protocol not supported")
                .find("not available in this kernel"),
            std::string::npos);
  EXPECT_NE(nft_unavailable_reason("nftables: Error: Could not process rule: Operation not permitted").find("CAP_NET_ADMIN"),
            std::string::npos);
  EXPECT_EQ(nft_unavailable_reason("nftables: Error: syntax error"), "");
}

TEST(Firewall, RuleText) {
  FirewallConfig c{"berth", "berth-user"};
  std::string base = nft_base_ruleset(c);
  EXPECT_NE(base.find("add table inet berth\n"), std::string::npos);
  EXPECT_NE(base.find("add chain inet berth berth-user\n"), std::string::npos);
  EXPECT_NE(base.find("add rule inet berth nat_out fib daddr type local jump publish\n"), std::string::npos);
  EXPECT_NE(base.find("dnat ip to tcp dport map @tcp4\n"), std::string::npos);
  EXPECT_NE(base.find("dnat ip6 to ip6 daddr . sctp dport map @sctp6_addr\n"), std::string::npos);
  // The user chain is never flushed.
  EXPECT_EQ(base.find("flush chain inet berth berth-user"), std::string::npos);

  std::vector<FirewallNetwork> nets{{"br0", {P("10.213.0.0/24")}, false, true},
                                    {"br1", {P("10.213.1.0/24")}, true, true}};
  std::string r = nft_network_rules(c, nets);
  EXPECT_EQ(r.find("add rule inet berth filter_fwd jump berth-user\n"), r.find("add rule"));  // first
  EXPECT_NE(r.find("iifname \"br0\" oifname { \"br1\" } drop"), std::string::npos);
  EXPECT_NE(r.find("ip saddr 10.213.0.0/24 oifname != \"br0\" masquerade"), std::string::npos);
  EXPECT_EQ(r.find("ip saddr 10.213.1.0/24"), std::string::npos);  // internal: no masquerade
  EXPECT_NE(r.find("iifname \"br1\" oifname != \"br1\" drop"), std::string::npos);
  EXPECT_NE(r.find("oifname \"br0\" ip saddr 127.0.0.0/8 masquerade"), std::string::npos);

  std::vector<PortMapping> ports{{Proto::Tcp, {}, 8080, A("10.213.0.2"), 80},
                                 {Proto::Udp, A("127.0.0.1"), 53, A("10.213.0.2"), 5353},
                                 {Proto::Sctp, {}, 9, A("fd00::2"), 9}};
  EXPECT_EQ(nft_port_elements(c, "add", ports),
            "add element inet berth tcp4 { 8080 : 10.213.0.2 . 80 }\n"
            "add element inet berth udp4_addr { 127.0.0.1 . 53 : 10.213.0.2 . 5353 }\n"
            "add element inet berth sctp6 { 9 : fd00::2 . 9 }\n");
  EXPECT_EQ(nft_port_elements(c, "delete", {ports[0]}), "delete element inet berth tcp4 { 8080 }\n");
  EXPECT_EQ(nft_port_elements(c, "create", {ports[0]}), "create element inet berth tcp4 { 8080 : 10.213.0.2 . 80 }\n");
}

TEST(Ports, ParseSpec) {
  auto p = parse_port_spec("8080:80");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->host_port_start, 8080);
  EXPECT_EQ(p->container_port_start, 80);
  EXPECT_EQ(p->proto, Proto::Tcp);
  p = parse_port_spec("127.0.0.1:9000-9010:90-100/udp");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->host_ip.str(), "127.0.0.1");
  EXPECT_EQ(p->host_port_end, 9010);
  EXPECT_EQ(p->container_port_end, 100);
  EXPECT_EQ(p->proto, Proto::Udp);
  p = parse_port_spec("[::1]:80:80/sctp");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->host_ip.is_v6());
  EXPECT_EQ(p->proto, Proto::Sctp);
  p = parse_port_spec("80");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->host_port_start, 0);
  EXPECT_FALSE(parse_port_spec("80/icmp"));
  EXPECT_FALSE(parse_port_spec("70000"));
  EXPECT_FALSE(parse_port_spec("90-80"));
}

TEST(Mac, ParseFormat) {
  auto m = parse_mac("02:42:0a:d5:00:02");
  ASSERT_TRUE(m);
  EXPECT_EQ(mac_str(*m), "02:42:0a:d5:00:02");
  EXPECT_EQ(mac_str(mac_from_ip(A("10.213.0.2"))), "02:42:0a:d5:00:02");
  EXPECT_FALSE(parse_mac("02:42:0a"));
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

TEST(Dns, ParseAndAnswer) {
  auto q = dns_query(0x1234, "Web.Example", 1);
  auto p = dns_parse_query(q.data(), q.size());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->id, 0x1234);
  EXPECT_EQ(p->name, "web.example");
  EXPECT_EQ(p->qtype, 1);
  EXPECT_EQ(p->question_end, q.size());
  auto r = dns_make_answer(q.data(), q.size(), *p, {A("10.213.0.2"), A("fd00::2")});
  ASSERT_EQ(r.size(), q.size() + 16);
  EXPECT_EQ(r[0], 0x12);
  EXPECT_EQ(r[2] & 0x80, 0x80);  // response
  EXPECT_EQ(r[3] & 0x0f, 0);     // NOERROR
  EXPECT_EQ(r[7], 1);            // one A answer (the AAAA is filtered)
  EXPECT_EQ(std::vector<std::uint8_t>(r.end() - 4, r.end()), (std::vector<std::uint8_t>{10, 213, 0, 2}));
  auto nx = dns_make_answer(q.data(), q.size(), *p, {}, true);
  EXPECT_EQ(nx[3] & 0x0f, 3);
  EXPECT_FALSE(dns_parse_query(q.data(), 11));
  auto trunc = q;
  trunc.resize(q.size() - 2);
  EXPECT_FALSE(dns_parse_query(trunc.data(), trunc.size()));
}

TEST(Dns, PtrNamesAnswersTruncationAndEdns) {
  auto v4 = dns_ptr_addr("4.3.213.10.in-addr.arpa");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->str(), "10.213.3.4");
  auto v6 = dns_ptr_addr("2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->str(), "fd00::2");
  EXPECT_FALSE(dns_ptr_addr("3.213.10.in-addr.arpa"));
  EXPECT_FALSE(dns_ptr_addr("x.3.213.10.in-addr.arpa"));
  EXPECT_FALSE(dns_ptr_addr("256.3.213.10.in-addr.arpa"));
  EXPECT_FALSE(dns_ptr_addr("web.example"));
  EXPECT_FALSE(dns_ptr_addr("2.0.ip6.arpa"));

  auto q = dns_query(7, "4.3.213.10.in-addr.arpa", 12);
  auto p = dns_parse_query(q.data(), q.size());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->edns_size, 0);
  auto r = dns_make_ptr_answer(q.data(), *p, "web.net1");
  EXPECT_EQ(r[7], 1);
  const std::uint8_t want[] = {3, 'w', 'e', 'b', 4, 'n', 'e', 't', '1', 0};
  ASSERT_GE(r.size(), sizeof want);
  EXPECT_EQ(std::vector<std::uint8_t>(r.end() - sizeof want, r.end()), std::vector<std::uint8_t>(want, want + sizeof want));
  EXPECT_EQ(r[r.size() - sizeof want - 2], 0);  // RDLENGTH
  EXPECT_EQ(r[r.size() - sizeof want - 1], sizeof want);

  // 40 A records do not fit in 512 bytes: the UDP answer is cut at a record boundary with TC.
  auto qa = dns_query(8, "many", 1);
  auto pa = dns_parse_query(qa.data(), qa.size());
  ASSERT_TRUE(pa);
  std::vector<IpAddr> addrs;
  for (int i = 1; i <= 40; ++i) addrs.push_back(A(("10.213.9." + std::to_string(i)).c_str()));
  auto big = dns_make_answer(qa.data(), qa.size(), *pa, addrs);
  EXPECT_EQ(big.size(), qa.size() + 40 * 16);
  auto cut = big;
  dns_truncate(cut, pa->question_end, 512, true);
  EXPECT_LE(cut.size(), 512u);
  EXPECT_EQ(cut.size(), qa.size() + cut[7] * 16u);
  EXPECT_EQ(cut[7], (512 - qa.size()) / 16);
  EXPECT_EQ(cut[2] & 0x02, 0x02);
  auto same = big;
  dns_truncate(same, pa->question_end, 65535, false);
  EXPECT_EQ(same, big);

  // An OPT record after the question carries the requestor's payload size.
  auto qe = qa;
  qe[11] = 1;  // ARCOUNT
  qe.insert(qe.end(), {0, 0, 41, 0x10, 0x00, 0, 0, 0, 0, 0, 0});
  auto pe = dns_parse_query(qe.data(), qe.size());
  ASSERT_TRUE(pe);
  EXPECT_EQ(pe->edns_size, 4096);
  EXPECT_EQ(pe->question_end, qa.size());
}

}  // namespace
}  // namespace berth::net
