// SPDX-License-Identifier: Apache-2.0
// HTTP/1.1 server and client over unix sockets and TCP (optional TLS), for the Engine API
// (berthd), the registry and the CLI. No Boost or OpenSSL in this header: the implementation
// is a hand-written parser over a buffered transport (src/http/io.hpp, private).
//
// Server model: one thread per connection, keep-alive, one Handler call per request.
//   http::Router r;
//   r.add("GET", "/containers/{id}/json", [](http::Request& q, http::ResponseWriter& w) {
//     w.send(200, R"({"Id":")" + q.param("id") + "\"}", "application/json");
//   });
//   http::Server s(r.handler());
//   TRY(s.listen_unix("/run/berth.sock", 0660));
//   TRY(s.start());
//
// Request bodies are streams: a handler pulls them with req.body().read()/read_all(max).
// Whatever the handler leaves unread is drained (up to 1 MiB) or the connection is closed.
// Responses: send() (Content-Length), begin_stream()/write()/end_stream() (chunked),
// send_file() (sendfile(2) of a file range), hijack() (raw fd after "101 UPGRADED" or 200).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace berth::http {

class Headers;
class BodyReader;
namespace detail {
class ConnIO;
Result<void> setup_body(BodyReader& b, ConnIO* io, const Headers& h, bool is_request, bool no_body);
}  // namespace detail

// Ordered header list with case-insensitive lookup.
class Headers {
 public:
  using List = std::vector<std::pair<std::string, std::string>>;
  Headers() = default;
  Headers(std::initializer_list<std::pair<std::string, std::string>> l) : list_(l) {}
  void add(std::string name, std::string value) { list_.emplace_back(std::move(name), std::move(value)); }
  // Replaces every header of that name.
  void set(std::string_view name, std::string value);
  void remove(std::string_view name);
  std::optional<std::string_view> get(std::string_view name) const;
  // "" when absent.
  std::string value(std::string_view name) const;
  bool has(std::string_view name) const { return get(name).has_value(); }
  // True if a comma-separated header (Connection, Upgrade) holds `token` (case-insensitive).
  bool has_token(std::string_view name, std::string_view token) const;
  const List& list() const { return list_; }
  bool empty() const { return list_.empty(); }

 private:
  List list_;
};

bool iequals(std::string_view a, std::string_view b);
// Percent-decoding ('+' becomes ' ' when form is true). Invalid escapes are kept as is.
std::string url_decode(std::string_view s, bool form = false);
std::string url_encode(std::string_view s);
// "a=1&b=x%20y" -> ordered pairs.
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view q);
std::string_view status_text(int status);

// A message body read as a stream. Content-Length, chunked or until-close framing.
class BodyReader {
 public:
  enum class Mode : std::uint8_t { None, Length, Chunked, UntilClose };
  BodyReader() = default;
  // Reads up to n bytes; 0 at the end of the body.
  Result<std::size_t> read(char* buf, std::size_t n);
  // Reads the rest; InvalidArgument "body too large" past max_bytes.
  Result<std::string> read_all(std::size_t max_bytes = 64u << 20);
  // Reads and drops the rest, up to max_bytes; false if more remained (or an error).
  bool drain(std::size_t max_bytes);
  bool done() const { return done_; }
  Mode mode() const { return mode_; }
  // The declared Content-Length, if any.
  std::optional<std::uint64_t> content_length() const {
    return mode_ == Mode::Length ? std::optional<std::uint64_t>(length_) : std::nullopt;
  }

 private:
  friend class detail::ConnIO;
  friend Result<void> detail::setup_body(BodyReader&, detail::ConnIO*, const Headers&, bool, bool);
  friend class Server;
  friend class Client;
  friend class StreamResponse;
  Result<std::size_t> read_chunked(char* buf, std::size_t n);

  detail::ConnIO* io_ = nullptr;
  Mode mode_ = Mode::None;
  bool done_ = true;
  std::uint64_t length_ = 0;
  std::uint64_t remaining_ = 0;  // Length: bytes left; Chunked: bytes left in current chunk
  bool in_chunk_ = false;
  std::function<void()> before_first_read_;  // sends "100 Continue"
};

struct PeerCred {
  pid_t pid = -1;
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
};

struct Request {
  std::string method;
  std::string target;  // as received: "/v1.47/containers/json?all=1"
  std::string path;    // decoded path without query: "/v1.47/containers/json"
  std::string query;   // raw query without '?'
  int version_minor = 1;  // HTTP/1.x
  Headers headers;
  // Path parameters filled by Router ("{id}" -> params["id"]).
  std::unordered_map<std::string, std::string> params;
  std::optional<PeerCred> peer;  // unix sockets only
  std::string remote;            // "unix" or "ip:port"
  bool tls = false;
  std::string tls_client_subject;  // verified client certificate subject (mutual TLS)

  BodyReader& body() { return body_; }
  // Path parameter; "" if absent.
  const std::string& param(const std::string& name) const;
  // First query value of `name` (decoded); nullopt if absent.
  std::optional<std::string> query_value(std::string_view name) const;
  // All values of `name`.
  std::vector<std::string> query_values(std::string_view name) const;
  // Docker-style boolean query parameter: absent -> def; "", "0", "false", "no" -> false.
  bool query_bool(std::string_view name, bool def = false) const;
  // Wants an upgrade ("Connection: Upgrade")
  bool wants_upgrade() const { return headers.has_token("Connection", "upgrade"); }

  BodyReader body_;
  mutable std::optional<std::vector<std::pair<std::string, std::string>>> query_cache_;
};

struct Hijacked {
  UniqueFd fd;           // raw bidirectional connection
  std::string pending;   // bytes already read past the request (stdin data sent early)
};

class ResponseWriter {
 public:
  // Headers sent with the response (set before the first send/begin_stream/hijack).
  Headers& headers() { return headers_; }
  void set_header(std::string_view name, std::string value) { headers_.set(name, std::move(value)); }

  // Whole response with Content-Length. content_type empty: none set (unless already in headers).
  Status send(int status, std::string_view body = {}, std::string_view content_type = {});
  // Chunked response (HTTP/1.1) or close-delimited (HTTP/1.0); each write() is sent at once.
  Status begin_stream(int status, std::string_view content_type = {});
  Status write(std::string_view data);
  Status end_stream();
  // Sends `length` bytes of fd from offset with Content-Length (sendfile(2) on plain sockets).
  Status send_file(int status, int fd, std::uint64_t offset, std::uint64_t length,
                   std::string_view content_type = {});
  // Writes the status line + headers (status 101 adds "Connection: Upgrade" and
  // "Upgrade: tcp" and the reason "UPGRADED") and hands over the raw connection. The server
  // does not touch it afterwards. Not supported on TLS connections.
  Result<Hijacked> hijack(int status = 101);
  // Hands over the raw connection without writing anything: the caller writes its own response
  // (a websocket handshake answer). Not supported on TLS connections.
  Result<Hijacked> hijack_raw();

  bool started() const { return started_; }
  int status() const { return status_; }
  // Non-blocking check whether the peer closed/shut down its side (for long streams).
  bool peer_closed() const;
  // Closes the connection after this response.
  void close_after() { close_ = true; }

 private:
  friend class Server;
  Status write_head(int status, std::string_view reason, std::optional<std::uint64_t> length,
                    bool chunked);
  detail::ConnIO* io_ = nullptr;
  Headers headers_;
  int status_ = 0;
  bool started_ = false;
  bool finished_ = false;
  bool chunked_ = false;
  bool head_ = false;       // HEAD request: no body bytes
  bool close_ = false;      // Connection: close after this response
  bool hijacked_ = false;
  int version_minor_ = 1;
};

using Handler = std::function<void(Request&, ResponseWriter&)>;

// Method + path-pattern router. Patterns: "/containers/{id}/start"; a final "{name*}"
// matches the rest of the path including slashes ("/v2/{name*}" ).
class Router {
 public:
  void add(std::string method, std::string pattern, Handler h);
  // Called when nothing matches: default 404 {"message":"page not found"}.
  void set_not_found(Handler h) { not_found_ = std::move(h); }
  // Called when the path matches but not the method: default 405.
  void set_method_not_allowed(Handler h) { method_not_allowed_ = std::move(h); }
  // Dispatches on req.path (callers may rewrite it first, e.g. strip "/v1.47").
  void dispatch(Request& req, ResponseWriter& w) const;
  // Matches without dispatching; fills params. Returns null if none.
  const Handler* match(Request& req, bool* path_matched = nullptr) const;
  Handler handler() const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segs;
    Handler h;
  };
  std::vector<Route> routes_;
  Handler not_found_, method_not_allowed_;
};

struct TlsServerConfig {
  std::string cert_file;
  std::string key_file;
  std::string ca_file;          // verify client certificates against this CA
  bool require_client_cert = true;  // with ca_file: mutual TLS
};

struct ServerOptions {
  std::size_t max_header_bytes = 64 * 1024;
  std::size_t max_connections = 4096;
  std::size_t drain_limit = 1u << 20;
};

class Server {
 public:
  explicit Server(Handler h, ServerOptions o = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds a unix socket (replacing a stale socket file), chmod mode, chown to gid if != -1.
  Status listen_unix(const std::string& path, mode_t mode = 0660, gid_t gid = static_cast<gid_t>(-1));
  // Binds host:port (port 0: any); returns the bound port.
  Result<std::uint16_t> listen_tcp(const std::string& host, std::uint16_t port,
                                   const TlsServerConfig* tls = nullptr);
  // Serves an already listening socket.
  Status listen_fd(UniqueFd fd);
  // Starts one accept thread per listener; returns at once.
  Status start();
  // Closes listeners, shuts down open connections, waits for connection threads.
  void stop();
  // Serves one already-connected socket on the calling thread until it closes (tests).
  void serve_connection(UniqueFd fd);
  std::size_t active_connections() const;
  // Returns once no connection is open (true), or after `limit` (false).
  bool wait_idle(std::chrono::milliseconds limit) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---- client ----

struct Response {
  int status = 0;
  Headers headers;
  std::string body;
  std::string header(std::string_view name) const { return headers.value(name); }
};

struct ClientOptions {
  // One of: unix socket path, or host+port.
  std::string unix_path;
  std::string host;
  std::uint16_t port = 0;
  bool tls = false;
  std::string ca_file, cert_file, key_file;  // TLS trust and client certificate
  bool insecure_skip_verify = false;
  int timeout_ms = 0;  // connect + per-read timeout; 0 = none
  std::string host_header;  // default: "localhost" for unix, host:port for tcp
};

// A response whose body is read incrementally; owns the connection.
class StreamResponse {
 public:
  StreamResponse();
  StreamResponse(StreamResponse&&) noexcept;
  StreamResponse& operator=(StreamResponse&&) noexcept;
  ~StreamResponse();
  int status = 0;
  Headers headers;
  BodyReader& body() { return body_; }
  // Underlying fd (for poll); -1 if none.
  int fd() const;

 private:
  friend class Client;
  std::unique_ptr<detail::ConnIO> io_;
  BodyReader body_;
};

struct ClientHijacked {
  int status = 0;
  Headers headers;
  UniqueFd fd;
  std::string pending;  // bytes read past the response head
};

// Body source for streaming uploads: fills buf, returns bytes (0 = end).
using BodySource = std::function<Result<std::size_t>(char* buf, std::size_t n)>;

class Client {
 public:
  explicit Client(ClientOptions o);
  // "unix:///path", "tcp://h:p", "http://h:p", "https://h:p"
  static Result<Client> from_url(std::string_view url);
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  ~Client();

  // Reuses the keep-alive connection when possible. The response body is read whole.
  Result<Response> request(std::string_view method, std::string_view target,
                           std::string_view body = {}, const Headers& headers = {},
                           std::size_t max_body = 256u << 20);
  // Request with a chunked streaming body.
  Result<Response> request_stream_body(std::string_view method, std::string_view target,
                                       const BodySource& src, const Headers& headers = {});
  // Response body streamed: uses a fresh connection owned by the StreamResponse.
  Result<StreamResponse> stream(std::string_view method, std::string_view target,
                                std::string_view body = {}, const Headers& headers = {});
  // Sends "Connection: Upgrade", "Upgrade: tcp"; returns the raw socket after the head (101 or
  // 2xx). Error responses (>= 300) come back as a Response in the error message... see below.
  // On status >= 300 the body is read and returned in `pending` with fd closed.
  Result<ClientHijacked> hijack(std::string_view method, std::string_view target,
                                std::string_view body = {}, const Headers& headers = {});
  const ClientOptions& options() const { return opts_; }

 private:
  Result<std::unique_ptr<detail::ConnIO>> connect() const;
  ClientOptions opts_;
  std::unique_ptr<detail::ConnIO> idle_;
};

}  // namespace berth::http
