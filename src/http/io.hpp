// SPDX-License-Identifier: Apache-2.0
// Private to src/http: a buffered connection over a plain socket or an OpenSSL session.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "http/http.hpp"

struct ssl_st;
struct ssl_ctx_st;

namespace berth::http::detail {

class ConnIO {
 public:
  explicit ConnIO(UniqueFd fd) : fd_(std::move(fd)) {}
  ~ConnIO();
  ConnIO(const ConnIO&) = delete;
  ConnIO& operator=(const ConnIO&) = delete;

  // TLS handshake as server (ctx verifies clients if configured) or client.
  Status tls_accept(ssl_ctx_st* ctx);
  Status tls_connect(ssl_ctx_st* ctx, const std::string& server_name);
  bool is_tls() const { return ssl_ != nullptr; }
  std::string tls_peer_subject() const;

  int fd() const { return fd_.get(); }
  UniqueFd release_fd() { return std::move(fd_); }
  void set_timeout_ms(int ms) { timeout_ms_ = ms; }

  // Raw read from the transport (ignores the buffer); 0 on EOF.
  Result<std::size_t> read_raw(char* buf, std::size_t n);
  // Reads from the buffer first, then the transport.
  Result<std::size_t> read_some(char* buf, std::size_t n);
  // Reads a message head up to and including "\r\n\r\n"; fails (InvalidArgument "too large")
  // past max bytes; NotFound on clean EOF before any byte.
  Result<std::string> read_head(std::size_t max);
  // Reads one CRLF-terminated line (without CRLF), at most max bytes.
  Result<std::string> read_line(std::size_t max);
  Status write_all(std::string_view data);
  Status writev_all(struct iovec* iov, int n);
  Status send_file(int fd, std::uint64_t offset, std::uint64_t length);

  // Buffered bytes not consumed yet.
  std::string take_buffered();
  bool has_buffered() const { return pos_ < buf_.size(); }
  void shutdown_write();

  bool broken = false;  // an I/O error or framing error happened: do not reuse

 private:
  Status fill();  // reads more into buf_ (fails with Unavailable on EOF)
  UniqueFd fd_;
  ssl_st* ssl_ = nullptr;
  std::string buf_;
  std::size_t pos_ = 0;
  int timeout_ms_ = 0;
};

// Parses "HTTP/1.1 200 OK\r\nA: b\r\n...\r\n\r\n" or a request head.
struct Head {
  std::string line0_a, line0_b, line0_c;  // method target version | version status reason
  Headers headers;
};
Result<Head> parse_head(std::string_view raw);

// Sets up body framing for a message with these headers.
Status setup_body(BodyReader& b, ConnIO* io, const Headers& h, bool is_request, bool no_body);

ssl_ctx_st* make_server_ctx(const TlsServerConfig& cfg, Error* err);
ssl_ctx_st* make_client_ctx(const ClientOptions& o, Error* err);
void free_ctx(ssl_ctx_st* ctx);

}  // namespace berth::http::detail
