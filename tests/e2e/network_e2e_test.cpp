// SPDX-License-Identifier: Apache-2.0
// Networking through the real docker CLI against a private berthd with its own default bridge
// (bt<hex>, 10.2xx.yyy.1/24), address pool and nftables table (see berthd_fixture.hpp). Traffic
// goes only to loopback, to that bridge's address and to containers on the test's networks.
#include <arpa/inet.h>
#include <fcntl.h>
#include <sched.h>
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

// A fake DNS server on a loopback address of the test host (UDP and TCP port 53): answers every A
// question with `answer` and counts the queries (the embedded DNS forwards from berthd's netns,
// i.e. here).
class FakeDns {
 public:
  FakeDns(const std::string& ip, const std::string& answer) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    tcp_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(tcp_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(53);
    ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
    ok_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
          ::bind(tcp_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(tcp_, 8) == 0;
    ::inet_pton(AF_INET, answer.c_str(), answer_);
    if (ok_) thread_ = std::thread([this] { loop(); });
  }
  ~FakeDns() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
    ::close(tcp_);
  }
  bool ok() const { return ok_; }
  int queries() const { return queries_; }
  int tcp_queries() const { return tcp_queries_; }

 private:
  // Turns the query in b[0..n) into the reply in place; returns its length (0: not a query).
  std::size_t answer(unsigned char* b, std::size_t n) {
    if (n < 12) return 0;
    // Header + the first question as asked; one answer (name pointer to offset 12).
    std::size_t q = 12;
    while (q < n && b[q] != 0) q += b[q] + 1u;
    q += 5;  // root label, QTYPE, QCLASS
    if (q > n) return 0;
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
    return len;
  }
  // One length-prefixed question per connection.
  void serve_tcp() {
    int c = ::accept4(tcp_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return;
    unsigned char b[1500];
    std::size_t got = 0;
    while (got < 2 || got < 2u + ((b[0] << 8) | b[1])) {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 2000) != 1) break;
      ssize_t n = ::read(c, b + got, sizeof b - 16 - got);
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    if (got >= 2 && got >= 2u + ((b[0] << 8) | b[1])) {
      std::size_t len = answer(b + 2, (b[0] << 8) | b[1]);
      if (len > 0) {
        ++tcp_queries_;
        b[0] = static_cast<unsigned char>(len >> 8);
        b[1] = static_cast<unsigned char>(len);
        (void)!::write(c, b, len + 2);
      }
    }
    ::close(c);
  }
  void loop() {
    while (!stop_) {
      pollfd p[2] = {{fd_, POLLIN, 0}, {tcp_, POLLIN, 0}};
      if (::poll(p, 2, 100) < 1) continue;
      if (p[1].revents & POLLIN) serve_tcp();
      if (!(p[0].revents & POLLIN)) continue;
      unsigned char b[1500];
      sockaddr_storage from{};
      socklen_t fl = sizeof from;
      ssize_t n = ::recvfrom(fd_, b, sizeof b - 16, 0, reinterpret_cast<sockaddr*>(&from), &fl);
      if (n < 12) continue;
      std::size_t len = answer(b, static_cast<std::size_t>(n));
      if (len > 0) ::sendto(fd_, b, len, 0, reinterpret_cast<sockaddr*>(&from), fl);
    }
  }
  int fd_ = -1, tcp_ = -1;
  bool ok_ = false;
  unsigned char answer_[4] = {};
  std::atomic<bool> stop_{false};
  std::atomic<int> queries_{0}, tcp_queries_{0};
  std::thread thread_;
};

// A DNS question (RD set) for `name`.
std::vector<unsigned char> dns_question(std::uint16_t id, const std::string& name, std::uint16_t type) {
  std::vector<unsigned char> q{static_cast<unsigned char>(id >> 8), static_cast<unsigned char>(id), 0x01, 0, 0, 1,
                               0, 0, 0, 0, 0, 0};
  for (const auto& l : split(name, '.')) {
    q.push_back(static_cast<unsigned char>(l.size()));
    q.insert(q.end(), l.begin(), l.end());
  }
  q.insert(q.end(), {0, static_cast<unsigned char>(type >> 8), static_cast<unsigned char>(type), 0, 1});
  return q;
}

// The addresses in the A records of a reply, in order.
std::vector<std::string> a_records(const std::vector<unsigned char>& r) {
  std::vector<std::string> out;
  if (r.size() < 12) return out;
  std::size_t off = 12;
  while (off < r.size() && r[off] != 0) off += r[off] + 1u;
  off += 5;
  for (int i = 0, an = (r[6] << 8) | r[7]; i < an && off + 12 <= r.size(); ++i) {
    if ((r[off] & 0xc0) != 0xc0) break;  // only the pointer names this test's servers write
    std::size_t rdlen = (r[off + 10] << 8) | r[off + 11];
    if (r[off + 3] == 1 && rdlen == 4 && off + 16 <= r.size()) {
      char buf[INET_ADDRSTRLEN];
      ::inet_ntop(AF_INET, r.data() + off + 12, buf, sizeof buf);
      out.push_back(buf);
    }
    off += 12 + rdlen;
  }
  return out;
}

// A socket of `type` created inside the network namespace of process `pid` (the socket stays
// there; the test uses it from its own namespace).
int socket_in_netns_of(int pid, int type) {
  int fd = -1;
  std::thread t([&] {
    int ns = ::open(("/proc/" + std::to_string(pid) + "/ns/net").c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0) return;
    if (::setns(ns, CLONE_NEWNET) == 0) fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
    ::close(ns);
  });
  t.join();
  return fd;
}

// Sends `questions` over one TCP connection to 127.0.0.11:53 inside the netns of `pid` (all at
// once) and returns the replies in order (fewer on failure).
std::vector<std::vector<unsigned char>> ask_tcp(int pid, const std::vector<std::vector<unsigned char>>& questions) {
  std::vector<std::vector<unsigned char>> out;
  int fd = socket_in_netns_of(pid, SOCK_STREAM);
  if (fd < 0) return out;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(53);
  ::inet_pton(AF_INET, "127.0.0.11", &a.sin_addr);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return out;
  }
  std::vector<unsigned char> all;
  for (const auto& q : questions) {
    all.push_back(static_cast<unsigned char>(q.size() >> 8));
    all.push_back(static_cast<unsigned char>(q.size()));
    all.insert(all.end(), q.begin(), q.end());
  }
  (void)!::write(fd, all.data(), all.size());
  std::vector<unsigned char> in;
  unsigned char buf[4096];
  while (out.size() < questions.size()) {
    if (in.size() >= 2 && in.size() >= 2u + ((in[0] << 8) | in[1])) {
      std::size_t len = (in[0] << 8) | in[1];
      out.emplace_back(in.begin() + 2, in.begin() + 2 + static_cast<long>(len));
      in.erase(in.begin(), in.begin() + 2 + static_cast<long>(len));
      continue;
    }
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    in.insert(in.end(), buf, buf + n);
  }
  ::close(fd);
  return out;
}

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
    std::string id = ok(a);
    // `run -d` answers once the process runs, not once httpd listens: wait (up to 5 s) until
    // it serves from inside the container, so the first request from outside does not race it.
    for (int i = 0; i < 100; ++i) {
      if (docker({"exec", name, "wget", "-qO-", "http://127.0.0.1/"}).out.find("hello") != std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return id;
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
  ASSERT_FALSE(web("berth-test-pall", {"--expose", "80", "-P"}).empty());  // (waits until httpd serves)
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
  // Names the embedded DNS does not own go to a fake server on the host's loopback (answering
  // with the asker's own loopback), never to the host's real resolvers.
  FakeDns fake("127.0.0.77", "127.0.0.1");
  ASSERT_TRUE(fake.ok()) << "bind 127.0.0.77:53: " << std::strerror(errno);
  ok({"run", "-d", "--name", "berth-test-cb", "--network", "berth-test-b", "--dns", "127.0.0.77", "busybox", "sleep",
      "300"});
  // Positive control on the same network, then isolation across networks (by IP and by name).
  EXPECT_EQ(nc_from({"run", "--rm", "--network", "berth-test-a", "busybox"}, ip_a), 0);
  EXPECT_NE(nc_from({"exec", "berth-test-cb"}, ip_a), 0);
  EXPECT_NE(nc_from({"exec", "berth-test-cb"}, "berth-test-wa"), 0);
  EXPECT_EQ(docker({"exec", "berth-test-cb", "nslookup", "berth-test-wa"}).out.find(ip_a), std::string::npos);
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

// --network none: a netns of its own with loopback up (as dockerd's "none" sandbox), shown as
// SandboxKey while it runs and gone with it; the daemon's ready-made spares go when it stops.
TEST_F(DockerNetwork, NoneHasLoopbackUpInASandboxOfItsOwn) {
  auto lo = docker({"run", "--rm", "--network", "none", "busybox", "sh", "-c",
                    "ip -o addr show lo && ping -c 1 -W 2 127.0.0.1 >/dev/null && echo pong"});
  ASSERT_EQ(lo.status, 0) << lo.out << lo.err;
  EXPECT_NE(lo.out.find("127.0.0.1/8"), std::string::npos) << lo.out;
  EXPECT_NE(lo.out.find("pong"), std::string::npos) << lo.out;
  std::string a = ok({"run", "-d", "--network", "none", "busybox", "sleep", "60"});
  std::string b = ok({"run", "-d", "--network", "none", "busybox", "sleep", "60"});
  std::string key = ok({"inspect", "-f", "{{.NetworkSettings.SandboxKey}}", a});
  EXPECT_EQ(key, d_->exec_root() + "/netns/" + a);
  EXPECT_TRUE(path_exists(key));
  std::string na = ok({"exec", a, "readlink", "/proc/self/ns/net"}), nb = ok({"exec", b, "readlink", "/proc/self/ns/net"});
  EXPECT_NE(na, nb);
  EXPECT_NE(na, trim(run({"readlink", "/proc/self/ns/net"}, {}, 10).out));
  ok({"rm", "-f", a, b});
  bool gone = false;  // unmounted in the background, after the removal answered
  for (int i = 0; i < 100 && !(gone = !path_exists(key)); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_TRUE(gone) << key;
  d_->term();
  auto mi = read_file("/proc/self/mountinfo", 16 << 20).value_or("");
  EXPECT_EQ(mi.find(d_->exec_root() + "/netns/"), std::string::npos) << "netns mounts left after the daemon stopped";
  ASSERT_TRUE(d_->start()) << d_->log();
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
  // Inspect points at the files of the container whose namespace it joins (as dockerd).
  ok({"create", "--name", "berth-test-joined", "--network", "container:berth-test-main", "busybox", "true"});
  for (auto f : {"HostsPath", "ResolvConfPath", "HostnamePath"})
    EXPECT_EQ(ok({"inspect", "-f", std::string("{{.") + f + "}}", "berth-test-joined"}),
              ok({"inspect", "-f", std::string("{{.") + f + "}}", "berth-test-main"}))
        << f;
  ok({"rm", "berth-test-joined"});
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
  // Inspect shows dockerd's form of the link (and none on a user network).
  ok({"create", "--name", "berth-test-app2", "--link", "berth-test-db:db", "busybox", "true"});
  EXPECT_EQ(ok({"inspect", "-f", "{{json .HostConfig.Links}}", "berth-test-app2"}), "[\"/berth-test-db:/berth-test-app2/db\"]");
  ok({"network", "create", "berth-test-lk"});
  ok({"create", "--name", "berth-test-app3", "--network", "berth-test-lk", "--link", "berth-test-db:db", "busybox", "true"});
  EXPECT_EQ(ok({"inspect", "-f", "{{json .HostConfig.Links}}", "berth-test-app3"}), "null");
  ok({"rm", "berth-test-app2", "berth-test-app3"});
  ok({"network", "rm", "berth-test-lk"});
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

// The embedded DNS answers over TCP as well as UDP (a resolver retries over TCP after a truncated
// UDP answer), forwards TCP questions it does not own over TCP, and answers PTR questions for
// addresses on the asker's networks with "<container>.<network>" as dockerd does.
TEST_F(DockerNetwork, EmbeddedDnsTcpAndReverseLookups) {
  FakeDns fake("127.0.0.77", "10.213.77.77");  // every forwarded question ends up here
  ASSERT_TRUE(fake.ok()) << "bind 127.0.0.77:53: " << std::strerror(errno);
  ok({"network", "create", "berth-test-dnst"});
  ok({"run", "-d", "--name", "berth-test-dnsweb", "--network", "berth-test-dnst", "--dns", "127.0.0.77", "busybox",
      "sleep", "300"});
  ok({"run", "-d", "--name", "berth-test-dnsask", "--network", "berth-test-dnst", "--dns", "127.0.0.77", "busybox",
      "sleep", "300"});
  std::string web_ip = ip_on("berth-test-dnsweb", "berth-test-dnst");
  std::string ask_ip = ip_on("berth-test-dnsask", "berth-test-dnst");
  ASSERT_FALSE(web_ip.empty());
  int pid = std::atoi(ok({"inspect", "-f", "{{.State.Pid}}", "berth-test-dnsask"}).c_str());
  ASSERT_GT(pid, 0);

  // TCP: two questions on one connection (pipelined), a container name and "<name>.<network>".
  auto r = ask_tcp(pid, {dns_question(1, "berth-test-dnsweb", 1), dns_question(2, "berth-test-dnsweb.berth-test-dnst", 1)});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0][0] << 8 | r[0][1], 1);
  EXPECT_EQ(a_records(r[0]), std::vector<std::string>{web_ip});
  EXPECT_EQ(r[1][0] << 8 | r[1][1], 2);
  EXPECT_EQ(a_records(r[1]), std::vector<std::string>{web_ip});
  // A name that is not ours goes to the container's --dns server over TCP.
  int before = fake.tcp_queries();
  r = ask_tcp(pid, {dns_question(3, "berth-test-up.example", 1)});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(a_records(r[0]), std::vector<std::string>{"10.213.77.77"});
  EXPECT_EQ(fake.tcp_queries(), before + 1);

  // PTR through the docker CLI (busybox nslookup of an address asks for its in-addr.arpa name).
  auto g = docker({"exec", "berth-test-dnsask", "nslookup", web_ip});
  EXPECT_EQ(g.status, 0) << g.out << g.err;
  EXPECT_NE(g.out.find("berth-test-dnsweb.berth-test-dnst"), std::string::npos) << g.out;
  g = docker({"exec", "berth-test-dnsweb", "nslookup", ask_ip});
  EXPECT_NE(g.out.find("berth-test-dnsask.berth-test-dnst"), std::string::npos) << g.out << g.err;
  // ... and over TCP, with the name in the PTR record's data.
  auto octets = split(web_ip, '.');
  ASSERT_EQ(octets.size(), 4u);
  std::string rev = octets[3] + "." + octets[2] + "." + octets[1] + "." + octets[0] + ".in-addr.arpa";
  r = ask_tcp(pid, {dns_question(4, rev, 12)});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0][7], 1) << "one answer";
  std::string want = "\x11" "berth-test-dnsweb" "\x0f" "berth-test-dnst";
  EXPECT_NE(std::string(r[0].begin(), r[0].end()).find(want), std::string::npos);
  // "<name>.<network>" resolves over UDP too (busybox).
  g = docker({"exec", "berth-test-dnsask", "nslookup", "berth-test-dnsweb.berth-test-dnst"});
  EXPECT_NE(g.out.find(web_ip), std::string::npos) << g.out << g.err;
  // A container on another network is not resolved, by name or address.
  ok({"network", "create", "berth-test-dnso"});
  ok({"run", "-d", "--name", "berth-test-dnsout", "--network", "berth-test-dnso", "busybox", "sleep", "300"});
  std::string out_ip = ip_on("berth-test-dnsout", "berth-test-dnso");
  g = docker({"exec", "berth-test-dnsask", "nslookup", out_ip});
  EXPECT_EQ(g.out.find("berth-test-dnsout"), std::string::npos) << g.out;
  ok({"rm", "-f", "berth-test-dnsweb", "berth-test-dnsask", "berth-test-dnsout"});
  ok({"network", "rm", "berth-test-dnst", "berth-test-dnso"});
}

// --link on a user-defined network: no /etc/hosts line and no variables, but the alias resolves
// through the embedded DNS for the linking container only (dockerd's endpoint alias).
TEST_F(DockerNetwork, LegacyLinkOnUserNetworkIsDnsAlias) {
  FakeDns fake("127.0.0.77", "10.213.77.77");
  ASSERT_TRUE(fake.ok()) << "bind 127.0.0.77:53: " << std::strerror(errno);
  ok({"network", "create", "berth-test-lnet"});
  ok({"run", "-d", "--name", "berth-test-ldb", "--network", "berth-test-lnet", "--expose", "5432", "-e",
      "BERTH_TEST_PW=secret", "busybox", "sleep", "300"});
  std::string ip = ip_on("berth-test-ldb", "berth-test-lnet");
  ASSERT_FALSE(ip.empty());
  auto r = docker({"run", "--rm", "--network", "berth-test-lnet", "--dns", "127.0.0.77", "--link", "berth-test-ldb:db",
                   "busybox", "sh", "-c", "cat /etc/hosts; echo ---; env; echo ---; nslookup db"});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  auto d1 = r.out.find("---\n"), d2 = r.out.find("---\n", d1 + 1);
  ASSERT_NE(d2, std::string::npos) << r.out;
  std::vector<std::string> parts{r.out.substr(0, d1), r.out.substr(d1, d2 - d1), r.out.substr(d2)};
  for (auto word : {"\tdb\n", "\tdb ", " db\n", " db "})  // /etc/hosts
    EXPECT_EQ(parts[0].find(word), std::string::npos) << r.out;
  EXPECT_EQ(parts[1].find("DB_"), std::string::npos) << r.out;  // env
  EXPECT_NE(parts[2].find("Address: " + ip), std::string::npos) << r.out;
  // Only for the linking container: another one on the network gets "db" from upstream.
  r = docker({"run", "--rm", "--network", "berth-test-lnet", "--dns", "127.0.0.77", "busybox", "nslookup", "db"});
  EXPECT_EQ(r.out.find(ip), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("10.213.77.77"), std::string::npos) << r.out;
  // Not checked at create (dockerd registers no links on user networks), stored per endpoint.
  ok({"create", "--name", "berth-test-lapp", "--network", "berth-test-lnet", "--link", "berth-test-nope:x", "busybox",
      "true"});
  EXPECT_EQ(ok({"inspect", "-f", "{{(index .NetworkSettings.Networks \"berth-test-lnet\").Links}}", "berth-test-lapp"}),
            "[berth-test-nope:x]");
  ok({"start", "berth-test-lapp"});
  // network connect --link on a running container.
  ok({"run", "-d", "--name", "berth-test-lcli", "--dns", "127.0.0.77", "busybox", "sleep", "300"});
  ok({"network", "connect", "--link", "berth-test-ldb:dbalias", "berth-test-lnet", "berth-test-lcli"});
  r = docker({"exec", "berth-test-lcli", "nslookup", "dbalias"});
  EXPECT_NE(r.out.find("Address: " + ip), std::string::npos) << r.out << r.err;
  ok({"rm", "-f", "berth-test-ldb", "berth-test-lapp", "berth-test-lcli"});
  ok({"network", "rm", "berth-test-lnet"});
}

// A linked container exposing a run of ports: dockerd's _START/_END variables besides the
// per-port ones.
TEST_F(DockerNetwork, LegacyLinkPortRangeVariables) {
  ok({"run", "-d", "--name", "berth-test-rdb", "--expose", "7000-7002", "--expose", "7010/udp", "busybox", "sleep",
      "300"});
  std::string ip = ip_on("berth-test-rdb", "bridge");
  ASSERT_FALSE(ip.empty());
  auto r = docker({"run", "--rm", "--link", "berth-test-rdb:rdb", "busybox", "env"});
  ASSERT_EQ(r.status, 0) << r.err;
  for (const std::string& want : std::vector<std::string>{
           "RDB_PORT=tcp://" + ip + ":7000", "RDB_PORT_7000_TCP_START=tcp://" + ip + ":7000",
           "RDB_PORT_7000_TCP_END=tcp://" + ip + ":7002", "RDB_PORT_7000_TCP_PORT_START=7000",
           "RDB_PORT_7000_TCP_PORT_END=7002", "RDB_PORT_7000_TCP_ADDR=" + ip, "RDB_PORT_7000_TCP_PROTO=tcp",
           "RDB_PORT_7001_TCP=tcp://" + ip + ":7001", "RDB_PORT_7002_TCP_PORT=7002",
           "RDB_PORT_7010_UDP=udp://" + ip + ":7010"})
    EXPECT_NE(r.out.find(want + "\n"), std::string::npos) << want << "\n" << r.out;
  EXPECT_EQ(r.out.find("RDB_PORT_7010_UDP_START"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("RDB_PORT_7001_TCP_START"), std::string::npos) << r.out;
  ok({"rm", "-f", "berth-test-rdb"});
}

// `network inspect host|none` lists the running containers in that mode (dockerd does).
TEST_F(DockerNetwork, PseudoNetworksListTheirContainers) {
  ok({"run", "-d", "--name", "berth-test-hostc", "--network", "host", "busybox", "sleep", "300"});
  ok({"run", "-d", "--name", "berth-test-nonec", "--network", "none", "busybox", "sleep", "300"});
  ok({"create", "--name", "berth-test-hostoff", "--network", "host", "busybox", "true"});
  std::string fmt = "{{range .Containers}}{{.Name}} {{end}}";
  EXPECT_EQ(ok({"network", "inspect", "-f", fmt, "host"}), "berth-test-hostc");
  EXPECT_EQ(ok({"network", "inspect", "-f", fmt, "none"}), "berth-test-nonec");
  auto id = ok({"inspect", "-f", "{{.Id}}", "berth-test-hostc"});
  EXPECT_EQ(ok({"network", "inspect", "-f", "{{(index .Containers \"" + id + "\").IPv4Address}}|{{len (index .Containers \"" + id + "\").EndpointID}}", "host"}),
            "|64");
  ok({"rm", "-f", "berth-test-hostc", "berth-test-nonec", "berth-test-hostoff"});
  EXPECT_EQ(ok({"network", "inspect", "-f", fmt, "host"}), "");
}

}  // namespace
}  // namespace berth::test
