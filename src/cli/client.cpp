// SPDX-License-Identifier: Apache-2.0
// cli::Client on top of http::Client. Every path gets the "/v1.47" prefix; connection
// failures become docker's "Cannot connect to the ... daemon" message.
#include "cli/client.hpp"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cli/ssh_bridge.hpp"
#include "common/strings.hpp"
#include "http/http.hpp"

namespace berth::cli {

Result<Endpoint> parse_endpoint(std::string_view host) {
  Endpoint ep;
  ep.original = std::string(host);
  std::string h(trim(host));
  if (h.rfind("unix://", 0) == 0) {
    ep.kind = Endpoint::Unix;
    ep.path = h.substr(7);
    if (ep.path.empty()) return fail(Errc::InvalidArgument, "invalid bind address (" + h + "): empty path");
    return ep;
  }
  if (h.rfind("ssh://", 0) == 0) {
    ep.kind = Endpoint::Ssh;
    std::string rest = h.substr(6);
    if (auto at = rest.find('@'); at != std::string::npos) {
      ep.user = rest.substr(0, at);
      rest = rest.substr(at + 1);
    }
    if (auto slash = rest.find('/'); slash != std::string::npos) rest = rest.substr(0, slash);
    if (auto colon = rest.rfind(':'); colon != std::string::npos) {
      auto p = parse_uint(rest.substr(colon + 1));
      if (!p) return fail(Errc::InvalidArgument, "invalid ssh port in " + h);
      ep.port = static_cast<int>(*p);
      rest = rest.substr(0, colon);
    }
    if (rest.empty()) return fail(Errc::InvalidArgument, "no host specified in " + h);
    ep.host = rest;
    return ep;
  }
  std::string hp = h;
  if (hp.rfind("tcp://", 0) == 0) hp = hp.substr(6);
  else if (hp.rfind("http://", 0) == 0) hp = hp.substr(7);
  else if (hp.rfind("https://", 0) == 0) {
    hp = hp.substr(8);
    ep.tls = true;
  } else if (hp.find("://") != std::string::npos) {
    return fail(Errc::InvalidArgument, "invalid bind address format: " + h);
  }
  if (auto slash = hp.find('/'); slash != std::string::npos) hp = hp.substr(0, slash);
  ep.kind = Endpoint::Tcp;
  auto colon = hp.rfind(':');
  if (colon == std::string::npos || (hp[0] == '[' && hp.back() == ']')) {
    ep.host = hp;
    ep.port = ep.tls ? 2376 : 2375;
  } else {
    ep.host = hp.substr(0, colon);
    auto p = parse_uint(hp.substr(colon + 1));
    if (!p || *p > 65535) return fail(Errc::InvalidArgument, "invalid bind address format: " + h);
    ep.port = static_cast<int>(*p);
  }
  if (!ep.host.empty() && ep.host.front() == '[') ep.host = ep.host.substr(1, ep.host.size() - 2);
  if (ep.host.empty()) ep.host = "127.0.0.1";
  return ep;
}

std::string Response::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (to_lower(k) == to_lower(name)) return v;
  return "";
}

Error daemon_error(const Response& r) {
  std::string msg;
  try {
    auto j = nlohmann::json::parse(r.body);
    if (j.is_object() && j.contains("message") && j["message"].is_string()) msg = j["message"].get<std::string>();
  } catch (...) {
  }
  if (msg.empty()) msg = std::string(trim(r.body));
  if (msg.empty()) msg = std::string(http::status_text(r.status));
  Errc c = r.status == 404   ? Errc::NotFound
           : r.status == 409 ? Errc::Conflict
           : r.status == 400 ? Errc::InvalidArgument
           : r.status == 403 || r.status == 401 ? Errc::PermissionDenied
           : r.status == 501 ? Errc::Unimplemented
                             : Errc::Internal;
  return Error(c, "Error response from daemon: " + msg);
}

namespace {

std::string display(const Endpoint& ep) {
  if (ep.kind == Endpoint::Unix) return "unix://" + ep.path;
  if (ep.kind == Endpoint::Ssh) return ep.original;
  return "tcp://" + ep.host + ":" + std::to_string(ep.port);
}

Headers convert(const http::Headers& h) {
  Headers out;
  for (const auto& kv : h.list()) out.push_back(kv);
  return out;
}

http::Headers convert(const Headers& h) {
  http::Headers out;
  for (const auto& [k, v] : h) out.add(k, v);
  return out;
}

class HttpClient final : public Client {
 public:
  HttpClient(const Endpoint& ep, http::ClientOptions o) : ep_(ep), c_(std::move(o)) {}
  HttpClient(const Endpoint& ep, http::ClientOptions o, std::unique_ptr<SshBridge> bridge)
      : ep_(ep), c_(std::move(o)), bridge_(std::move(bridge)) {}

  Result<Response> request(std::string_view method, std::string_view path, std::string_view body,
                           const Headers& headers) override {
    auto r = c_.request(method, target(path), body, with_defaults(headers));
    if (!r) return fail(conn_error(r.error()));
    return Response{r->status, convert(r->headers), std::move(r->body)};
  }

  Result<Response> stream(std::string_view method, std::string_view path, std::string_view body,
                          const Headers& headers,
                          const std::function<bool(std::string_view)>& on_data) override {
    auto r = c_.stream(method, target(path), body, with_defaults(headers));
    if (!r) return fail(conn_error(r.error()));
    return drain(*r, on_data);
  }

  Result<Hijacked> hijack(std::string_view method, std::string_view path, std::string_view body,
                          const Headers& headers) override {
    auto r = c_.hijack(method, target(path), body, with_defaults(headers));
    if (!r) return fail(conn_error(r.error()));
    if (r->status >= 300) {
      Response resp{r->status, convert(r->headers), std::move(r->pending)};
      return fail(daemon_error(resp));
    }
    Hijacked h;
    h.fd = std::move(r->fd);
    h.pending = std::move(r->pending);
    h.upgraded = r->status == 101;
    return h;
  }

  Result<Response> upload(std::string_view method, std::string_view path, int body_fd,
                          const Headers& headers,
                          const std::function<bool(std::string_view)>& on_data) override {
    http::BodySource src = [body_fd](char* buf, std::size_t n) -> Result<std::size_t> {
      for (;;) {
        ssize_t k = ::read(body_fd, buf, n);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return fail_errno("read");
        return static_cast<std::size_t>(k);
      }
    };
    auto r = c_.request_stream_body(method, target(path), src, with_defaults(headers));
    if (!r) return fail(conn_error(r.error()));
    Response out{r->status, convert(r->headers), {}};
    if (r->status >= 400) {
      out.body = std::move(r->body);
      return out;
    }
    if (!r->body.empty()) on_data(r->body);
    return out;
  }

 private:
  std::string target(std::string_view path) const {
    return std::string("/v") + kApiVersion + std::string(path);
  }
  http::Headers with_defaults(const Headers& h) const {
    http::Headers out = convert(h);
    if (!out.has("User-Agent")) out.add("User-Agent", "berth-cli/" BERTH_VERSION_STRING);
    return out;
  }
  Error conn_error(const Error& e) const {
    // Errors from connect(): the daemon is not there.
    const std::string& m = e.message();
    if (m.find("connect") != std::string::npos || e.is(Errc::NotFound) || e.is(Errc::Unavailable) ||
        e.sys_errno() == ECONNREFUSED || e.sys_errno() == ENOENT)
      return Error(Errc::Unavailable,
                   "Cannot connect to the berth daemon at " + display(ep_) + ". Is the daemon running?");
    return Error(e.code(), "error during connect: " + m, e.sys_errno());
  }
  Result<Response> drain(http::StreamResponse& r, const std::function<bool(std::string_view)>& on_data) {
    Response out{r.status, convert(r.headers), {}};
    if (r.status >= 400) {
      auto b = r.body().read_all(1 << 20);
      if (b) out.body = std::move(*b);
      return out;
    }
    char buf[65536];
    for (;;) {
      auto n = r.body().read(buf, sizeof buf);
      if (!n) return fail(std::move(n).error());
      if (*n == 0) break;
      if (!on_data(std::string_view(buf, *n))) break;
    }
    return out;
  }

  Endpoint ep_;
  http::Client c_;
  std::unique_ptr<SshBridge> bridge_;
};

}  // namespace

std::unique_ptr<Client> make_client(const Endpoint& ep) {
  http::ClientOptions o;
  if (ep.kind == Endpoint::Unix) {
    o.unix_path = ep.path;
    return std::make_unique<HttpClient>(ep, std::move(o));
  }
  if (ep.kind == Endpoint::Tcp) {
    o.host = ep.host;
    o.port = static_cast<std::uint16_t>(ep.port);
    o.tls = ep.tls;
    o.ca_file = ep.ca_cert;
    o.cert_file = ep.cert;
    o.key_file = ep.key;
    return std::make_unique<HttpClient>(ep, std::move(o));
  }
  auto bridge = SshBridge::start(ep);
  if (!bridge) return nullptr;
  o.unix_path = (*bridge)->socket_path();
  return std::make_unique<HttpClient>(ep, std::move(o), std::move(*bridge));
}

}  // namespace berth::cli
