// SPDX-License-Identifier: Apache-2.0
#include "network/dns.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "common/log.hpp"
#include "common/strings.hpp"
#include "network/netns.hpp"

namespace berth::net {

namespace {
constexpr std::uint16_t kTypeA = 1, kTypePTR = 12, kTypeOPT = 41, kTypeAAAA = 28, kClassIN = 1;
constexpr int kForwardTimeoutMs = 2000;  // per upstream tried
constexpr std::size_t kMaxUpstreamTries = 3;
constexpr int kTcpIdleMs = 10000;        // a TCP client with nothing in flight is closed after this
constexpr std::size_t kMaxTcpClients = 512;
constexpr std::size_t kUdpDefaultMax = 512;

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

// Header of a reply to `query` (first question copied): QR, AA, RD copied, RA, `rcode`.
std::vector<std::uint8_t> reply_head(const std::uint8_t* query, const DnsQuestion& q, std::uint16_t ancount,
                                     int rcode) {
  std::vector<std::uint8_t> out(query, query + q.question_end);
  out[2] = static_cast<std::uint8_t>(0x80 | 0x04 | (query[2] & 0x01));
  out[3] = static_cast<std::uint8_t>(0x80 | rcode);
  out[4] = 0; out[5] = 1;                                                // QDCOUNT 1
  out[6] = static_cast<std::uint8_t>(ancount >> 8);
  out[7] = static_cast<std::uint8_t>(ancount);
  out[8] = out[9] = out[10] = out[11] = 0;
  return out;
}

socklen_t make_sockaddr(const IpAddr& ip, std::uint16_t port, sockaddr_storage* to) {
  *to = {};
  if (ip.is_v6()) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(to);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    std::memcpy(&s6->sin6_addr, ip.bytes.data(), 16);
    return sizeof(sockaddr_in6);
  }
  auto* s4 = reinterpret_cast<sockaddr_in*>(to);
  s4->sin_family = AF_INET;
  s4->sin_port = htons(port);
  std::memcpy(&s4->sin_addr, ip.bytes.data(), 4);
  return sizeof(sockaddr_in);
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
  // EDNS: a lone question followed by an OPT record (root name, type 41, class = payload size).
  if (rd16(p + 4) == 1 && rd16(p + 6) == 0 && rd16(p + 8) == 0 && rd16(p + 10) >= 1 &&
      q.question_end + 11 <= n && p[q.question_end] == 0 && rd16(p + q.question_end + 1) == kTypeOPT)
    q.edns_size = rd16(p + q.question_end + 3);
  return q;
}

std::vector<std::uint8_t> dns_make_answer(const std::uint8_t* query, std::size_t n,
                                          const DnsQuestion& q, const std::vector<IpAddr>& addrs,
                                          bool nxdomain) {
  (void)n;
  std::vector<const IpAddr*> ans;
  for (const auto& a : addrs)
    if ((q.qtype == kTypeA && a.is_v4()) || (q.qtype == kTypeAAAA && a.is_v6())) ans.push_back(&a);
  auto out = reply_head(query, q, static_cast<std::uint16_t>(ans.size()), nxdomain ? 3 : 0);
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

std::vector<std::uint8_t> dns_make_ptr_answer(const std::uint8_t* query, const DnsQuestion& q,
                                              const std::string& host) {
  auto out = reply_head(query, q, 1, 0);
  std::vector<std::uint8_t> rdata;
  for (const auto& label : split(host, '.')) {
    if (label.empty() || label.size() > 63) continue;
    rdata.push_back(static_cast<std::uint8_t>(label.size()));
    rdata.insert(rdata.end(), label.begin(), label.end());
  }
  rdata.push_back(0);
  put16(out, 0xc00c);
  put16(out, kTypePTR);
  put16(out, kClassIN);
  put16(out, 0);
  put16(out, 600);
  put16(out, static_cast<std::uint16_t>(rdata.size()));
  out.insert(out.end(), rdata.begin(), rdata.end());
  return out;
}

std::optional<IpAddr> dns_ptr_addr(const std::string& name) {
  auto strip = [&](const std::string& suffix) -> std::optional<std::vector<std::string>> {
    if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
      return std::nullopt;
    return split(name.substr(0, name.size() - suffix.size()), '.');
  };
  if (auto l = strip(".in-addr.arpa")) {
    if (l->size() != 4) return std::nullopt;
    std::string ip;
    for (auto it = l->rbegin(); it != l->rend(); ++it) {
      auto v = parse_uint(*it);
      if (!v || *v > 255 || it->empty() || it->size() > 3) return std::nullopt;
      ip += (ip.empty() ? "" : ".") + *it;
    }
    auto a = IpAddr::parse(ip);
    if (!a) return std::nullopt;
    return *a;
  }
  if (auto l = strip(".ip6.arpa")) {
    if (l->size() != 32) return std::nullopt;
    std::string ip;
    int i = 0;
    for (auto it = l->rbegin(); it != l->rend(); ++it, ++i) {
      if (it->size() != 1 || !std::isxdigit(static_cast<unsigned char>((*it)[0]))) return std::nullopt;
      if (i > 0 && i % 4 == 0) ip += ':';
      ip += *it;
    }
    auto a = IpAddr::parse(ip);
    if (!a) return std::nullopt;
    return *a;
  }
  return std::nullopt;
}

void dns_truncate(std::vector<std::uint8_t>& msg, std::size_t question_end, std::size_t max, bool set_tc) {
  if (msg.size() <= max || msg.size() < 12) return;
  // Records made here: 2-byte name pointer, type, class, TTL, RDLENGTH, RDATA.
  std::size_t off = question_end, keep = 0, count = rd16(msg.data() + 6);
  while (keep < count && off + 12 <= msg.size()) {
    std::size_t end = off + 12 + rd16(msg.data() + off + 10);
    if (end > max) break;
    off = end;
    ++keep;
  }
  msg.resize(std::min(off, msg.size()));
  msg[6] = static_cast<std::uint8_t>(keep >> 8);
  msg[7] = static_cast<std::uint8_t>(keep);
  if (set_tc) msg[2] |= 0x02;
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

Result<std::unique_ptr<DnsServer>> DnsServer::start(Resolver r, ReverseResolver rr,
                                                    std::vector<std::string> upstreams, std::string listen_ip) {
  std::unique_ptr<DnsServer> s(new DnsServer());
  s->resolver_ = std::move(r);
  s->reverse_ = std::move(rr);
  s->listen_ip_ = std::move(listen_ip);
  s->upstreams_ = TRY(parse_upstreams(upstreams));
  s->epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!s->epoll_) return fail_errno("epoll_create1");
  s->wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!s->wake_) return fail_errno("eventfd");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 0;
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

std::uint64_t DnsServer::add_sock(Kind k, UniqueFd fd, std::string key, std::uint32_t events) {
  std::uint64_t t = next_token_++;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = t;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd.get(), &ev) != 0) return 0;
  Sock s{k, std::move(fd), std::move(key)};
  socks_.emplace(t, std::move(s));
  return t;
}

void DnsServer::close_sock(std::uint64_t token) {
  auto it = socks_.find(token);
  if (it == socks_.end()) return;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->second.fd.get(), nullptr);
  socks_.erase(it);
}

void DnsServer::set_events(std::uint64_t token, std::uint32_t events) {
  auto it = socks_.find(token);
  if (it == socks_.end()) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = token;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, it->second.fd.get(), &ev);
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
  UniqueFd udp, tcp;
  IpAddr ip = TRY(IpAddr::parse(listen_ip_));
  TRY(run_in_netns(netns_fd, [&]() -> Status {
    sockaddr_storage sa;
    socklen_t sl = make_sockaddr(ip, 53, &sa);
    // 127.0.0.11 is inside 127/8 on lo: bindable without adding an address.
    udp.reset(::socket(sa.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!udp) return fail_errno("dns socket");
    if (::bind(udp.get(), reinterpret_cast<sockaddr*>(&sa), sl) != 0)
      return fail_errno("bind dns", listen_ip_ + ":53/udp");
    tcp.reset(::socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!tcp) return fail_errno("dns socket");
    int one = 1;
    ::setsockopt(tcp.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(tcp.get(), reinterpret_cast<sockaddr*>(&sa), sl) != 0)
      return fail_errno("bind dns", listen_ip_ + ":53/tcp");
    if (::listen(tcp.get(), 64) != 0) return fail_errno("listen dns", listen_ip_ + ":53/tcp");
    return ok();
  }));
  std::lock_guard lk(mu_);
  if (listeners_.count(key)) return ok();
  std::uint64_t tu = add_sock(Kind::Udp, std::move(udp), key, EPOLLIN);
  if (!tu) return fail_errno("epoll_ctl");
  std::uint64_t tt = add_sock(Kind::TcpListen, std::move(tcp), key, EPOLLIN);
  if (!tt) {
    close_sock(tu);
    return fail_errno("epoll_ctl");
  }
  listeners_[key] = {tu, tt};
  if (!own.empty()) own_upstreams_[key] = std::move(own);
  else own_upstreams_.erase(key);
  return ok();
}

void DnsServer::remove(const std::string& key) {
  std::lock_guard lk(mu_);
  auto it = listeners_.find(key);
  if (it == listeners_.end()) return;
  auto [tu, tt] = it->second;
  listeners_.erase(it);
  own_upstreams_.erase(key);
  // The container's client connections and the forwards waiting for its answers.
  std::vector<std::uint64_t> gone{tu, tt};
  for (const auto& [t, s] : socks_)
    if (s.kind == Kind::TcpClient && s.key == key) gone.push_back(t);
  for (const auto& [t, s] : socks_)
    if ((s.kind == Kind::UdpUpstream || s.kind == Kind::TcpUpstream) &&
        std::find(gone.begin(), gone.end(), s.client) != gone.end())
      gone.push_back(t);
  for (auto t : gone) close_sock(t);
}

bool DnsServer::serves(const std::string& key) {
  std::lock_guard lk(mu_);
  return listeners_.count(key) > 0;
}

void DnsServer::loop() {
  epoll_event evs[32];
  for (;;) {
    int n = ::epoll_wait(epoll_.get(), evs, 32, 500);
    std::lock_guard lk(mu_);
    if (stop_) return;
    for (int i = 0; i < n; ++i) {
      std::uint64_t t = evs[i].data.u64;
      if (t == 0) {
        std::uint64_t v;
        (void)!::read(wake_.get(), &v, sizeof v);
        continue;
      }
      auto it = socks_.find(t);
      if (it == socks_.end()) continue;  // closed earlier in this batch
      switch (it->second.kind) {
        case Kind::Udp: on_udp(t); break;
        case Kind::TcpListen: on_accept(t); break;
        case Kind::TcpClient: on_client(t, evs[i].events); break;
        case Kind::UdpUpstream: on_udp_upstream(t); break;
        case Kind::TcpUpstream: on_tcp_upstream(t, evs[i].events); break;
      }
    }
    expire();
  }
}

void DnsServer::expire() {
  std::int64_t now = now_ms();
  std::vector<std::uint64_t> late;
  for (const auto& [t, s] : socks_) {
    bool timed = s.kind == Kind::UdpUpstream || s.kind == Kind::TcpUpstream ||
                 (s.kind == Kind::TcpClient && s.inflight == 0);
    if (timed && s.deadline_ms < now) late.push_back(t);
  }
  for (auto t : late) {
    auto it = socks_.find(t);
    if (it == socks_.end()) continue;
    if (it->second.kind == Kind::TcpClient) close_sock(t);
    else next_upstream(t, {});
  }
}

const DnsServer::Upstreams& DnsServer::upstreams_for(const std::string& key) const {
  auto own = own_upstreams_.find(key);
  return own != own_upstreams_.end() ? own->second : upstreams_;
}

std::optional<std::vector<std::uint8_t>> DnsServer::local_answer(const std::string& key, const std::uint8_t* msg,
                                                                 std::size_t n, const DnsQuestion& q) {
  if (q.qclass != kClassIN) return std::nullopt;
  if (q.qtype == kTypePTR) {
    auto addr = dns_ptr_addr(q.name);
    if (!addr || !reverse_) return std::nullopt;
    std::string host = reverse_(key, *addr);
    if (host.empty()) return std::nullopt;
    return dns_make_ptr_answer(msg, q, host);
  }
  // A known name is answered here for every type (only A/AAAA carry answers), so an AAAA
  // question for a v4-only container does not leak upstream.
  auto addrs = resolver_(key, q.name);
  if (addrs.empty()) return std::nullopt;
  std::shuffle(addrs.begin(), addrs.end(), rng_);  // several containers behind one alias
  return dns_make_answer(msg, n, q, addrs);
}

void DnsServer::on_udp(std::uint64_t token) {
  const int fd = socks_.at(token).fd.get();
  const std::string key = socks_.at(token).key;
  for (;;) {
    sockaddr_storage from{};
    socklen_t fl = sizeof from;
    ssize_t n = ::recvfrom(fd, buf_.data(), buf_.size(), 0, reinterpret_cast<sockaddr*>(&from), &fl);
    if (n <= 0) return;
    const std::uint8_t* msg = buf_.data();
    auto q = dns_parse_query(msg, static_cast<std::size_t>(n));
    if (!q) continue;
    if (auto out = local_answer(key, msg, static_cast<std::size_t>(n), *q)) {
      dns_truncate(*out, q->question_end, std::max<std::size_t>(kUdpDefaultMax, q->edns_size), true);
      (void)::sendto(fd, out->data(), out->size(), 0, reinterpret_cast<sockaddr*>(&from), fl);
      continue;
    }
    const Upstreams& ups = upstreams_for(key);
    if (ups.empty()) {
      auto out = reply_head(msg, *q, 0, 2);  // SERVFAIL
      (void)::sendto(fd, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&from), fl);
      continue;
    }
    // Forward from the host netns (this thread's), one socket per query.
    forward(key, token, std::vector<std::uint8_t>(msg, msg + n),
            std::vector<std::uint8_t>(reinterpret_cast<std::uint8_t*>(&from), reinterpret_cast<std::uint8_t*>(&from) + fl),
            false, 0);
  }
}

bool DnsServer::forward(const std::string& key, std::uint64_t client, std::vector<std::uint8_t> query,
                        std::vector<std::uint8_t> client_addr, bool tcp, std::size_t attempt) {
  const Upstreams& ups = upstreams_for(key);
  for (; attempt < std::min(ups.size(), kMaxUpstreamTries); ++attempt) {
    const auto& [uip, uport] = ups[attempt];
    UniqueFd up(::socket(uip.is_v6() ? AF_INET6 : AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!up) continue;
    sockaddr_storage to;
    socklen_t tl = make_sockaddr(uip, uport, &to);
    if (::connect(up.get(), reinterpret_cast<sockaddr*>(&to), tl) != 0 && !(tcp && errno == EINPROGRESS)) continue;
    if (!tcp && ::send(up.get(), query.data(), query.size(), 0) != static_cast<ssize_t>(query.size())) continue;
    std::uint64_t t = add_sock(tcp ? Kind::TcpUpstream : Kind::UdpUpstream, std::move(up), key,
                               tcp ? EPOLLOUT | EPOLLIN : EPOLLIN);
    if (!t) continue;
    Sock& s = socks_.at(t);
    s.client = client;
    s.client_addr = std::move(client_addr);
    s.attempt = attempt;
    s.deadline_ms = now_ms() + kForwardTimeoutMs;
    if (tcp) {
      put16(s.out, static_cast<std::uint16_t>(query.size()));
      s.out.insert(s.out.end(), query.begin(), query.end());
    }
    s.query = std::move(query);
    return true;
  }
  return false;
}

void DnsServer::next_upstream(std::uint64_t token, std::vector<std::uint8_t> reply) {
  Sock& u = socks_.at(token);
  bool tcp = u.kind == Kind::TcpUpstream;
  std::string key = u.key;
  std::uint64_t client = u.client;
  std::vector<std::uint8_t> query = std::move(u.query), addr = std::move(u.client_addr);
  std::size_t attempt = u.attempt;
  close_sock(token);
  if (!socks_.count(client)) return;
  if (forward(key, client, query, addr, tcp, attempt + 1)) return;
  if (!tcp) {
    if (!reply.empty())
      (void)::sendto(socks_.at(client).fd.get(), reply.data(), reply.size(), 0,
                     reinterpret_cast<const sockaddr*>(addr.data()), static_cast<socklen_t>(addr.size()));
    return;
  }
  Sock& c = socks_.at(client);
  --c.inflight;
  c.deadline_ms = now_ms() + kTcpIdleMs;
  if (!reply.empty()) send_tcp(client, reply);
  else if (auto pq = dns_parse_query(query.data(), query.size())) send_tcp(client, reply_head(query.data(), *pq, 0, 2));
  else maybe_close_client(client);
}

// Whether an upstream's reply should rather be asked of the next upstream (as dockerd).
static bool try_next(const std::vector<std::uint8_t>& r) {
  if (r.size() < 12) return true;
  int rcode = r[3] & 0x0f;
  return rcode == 2 || rcode == 5 || (rcode == 3 && !(r[2] & 0x04));
}

void DnsServer::deliver(std::uint64_t token, const std::vector<std::uint8_t>& reply) {
  if (try_next(reply)) {
    next_upstream(token, reply);
    return;
  }
  Sock& u = socks_.at(token);
  bool tcp = u.kind == Kind::TcpUpstream;
  std::uint64_t client = u.client;
  std::vector<std::uint8_t> addr = std::move(u.client_addr);
  close_sock(token);
  auto it = socks_.find(client);
  if (it == socks_.end()) return;
  if (!tcp) {
    (void)::sendto(it->second.fd.get(), reply.data(), reply.size(), 0, reinterpret_cast<const sockaddr*>(addr.data()),
                   static_cast<socklen_t>(addr.size()));
    return;
  }
  --it->second.inflight;
  it->second.deadline_ms = now_ms() + kTcpIdleMs;
  send_tcp(client, reply);
}

void DnsServer::on_udp_upstream(std::uint64_t token) {
  ssize_t n = ::recv(socks_.at(token).fd.get(), buf_.data(), buf_.size(), 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {  // e.g. ECONNREFUSED: nothing listens there
    next_upstream(token, {});
    return;
  }
  deliver(token, std::vector<std::uint8_t>(buf_.data(), buf_.data() + n));
}

void DnsServer::on_accept(std::uint64_t token) {
  const int fd = socks_.at(token).fd.get();
  const std::string key = socks_.at(token).key;
  for (;;) {
    UniqueFd c(::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!c) return;
    std::size_t clients = 0;
    for (const auto& [t, s] : socks_) clients += s.kind == Kind::TcpClient;
    if (clients >= kMaxTcpClients) continue;  // closed: the resolver tries again
    std::uint64_t t = add_sock(Kind::TcpClient, std::move(c), key, EPOLLIN);
    if (t) socks_.at(t).deadline_ms = now_ms() + kTcpIdleMs;
  }
}

void DnsServer::on_client(std::uint64_t token, std::uint32_t events) {
  if (events & (EPOLLERR | EPOLLHUP)) {  // reset or gone both ways: nothing can be sent back
    close_sock(token);
    return;
  }
  if (events & EPOLLOUT) {
    flush(token);
    if (!socks_.count(token)) return;
  }
  if (!(events & EPOLLIN)) return;
  {
    Sock& s = socks_.at(token);
    for (;;) {
      ssize_t n = ::read(s.fd.get(), buf_.data(), buf_.size());
      if (n > 0) {
        s.in.insert(s.in.end(), buf_.data(), buf_.data() + n);
        s.deadline_ms = now_ms() + kTcpIdleMs;
        if (s.in.size() > 1 << 20) {  // not a DNS client
          close_sock(token);
          return;
        }
        continue;
      }
      if (n < 0 && errno != EAGAIN && errno != EINTR) {
        close_sock(token);
        return;
      }
      if (n == 0) {
        s.eof = true;
        // Stop polling a half-closed socket (it would report readable forever).
        set_events(token, s.out.empty() ? 0u : static_cast<std::uint32_t>(EPOLLOUT));
      }
      if (n < 0 && errno == EINTR) continue;
      break;
    }
  }
  // Every complete length-prefixed question.
  for (;;) {
    auto it = socks_.find(token);
    if (it == socks_.end()) return;
    Sock& s = it->second;
    if (s.in.size() < 2) break;
    std::size_t len = rd16(s.in.data());
    if (s.in.size() < 2 + len) break;
    std::vector<std::uint8_t> msg(s.in.begin() + 2, s.in.begin() + 2 + static_cast<long>(len));
    s.in.erase(s.in.begin(), s.in.begin() + 2 + static_cast<long>(len));
    const std::string key = s.key;
    auto q = dns_parse_query(msg.data(), msg.size());
    if (!q) {
      close_sock(token);
      return;
    }
    if (auto out = local_answer(key, msg.data(), msg.size(), *q)) {
      dns_truncate(*out, q->question_end, 65535, false);
      send_tcp(token, *out);
      continue;
    }
    const Upstreams& ups = upstreams_for(key);
    auto servfail = [&] { send_tcp(token, reply_head(msg.data(), *q, 0, 2)); };
    if (ups.empty()) {
      servfail();
      continue;
    }
    // Forwarded over TCP too (the client asked over TCP because UDP was not enough).
    ++socks_.at(token).inflight;
    if (!forward(key, token, msg, {}, true, 0)) {
      --socks_.at(token).inflight;
      servfail();
    }
  }
  maybe_close_client(token);
}

void DnsServer::send_tcp(std::uint64_t client, const std::vector<std::uint8_t>& msg) {
  auto it = socks_.find(client);
  if (it == socks_.end()) return;
  put16(it->second.out, static_cast<std::uint16_t>(std::min<std::size_t>(msg.size(), 65535)));
  it->second.out.insert(it->second.out.end(), msg.begin(), msg.begin() + static_cast<long>(std::min<std::size_t>(msg.size(), 65535)));
  flush(client);
}

void DnsServer::flush(std::uint64_t client) {
  auto it = socks_.find(client);
  if (it == socks_.end()) return;
  Sock& s = it->second;
  while (!s.out.empty()) {
    ssize_t n = ::send(s.fd.get(), s.out.data(), s.out.size(), MSG_NOSIGNAL);
    if (n > 0) {
      s.out.erase(s.out.begin(), s.out.begin() + n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    close_sock(client);  // the peer went away
    return;
  }
  std::uint32_t ev = (s.eof ? 0u : static_cast<std::uint32_t>(EPOLLIN)) | (s.out.empty() ? 0u : static_cast<std::uint32_t>(EPOLLOUT));
  set_events(client, ev);
  maybe_close_client(client);
}

void DnsServer::maybe_close_client(std::uint64_t client) {
  auto it = socks_.find(client);
  if (it == socks_.end()) return;
  const Sock& s = it->second;
  bool whole_question = s.in.size() >= 2 && s.in.size() >= 2u + rd16(s.in.data());
  if (s.eof && s.inflight == 0 && s.out.empty() && !whole_question) close_sock(client);
}

void DnsServer::on_tcp_upstream(std::uint64_t token, std::uint32_t events) {
  Sock& u = socks_.at(token);
  if (events & EPOLLERR) {
    next_upstream(token, {});
    return;
  }
  if ((events & EPOLLOUT) && !u.out.empty()) {
    ssize_t n = ::send(u.fd.get(), u.out.data(), u.out.size(), MSG_NOSIGNAL);
    if (n > 0) u.out.erase(u.out.begin(), u.out.begin() + n);
    else if (n < 0 && errno != EAGAIN && errno != EINTR) {
      next_upstream(token, {});
      return;
    }
    if (u.out.empty()) set_events(token, EPOLLIN);
  }
  if (!(events & (EPOLLIN | EPOLLHUP))) return;
  for (;;) {
    ssize_t n = ::read(u.fd.get(), buf_.data(), buf_.size());
    if (n > 0) {
      u.in.insert(u.in.end(), buf_.data(), buf_.data() + n);
      if (u.in.size() >= 2 && u.in.size() >= 2u + rd16(u.in.data())) break;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;  // more to come
    next_upstream(token, {});              // closed or failed before a whole answer
    return;
  }
  std::vector<std::uint8_t> answer(u.in.begin() + 2, u.in.begin() + 2 + rd16(u.in.data()));
  deliver(token, answer);
}

}  // namespace berth::net
