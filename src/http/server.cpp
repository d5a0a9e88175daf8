// SPDX-License-Identifier: Apache-2.0
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include "common/log.hpp"
#include "common/strings.hpp"
#include "http/http.hpp"
#include "http/io.hpp"

namespace berth::http {

// ---------- ResponseWriter ----------

namespace {
// The status line and headers of a response; Content-Length and Transfer-Encoding come only from
// the arguments, never from the handler's header set.
std::string format_head(int version_minor, int status, std::string_view reason,
                        const Headers& headers, std::optional<std::uint64_t> length, bool chunked,
                        bool close) {
  std::string h;
  h.reserve(256);
  h += version_minor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ";
  h += std::to_string(status);
  h += ' ';
  h += reason.empty() ? status_text(status) : reason;
  h += "\r\n";
  for (const auto& [k, v] : headers.list()) {
    if (iequals(k, "Content-Length") || iequals(k, "Transfer-Encoding")) continue;
    h += k;
    h += ": ";
    h += v;
    h += "\r\n";
  }
  if (length) {
    h += "Content-Length: ";
    h += std::to_string(*length);
    h += "\r\n";
  }
  if (chunked) h += "Transfer-Encoding: chunked\r\n";
  if (close && !headers.has("Connection")) h += "Connection: close\r\n";
  h += "\r\n";
  return h;
}
}  // namespace

Status ResponseWriter::write_head(int status, std::string_view reason,
                                  std::optional<std::uint64_t> length, bool chunked) {
  if (started_) return fail(Errc::Internal, "response already started");
  started_ = true;
  status_ = status;
  return io_->write_all(format_head(version_minor_, status, reason, headers_, length, chunked, close_));
}

Status ResponseWriter::send(int status, std::string_view body, std::string_view content_type) {
  if (!content_type.empty()) headers_.set("Content-Type", std::string(content_type));
  bool no_body = head_ || status == 204 || status == 304 || status < 200;
  std::optional<std::uint64_t> len;
  if (status != 204 && status != 304 && status >= 200) len = body.size();
  std::string_view b = no_body ? std::string_view() : body;
  if (started_) return fail(Errc::Internal, "response already started");
  started_ = true;
  status_ = status;
  finished_ = true;
  // Head and body in one writev.
  std::string h = format_head(version_minor_, status, {}, headers_, len, false, close_);
  iovec iov[2] = {{h.data(), h.size()}, {const_cast<char*>(b.data()), b.size()}};
  return io_->writev_all(iov, b.empty() ? 1 : 2);
}

Status ResponseWriter::begin_stream(int status, std::string_view content_type) {
  if (!content_type.empty()) headers_.set("Content-Type", std::string(content_type));
  if (version_minor_ == 0) {
    close_ = true;
    chunked_ = false;
  } else {
    chunked_ = true;
  }
  if (head_) finished_ = true;  // HEAD: the head is the whole response
  return write_head(status, {}, std::nullopt, chunked_);
}

Status ResponseWriter::write(std::string_view data) {
  if (!started_) TRY(begin_stream(200));
  if (finished_ || data.empty()) return ok();
  if (!chunked_) return io_->write_all(data);
  char len[24];
  int n = std::snprintf(len, sizeof len, "%zx\r\n", data.size());
  iovec iov[3] = {{len, static_cast<std::size_t>(n)},
                  {const_cast<char*>(data.data()), data.size()},
                  {const_cast<char*>("\r\n"), 2}};
  return io_->writev_all(iov, 3);
}

Status ResponseWriter::end_stream() {
  if (!started_) TRY(begin_stream(200));
  if (finished_) return ok();
  finished_ = true;
  if (chunked_) return io_->write_all("0\r\n\r\n");
  return ok();
}

Status ResponseWriter::send_file(int status, int fd, std::uint64_t offset, std::uint64_t length,
                                 std::string_view content_type) {
  if (!content_type.empty()) headers_.set("Content-Type", std::string(content_type));
  TRY(write_head(status, {}, length, false));
  finished_ = true;
  if (head_) return ok();
  return io_->send_file(fd, offset, length);
}

namespace {
// The connection and the bytes read ahead of the hand-over, for a hijacking handler.
Hijacked take_connection(detail::ConnIO& io) {
  Hijacked h;
  h.pending = io.take_buffered();
  h.fd = io.release_fd();
  return h;
}
}  // namespace

Result<Hijacked> ResponseWriter::hijack(int status) {
  if (io_->is_tls()) return fail(Errc::Unimplemented, "hijack over TLS is not supported");
  if (status == 101) {
    headers_.set("Connection", "Upgrade");
    headers_.set("Upgrade", "tcp");
  }
  TRY(write_head(status, status == 101 ? "UPGRADED" : "", std::nullopt, false));
  finished_ = hijacked_ = true;
  return take_connection(*io_);
}

Result<Hijacked> ResponseWriter::hijack_raw() {
  if (io_->is_tls()) return fail(Errc::Unimplemented, "hijack over TLS is not supported");
  if (started_) return fail(Errc::Internal, "response already started");
  started_ = finished_ = hijacked_ = true;
  return take_connection(*io_);
}

bool ResponseWriter::peer_closed() const {
  if (!io_ || io_->fd() < 0) return true;
  pollfd p{io_->fd(), POLLRDHUP, 0};
  if (::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) return true;
  return false;
}

// ---------- Router ----------

static std::vector<std::string> split_path(std::string_view p) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < p.size()) {
    while (i < p.size() && p[i] == '/') ++i;
    if (i >= p.size()) break;
    auto j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    out.emplace_back(p.substr(i, j - i));
    i = j;
  }
  return out;
}

void Router::add(std::string method, std::string pattern, Handler h) {
  routes_.push_back(Route{std::move(method), split_path(pattern), std::move(h)});
}

static bool match_route(const std::vector<std::string>& segs, const std::vector<std::string>& path,
                        std::unordered_map<std::string, std::string>* params) {
  std::size_t i = 0;
  for (; i < segs.size(); ++i) {
    const std::string& s = segs[i];
    bool is_param = s.size() >= 2 && s.front() == '{' && s.back() == '}';
    if (is_param && s.size() > 3 && s[s.size() - 2] == '*') {
      if (i >= path.size()) return false;
      std::string rest;
      for (std::size_t j = i; j < path.size(); ++j) {
        if (j > i) rest += '/';
        rest += path[j];
      }
      (*params)[s.substr(1, s.size() - 3)] = rest;
      return true;
    }
    if (i >= path.size()) return false;
    if (is_param) {
      (*params)[s.substr(1, s.size() - 2)] = path[i];
    } else if (s != path[i]) {
      return false;
    }
  }
  return i == path.size();
}

const Handler* Router::match(Request& req, bool* path_matched) const {
  auto path = split_path(req.path);
  if (path_matched) *path_matched = false;
  for (const auto& r : routes_) {
    std::unordered_map<std::string, std::string> params;
    if (!match_route(r.segs, path, &params)) continue;
    if (path_matched) *path_matched = true;
    if (r.method != req.method && !(r.method == "GET" && req.method == "HEAD")) continue;
    for (auto& [k, v] : params) req.params[k] = std::move(v);
    return &r.h;
  }
  return nullptr;
}

void Router::dispatch(Request& req, ResponseWriter& w) const {
  bool path_matched = false;
  if (const Handler* h = match(req, &path_matched)) {
    (*h)(req, w);
    return;
  }
  if (path_matched) {
    if (method_not_allowed_) return method_not_allowed_(req, w);
    (void)w.send(405, R"({"message":"method not allowed"})", "application/json");
    return;
  }
  if (not_found_) return not_found_(req, w);
  (void)w.send(404, R"({"message":"page not found"})", "application/json");
}

Handler Router::handler() const {
  return [this](Request& q, ResponseWriter& w) { dispatch(q, w); };
}

// ---------- Server ----------

struct Listener {
  UniqueFd fd;
  bool unix_sock = false;
  ssl_ctx_st* tls = nullptr;
  std::string unix_path;
};

struct Server::Impl {
  Handler handler;
  ServerOptions opts;
  std::vector<Listener> listeners;
  std::vector<std::thread> accept_threads;
  UniqueFd wake;  // eventfd
  std::mutex mu;
  std::condition_variable cv;
  std::set<int> conns;
  std::size_t nconns = 0;
  std::atomic<bool> stopping{false};
  bool started = false;
  // A connection is served by a thread of its own; one whose connection ended waits a while for
  // the next (up to kMaxIdle of them), so that a client's next connection (the docker CLI opens
  // three per `run`) does not wait for a thread to be made first. With mu:
  static constexpr std::size_t kMaxIdle = 4;
  static constexpr auto kIdleFor = std::chrono::seconds(30);
  std::deque<std::pair<int, Listener*>> work;  // accepted, for an idle thread
  std::condition_variable work_cv;
  std::size_t idle = 0;     // threads waiting for work
  std::size_t workers = 0;  // threads serving or waiting

  void accept_loop(Listener* l);
  void worker(UniqueFd fd, Listener* l);
  void serve(UniqueFd fd, Listener* l);
};

Server::Server(Handler h, ServerOptions o) : impl_(std::make_unique<Impl>()) {
  impl_->handler = std::move(h);
  impl_->opts = o;
  impl_->wake.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
}

Server::~Server() {
  stop();
  for (auto& l : impl_->listeners) detail::free_ctx(l.tls);
}

bool Server::wait_idle(std::chrono::milliseconds limit) const {
  std::unique_lock lk(impl_->mu);
  return impl_->cv.wait_for(lk, limit, [&] { return impl_->nconns == 0; });
}

std::size_t Server::active_connections() const {
  std::lock_guard lk(impl_->mu);
  return impl_->nconns;
}

Status Server::listen_unix(const std::string& path, mode_t mode, gid_t gid) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) return fail(Errc::InvalidArgument, "socket path too long: " + path);
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return fail_errno("socket");
  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(path.c_str());
  // Bind with a restrictive umask so the socket never exists with wider permissions.
  mode_t old = ::umask(0177);
  int r = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  ::umask(old);
  if (r < 0) return fail_errno("bind", path);
  if (::chmod(path.c_str(), mode) < 0) return fail_errno("chmod", path);
  if (gid != static_cast<gid_t>(-1) && ::chown(path.c_str(), static_cast<uid_t>(-1), gid) < 0)
    return fail_errno("chown", path);
  if (::listen(fd.get(), 1024) < 0) return fail_errno("listen", path);
  Listener l;
  l.fd = std::move(fd);
  l.unix_sock = true;
  l.unix_path = path;
  impl_->listeners.push_back(std::move(l));
  return ok();
}

Result<std::uint16_t> Server::listen_tcp(const std::string& host, std::uint16_t port,
                                         const TlsServerConfig* tls) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string ps = std::to_string(port);
  int g = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), ps.c_str(), &hints, &res);
  if (g != 0) return fail(Errc::InvalidArgument, "resolve " + host + ": " + gai_strerror(g));
  UniqueFd fd;
  Error last(Errc::Unavailable, "no address for " + host);
  for (addrinfo* a = res; a; a = a->ai_next) {
    UniqueFd s(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, 0));
    if (!s) continue;
    int one = 1;
    ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(s.get(), a->ai_addr, a->ai_addrlen) == 0 && ::listen(s.get(), 1024) == 0) {
      fd = std::move(s);
      break;
    }
    last = Error::from_errno(errno, "bind", host + ":" + ps);
  }
  ::freeaddrinfo(res);
  if (!fd) return fail(std::move(last));
  sockaddr_storage ss{};
  socklen_t sl = sizeof ss;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &sl);
  std::uint16_t bound = ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                                                 : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  Listener l;
  l.fd = std::move(fd);
  if (tls) {
    Error e;
    l.tls = detail::make_server_ctx(*tls, &e);
    if (!l.tls) return fail(std::move(e));
  }
  impl_->listeners.push_back(std::move(l));
  return bound;
}

Status Server::listen_fd(UniqueFd fd) {
  Listener l;
  sockaddr_storage ss{};
  socklen_t sl = sizeof ss;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &sl);
  l.unix_sock = ss.ss_family == AF_UNIX;
  l.fd = std::move(fd);
  impl_->listeners.push_back(std::move(l));
  return ok();
}

Status Server::start() {
  if (impl_->started) return ok();
  impl_->started = true;
  for (auto& l : impl_->listeners) {
    Listener* lp = &l;
    impl_->accept_threads.emplace_back([this, lp] { impl_->accept_loop(lp); });
  }
  return ok();
}

void Server::stop() {
  if (!impl_ || impl_->stopping.exchange(true)) return;
  std::uint64_t one = 1;
  if (impl_->wake) (void)!::write(impl_->wake.get(), &one, sizeof one);
  for (auto& t : impl_->accept_threads)
    if (t.joinable()) t.join();
  for (auto& l : impl_->listeners) {
    if (l.unix_sock && !l.unix_path.empty()) ::unlink(l.unix_path.c_str());
    l.fd.reset();
  }
  std::unique_lock lk(impl_->mu);
  for (int fd : impl_->conns) ::shutdown(fd, SHUT_RDWR);
  // accepted for an idle thread, not taken yet: closed
  for (auto& [fd, l] : impl_->work) {
    ::close(fd);
    impl_->conns.erase(fd);
    --impl_->nconns;
  }
  impl_->work.clear();
  impl_->work_cv.notify_all();
  impl_->cv.wait_for(lk, std::chrono::seconds(10), [&] { return impl_->nconns == 0 && impl_->workers == 0; });
}

void Server::Impl::accept_loop(Listener* l) {
  for (;;) {
    pollfd p[2] = {{l->fd.get(), POLLIN, 0}, {wake.get(), POLLIN, 0}};
    int r = ::poll(p, 2, -1);
    if (stopping) return;
    if (r < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (!(p[0].revents & POLLIN)) continue;
    UniqueFd c(::accept4(l->fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!c) {
      if (errno == EMFILE || errno == ENFILE) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    {
      std::lock_guard lk(mu);
      if (nconns >= opts.max_connections) continue;  // closes c
      ++nconns;
      conns.insert(c.get());
    }
    if (!l->unix_sock) {
      int one = 1;
      ::setsockopt(c.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    {
      std::lock_guard lk(mu);
      if (idle > work.size()) {
        work.emplace_back(c.release(), l);
        work_cv.notify_one();
        continue;
      }
      ++workers;
    }
    int fd = c.release();
    try {
      std::thread([this, l, fd]() mutable { worker(UniqueFd(fd), l); }).detach();
    } catch (...) {
      ::close(fd);
      std::lock_guard lk(mu);
      conns.erase(fd);
      --nconns;
      --workers;
      cv.notify_all();
    }
  }
}

void Server::Impl::worker(UniqueFd fd, Listener* l) {
  std::unique_lock lk(mu, std::defer_lock);
  for (;;) {
    serve(std::move(fd), l);
    lk.lock();
    if (work.empty()) {
      if (stopping || idle >= kMaxIdle) break;
      ++idle;
      work_cv.wait_for(lk, kIdleFor, [&] { return stopping.load() || !work.empty(); });
      --idle;
      if (work.empty()) break;  // idle for long, or stopping
    }
    fd.reset(work.front().first);
    l = work.front().second;
    work.pop_front();
    lk.unlock();
  }
  // notified with mu held: stop() may free this Impl once it has mu again
  --workers;
  cv.notify_all();
}

void Server::serve_connection(UniqueFd fd) {
  {
    std::lock_guard lk(impl_->mu);
    ++impl_->nconns;
    impl_->conns.insert(fd.get());
  }
  Listener l;
  l.unix_sock = true;
  impl_->serve(std::move(fd), &l);
}

static void simple_error(detail::ConnIO& io, int status, std::string_view msg) {
  std::string body = std::string(R"({"message":")") + json_escape(msg) + "\"}";
  std::string h = "HTTP/1.1 " + std::to_string(status) + " " + std::string(status_text(status)) +
                  "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                  "\r\nConnection: close\r\n\r\n" + body;
  (void)io.write_all(h);
  // Lingering close: closing with unread input would reset the connection and the peer could
  // lose the response. Half-close, then drop input for a short while.
  if (io.is_tls() || io.fd() < 0) return;
  ::shutdown(io.fd(), SHUT_WR);
  char buf[4096];
  std::size_t total = 0;
  while (total < (1u << 20)) {
    pollfd p{io.fd(), POLLIN, 0};
    if (::poll(&p, 1, 500) <= 0) break;
    ssize_t n = ::read(io.fd(), buf, sizeof buf);
    if (n <= 0) break;
    total += static_cast<std::size_t>(n);
  }
}

void Server::Impl::serve(UniqueFd fd, Listener* l) {
  int raw_fd = fd.get();
  auto io = std::make_unique<detail::ConnIO>(std::move(fd));
  bool registered = true;
  auto unregister = [&] {
    if (!registered) return;
    registered = false;
    std::lock_guard lk(mu);
    conns.erase(raw_fd);
  };
  std::optional<PeerCred> peer;
  std::string remote = "unix";
  if (l->unix_sock) {
    ucred uc{};
    socklen_t ul = sizeof uc;
    if (::getsockopt(io->fd(), SOL_SOCKET, SO_PEERCRED, &uc, &ul) == 0) peer = PeerCred{uc.pid, uc.uid, uc.gid};
  } else {
    sockaddr_storage ss{};
    socklen_t sl = sizeof ss;
    if (::getpeername(io->fd(), reinterpret_cast<sockaddr*>(&ss), &sl) == 0) {
      char host[INET6_ADDRSTRLEN] = {0};
      std::uint16_t port = 0;
      if (ss.ss_family == AF_INET) {
        auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
        ::inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
        port = ntohs(s4->sin_port);
      } else if (ss.ss_family == AF_INET6) {
        auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
        ::inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
        port = ntohs(s6->sin6_port);
      }
      remote = std::string(host) + ":" + std::to_string(port);
    }
  }
  std::string tls_subject;
  bool ok_conn = true;
  if (l->tls) {
    // Bound the handshake: SSL_accept reads the socket directly.
    timeval tv{10, 0}, zero{0, 0};
    ::setsockopt(io->fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(io->fd(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    auto st = io->tls_accept(l->tls);
    ::setsockopt(io->fd(), SOL_SOCKET, SO_RCVTIMEO, &zero, sizeof zero);
    ::setsockopt(io->fd(), SOL_SOCKET, SO_SNDTIMEO, &zero, sizeof zero);
    if (!st) {
      log::debug("http: tls handshake from {}: {}", remote, st.error().message());
      ok_conn = false;
    } else {
      tls_subject = io->tls_peer_subject();
    }
  }
  while (ok_conn && !stopping) {
    auto head_raw = io->read_head(opts.max_header_bytes);
    if (!head_raw) {
      if (head_raw.error().message() == "header too large") simple_error(*io, 431, "request header too large");
      break;
    }
    auto head = detail::parse_head(*head_raw);
    Request req;
    if (!head || head->line0_c.rfind("HTTP/1.", 0) != 0 || head->line0_c.size() != 8) {
      simple_error(*io, 400, head ? "malformed HTTP version" : head.error().message());
      break;
    }
    req.method = std::move(head->line0_a);
    req.target = std::move(head->line0_b);
    req.version_minor = head->line0_c[7] == '0' ? 0 : 1;
    req.headers = std::move(head->headers);
    auto [p, q] = split_once(req.target, '?');
    std::string_view pathv = p;
    // absolute-form "http://host/path"
    if (pathv.rfind("http://", 0) == 0 || pathv.rfind("https://", 0) == 0) {
      auto s = pathv.find('/', pathv.find("//") + 2);
      pathv = s == std::string_view::npos ? std::string_view("/") : pathv.substr(s);
    }
    req.path = url_decode(pathv);
    req.query = std::string(q);
    req.peer = peer;
    req.remote = remote;
    req.tls = l->tls != nullptr;
    req.tls_client_subject = tls_subject;
    bool no_body = false;
    auto st = detail::setup_body(req.body_, io.get(), req.headers, true, no_body);
    if (!st) {
      simple_error(*io, 400, st.error().message());
      break;
    }
    ResponseWriter w;
    w.io_ = io.get();
    w.version_minor_ = req.version_minor;
    w.head_ = req.method == "HEAD";
    bool keep = req.version_minor == 1 ? !req.headers.has_token("Connection", "close")
                                       : req.headers.has_token("Connection", "keep-alive");
    if (!keep) w.close_ = true;
    if (req.version_minor == 0 && keep) w.headers_.set("Connection", "keep-alive");
    if (req.headers.has_token("Expect", "100-continue") && !req.body_.done()) {
      detail::ConnIO* iop = io.get();
      req.body_.before_first_read_ = [iop] { (void)iop->write_all("HTTP/1.1 100 Continue\r\n\r\n"); };
    }
    handler(req, w);
    if (w.hijacked_) {
      unregister();
      break;
    }
    if (!w.started_) (void)w.send(500, R"({"message":"no response"})", "application/json");
    else if (!w.finished_) {
      // A stream the handler did not end: end it unless the connection broke.
      if (!io->broken) (void)w.end_stream();
    }
    if (io->broken || w.close_) break;
    if (!req.body_.done()) {
      req.body_.before_first_read_ = nullptr;  // never say "100 Continue" after answering
      if (!req.body_.drain(opts.drain_limit)) break;
    }
  }
  unregister();
  if (io->fd() >= 0) {
    if (io->is_tls()) {
      io->shutdown_write();
    } else {
      // Lingering close (see simple_error): never reset a connection with unread input.
      ::shutdown(io->fd(), SHUT_WR);
      char buf[16384];
      std::size_t total = 0;
      while (total < (16u << 20)) {
        pollfd p{io->fd(), POLLIN, 0};
        if (::poll(&p, 1, 500) <= 0) break;
        ssize_t n = ::read(io->fd(), buf, sizeof buf);
        if (n <= 0) break;
        total += static_cast<std::size_t>(n);
      }
    }
  }
  io.reset();
  std::lock_guard lk(mu);
  --nconns;
  cv.notify_all();
}

}  // namespace berth::http
