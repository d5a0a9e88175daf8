// SPDX-License-Identifier: Apache-2.0
#include "http/io.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/strings.hpp"

namespace berth::http {

// ---------- Headers and helpers ----------

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

void Headers::set(std::string_view name, std::string value) {
  remove(name);
  list_.emplace_back(std::string(name), std::move(value));
}

void Headers::remove(std::string_view name) {
  std::erase_if(list_, [&](const auto& p) { return iequals(p.first, name); });
}

std::optional<std::string_view> Headers::get(std::string_view name) const {
  for (const auto& [k, v] : list_)
    if (iequals(k, name)) return std::string_view(v);
  return std::nullopt;
}

std::string Headers::value(std::string_view name) const {
  auto v = get(name);
  return v ? std::string(*v) : std::string();
}

bool Headers::has_token(std::string_view name, std::string_view token) const {
  for (const auto& [k, v] : list_) {
    if (!iequals(k, name)) continue;
    for (const auto& part : split(v, ','))
      if (iequals(trim(part), token)) return true;
  }
  return false;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string url_decode(std::string_view s, bool form) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%' && i + 2 < s.size()) {
      int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
      if (h >= 0 && l >= 0) {
        out.push_back(static_cast<char>(h * 16 + l));
        i += 2;
        continue;
      }
    }
    if (c == '+' && form) c = ' ';
    out.push_back(c);
  }
  return out;
}

std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parse_query(std::string_view q) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& part : split(q, '&')) {
    if (part.empty()) continue;
    auto [k, v] = split_once(part, '=');
    out.emplace_back(url_decode(k, true), url_decode(v, true));
  }
  return out;
}

std::string_view status_text(int s) {
  switch (s) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

// ---------- Request ----------

const std::string& Request::param(const std::string& name) const {
  static const std::string empty;
  auto it = params.find(name);
  return it == params.end() ? empty : it->second;
}

std::optional<std::string> Request::query_value(std::string_view name) const {
  if (!query_cache_) query_cache_ = parse_query(query);
  for (const auto& [k, v] : *query_cache_)
    if (k == name) return v;
  return std::nullopt;
}

std::vector<std::string> Request::query_values(std::string_view name) const {
  if (!query_cache_) query_cache_ = parse_query(query);
  std::vector<std::string> out;
  for (const auto& [k, v] : *query_cache_)
    if (k == name) out.push_back(v);
  return out;
}

bool Request::query_bool(std::string_view name, bool def) const {
  auto v = query_value(name);
  if (!v) return def;
  std::string l = to_lower(*v);
  return !(l.empty() || l == "0" || l == "false" || l == "no");
}

// ---------- BodyReader ----------

Result<std::size_t> BodyReader::read(char* buf, std::size_t n) {
  if (done_ || n == 0) return 0;
  if (before_first_read_) {
    auto f = std::move(before_first_read_);
    before_first_read_ = nullptr;
    f();
  }
  switch (mode_) {
    case Mode::None:
      done_ = true;
      return 0;
    case Mode::Length: {
      std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(n, remaining_));
      auto r = io_->read_some(buf, want);
      if (!r) {
        io_->broken = true;
        return fail(std::move(r).error());
      }
      if (*r == 0) {
        io_->broken = true;
        return fail(Errc::DataLoss, "unexpected EOF in body");
      }
      remaining_ -= *r;
      if (remaining_ == 0) done_ = true;
      return *r;
    }
    case Mode::Chunked: {
      auto r = read_chunked(buf, n);
      if (!r) io_->broken = true;
      return r;
    }
    case Mode::UntilClose: {
      auto r = io_->read_some(buf, n);
      if (!r) return r;
      if (*r == 0) done_ = true;
      return *r;
    }
  }
  return 0;
}

Result<std::size_t> BodyReader::read_chunked(char* buf, std::size_t n) {
  while (!in_chunk_) {
    std::string line = TRY(io_->read_line(4096));
    auto semi = line.find(';');
    std::string_view size_s = trim(std::string_view(line).substr(0, semi));
    if (size_s.empty() || size_s.size() > 15) return fail(Errc::InvalidArgument, "bad chunk size");
    std::uint64_t sz = 0;
    for (char c : size_s) {
      int v = hexval(c);
      if (v < 0) return fail(Errc::InvalidArgument, "bad chunk size");
      sz = sz * 16 + static_cast<std::uint64_t>(v);
    }
    if (sz == 0) {
      // trailers until empty line
      for (int i = 0; i < 64; ++i) {
        std::string t = TRY(io_->read_line(8192));
        if (t.empty()) {
          done_ = true;
          return 0;
        }
      }
      return fail(Errc::InvalidArgument, "too many trailers");
    }
    remaining_ = sz;
    in_chunk_ = true;
  }
  std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(n, remaining_));
  std::size_t got = TRY(io_->read_some(buf, want));
  if (got == 0) return fail(Errc::DataLoss, "unexpected EOF in chunk");
  remaining_ -= got;
  if (remaining_ == 0) {
    std::string crlf = TRY(io_->read_line(2));
    if (!crlf.empty()) return fail(Errc::InvalidArgument, "missing CRLF after chunk");
    in_chunk_ = false;
  }
  return got;
}

Result<std::string> BodyReader::read_all(std::size_t max_bytes) {
  std::string out;
  if (auto cl = content_length()) {
    if (*cl > max_bytes) return fail(Errc::InvalidArgument, "body too large");
    out.reserve(static_cast<std::size_t>(*cl));
  }
  char buf[16384];
  while (!done_) {
    std::size_t n = TRY(read(buf, sizeof buf));
    if (n == 0) break;
    if (out.size() + n > max_bytes) return fail(Errc::InvalidArgument, "body too large");
    out.append(buf, n);
  }
  return out;
}

bool BodyReader::drain(std::size_t max_bytes) {
  char buf[16384];
  std::size_t total = 0;
  while (!done_) {
    if (total > max_bytes) return false;
    auto n = read(buf, sizeof buf);
    if (!n) return false;
    if (*n == 0) break;
    total += *n;
  }
  return true;
}

namespace detail {

// ---------- ConnIO ----------

ConnIO::~ConnIO() {
  if (ssl_) {
    SSL_free(ssl_);
    ssl_ = nullptr;
  }
}

static Error ssl_error(std::string_view op) {
  unsigned long e = ERR_get_error();
  char buf[256];
  if (e)
    ERR_error_string_n(e, buf, sizeof buf);
  else
    std::snprintf(buf, sizeof buf, "%s", "unknown error");
  ERR_clear_error();
  return Error(Errc::PermissionDenied, std::string(op) + ": " + buf);
}

Status ConnIO::tls_accept(ssl_ctx_st* ctx) {
  ssl_ = SSL_new(ctx);
  if (!ssl_) return fail(ssl_error("SSL_new"));
  SSL_set_fd(ssl_, fd_.get());
  if (SSL_accept(ssl_) != 1) return fail(ssl_error("tls handshake"));
  return ok();
}

Status ConnIO::tls_connect(ssl_ctx_st* ctx, const std::string& server_name) {
  ssl_ = SSL_new(ctx);
  if (!ssl_) return fail(ssl_error("SSL_new"));
  SSL_set_fd(ssl_, fd_.get());
  if (timeout_ms_ > 0) {
    timeval tv{timeout_ms_ / 1000, (timeout_ms_ % 1000) * 1000};
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  if (!server_name.empty()) {
    SSL_set_tlsext_host_name(ssl_, server_name.c_str());
    SSL_set1_host(ssl_, server_name.c_str());
  }
  if (SSL_connect(ssl_) != 1) return fail(ssl_error("tls handshake"));
  return ok();
}

std::string ConnIO::tls_peer_subject() const {
  if (!ssl_) return {};
  X509* cert = SSL_get1_peer_certificate(ssl_);
  if (!cert) return {};
  char buf[512];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
  X509_free(cert);
  return buf;
}

static Status wait_fd(int fd, short ev, int timeout_ms) {
  if (timeout_ms <= 0) return ok();
  pollfd p{fd, ev, 0};
  for (;;) {
    int r = ::poll(&p, 1, timeout_ms);
    if (r > 0) return ok();
    if (r == 0) return fail(Errc::Unavailable, "i/o timeout");
    if (errno != EINTR) return fail_errno("poll");
  }
}

Result<std::size_t> ConnIO::read_raw(char* buf, std::size_t n) {
  if (ssl_) {
    for (;;) {
      TRY(wait_fd(fd_.get(), POLLIN, SSL_pending(ssl_) > 0 ? 0 : timeout_ms_));
      int r = SSL_read(ssl_, buf, static_cast<int>(std::min<std::size_t>(n, 1 << 30)));
      if (r > 0) return static_cast<std::size_t>(r);
      int e = SSL_get_error(ssl_, r);
      if (e == SSL_ERROR_ZERO_RETURN) return 0;
      if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) return 0;  // EOF without close_notify
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) continue;
      return fail(ssl_error("tls read"));
    }
  }
  for (;;) {
    TRY(wait_fd(fd_.get(), POLLIN, timeout_ms_));
    ssize_t r = ::read(fd_.get(), buf, n);
    if (r >= 0) return static_cast<std::size_t>(r);
    if (errno == EINTR) continue;
    if (errno == ECONNRESET) return 0;
    return fail_errno("read");
  }
}

Status ConnIO::fill() {
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > 65536) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  std::size_t old = buf_.size();
  buf_.resize(old + 16384);
  auto r = read_raw(buf_.data() + old, 16384);
  if (!r) {
    buf_.resize(old);
    return fail(std::move(r).error());
  }
  buf_.resize(old + *r);
  if (*r == 0) return fail(Errc::Unavailable, "connection closed");
  return ok();
}

Result<std::size_t> ConnIO::read_some(char* buf, std::size_t n) {
  if (pos_ < buf_.size()) {
    std::size_t k = std::min(n, buf_.size() - pos_);
    std::memcpy(buf, buf_.data() + pos_, k);
    pos_ += k;
    if (pos_ == buf_.size()) {
      buf_.clear();
      pos_ = 0;
    }
    return k;
  }
  return read_raw(buf, n);
}

Result<std::string> ConnIO::read_head(std::size_t max) {
  std::size_t scan_from = pos_;
  for (;;) {
    std::string_view v(buf_);
    auto e = v.find("\r\n\r\n", scan_from);
    if (e != std::string_view::npos) {
      if (e + 4 - pos_ > max) return fail(Errc::InvalidArgument, "header too large");
      std::string head(v.substr(pos_, e + 4 - pos_));
      pos_ = e + 4;
      if (pos_ == buf_.size()) {
        buf_.clear();
        pos_ = 0;
      }
      return head;
    }
    if (buf_.size() - pos_ > max) return fail(Errc::InvalidArgument, "header too large");
    // A TLS ClientHello (record type 0x16) on a plain-HTTP connection: fail at once, so a client
    // probing https first (docker, skopeo) sees the connection close and falls back to http
    // instead of waiting out its handshake timeout.
    if (buf_.size() > pos_ && static_cast<unsigned char>(buf_[pos_]) == 0x16 && !is_tls())
      return fail(Errc::InvalidArgument, "TLS handshake on a plain HTTP connection");
    scan_from = buf_.size() >= 3 ? std::max(pos_, buf_.size() - 3) : pos_;
    bool empty = pos_ == buf_.size();
    std::size_t before_pos = pos_;
    auto st = fill();
    // fill() may have compacted the buffer
    if (pos_ != before_pos) scan_from = pos_;
    if (!st) {
      if (empty && st.error().is(Errc::Unavailable)) return fail(Errc::NotFound, "eof");
      return fail(std::move(st).error());
    }
  }
}

Result<std::string> ConnIO::read_line(std::size_t max) {
  for (;;) {
    std::string_view v(buf_);
    auto e = v.find("\r\n", pos_);
    if (e != std::string_view::npos) {
      std::string line(v.substr(pos_, e - pos_));
      pos_ = e + 2;
      return line;
    }
    if (buf_.size() - pos_ > max + 2) return fail(Errc::InvalidArgument, "line too long");
    TRY(fill());
  }
}

Status ConnIO::write_all(std::string_view data) {
  while (!data.empty()) {
    if (ssl_) {
      int r = SSL_write(ssl_, data.data(), static_cast<int>(std::min<std::size_t>(data.size(), 1 << 30)));
      if (r <= 0) {
        int e = SSL_get_error(ssl_, r);
        if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) continue;
        broken = true;
        return fail(ssl_error("tls write"));
      }
      data.remove_prefix(static_cast<std::size_t>(r));
      continue;
    }
    ssize_t r = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOTSOCK) {
        r = ::write(fd_.get(), data.data(), data.size());
        if (r < 0 && errno == EINTR) continue;
      }
      if (r < 0) {
        broken = true;
        return fail_errno("write");
      }
    }
    data.remove_prefix(static_cast<std::size_t>(r));
  }
  return ok();
}

Status ConnIO::writev_all(struct iovec* iov, int n) {
  if (ssl_) {
    for (int i = 0; i < n; ++i)
      TRY(write_all(std::string_view(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len)));
    return ok();
  }
  while (n > 0) {
    msghdr m{};
    m.msg_iov = iov;
    m.msg_iovlen = static_cast<std::size_t>(n);
    ssize_t r = ::sendmsg(fd_.get(), &m, MSG_NOSIGNAL);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOTSOCK) {
        r = ::writev(fd_.get(), iov, n);
        if (r < 0 && errno == EINTR) continue;
      }
      if (r < 0) {
        broken = true;
        return fail_errno("writev");
      }
    }
    auto left = static_cast<std::size_t>(r);
    while (n > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      ++iov;
      --n;
    }
    if (n > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
  return ok();
}

Status ConnIO::send_file(int fd, std::uint64_t offset, std::uint64_t length) {
  if (!ssl_) {
    auto off = static_cast<off_t>(offset);
    while (length > 0) {
      ssize_t r = ::sendfile(fd_.get(), fd, &off, static_cast<std::size_t>(std::min<std::uint64_t>(length, 1u << 30)));
      if (r < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        if (errno == EINVAL || errno == ENOSYS) break;  // fall back to read/write
        broken = true;
        return fail_errno("sendfile");
      }
      if (r == 0) {
        broken = true;
        return fail(Errc::DataLoss, "file shorter than range");
      }
      length -= static_cast<std::uint64_t>(r);
    }
    offset = static_cast<std::uint64_t>(off);
    if (length == 0) return ok();
  }
  std::string buf(std::min<std::uint64_t>(length, 1u << 16), '\0');
  while (length > 0) {
    ssize_t r = ::pread(fd, buf.data(), static_cast<std::size_t>(std::min<std::uint64_t>(length, buf.size())),
                        static_cast<off_t>(offset));
    if (r < 0) {
      if (errno == EINTR) continue;
      broken = true;
      return fail_errno("pread");
    }
    if (r == 0) {
      broken = true;
      return fail(Errc::DataLoss, "file shorter than range");
    }
    TRY(write_all(std::string_view(buf.data(), static_cast<std::size_t>(r))));
    offset += static_cast<std::uint64_t>(r);
    length -= static_cast<std::uint64_t>(r);
  }
  return ok();
}

std::string ConnIO::take_buffered() {
  std::string s = buf_.substr(pos_);
  buf_.clear();
  pos_ = 0;
  return s;
}

void ConnIO::shutdown_write() {
  if (ssl_) SSL_shutdown(ssl_);
  ::shutdown(fd_.get(), SHUT_WR);
}

// ---------- parsing ----------

static bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("!#$%&'*+-.^_`|~", c);
}

Result<Head> parse_head(std::string_view raw) {
  Head h;
  auto eol = raw.find("\r\n");
  if (eol == std::string_view::npos) return fail(Errc::InvalidArgument, "malformed request line");
  std::string_view first = raw.substr(0, eol);
  auto sp1 = first.find(' ');
  if (sp1 == std::string_view::npos) return fail(Errc::InvalidArgument, "malformed start line");
  auto sp2 = first.find(' ', sp1 + 1);
  h.line0_a = std::string(first.substr(0, sp1));
  if (sp2 == std::string_view::npos) {
    h.line0_b = std::string(first.substr(sp1 + 1));
  } else {
    h.line0_b = std::string(first.substr(sp1 + 1, sp2 - sp1 - 1));
    h.line0_c = std::string(first.substr(sp2 + 1));
  }
  std::size_t p = eol + 2;
  while (p < raw.size()) {
    auto e = raw.find("\r\n", p);
    if (e == std::string_view::npos) return fail(Errc::InvalidArgument, "malformed header");
    std::string_view line = raw.substr(p, e - p);
    p = e + 2;
    if (line.empty()) break;
    if (line[0] == ' ' || line[0] == '\t') return fail(Errc::InvalidArgument, "obsolete line folding");
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0)
      return fail(Errc::InvalidArgument, "malformed header line");
    std::string_view name = line.substr(0, colon);
    for (char c : name)
      if (!is_token_char(c)) return fail(Errc::InvalidArgument, "invalid header name");
    h.headers.add(std::string(name), std::string(trim(line.substr(colon + 1))));
  }
  return h;
}

Status setup_body(BodyReader& b, ConnIO* io, const Headers& h, bool is_request, bool no_body) {
  b = BodyReader();
  b.io_ = io;
  if (no_body) return ok();
  auto te = h.get("Transfer-Encoding");
  auto cl = h.get("Content-Length");
  if (te) {
    if (cl) return fail(Errc::InvalidArgument, "both Transfer-Encoding and Content-Length");
    if (!h.has_token("Transfer-Encoding", "chunked"))
      return fail(Errc::InvalidArgument, "unsupported transfer encoding");
    b.mode_ = BodyReader::Mode::Chunked;
    b.done_ = false;
    return ok();
  }
  if (cl) {
    // Several identical Content-Length values would be legal; we accept only one.
    int count = 0;
    for (const auto& [k, v] : h.list())
      if (iequals(k, "Content-Length")) ++count;
    if (count > 1) return fail(Errc::InvalidArgument, "multiple Content-Length");
    for (char c : *cl)
      if (c < '0' || c > '9') return fail(Errc::InvalidArgument, "invalid Content-Length");
    auto n = parse_uint(*cl);
    if (!n) return fail(Errc::InvalidArgument, "invalid Content-Length");
    b.mode_ = BodyReader::Mode::Length;
    b.length_ = b.remaining_ = *n;
    b.done_ = *n == 0;
    return ok();
  }
  if (is_request) return ok();
  b.mode_ = BodyReader::Mode::UntilClose;
  b.done_ = false;
  return ok();
}

// ---------- TLS contexts ----------

ssl_ctx_st* make_server_ctx(const TlsServerConfig& cfg, Error* err) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) {
    *err = ssl_error("SSL_CTX_new");
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(ctx, cfg.cert_file.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, cfg.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    *err = ssl_error("load server certificate " + cfg.cert_file);
    SSL_CTX_free(ctx);
    return nullptr;
  }
  if (!cfg.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, cfg.ca_file.c_str(), nullptr) != 1) {
      *err = ssl_error("load CA " + cfg.ca_file);
      SSL_CTX_free(ctx);
      return nullptr;
    }
    int mode = SSL_VERIFY_PEER;
    if (cfg.require_client_cert) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, mode, nullptr);
  }
  return ctx;
}

ssl_ctx_st* make_client_ctx(const ClientOptions& o, Error* err) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) {
    *err = ssl_error("SSL_CTX_new");
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (!o.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, o.ca_file.c_str(), nullptr) != 1) {
      *err = ssl_error("load CA " + o.ca_file);
      SSL_CTX_free(ctx);
      return nullptr;
    }
  } else {
    SSL_CTX_set_default_verify_paths(ctx);
  }
  if (!o.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, o.cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      *err = ssl_error("load client certificate " + o.cert_file);
      SSL_CTX_free(ctx);
      return nullptr;
    }
  }
  SSL_CTX_set_verify(ctx, o.insecure_skip_verify ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, nullptr);
  return ctx;
}

void free_ctx(ssl_ctx_st* ctx) {
  if (ctx) SSL_CTX_free(ctx);
}

}  // namespace detail
}  // namespace berth::http
