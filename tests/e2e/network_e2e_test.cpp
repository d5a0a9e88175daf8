// SPDX-License-Identifier: Apache-2.0
// Networking through the real docker CLI against a private berthd with its own default bridge
// (bt<hex>, 10.2xx.yyy.1/24), address pool and nftables table (see berthd_fixture.hpp). Traffic
// goes only to loopback, to that bridge's address and to containers on the test's networks.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <tuple>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "e2e/docker_e2e.hpp"

namespace berth::test {
namespace {

// GET / over plain TCP; returns the whole response ("" on failure).
std::string http_get(const std::string& ip, int port, int timeout_ms = 3000) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return out;
  }
  pollfd p{fd, POLLOUT, 0};
  if (::poll(&p, 1, timeout_ms) != 1 || (p.revents & (POLLERR | POLLHUP))) {
    ::close(fd);
    return out;
  }
  std::string req = "GET / HTTP/1.0\r\nHost: x\r\n\r\n";
  (void)!::write(fd, req.data(), req.size());
  char buf[4096];
  for (;;) {
    p = {fd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) != 1) break;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

// A fake DNS server on a loopback address of the test host: answers every A question with
// `answer` and counts the queries (the embedded DNS forwards from berthd's netns, i.e. here).
class FakeDns {
 public:
  FakeDns(const std::string& ip, const std::string& answer) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(53);
    ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
    ok_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::inet_pton(AF_INET, answer.c_str(), answer_);
    if (ok_) thread_ = std::thread([this] { loop(); });
  }
  ~FakeDns() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  bool ok() const { return ok_; }
  int queries() const { return queries_; }

 private:
  void loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) != 1) continue;
      unsigned char b[1500];
      sockaddr_storage from{};
      socklen_t fl = sizeof from;
      ssize_t n = ::recvfrom(fd_, b, sizeof b - 16, 0, reinterpret_cast<sockaddr*>(&from), &fl);
      if (n < 12) continue;
      // Header + the first question as asked; one answer (name pointer to offset 12).
      std::size_t q = 12;
      while (q < static_cast<std::size_t>(n) && b[q] != 0) q += b[q] + 1u;
      q += 5;  // root label, QTYPE, QCLASS
      if (q > static_cast<std::size_t>(n)) continue;
      ++queries_;
      bool a_question = b[q - 4] == 0 && b[q - 3] == 1;
      b[2] = 0x81;
      b[3] = 0x80;                         // response, RD, RA, NOERROR
      b[4] = 0, b[5] = 1;                  // one question
      b[6] = 0, b[7] = a_question ? 1 : 0; // answers
      b[8] = b[9] = b[10] = b[11] = 0;
      std::size_t len = q;
      if (a_question) {
        const unsigned char rr[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4};
        std::memcpy(b + len, rr, sizeof rr);
        len += sizeof rr;
        std::memcpy(b + len, answer_, 4);
        len += 4;
      }
      ::sendto(fd_, b, len, 0, reinterpret_cast<sockaddr*>(&from), fl);
    }
  }
  int fd_ = -1;
  bool ok_ = false;
  unsigned char answer_[4] = {};
  std::atomic<bool> stop_{false};
  std::atomic<int> queries_{0};
  std::thread thread_;
};

class DockerNetwork : public DockerE2E {
 protected:
  void SetUp() override {
    start_berthd("e2e-net", {.bridge = true});
    if (IsSkipped() || HasFatalFailure()) return;
    www_ = std::make_unique<Scratch>("e2e-net-www");
    ASSERT_TRUE(write_file(www_->sub("index.html"), "hello from berth web\n"));
  }
  std::string ok(std::vector<std::string> args) {
    auto r = docker(args);
    EXPECT_EQ(r.status, 0) << join(args, " ") << ": " << r.err;
    return std::string(trim(r.out));
  }
  // httpd serving www_ (index: "hello from berth web") in the background.
  std::string web(const std::string& name, std::vector<std::string> extra) {
    std::vector<std::string> a = {"run", "-d", "--name", name, "-v", www_->path() + ":/www:ro"};
    a.insert(a.end(), extra.begin(), extra.end());
    a.insert(a.end(), {"busybox", "httpd", "-f", "-p", "80", "-h", "/www"});
    return ok(a);
  }
  // No interface is enslaved to `bridge` (polled for up to 3 s).
  static bool no_ports_on(const std::string& bridge) {
    for (int i = 0; i < 60; ++i) {
      if (trim(run({"ip", "-o", "link", "show", "master", bridge}, {}, 10).out).empty()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  std::string ip_on(const std::string& ctr, const std::string& net) {
    return ok({"inspect", "-f", "{{(index .NetworkSettings.Networks \"" + net + "\").IPAddress}}", ctr});
  }
  // Exit status of a TCP connect from `ctr` (exec) or a throwaway container on `net`.
  int nc_from(const std::vector<std::string>& how, const std::string& host) {
    std::vector<std::string> a = how;
    a.insert(a.end(), {"sh", "-c", "echo | nc -w 2 " + host + " 80 >/dev/null"});
    return docker(a).status;
  }

  std::unique_ptr<Scratch> www_;
};

TEST_F(DockerNetwork, UserNetworkNamesAndPublishedPort) {
  ok({"network", "create", "berth-test-n1"});
  int port = free_port();
  std::string id = web("berth-test-web", {"--network", "berth-test-n1", "-p", std::to_string(port) + ":80"});
  ASSERT_EQ(id.size(), 64u);
  // By name through the embedded DNS, from another container on the network.
  auto g = docker({"run", "--rm", "--network", "berth-test-n1", "busybox", "wget", "-qO-", "http://berth-test-web"});
  EXPECT_EQ(g.status, 0) << g.err;
  EXPECT_EQ(g.out, "hello from berth web\n");
  // From the host: loopback and the default bridge's address (DNAT in nftables, no proxy).
  EXPECT_NE(http_get("127.0.0.1", port).find("hello from berth web"), std::string::npos);
  EXPECT_NE(http_get(d_->bridge_ip(), port).find("hello from berth web"), std::string::npos);
  EXPECT_EQ(ok({"port", "berth-test-web"}), "80/tcp -> 0.0.0.0:" + std::to_string(port));
  auto ps = ok({"ps", "--format", "{{.Ports}}"});
  EXPECT_NE(ps.find("0.0.0.0:" + std::to_string(port) + "->80/tcp"), std::string::npos) << ps;
  // No extra process for the published port: berthd has no children but shims.
  auto kids = run({"sh", "-c", "ps -o comm= --ppid " + std::to_string(d_->pid())}, {}, 10);
  for (auto& k : split(std::string(trim(kids.out)), '\n')) EXPECT_TRUE(k.empty() || k == "berth-shim") << k;
  // The port is released with the container.
  ok({"rm", "-f", "berth-test-web"});
  EXPECT_EQ(http_get("127.0.0.1", port, 1000), "");
  auto nft = run({"nft", "list", "map", "inet", d_->nft_table(), "tcp4"}, {}, 10);
  EXPECT_EQ(nft.out.find(std::to_string(port)), std::string::npos) << nft.out;
  ok({"network", "rm", "berth-test-n1"});
}

TEST_F(DockerNetwork, DefaultBridgeInspectAndEtcFiles) {
  int port = free_port();
  web("berth-test-dweb", {"-p", "127.0.0.1:" + std::to_string(port) + ":80", "--hostname", "webhost"});
  std::string ip = ok({"inspect", "-f", "{{.NetworkSettings.IPAddress}}", "berth-test-dweb"});
  std::string gw = ok({"inspect", "-f", "{{.NetworkSettings.Gateway}}", "berth-test-dweb"});
  EXPECT_EQ(gw, d_->bridge_ip());
  EXPECT_EQ(ip.rfind(d_->bridge_ip().substr(0, d_->bridge_ip().size() - 1), 0), 0u) << ip;
  EXPECT_EQ(ip_on("berth-test-dweb", "bridge"), ip);
  EXPECT_NE(http_get("127.0.0.1", port).find("hello from berth web"), std::string::npos);
  // Bound to 127.0.0.1 only: not on the bridge address.
  EXPECT_EQ(http_get(d_->bridge_ip(), port, 1000), "");
  EXPECT_EQ(ok({"port", "berth-test-dweb", "80"}), "127.0.0.1:" + std::to_string(port));
  auto hosts = ok({"exec", "berth-test-dweb", "cat", "/etc/hosts"});
  EXPECT_NE(hosts.find(ip + "\twebhost"), std::string::npos) << hosts;
  auto route = ok({"exec", "berth-test-dweb", "ip", "route"});
  EXPECT_NE(route.find("default via " + d_->bridge_ip()), std::string::npos) << route;
  // Container to container on the default bridge by IP.
  auto g = docker({"run", "--rm", "busybox", "wget", "-qO-", "http://" + ip});
  EXPECT_EQ(g.out, "hello from berth web\n") << g.err;
  // -P publishes EXPOSE'd ports on ephemeral host ports.
  auto r = docker({"run", "-d", "--name", "berth-test-pall", "--expose", "80", "-P", "-v", www_->path() + ":/www:ro",
                   "busybox", "httpd", "-f", "-p", "80", "-h", "/www"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto mapped = ok({"port", "berth-test-pall", "80/tcp"});
  auto colon = mapped.rfind(':');
  ASSERT_NE(colon, std::string::npos) << mapped;
  int eport = std::atoi(mapped.substr(colon + 1).c_str());
  EXPECT_GE(eport, 49153);
  EXPECT_NE(http_get("127.0.0.1", eport).find("hello from berth web"), std::string::npos);
}

TEST_F(DockerNetwork, NetworksAreIsolatedAndConnectDisconnectWhileRunning) {
  ok({"network", "create", "berth-test-a"});
  ok({"network", "create", "berth-test-b"});
  web("berth-test-wa", {"--network", "berth-test-a"});
  std::string ip_a = ip_on("berth-test-wa", "berth-test-a");
  ASSERT_FALSE(ip_a.empty());
  ok({"run", "-d", "--name", "berth-test-cb", "--network", "berth-test-b", "busybox", "sleep", "300"});
  // Positive control on the same network, then isolation across networks (by IP and by name).
  EXPECT_EQ(nc_from({"run", "--rm", "--network", "berth-test-a", "busybox"}, ip_a), 0);
  EXPECT_NE(nc_from({"exec", "berth-test-cb"}, ip_a), 0);
  EXPECT_NE(nc_from({"exec", "berth-test-cb"}, "berth-test-wa"), 0);
  // Connect the running container to network a with an alias and a static IP.
  std::string subnet = ok({"network", "inspect", "-f", "{{(index .IPAM.Config 0).Subnet}}", "berth-test-a"});
  std::string static_ip = subnet.substr(0, subnet.rfind('.')) + ".77";
  ok({"network", "connect", "--alias", "cbalias", "--ip", static_ip, "berth-test-a", "berth-test-cb"});
  EXPECT_EQ(ip_on("berth-test-cb", "berth-test-a"), static_ip);
  EXPECT_EQ(nc_from({"exec", "berth-test-cb"}, "berth-test-wa"), 0);
  auto addrs = ok({"exec", "berth-test-cb", "ip", "-4", "addr"});
  EXPECT_NE(addrs.find(static_ip), std::string::npos) << addrs;
  EXPECT_NE(addrs.find("eth1"), std::string::npos) << addrs;
  auto g = docker({"exec", "berth-test-wa", "nslookup", "cbalias"});
  EXPECT_NE(g.out.find(static_ip), std::string::npos) << g.out << g.err;
  auto ins = ok({"network", "inspect", "-f", "{{range .Containers}}{{.Name}} {{end}}", "berth-test-a"});
  EXPECT_NE(ins.find("berth-test-cb"), std::string::npos) << ins;
  // Removing a network in use fails; disconnect takes effect at once.
  auto rm = docker({"network", "rm", "berth-test-a"});
  EXPECT_NE(rm.status, 0);
  EXPECT_NE(rm.err.find("active endpoints"), std::string::npos) << rm.err;
  ok({"network", "disconnect", "berth-test-a", "berth-test-cb"});
  EXPECT_NE(nc_from({"exec", "berth-test-cb"}, ip_a), 0);
  addrs = ok({"exec", "berth-test-cb", "ip", "-4", "addr"});
  EXPECT_EQ(addrs.find(static_ip), std::string::npos) << addrs;
  EXPECT_EQ(ok({"inspect", "-f", "{{len .NetworkSettings.Networks}}", "berth-test-cb"}), "1");
  ok({"rm", "-f", "berth-test-cb", "berth-test-wa"});
  // Nothing left on the bridges.
  // (veth pairs of a removed container are deleted in the background: allow a moment)
  for (auto net : {"berth-test-a", "berth-test-b"}) {
    std::string br = "br-" + ok({"network", "inspect", "-f", "{{.Id}}", net}).substr(0, 12);
    EXPECT_TRUE(no_ports_on(br)) << run({"ip", "-o", "link", "show", "master", br}, {}, 10).out;
  }
  ok({"network", "rm", "berth-test-a", "berth-test-b"});
}

TEST_F(DockerNetwork, CreateOptionsLsInspectRmPrune) {
  std::string sub = "10.250." + std::to_string(::getpid() % 200 + 20) + ".0/24";
  std::string pre = sub.substr(0, sub.rfind('.'));
  ok({"network", "create", "--subnet", sub, "--gateway", pre + ".254", "--ip-range", pre + ".128/25",
      "--label", "berth-test=1", "--internal", "-o", "com.docker.network.driver.mtu=1400", "berth-test-opts"});
  EXPECT_EQ(ok({"network", "inspect", "-f",
                "{{(index .IPAM.Config 0).Subnet}} {{(index .IPAM.Config 0).Gateway}} {{(index .IPAM.Config 0).IPRange}} "
                "{{.Internal}} {{index .Labels \"berth-test\"}} {{index .Options \"com.docker.network.driver.mtu\"}}",
                "berth-test-opts"}),
            sub + " " + pre + ".254 " + pre + ".128/25 true 1 1400");
  auto r = docker({"run", "--rm", "--network", "berth-test-opts", "busybox", "sh", "-c",
                   "ip -4 addr show eth0; ip link show eth0; ip route"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("inet " + pre + ".128/24"), std::string::npos) << r.out;  // first of the ip-range
  EXPECT_NE(r.out.find("mtu 1400"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("default"), std::string::npos) << r.out;  // internal: no default route
  auto dup = docker({"network", "create", "berth-test-opts"});
  EXPECT_NE(dup.status, 0);
  EXPECT_NE(dup.err.find("already exists"), std::string::npos) << dup.err;
  auto overlap = docker({"network", "create", "--subnet", sub, "berth-test-overlap"});
  EXPECT_NE(overlap.status, 0);
  ok({"network", "create", "berth-test-unused"});
  auto ls = ok({"network", "ls", "--format", "{{.Name}} {{.Driver}}"});
  for (auto want : {"bridge bridge", "host host", "none null", "berth-test-opts bridge", "berth-test-unused bridge"})
    EXPECT_NE(ls.find(want), std::string::npos) << ls;
  EXPECT_EQ(ok({"network", "ls", "--filter", "label=berth-test=1", "--format", "{{.Name}}"}), "berth-test-opts");
  EXPECT_NE(docker({"network", "rm", "bridge"}).status, 0);
  EXPECT_NE(docker({"network", "rm", "host"}).status, 0);
  auto pr = docker({"network", "prune", "-f"});
  ASSERT_EQ(pr.status, 0) << pr.err;
  EXPECT_NE(pr.out.find("berth-test-unused"), std::string::npos) << pr.out;
  EXPECT_NE(pr.out.find("berth-test-opts"), std::string::npos) << pr.out;
  ls = ok({"network", "ls", "--format", "{{.Name}}"});
  EXPECT_EQ(ls.find("berth-test-"), std::string::npos) << ls;
  auto missing = docker({"network", "inspect", "berth-test-unused"});
  EXPECT_NE(missing.status, 0);
  auto bad = docker({"run", "--rm", "--network", "berth-test-nope", "busybox", "true"});
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.err.find("not found"), std::string::npos) << bad.err;
}

TEST_F(DockerNetwork, NoneHostAndLiveRestore) {
  auto none = docker({"run", "--rm", "--network", "none", "busybox", "ip", "-o", "link"});
  ASSERT_EQ(none.status, 0) << none.err;
  EXPECT_EQ(none.out.find("eth0"), std::string::npos) << none.out;
  auto host = docker({"run", "--rm", "--network", "host", "busybox", "ip", "-o", "link"});
  ASSERT_EQ(host.status, 0) << host.err;
  EXPECT_NE(host.out.find(d_->bridge_name()), std::string::npos) << host.out;  // the host's interfaces
  // Live restore: a published port keeps working across kill -9 of berthd and a restart.
  int port = free_port();
  web("berth-test-live", {"-p", std::to_string(port) + ":80"});
  ASSERT_NE(http_get("127.0.0.1", port).find("hello"), std::string::npos);
  d_->kill9();
  EXPECT_NE(http_get("127.0.0.1", port).find("hello"), std::string::npos);
  ASSERT_TRUE(d_->start()) << d_->log();
  EXPECT_NE(http_get("127.0.0.1", port).find("hello"), std::string::npos);
  EXPECT_EQ(ok({"port", "berth-test-live"}), "80/tcp -> 0.0.0.0:" + std::to_string(port));
  // Stop releases the port and the address; start gets them back.
  ok({"stop", "-t", "1", "berth-test-live"});
  EXPECT_EQ(http_get("127.0.0.1", port, 1000), "");
  EXPECT_TRUE(no_ports_on(d_->bridge_name())) << run({"ip", "-o", "link", "show", "master", d_->bridge_name()}, {}, 10).out;
  ok({"start", "berth-test-live"});
  bool up = false;
  for (int i = 0; i < 20 && !up; ++i) {
    up = http_get("127.0.0.1", port).find("hello") != std::string::npos;
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(up);
}

// The per-container /etc files as docker users expect them from run flags.
TEST_F(DockerNetwork, EtcFilesFromRunFlags) {
  // Default bridge: --dns/--dns-search/--dns-option replace the host's values, --add-host,
  // --hostname and --domainname go into /etc/hosts.
  auto r = docker({"run", "--rm", "--dns", "10.9.9.9", "--dns-search", "berth-test.example", "--dns-option", "ndots:3",
                   "--add-host", "berth-test-extra:10.1.2.3", "--add-host", "berth-test-gw:host-gateway", "--hostname",
                   "h1", "--domainname", "berth-test.example", "busybox", "sh", "-c",
                   "cat /etc/resolv.conf; echo ---; cat /etc/hosts; echo ---; hostname; ip -4 -o addr show eth0"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("nameserver 10.9.9.9\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("nameserver", r.out.find("nameserver 10.9.9.9") + 1), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("search berth-test.example\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("options ndots:3\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("10.1.2.3\tberth-test-extra\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(d_->bridge_ip() + "\tberth-test-gw\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("---\nh1\n"), std::string::npos) << r.out;
  auto inet = r.out.find("inet ");
  ASSERT_NE(inet, std::string::npos) << r.out;
  std::string ip = r.out.substr(inet + 5, r.out.find('/', inet) - inet - 5);
  EXPECT_NE(r.out.find(ip + "\th1.berth-test.example h1\n"), std::string::npos) << r.out;

  // User network: the container asks the embedded DNS (127.0.0.11), which forwards names it does
  // not know to the container's --dns servers (here a fake one on the host's loopback).
  FakeDns fake("127.0.0.77", "10.213.77.77");
  ASSERT_TRUE(fake.ok()) << "bind 127.0.0.77:53: " << std::strerror(errno);
  ok({"network", "create", "berth-test-dnsnet"});
  r = docker({"run", "--rm", "--network", "berth-test-dnsnet", "--dns", "127.0.0.77", "--dns-search",
              "berth-test.example", "busybox", "sh", "-c", "cat /etc/resolv.conf; nslookup berth-test-up.example."});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("nameserver 127.0.0.11\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("search berth-test.example\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("options ndots:0\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("10.213.77.77"), std::string::npos) << r.out;
  EXPECT_GT(fake.queries(), 0);
  ok({"network", "rm", "berth-test-dnsnet"});
}

// --network container:<x> joins x's netns and sees x's hostname, /etc/hosts and /etc/resolv.conf;
// options that would contradict that are refused as dockerd does.
TEST_F(DockerNetwork, ContainerModeSharesEtcFiles) {
  ok({"run", "-d", "--name", "berth-test-main", "--hostname", "mainhost", "--add-host", "berth-test-x:10.1.2.4", "--dns",
      "10.9.9.8", "busybox", "sleep", "300"});
  std::string ip = ip_on("berth-test-main", "bridge");
  auto r = docker({"run", "--rm", "--network", "container:berth-test-main", "busybox", "sh", "-c",
                   "hostname; cat /etc/hosts /etc/resolv.conf; ip -4 -o addr show eth0"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("mainhost\n", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("10.1.2.4\tberth-test-x\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(ip + "\tmainhost\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("nameserver 10.9.9.8\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("inet " + ip + "/"), std::string::npos) << r.out;
  for (auto [flag, value, msg] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"--hostname", "x", "conflicting options: hostname and the network mode"},
           {"--dns", "10.9.9.9", "conflicting options: dns and the network mode"},
           {"--add-host", "a:10.1.1.1", "conflicting options: custom host-to-IP mapping and the network mode"},
           {"-p", "80", "conflicting options: port publishing and the container type network mode"}}) {
    auto c = docker({"run", "--rm", "--network", "container:berth-test-main", flag, value, "busybox", "true"});
    EXPECT_NE(c.status, 0) << flag;
    EXPECT_NE(c.err.find(msg), std::string::npos) << flag << ": " << c.err;
  }
  ok({"rm", "-f", "berth-test-main"});
}

// Legacy --link on the default bridge: /etc/hosts entry and the variables dockerd sets.
TEST_F(DockerNetwork, LegacyLinksOnDefaultBridge) {
  ok({"run", "-d", "--name", "berth-test-db", "--hostname", "dbhost", "-e", "BERTH_TEST_PW=secret", "--expose", "5432",
      "--expose", "53/udp", "busybox", "sleep", "300"});
  std::string ip = ip_on("berth-test-db", "bridge");
  ASSERT_FALSE(ip.empty());
  auto r = docker({"run", "--rm", "--name", "berth-test-app", "--link", "berth-test-db:db", "busybox", "sh", "-c",
                   "cat /etc/hosts; env; ping -c 1 -W 2 db >/dev/null && echo PING-OK"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find(ip + "\tdb dbhost berth-test-db\n"), std::string::npos) << r.out;
  for (const std::string& want : std::vector<std::string>{"DB_PORT=udp://" + ip + ":53", "DB_PORT_5432_TCP=tcp://" + ip + ":5432",
                           "DB_PORT_5432_TCP_ADDR=" + ip, "DB_PORT_5432_TCP_PORT=5432", "DB_PORT_5432_TCP_PROTO=tcp",
                           "DB_PORT_53_UDP=udp://" + ip + ":53", "DB_NAME=/berth-test-app/db",
                           "DB_ENV_BERTH_TEST_PW=secret", "PING-OK"})
    EXPECT_NE(r.out.find(want + "\n"), std::string::npos) << want << "\n" << r.out;
  EXPECT_EQ(r.out.find("DB_ENV_PATH="), std::string::npos) << r.out;
  // Without an alias the name is the alias; the container's own -e wins over a link variable.
  r = docker({"run", "--rm", "--link", "berth-test-db", "-e", "BERTH_TEST_DB_NAME=mine", "busybox", "sh", "-c",
              "cat /etc/hosts; env"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find(ip + "\tberth-test-db dbhost\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("BERTH_TEST_DB_NAME=mine\n"), std::string::npos) << r.out;
  // Missing and stopped targets are refused, as dockerd does.
  auto missing = docker({"run", "--rm", "--link", "berth-test-nope:x", "busybox", "true"});
  EXPECT_NE(missing.status, 0);
  EXPECT_NE(missing.err.find("could not get container for berth-test-nope"), std::string::npos) << missing.err;
  ok({"create", "--name", "berth-test-off", "busybox", "true"});
  auto stopped = docker({"run", "--rm", "--link", "berth-test-off:off", "busybox", "true"});
  EXPECT_NE(stopped.status, 0);
  EXPECT_NE(stopped.err.find("Cannot link to a non running container: /berth-test-off AS"), std::string::npos)
      << stopped.err;
  auto host = docker({"run", "--rm", "--network", "host", "--link", "berth-test-db:db", "busybox", "true"});
  EXPECT_NE(host.err.find("conflicting options: host type networking can't be used with links"), std::string::npos)
      << host.err;
  ok({"rm", "-f", "berth-test-db", "berth-test-off"});
}

}  // namespace
}  // namespace berth::test
