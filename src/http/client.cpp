// SPDX-License-Identifier: Apache-2.0
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "common/strings.hpp"
#include "http/http.hpp"
#include "http/io.hpp"

namespace berth::http {

StreamResponse::StreamResponse() = default;
StreamResponse::StreamResponse(StreamResponse&& o) noexcept
    : status(o.status), headers(std::move(o.headers)), io_(std::move(o.io_)), body_(std::move(o.body_)) {}
StreamResponse& StreamResponse::operator=(StreamResponse&& o) noexcept {
  status = o.status;
  headers = std::move(o.headers);
  io_ = std::move(o.io_);
  body_ = std::move(o.body_);
  return *this;
}
StreamResponse::~StreamResponse() = default;
int StreamResponse::fd() const { return io_ ? io_->fd() : -1; }

Client::Client(ClientOptions o) : opts_(std::move(o)) {}
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;
Client::~Client() = default;

Result<Client> Client::from_url(std::string_view url) {
  ClientOptions o;
  auto take_hostport = [&](std::string_view hp, std::uint16_t def) -> Status {
    auto slash = hp.find('/');
    if (slash != std::string_view::npos) hp = hp.substr(0, slash);
    std::string_view host = hp, port;
    if (!hp.empty() && hp[0] == '[') {
      auto e = hp.find(']');
      if (e == std::string_view::npos) return fail(Errc::InvalidArgument, "bad address");
      host = hp.substr(1, e - 1);
      if (e + 1 < hp.size() && hp[e + 1] == ':') port = hp.substr(e + 2);
    } else if (auto c = hp.rfind(':'); c != std::string_view::npos) {
      host = hp.substr(0, c);
      port = hp.substr(c + 1);
    }
    o.host = std::string(host.empty() ? "127.0.0.1" : host);
    if (port.empty()) {
      o.port = def;
    } else {
      auto p = parse_uint(port);
      if (!p || *p > 65535) return fail(Errc::InvalidArgument, "bad port in " + std::string(url));
      o.port = static_cast<std::uint16_t>(*p);
    }
    return ok();
  };
  if (url.rfind("unix://", 0) == 0) {
    o.unix_path = std::string(url.substr(7));
  } else if (url.rfind("tcp://", 0) == 0) {
    TRY(take_hostport(url.substr(6), 2375));
  } else if (url.rfind("http://", 0) == 0) {
    TRY(take_hostport(url.substr(7), 80));
  } else if (url.rfind("https://", 0) == 0) {
    TRY(take_hostport(url.substr(8), 443));
    o.tls = true;
  } else if (!url.empty() && url[0] == '/') {
    o.unix_path = std::string(url);
  } else {
    return fail(Errc::InvalidArgument, "unsupported URL: " + std::string(url));
  }
  return Client(std::move(o));
}

Result<std::unique_ptr<detail::ConnIO>> Client::connect() const {
  UniqueFd fd;
  if (!opts_.unix_path.empty()) {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (opts_.unix_path.size() >= sizeof sa.sun_path) return fail(Errc::InvalidArgument, "socket path too long");
    std::memcpy(sa.sun_path, opts_.unix_path.c_str(), opts_.unix_path.size() + 1);
    fd.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return fail_errno("socket");
    int r;
    do r = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    while (r < 0 && errno == EINTR);
    if (r < 0) return fail_errno("connect", opts_.unix_path);
  } else {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* res = nullptr;
    std::string ps = std::to_string(opts_.port);
    int g = ::getaddrinfo(opts_.host.c_str(), ps.c_str(), &hints, &res);
    if (g != 0) return fail(Errc::Unavailable, "resolve " + opts_.host + ": " + gai_strerror(g));
    Error last(Errc::Unavailable, "no address");
    for (addrinfo* a = res; a; a = a->ai_next) {
      UniqueFd s(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, 0));
      if (!s) continue;
      int r;
      do r = ::connect(s.get(), a->ai_addr, a->ai_addrlen);
      while (r < 0 && errno == EINTR);
      if (r == 0) {
        fd = std::move(s);
        break;
      }
      last = Error::from_errno(errno, "connect", opts_.host + ":" + ps);
    }
    ::freeaddrinfo(res);
    if (!fd) return fail(std::move(last));
    int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  auto io = std::make_unique<detail::ConnIO>(std::move(fd));
  io->set_timeout_ms(opts_.timeout_ms);
  if (opts_.tls) {
    Error e;
    ssl_ctx_st* ctx = detail::make_client_ctx(opts_, &e);
    if (!ctx) return fail(std::move(e));
    auto st = io->tls_connect(ctx, opts_.host);
    detail::free_ctx(ctx);  // the SSL object holds its own reference
    TRY(std::move(st));
  }
  return io;
}

static std::string build_head(const ClientOptions& o, std::string_view method, std::string_view target,
                              const Headers& headers, std::optional<std::size_t> length, bool chunked,
                              bool upgrade) {
  std::string h;
  h.reserve(256);
  h += method;
  h += ' ';
  h += target;
  h += " HTTP/1.1\r\n";
  if (!headers.has("Host")) {
    h += "Host: ";
    if (!o.host_header.empty()) h += o.host_header;
    else if (!o.unix_path.empty()) h += "localhost";
    else h += o.host + ":" + std::to_string(o.port);
    h += "\r\n";
  }
  for (const auto& [k, v] : headers.list()) {
    h += k;
    h += ": ";
    h += v;
    h += "\r\n";
  }
  if (length) h += "Content-Length: " + std::to_string(*length) + "\r\n";
  if (chunked) h += "Transfer-Encoding: chunked\r\n";
  if (upgrade) h += "Connection: Upgrade\r\nUpgrade: tcp\r\n";
  h += "\r\n";
  return h;
}

static bool method_has_body(std::string_view m) {
  return m == "POST" || m == "PUT" || m == "PATCH";
}

// Reads a response head (skipping 1xx other than 101) and sets up its body.
static Result<void> read_response(detail::ConnIO* io, std::string_view method, int* status, Headers* headers,
                                  BodyReader* body) {
  for (;;) {
    std::string raw = TRY(io->read_head(64 * 1024));
    auto head = TRY(detail::parse_head(raw));
    if (head.line0_a.rfind("HTTP/1.", 0) != 0) return fail(Errc::DataLoss, "malformed response");
    auto st = parse_uint(head.line0_b);
    if (!st || *st < 100 || *st > 999) return fail(Errc::DataLoss, "malformed status");
    *status = static_cast<int>(*st);
    if (*status >= 100 && *status < 200 && *status != 101) continue;
    *headers = std::move(head.headers);
    bool no_body = method == "HEAD" || *status == 204 || *status == 304 || *status == 101;
    TRY(detail::setup_body(*body, io, *headers, false, no_body));
    return ok();
  }
}

Result<Response> Client::request(std::string_view method, std::string_view target, std::string_view body,
                                 const Headers& headers, std::size_t max_body) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool reused = false;
    std::unique_ptr<detail::ConnIO> io;
    if (idle_) {
      io = std::move(idle_);
      reused = true;
    } else {
      io = TRY(connect());
    }
    std::optional<std::size_t> len;
    if (!body.empty() || method_has_body(method)) len = body.size();
    std::string h = build_head(opts_, method, target, headers, len, false, false);
    iovec iov[2] = {{h.data(), h.size()}, {const_cast<char*>(body.data()), body.size()}};
    auto st = io->writev_all(iov, body.empty() ? 1 : 2);
    Response resp;
    BodyReader br;
    bool write_failed = !st;
    // A server may answer (413/400) and close before taking the whole body: read its answer.
    if (write_failed && !reused) st = read_response(io.get(), method, &resp.status, &resp.headers, &br);
    else if (st) st = read_response(io.get(), method, &resp.status, &resp.headers, &br);
    if (st && write_failed) io->broken = true;
    if (!st) {
      // A stale keep-alive connection closed by the server: retry once on a fresh one.
      if (reused && (st.error().is(Errc::NotFound) || st.error().is(Errc::Unavailable) ||
                     st.error().sys_errno() == EPIPE || st.error().sys_errno() == ECONNRESET))
        continue;
      return fail(std::move(st).error());
    }
    resp.body = TRY(br.read_all(max_body));
    bool keep = !io->broken && br.mode() != BodyReader::Mode::UntilClose &&
                !resp.headers.has_token("Connection", "close") && resp.status != 101;
    if (keep) idle_ = std::move(io);
    return resp;
  }
  return fail(Errc::Unavailable, "connection closed by server");
}

Result<Response> Client::request_stream_body(std::string_view method, std::string_view target,
                                             const BodySource& src, const Headers& headers) {
  idle_.reset();
  auto io = TRY(connect());
  std::string h = build_head(opts_, method, target, headers, std::nullopt, true, false);
  TRY(io->write_all(h));
  std::string buf(64 * 1024, '\0');
  for (;;) {
    std::size_t n = TRY(src(buf.data(), buf.size()));
    if (n == 0) break;
    char len[24];
    int k = std::snprintf(len, sizeof len, "%zx\r\n", n);
    iovec iov[3] = {{len, static_cast<std::size_t>(k)}, {buf.data(), n}, {const_cast<char*>("\r\n"), 2}};
    TRY(io->writev_all(iov, 3));
  }
  TRY(io->write_all("0\r\n\r\n"));
  Response resp;
  BodyReader br;
  TRY(read_response(io.get(), method, &resp.status, &resp.headers, &br));
  resp.body = TRY(br.read_all(256u << 20));
  return resp;
}

Result<StreamResponse> Client::stream(std::string_view method, std::string_view target, std::string_view body,
                                      const Headers& headers) {
  StreamResponse sr;
  sr.io_ = TRY(connect());
  std::optional<std::size_t> len;
  if (!body.empty() || method_has_body(method)) len = body.size();
  std::string h = build_head(opts_, method, target, headers, len, false, false);
  iovec iov[2] = {{h.data(), h.size()}, {const_cast<char*>(body.data()), body.size()}};
  TRY(sr.io_->writev_all(iov, body.empty() ? 1 : 2));
  TRY(read_response(sr.io_.get(), method, &sr.status, &sr.headers, &sr.body_));
  return sr;
}

Result<ClientHijacked> Client::hijack(std::string_view method, std::string_view target, std::string_view body,
                                      const Headers& headers) {
  auto io = TRY(connect());
  if (io->is_tls()) return fail(Errc::Unimplemented, "hijack over TLS is not supported");
  std::optional<std::size_t> len;
  if (!body.empty() || method_has_body(method)) len = body.size();
  std::string h = build_head(opts_, method, target, headers, len, false, true);
  iovec iov[2] = {{h.data(), h.size()}, {const_cast<char*>(body.data()), body.size()}};
  TRY(io->writev_all(iov, body.empty() ? 1 : 2));
  ClientHijacked out;
  BodyReader br;
  TRY(read_response(io.get(), method, &out.status, &out.headers, &br));
  if (out.status >= 300) {
    out.pending = TRY(br.read_all(1 << 20));
    return out;
  }
  out.pending = io->take_buffered();
  out.fd = io->release_fd();
  return out;
}

}  // namespace berth::http
