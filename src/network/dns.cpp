// SPDX-License-Identifier: Apache-2.0
#include "network/dns.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>

#include <cstring>

#include "common/log.hpp"
#include "common/strings.hpp"
#include "network/netns.hpp"

namespace berth::net {

namespace {
constexpr std::uint16_t kTypeA = 1, kTypeAAAA = 28, kClassIN = 1;
constexpr int kForwardTimeoutMs = 3000;

std::uint16_t rd16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }
void put16(std::vector<std::uint8_t>& v, std::uint16_t x) {
  v.push_back(static_cast<std::uint8_t>(x >> 8));
  v.push_back(static_cast<std::uint8_t>(x));
}
std::int64_t now_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}
}  // namespace

Result<DnsQuestion> dns_parse_query(const std::uint8_t* p, std::size_t n) {
  if (n < 12) return fail(Errc::InvalidArgument, "dns: short message");
  DnsQuestion q;
  q.id = rd16(p);
  if (p[2] & 0x80) return fail(Errc::InvalidArgument, "dns: not a query");
  if (rd16(p + 4) < 1) return fail(Errc::InvalidArgument, "dns: no question");
  std::size_t off = 12;
  std::string name;
  for (;;) {
    if (off >= n) return fail(Errc::InvalidArgument, "dns: truncated name");
    std::uint8_t len = p[off++];
    if (len == 0) break;
    if (len & 0xc0) return fail(Errc::InvalidArgument, "dns: compressed question name");
    if (off + len > n || name.size() + len > 253) return fail(Errc::InvalidArgument, "dns: bad label");
    if (!name.empty()) name += '.';
    name.append(reinterpret_cast<const char*>(p + off), len);
    off += len;
  }
  if (off + 4 > n) return fail(Errc::InvalidArgument, "dns: truncated question");
  q.qtype = rd16(p + off);
  q.qclass = rd16(p + off + 2);
  q.question_end = off + 4;
  q.name = to_lower(name);
  return q;
}

std::vector<std::uint8_t> dns_make_answer(const std::uint8_t* query, std::size_t n,
                                          const DnsQuestion& q, const std::vector<IpAddr>& addrs,
                                          bool nxdomain) {
  (void)n;
  std::vector<std::uint8_t> out(query, query + q.question_end);
  std::vector<const IpAddr*> ans;
  for (const auto& a : addrs)
    if ((q.qtype == kTypeA && a.is_v4()) || (q.qtype == kTypeAAAA && a.is_v6())) ans.push_back(&a);
  out[2] = static_cast<std::uint8_t>(0x80 | 0x04 | (query[2] & 0x01));  // QR, AA, RD copied
  out[3] = static_cast<std::uint8_t>(0x80 | (nxdomain ? 3 : 0));        // RA, rcode
  out[4] = 0; out[5] = 1;                                                // QDCOUNT 1
  out[6] = 0; out[7] = static_cast<std::uint8_t>(ans.size());            // ANCOUNT
  out[8] = out[9] = out[10] = out[11] = 0;
  for (const IpAddr* a : ans) {
    put16(out, 0xc00c);  // name: pointer to the question
    put16(out, q.qtype);
    put16(out, kClassIN);
    put16(out, 0);
    put16(out, 600);     // TTL
    put16(out, static_cast<std::uint16_t>(a->size()));
    out.insert(out.end(), a->bytes.begin(), a->bytes.begin() + static_cast<long>(a->size()));
  }
  return out;
}

Result<DnsServer::Upstreams> DnsServer::parse_upstreams(const std::vector<std::string>& v) {
  Upstreams out;
  for (const auto& u : v) {
    std::string ip = u;
    std::uint16_t port = 53;
    auto colon = u.rfind(':');
    if (colon != std::string::npos && u.find(':') == colon) {  // v4 "ip:port"
      ip = u.substr(0, colon);
      auto p = parse_uint(u.substr(colon + 1));
      if (!p || *p > 65535) return fail(Errc::InvalidArgument, "dns upstream " + u);
      port = static_cast<std::uint16_t>(*p);
    }
    out.emplace_back(TRY(IpAddr::parse(ip)), port);
  }
  return out;
}

Result<std::unique_ptr<DnsServer>> DnsServer::start(Resolver r, std::vector<std::string> upstreams,
                                                    std::string listen_ip) {
  std::unique_ptr<DnsServer> s(new DnsServer());
  s->resolver_ = std::move(r);
  s->listen_ip_ = std::move(listen_ip);
  s->upstreams_ = TRY(parse_upstreams(upstreams));
  s->epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!s->epoll_) return fail_errno("epoll_create1");
  s->wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!s->wake_) return fail_errno("eventfd");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = s->wake_.get();
  ::epoll_ctl(s->epoll_.get(), EPOLL_CTL_ADD, s->wake_.get(), &ev);
  s->thread_ = std::thread([p = s.get()] { p->loop(); });
  return s;
}

DnsServer::~DnsServer() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  std::uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof one);
  if (thread_.joinable()) thread_.join();
}

Status DnsServer::add(const std::string& key, int netns_fd, const std::vector<std::string>& upstreams) {
  Upstreams own = TRY(parse_upstreams(upstreams));
  {
    std::lock_guard lk(mu_);
    if (listeners_.count(key)) {
      if (!own.empty()) own_upstreams_[key] = std::move(own);
      return ok();
    }
  }
  UniqueFd fd;
  IpAddr ip = TRY(IpAddr::parse(listen_ip_));
  TRY(run_in_netns(netns_fd, [&]() -> Status {
    fd.reset(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) return fail_errno("dns socket");
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(53);
    std::memcpy(&sa.sin_addr, ip.bytes.data(), 4);
    // 127.0.0.11 is inside 127/8 on lo: bindable without adding an address.
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
      return fail_errno("bind dns", listen_ip_ + ":53");
    return ok();
  }));
  std::lock_guard lk(mu_);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd.get();
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd.get(), &ev) != 0) return fail_errno("epoll_ctl");
  key_of_[fd.get()] = key;
  listeners_[key] = std::move(fd);
  if (!own.empty()) own_upstreams_[key] = std::move(own);
  else own_upstreams_.erase(key);
  return ok();
}

void DnsServer::remove(const std::string& key) {
  std::lock_guard lk(mu_);
  auto it = listeners_.find(key);
  if (it == listeners_.end()) return;
  int fd = it->second.get();
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  key_of_.erase(fd);
  own_upstreams_.erase(key);
  for (auto p = pending_.begin(); p != pending_.end();) {
    if (p->second.client_fd == fd) {
      ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, p->first, nullptr);
      upstream_fds_.erase(p->first);
      p = pending_.erase(p);
    } else {
      ++p;
    }
  }
  listeners_.erase(it);
}

bool DnsServer::serves(const std::string& key) {
  std::lock_guard lk(mu_);
  return listeners_.count(key) > 0;
}

void DnsServer::loop() {
  epoll_event evs[16];
  for (;;) {
    int n = ::epoll_wait(epoll_.get(), evs, 16, 500);
    std::lock_guard lk(mu_);
    if (stop_) return;
    for (int i = 0; i < n; ++i) {
      int fd = evs[i].data.fd;
      if (fd == wake_.get()) {
        std::uint64_t v;
        (void)!::read(fd, &v, sizeof v);
      } else if (key_of_.count(fd)) {
        handle_query(fd);
      } else if (pending_.count(fd)) {
        handle_upstream(fd);
      }
    }
    // Expire forwarded queries that got no answer.
    std::int64_t now = now_ms();
    for (auto p = pending_.begin(); p != pending_.end();) {
      if (p->second.deadline_ms < now) {
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, p->first, nullptr);
        upstream_fds_.erase(p->first);
        p = pending_.erase(p);
      } else {
        ++p;
      }
    }
  }
}

void DnsServer::handle_query(int fd) {
  for (;;) {
    std::uint8_t buf[1500];
    sockaddr_storage from{};
    socklen_t fl = sizeof from;
    ssize_t n = ::recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
    if (n <= 0) return;
    auto q = dns_parse_query(buf, static_cast<std::size_t>(n));
    if (!q) continue;
    // A known name is answered here for every type (only A/AAAA carry answers), so an AAAA
    // question for a v4-only container does not leak upstream.
    std::vector<IpAddr> addrs;
    if (q->qclass == kClassIN) addrs = resolver_(key_of_[fd], q->name);
    if (!addrs.empty()) {
      auto out = dns_make_answer(buf, static_cast<std::size_t>(n), *q, addrs);
      (void)::sendto(fd, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&from), fl);
      continue;
    }
    auto own = own_upstreams_.find(key_of_[fd]);
    const Upstreams& ups = own != own_upstreams_.end() ? own->second : upstreams_;
    if (ups.empty()) {
      auto out = dns_make_answer(buf, static_cast<std::size_t>(n), *q, {}, false);
      out[3] = 0x82;  // RA + SERVFAIL
      (void)::sendto(fd, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&from), fl);
      continue;
    }
    // Forward from the host netns (this thread's), one socket per query.
    const auto& [uip, uport] = ups[q->id % ups.size()];
    UniqueFd up(::socket(uip.is_v6() ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!up) continue;
    sockaddr_storage to{};
    socklen_t tl;
    if (uip.is_v6()) {
      auto* s6 = reinterpret_cast<sockaddr_in6*>(&to);
      s6->sin6_family = AF_INET6;
      s6->sin6_port = htons(uport);
      std::memcpy(&s6->sin6_addr, uip.bytes.data(), 16);
      tl = sizeof(sockaddr_in6);
    } else {
      auto* s4 = reinterpret_cast<sockaddr_in*>(&to);
      s4->sin_family = AF_INET;
      s4->sin_port = htons(uport);
      std::memcpy(&s4->sin_addr, uip.bytes.data(), 4);
      tl = sizeof(sockaddr_in);
    }
    if (::connect(up.get(), reinterpret_cast<sockaddr*>(&to), tl) != 0) continue;
    if (::send(up.get(), buf, static_cast<std::size_t>(n), 0) != n) continue;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = up.get();
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, up.get(), &ev) != 0) continue;
    Pending p{fd, std::vector<std::uint8_t>(reinterpret_cast<std::uint8_t*>(&from),
                                            reinterpret_cast<std::uint8_t*>(&from) + fl),
              now_ms() + kForwardTimeoutMs};
    pending_[up.get()] = std::move(p);
    upstream_fds_[up.get()] = std::move(up);
  }
}

void DnsServer::handle_upstream(int fd) {
  std::uint8_t buf[4096];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  Pending p = pending_[fd];
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  pending_.erase(fd);
  upstream_fds_.erase(fd);
  if (n <= 0) return;
  (void)::sendto(p.client_fd, buf, static_cast<std::size_t>(n), 0,
                 reinterpret_cast<const sockaddr*>(p.client_addr.data()),
                 static_cast<socklen_t>(p.client_addr.size()));
}

}  // namespace berth::net
