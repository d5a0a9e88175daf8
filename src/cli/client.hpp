// SPDX-License-Identifier: Apache-2.0
// The CLI's view of the daemon connection: plain requests, streamed bodies and hijacked
// (upgraded) connections for attach/exec. Requests go to "/v1.47<path>" like the docker CLI.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace berth::cli {

inline constexpr const char* kApiVersion = "1.47";

using Headers = std::vector<std::pair<std::string, std::string>>;

// unix:///path, tcp://host:port (or host:port), ssh://[user@]host[:port], fd://
struct Endpoint {
  enum Kind { Unix, Tcp, Ssh } kind = Unix;
  std::string path;  // Unix
  std::string host;  // Tcp / Ssh
  int port = 0;
  std::string user;  // Ssh
  bool tls = false;
  std::string ca_cert, cert, key;  // TLS files (tcp)
  std::string original;            // as given
};
Result<Endpoint> parse_endpoint(std::string_view host);

struct Response {
  int status = 0;
  Headers headers;
  std::string body;
  std::string header(std::string_view name) const;  // case-insensitive; "" if absent
};

struct Hijacked {
  UniqueFd fd;          // the raw connection (bidirectional)
  std::string pending;  // bytes read past the response head
  bool upgraded = false;
};

class Client {
 public:
  virtual ~Client() = default;
  // Full request; the body is read completely.
  virtual Result<Response> request(std::string_view method, std::string_view path,
                                   std::string_view body = {}, const Headers& headers = {}) = 0;
  // Streams the (de-chunked) body to on_data; returning false from on_data stops reading.
  // The returned Response has an empty body, except for error statuses (>= 400): their body is
  // not streamed but returned in Response.body.
  virtual Result<Response> stream(std::string_view method, std::string_view path,
                                  std::string_view body, const Headers& headers,
                                  const std::function<bool(std::string_view)>& on_data) = 0;
  // Sends the request with "Connection: Upgrade, Upgrade: tcp" and returns the raw socket once
  // the head (101 or 200) has been read. Non-2xx answers come back as an Error.
  virtual Result<Hijacked> hijack(std::string_view method, std::string_view path,
                                  std::string_view body, const Headers& headers) = 0;
  // Request body read from a file descriptor (load, import, cp to container); streamed.
  virtual Result<Response> upload(std::string_view method, std::string_view path, int body_fd,
                                  const Headers& headers,
                                  const std::function<bool(std::string_view)>& on_data) = 0;
};

std::unique_ptr<Client> make_client(const Endpoint& ep);

// "Error response from daemon: <message>" from a JSON error body ({"message": ...}).
Error daemon_error(const Response& r);

}  // namespace berth::cli
