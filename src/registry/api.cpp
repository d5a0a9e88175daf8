// SPDX-License-Identifier: Apache-2.0
#include "registry/api.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>

#include "common/file.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "http/http.hpp"
#include "oci/media_types.hpp"
#include "registry/mirror.hpp"
#include "registry/names.hpp"
#include "registry/negotiate.hpp"

namespace berth::registry {

namespace {

constexpr std::size_t kMaxTagParams = 100;
constexpr std::uint64_t kMaxListPage = 100000;
constexpr std::size_t kMethods = 7;  // GET HEAD PUT POST PATCH DELETE other
std::size_t method_index(std::string_view m) {
  if (m == "GET") return 0;
  if (m == "HEAD") return 1;
  if (m == "PUT") return 2;
  if (m == "POST") return 3;
  if (m == "PATCH") return 4;
  if (m == "DELETE") return 5;
  return 6;
}
constexpr std::array<const char*, kMethods> kMethodNames = {"GET", "HEAD", "PUT", "POST", "PATCH", "DELETE", "OTHER"};
constexpr std::array<double, 8> kBuckets = {0.0005, 0.001, 0.005, 0.01, 0.05, 0.25, 1, 10};

ByteSource body_source(http::Request& req) {
  return [&req](char* buf, std::size_t n) -> Result<std::size_t> { return req.body().read(buf, n); };
}

std::string range_header(std::uint64_t offset) {
  return "0-" + std::to_string(offset == 0 ? 0 : offset - 1);
}

// "a-b" or "bytes a-b" (inclusive).
std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_content_range(std::string_view v) {
  v = trim(v);
  if (v.starts_with("bytes ")) v.remove_prefix(6);
  if (v.starts_with("bytes=")) v.remove_prefix(6);
  auto slash = v.find('/');
  if (slash != v.npos) v = v.substr(0, slash);
  auto [a, b] = split_once(v, '-');
  auto x = parse_uint(a), y = parse_uint(b);
  if (!x || !y || *y < *x) return std::nullopt;
  return std::pair{*x, *y};
}

}  // namespace

struct Api::Impl {
  Storage& s;
  ApiOptions o;
  std::array<std::array<std::atomic<std::uint64_t>, 6>, kMethods> requests{};  // [method][status/100]
  std::array<std::atomic<std::uint64_t>, kBuckets.size() + 1> latency{};
  std::atomic<std::uint64_t> latency_sum_us{0};
  std::atomic<std::uint64_t> bytes_in{0}, bytes_out{0}, blobs_pushed{0}, manifests_pushed{0};

  Impl(Storage& st, ApiOptions op) : s(st), o(op) {}

  static void error(http::ResponseWriter& w, const RegError& e) {
    if (w.started()) return;
    (void)w.send(e.status(), e.json(), "application/json");
  }
  bool authorize(http::Request& req, http::ResponseWriter& w, const Scope& need) {
    return authorize_all(req, w, {need});
  }
  bool authorize_all(http::Request& req, http::ResponseWriter& w, const std::vector<Scope>& need) {
    if (!o.auth || !o.auth->enabled()) return true;
    std::string challenge;
    auto r = o.auth->check_all(req.headers.value("Authorization"), need, &challenge);
    if (r) return true;
    if (r.error().code == Code::Unauthorized) w.set_header("WWW-Authenticate", challenge);
    error(w, r.error());
    return false;
  }
  bool writable(http::ResponseWriter& w) {
    if (o.mirror) {
      error(w, RegError(Code::Unsupported, "this registry is a pull-through cache: pushes are not supported"));
      return false;
    }
    return true;
  }

  void handle(http::Request& req, http::ResponseWriter& w);
  void base(http::Request& req, http::ResponseWriter& w);
  void catalog(http::Request& req, http::ResponseWriter& w);
  void token(http::Request& req, http::ResponseWriter& w);
  void manifests(http::Request& req, http::ResponseWriter& w, const std::string& name, const std::string& ref);
  void blobs(http::Request& req, http::ResponseWriter& w, const std::string& name, const std::string& dg);
  void start_upload(http::Request& req, http::ResponseWriter& w, const std::string& name);
  void upload(http::Request& req, http::ResponseWriter& w, const std::string& name, const std::string& uuid);
  void tags(http::Request& req, http::ResponseWriter& w, const std::string& name);
  void referrers(http::Request& req, http::ResponseWriter& w, const std::string& name, const std::string& dg);
  bool list_params(http::Request& req, http::ResponseWriter& w, std::optional<std::string>* last,
                   std::optional<std::size_t>* n);
  void send_list(http::ResponseWriter& w, const std::string& path, const std::string& key, const std::string& name,
                 const std::vector<std::string>& page, std::optional<std::size_t> n, bool more);
  std::string metrics() const;
};

Api::Api(Storage& s, ApiOptions o) : impl_(std::make_unique<Impl>(s, o)) {}
Api::~Api() = default;
void Api::handle(http::Request& req, http::ResponseWriter& w) { impl_->handle(req, w); }
std::string Api::metrics_text() const { return impl_->metrics(); }

void Api::Impl::handle(http::Request& req, http::ResponseWriter& w) {
  auto t0 = std::chrono::steady_clock::now();
  w.set_header("Docker-Distribution-API-Version", "registry/2.0");
  const std::string& p = req.path;
  if (p == "/v2" || p == "/v2/") {
    base(req, w);
  } else if (p == "/v2/_catalog") {
    catalog(req, w);
  } else if (p == "/debug/health") {
    (void)w.send(200, "{}", "application/json");
  } else if (p == "/metrics") {
    (void)w.send(200, metrics(), "text/plain; version=0.0.4");
  } else if (p == "/token" && o.auth && o.auth->serves_tokens()) {
    token(req, w);
  } else if (p.starts_with("/v2/")) {
    std::string_view rest = std::string_view(p).substr(4);
    std::string name, kind, arg;
    auto split_tail = [&](std::string_view marker) -> bool {
      auto pos = rest.rfind(marker);
      if (pos == std::string_view::npos || pos == 0) return false;
      std::string_view tail = rest.substr(pos + marker.size());
      if (tail.find('/') != std::string_view::npos) return false;
      name = std::string(rest.substr(0, pos));
      arg = std::string(tail);
      return true;
    };
    if (rest.ends_with("/tags/list") && rest.size() > 10) {
      name = std::string(rest.substr(0, rest.size() - 10));
      kind = "tags";
    } else if (rest.ends_with("/blobs/uploads/") || rest.ends_with("/blobs/uploads")) {
      name = std::string(rest.substr(0, rest.rfind("/blobs/uploads")));
      kind = "uploads-start";
    } else if (split_tail("/blobs/uploads/")) {
      kind = "upload";
    } else if (split_tail("/manifests/")) {
      kind = "manifests";
    } else if (split_tail("/blobs/")) {
      kind = "blobs";
    } else if (split_tail("/referrers/")) {
      kind = "referrers";
    }
    if (kind.empty()) {
      error(w, RegError(Code::NameUnknown, "unknown endpoint"));
    } else if (!valid_repo_name(name)) {
      error(w, RegError(Code::NameInvalid, "invalid repository name"));
    } else {
      std::string action = (req.method == "GET" || req.method == "HEAD") ? "pull"
                           : req.method == "DELETE" && kind != "upload" ? "delete"
                                                                        : "push";
      if (kind == "upload" && req.method == "GET") action = "push";
      Scope need{"repository", name, {action}};
      if (action == "push") need.actions = {"pull", "push"};
      std::vector<Scope> needs = {need};
      // A mount with a token: pull on `from` is part of the request's scope (as distribution);
      // with Basic auth an unpullable `from` just makes it a regular upload (202).
      if (kind == "uploads-start" && req.method == "POST" && o.auth && o.auth->token_mode() &&
          req.query_value("mount")) {
        std::string from = req.query_value("from").value_or("");
        if (!from.empty() && from != name && valid_repo_name(from)) needs.push_back(Scope{"repository", from, {"pull"}});
      }
      if (authorize_all(req, w, needs)) {
        if (kind == "tags") tags(req, w, name);
        else if (kind == "uploads-start") start_upload(req, w, name);
        else if (kind == "upload") upload(req, w, name, arg);
        else if (kind == "manifests") manifests(req, w, name, arg);
        else if (kind == "blobs") blobs(req, w, name, arg);
        else referrers(req, w, name, arg);
      }
    }
  } else {
    (void)w.send(404, R"({"errors":[{"code":"NOT_FOUND","message":"page not found"}]})", "application/json");
  }
  if (!w.started()) (void)w.send(500, RegError(Code::Internal, "no response").json(), "application/json");
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
  int cls = std::clamp(w.status() / 100, 0, 5);
  requests[method_index(req.method)][static_cast<std::size_t>(cls)].fetch_add(1, std::memory_order_relaxed);
  latency_sum_us.fetch_add(static_cast<std::uint64_t>(us), std::memory_order_relaxed);
  double sec = static_cast<double>(us) / 1e6;
  std::size_t b = 0;
  while (b < kBuckets.size() && sec > kBuckets[b]) ++b;
  latency[b].fetch_add(1, std::memory_order_relaxed);
  if (o.accesslog)
    log::info("{} \"{} {}\" {} {}us", req.remote, req.method, req.target, w.status(), us);
}

void Api::Impl::base(http::Request& req, http::ResponseWriter& w) {
  if (!authorize(req, w, Scope{"", "", {}})) return;
  (void)w.send(200, "{}", "application/json");
}

void Api::Impl::token(http::Request& req, http::ResponseWriter& w) {
  auto r = o.auth->issue(req.headers.value("Authorization"), req.query_values("scope"),
                         req.query_value("service").value_or(""));
  if (!r) {
    if (r.error().code == Code::Unauthorized) w.set_header("WWW-Authenticate", "Basic realm=\"berth-registry\"");
    return error(w, r.error());
  }
  (void)w.send(200, *r, "application/json");
}

bool Api::Impl::list_params(http::Request& req, http::ResponseWriter& w, std::optional<std::string>* last,
                            std::optional<std::size_t>* n) {
  *last = req.query_value("last");
  auto nstr = req.query_value("n");
  if (nstr && !nstr->empty()) {
    auto v = parse_uint(*nstr);
    if (!v) {
      error(w, RegError(Code::Unsupported, "invalid n"));  // spec: 400 is fine too
      return false;
    }
    *n = static_cast<std::size_t>(std::min<std::uint64_t>(*v, kMaxListPage));
  }
  return true;
}

void Api::Impl::send_list(http::ResponseWriter& w, const std::string& path, const std::string& key,
                          const std::string& name, const std::vector<std::string>& page,
                          std::optional<std::size_t> n, bool more) {
  std::string body = "{";
  if (!name.empty()) body += "\"name\":\"" + json_escape(name) + "\",";
  body += "\"" + key + "\":[";
  for (std::size_t i = 0; i < page.size(); ++i) {
    if (i) body += ',';
    body += "\"" + json_escape(page[i]) + "\"";
  }
  body += "]}";
  if (n && more && !page.empty())
    w.set_header("Link", "<" + path + "?last=" + http::url_encode(page.back()) + "&n=" + std::to_string(*n) +
                             ">; rel=\"next\"");
  (void)w.send(200, body, "application/json");
}

void Api::Impl::catalog(http::Request& req, http::ResponseWriter& w) {
  if (!authorize(req, w, Scope{"registry", "catalog", {"*"}})) return;
  std::optional<std::string> last;
  std::optional<std::size_t> n;
  if (!list_params(req, w, &last, &n)) return;
  bool more = false;
  auto page = s.catalog_page(last, n, &more);
  send_list(w, "/v2/_catalog", "repositories", "", page, n, more);
}

void Api::Impl::tags(http::Request& req, http::ResponseWriter& w, const std::string& name) {
  if (req.method != "GET") return error(w, RegError(Code::Unsupported, "method not allowed"));
  auto t = s.list_tags(name);
  if (!t && o.mirror) t = o.mirror->list_tags(name);
  if (!t) return error(w, t.error());
  std::optional<std::string> last;
  std::optional<std::size_t> n;
  if (!list_params(req, w, &last, &n)) return;
  auto it = last ? std::upper_bound(t->begin(), t->end(), *last) : t->begin();
  std::vector<std::string> page;
  for (; it != t->end() && (!n || page.size() < *n); ++it) page.push_back(*it);
  send_list(w, "/v2/" + name + "/tags/list", "tags", name, page, n, it != t->end());
}

void Api::Impl::manifests(http::Request& req, http::ResponseWriter& w, const std::string& name,
                          const std::string& ref) {
  if (req.method == "GET" || req.method == "HEAD") {
    if (o.mirror) {
      if (auto r = o.mirror->ensure_manifest(s, name, ref); !r) return error(w, r.error());
    }
    std::uint64_t size = 0;
    auto m = s.resolve_manifest(name, ref, &size);
    if (!m) return error(w, m.error());
    std::vector<std::string_view> accept_values;
    for (auto& [k, v] : req.headers.list())
      if (http::iequals(k, "Accept")) accept_values.push_back(v);
    AcceptSet accept = AcceptSet::parse(accept_values);
    if (!accept.accepts(m->media_type)) {
      // A list/index by tag for a client that takes only image manifests: the linux/amd64 child.
      std::optional<Digest> child;
      if (oci::media::is_index(m->media_type) && !looks_like_digest(ref)) {
        if (auto full = s.get_manifest(name, m->digest.str()))
          child = platform_child(full->content, accept, "linux", "amd64");
      }
      RResult<ManifestData> cm = rfail(Code::ManifestUnknown, "manifest of type " + m->media_type +
                                                                   " found, but the Accept header lists only " +
                                                                   accept.describe());
      if (child && o.mirror) (void)o.mirror->ensure_manifest(s, name, child->str());
      if (child) {
        if (auto r = s.resolve_manifest(name, child->str(), &size)) cm = std::move(r);
      }
      if (!cm) return error(w, cm.error());
      m = std::move(cm);
    }
    auto fd = open_file(s.blob_path(m->digest), O_RDONLY);
    if (!fd) return error(w, RegError(Code::ManifestUnknown, "manifest content missing"));
    std::string dg = m->digest.str();
    if (req.headers.value("If-None-Match") == "\"" + dg + "\"") {
      w.set_header("Docker-Content-Digest", dg);
      (void)w.send(304);
      return;
    }
    w.set_header("Docker-Content-Digest", dg);
    w.set_header("ETag", "\"" + dg + "\"");
    (void)w.send_file(200, fd->get(), 0, size, m->media_type);
    bytes_out.fetch_add(req.method == "GET" ? size : 0, std::memory_order_relaxed);
    return;
  }
  if (req.method == "PUT") {
    if (!writable(w)) return;
    auto body = req.body().read_all(s.options().max_manifest_bytes);
    if (!body) {
      if (body.error().message().find("too large") != std::string::npos) {
        // Swallow a moderately oversized body so the client reads our 413 instead of a reset.
        if (!req.body().drain(32u << 20)) w.close_after();
        return error(w, RegError(Code::ManifestTooLarge, "manifest too large"));
      }
      return error(w, RegError(Code::ManifestInvalid, body.error().message()));
    }
    bytes_in.fetch_add(body->size(), std::memory_order_relaxed);
    // PUT by digest with ?tag=a&tag=b (spec end-7b): every tag is checked before anything is stored.
    std::vector<std::string> extra_tags = req.query_values("tag");
    if (!extra_tags.empty() && !looks_like_digest(ref))
      return error(w, RegError(Code::ManifestInvalid, "tag parameters need a push by digest"));
    if (extra_tags.size() > kMaxTagParams) {
      (void)w.send(414, RegError(Code::Unsupported, "too many tag parameters").json(), "application/json");
      return;
    }
    for (auto& t : extra_tags)
      if (!valid_tag(t)) return error(w, RegError(Code::ManifestInvalid, "invalid tag: " + t));
    auto r = s.put_manifest(name, ref, req.headers.value("Content-Type"), std::move(*body));
    if (!r) return error(w, r.error());
    manifests_pushed.fetch_add(1, std::memory_order_relaxed);
    for (auto& t : extra_tags) {
      if (auto tr = s.put_tag(name, t, r->digest); !tr) return error(w, tr.error());
      w.headers().add("OCI-Tag", t);
    }
    w.set_header("Location", "/v2/" + name + "/manifests/" + r->digest.str());
    w.set_header("Docker-Content-Digest", r->digest.str());
    if (r->subject) w.set_header("OCI-Subject", r->subject->str());
    (void)w.send(201);
    return;
  }
  if (req.method == "DELETE") {
    if (!writable(w)) return;
    auto r = s.delete_manifest(name, ref);
    if (!r) return error(w, r.error());
    (void)w.send(202);
    return;
  }
  error(w, RegError(Code::Unsupported, "method not allowed"));
}

void Api::Impl::blobs(http::Request& req, http::ResponseWriter& w, const std::string& name, const std::string& dgs) {
  auto d = Digest::parse(dgs);
  if (!d) return error(w, RegError(Code::DigestInvalid, "invalid digest"));
  if (req.method == "DELETE") {
    if (!writable(w)) return;
    auto r = s.delete_blob(name, *d);
    if (!r) return error(w, r.error());
    (void)w.send(202);
    return;
  }
  if (req.method != "GET" && req.method != "HEAD") return error(w, RegError(Code::Unsupported, "method not allowed"));
  auto b = s.stat_blob(name, *d);
  if (!b && o.mirror && req.method == "HEAD") {  // answer from an upstream HEAD, download nothing
    auto size = o.mirror->head_blob(s, name, *d);
    if (!size) return error(w, size.error());
    w.set_header("Docker-Content-Digest", d->str());
    w.set_header("ETag", "\"" + d->str() + "\"");
    w.set_header("Accept-Ranges", "bytes");
    (void)w.send_file(200, -1, 0, *size, "application/octet-stream");  // HEAD: the head only
    return;
  }
  if (!b && o.mirror) {
    if (auto r = o.mirror->ensure_blob(s, name, *d); r) b = s.stat_blob(name, *d);
    else return error(w, r.error());
  }
  if (!b) return error(w, b.error());
  auto fd = open_file(b->path, O_RDONLY);
  if (!fd) return error(w, RegError(Code::BlobUnknown, "blob unknown to registry"));
  w.set_header("Docker-Content-Digest", d->str());
  w.set_header("ETag", "\"" + d->str() + "\"");
  w.set_header("Accept-Ranges", "bytes");
  w.set_header("Cache-Control", "max-age=31536000");
  std::uint64_t off = 0, len = b->size;
  int status = 200;
  std::string range = req.headers.value("Range");
  if (!range.empty() && req.method == "GET") {
    std::string_view r = trim(range);
    bool okr = r.starts_with("bytes=") && r.find(',') == r.npos;
    std::optional<std::uint64_t> a, e;
    if (okr) {
      auto [x, y] = split_once(r.substr(6), '-');
      if (!x.empty()) a = parse_uint(x);
      if (!y.empty()) e = parse_uint(y);
      if (x.empty() && e) {  // suffix: last e bytes
        a = b->size > *e ? b->size - *e : 0;
        e = b->size ? b->size - 1 : 0;
      }
      if (!a || (e && *e < *a) || *a >= b->size) okr = false;
    }
    if (!okr) {
      w.set_header("Content-Range", "bytes */" + std::to_string(b->size));
      return error(w, RegError(Code::RangeInvalid, "requested range not satisfiable"));
    }
    std::uint64_t end = std::min<std::uint64_t>(e.value_or(b->size - 1), b->size - 1);
    off = *a;
    len = end - off + 1;
    status = 206;
    w.set_header("Content-Range", "bytes " + std::to_string(off) + "-" + std::to_string(end) + "/" +
                                      std::to_string(b->size));
  }
  (void)w.send_file(status, fd->get(), off, len, "application/octet-stream");
  if (req.method == "GET") bytes_out.fetch_add(len, std::memory_order_relaxed);
}

void Api::Impl::start_upload(http::Request& req, http::ResponseWriter& w, const std::string& name) {
  if (req.method != "POST") return error(w, RegError(Code::Unsupported, "method not allowed"));
  if (!writable(w)) return;
  if (auto mount = req.query_value("mount")) {
    auto d = Digest::parse(*mount);
    if (!d) return error(w, RegError(Code::DigestInvalid, "invalid digest"));
    std::string from = req.query_value("from").value_or("");
    if (!from.empty() && !valid_repo_name(from)) return error(w, RegError(Code::NameInvalid, "invalid from"));
    bool may = true;
    if (!from.empty() && o.auth && o.auth->enabled()) {
      std::string ch;
      may = bool(o.auth->check(req.headers.value("Authorization"), Scope{"repository", from, {"pull"}}, &ch));
    }
    if (may && s.mount_blob(name, *d, from)) {
      w.set_header("Location", "/v2/" + name + "/blobs/" + d->str());
      w.set_header("Docker-Content-Digest", d->str());
      (void)w.send(201);
      return;
    }
    // Not mountable: fall through to a regular upload session (202), as the spec says.
  }
  auto st = s.start_upload(name);
  if (!st) return error(w, st.error());
  std::string loc = "/v2/" + name + "/blobs/uploads/" + st->uuid;
  if (auto dg = req.query_value("digest")) {  // monolithic POST
    auto d = Digest::parse(*dg);
    if (!d) {
      (void)s.cancel_upload(name, st->uuid);
      return error(w, RegError(Code::DigestInvalid, "invalid digest"));
    }
    auto cl = req.body().content_length();
    auto a = s.append_upload(name, st->uuid, 0, cl, body_source(req));
    if (!a) {
      (void)s.cancel_upload(name, st->uuid);
      return error(w, a.error());
    }
    bytes_in.fetch_add(a->offset, std::memory_order_relaxed);
    auto f = s.finish_upload(name, st->uuid, *d);
    if (!f) {
      (void)s.cancel_upload(name, st->uuid);
      return error(w, f.error());
    }
    blobs_pushed.fetch_add(1, std::memory_order_relaxed);
    w.set_header("Location", "/v2/" + name + "/blobs/" + d->str());
    w.set_header("Docker-Content-Digest", d->str());
    (void)w.send(201);
    return;
  }
  w.set_header("Location", loc);
  w.set_header("Range", "0-0");
  w.set_header("Docker-Upload-UUID", st->uuid);
  w.set_header("OCI-Chunk-Min-Length", "0");
  (void)w.send(202);
}

void Api::Impl::upload(http::Request& req, http::ResponseWriter& w, const std::string& name, const std::string& uuid) {
  std::string loc = "/v2/" + name + "/blobs/uploads/" + uuid;
  auto progress = [&](std::uint64_t offset, int status) {
    w.set_header("Location", loc);
    w.set_header("Range", range_header(offset));
    w.set_header("Docker-Upload-UUID", uuid);
    (void)w.send(status);
  };
  if (req.method == "GET") {
    auto st = s.upload_status(name, uuid);
    if (!st) return error(w, st.error());
    return progress(st->offset, 204);
  }
  if (req.method == "DELETE") {
    auto r = s.cancel_upload(name, uuid);
    if (!r) return error(w, r.error());
    (void)w.send(204);
    return;
  }
  if (req.method != "PATCH" && req.method != "PUT") return error(w, RegError(Code::Unsupported, "method not allowed"));
  if (!writable(w)) return;
  std::optional<std::uint64_t> start, len = req.body().content_length();
  std::string cr = req.headers.value("Content-Range");
  if (!cr.empty()) {
    auto r = parse_content_range(cr);
    if (!r) return error(w, RegError(Code::RangeInvalid, "invalid Content-Range"));
    start = r->first;
    std::uint64_t rl = r->second - r->first + 1;
    if (len && *len != rl) return error(w, RegError(Code::RangeInvalid, "Content-Range does not match Content-Length"));
    len = rl;
  }
  std::optional<Digest> d;
  if (req.method == "PUT") {
    auto dg = req.query_value("digest");
    if (!dg) return error(w, RegError(Code::DigestInvalid, "digest missing"));
    auto pd = Digest::parse(*dg);
    if (!pd) return error(w, RegError(Code::DigestInvalid, "invalid digest"));
    d = *pd;
  }
  bool has_body = !req.body().done() && !(len && *len == 0);
  std::uint64_t offset = 0;
  if (has_body || req.method == "PATCH") {
    auto a = s.append_upload(name, uuid, start, len, body_source(req));
    if (!a) {
      if (a.error().code == Code::RangeInvalid) {  // tell the client where to resume
        if (auto st = s.upload_status(name, uuid)) {
          w.set_header("Location", loc);
          w.set_header("Range", range_header(st->offset));
          w.set_header("Docker-Upload-UUID", uuid);
        }
      }
      return error(w, a.error());
    }
    offset = a->offset;
    bytes_in.fetch_add(len.value_or(0), std::memory_order_relaxed);
  }
  if (req.method == "PATCH") return progress(offset, 202);
  auto f = s.finish_upload(name, uuid, *d);
  if (!f) return error(w, f.error());
  blobs_pushed.fetch_add(1, std::memory_order_relaxed);
  w.set_header("Location", "/v2/" + name + "/blobs/" + d->str());
  w.set_header("Docker-Content-Digest", d->str());
  (void)w.send(201);
}

void Api::Impl::referrers(http::Request& req, http::ResponseWriter& w, const std::string& name, const std::string& dgs) {
  if (req.method != "GET") return error(w, RegError(Code::Unsupported, "method not allowed"));
  auto d = Digest::parse(dgs);
  if (!d) return error(w, RegError(Code::DigestInvalid, "invalid digest"));
  std::string at = req.query_value("artifactType").value_or("");
  auto r = s.referrers(name, *d, at);
  if (!r) return error(w, r.error());
  if (!at.empty()) w.set_header("OCI-Filters-Applied", "artifactType");
  (void)w.send(200, *r, oci::media::kOciIndex);
}

std::string Api::Impl::metrics() const {
  std::string m;
  m += "# HELP berth_registry_http_requests_total HTTP requests by method and status class.\n";
  m += "# TYPE berth_registry_http_requests_total counter\n";
  for (std::size_t i = 0; i < kMethods; ++i)
    for (std::size_t c = 1; c < 6; ++c) {
      auto v = requests[i][c].load(std::memory_order_relaxed);
      if (v)
        m += fmt::format("berth_registry_http_requests_total{{method=\"{}\",code=\"{}xx\"}} {}\n", kMethodNames[i], c, v);
    }
  m += "# HELP berth_registry_http_request_duration_seconds Request latency.\n";
  m += "# TYPE berth_registry_http_request_duration_seconds histogram\n";
  std::uint64_t cum = 0;
  for (std::size_t b = 0; b < kBuckets.size(); ++b) {
    cum += latency[b].load(std::memory_order_relaxed);
    m += fmt::format("berth_registry_http_request_duration_seconds_bucket{{le=\"{}\"}} {}\n", kBuckets[b], cum);
  }
  cum += latency[kBuckets.size()].load(std::memory_order_relaxed);
  m += fmt::format("berth_registry_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {}\n", cum);
  m += fmt::format("berth_registry_http_request_duration_seconds_sum {}\n",
                   static_cast<double>(latency_sum_us.load()) / 1e6);
  m += fmt::format("berth_registry_http_request_duration_seconds_count {}\n", cum);
  m += "# TYPE berth_registry_bytes_received_total counter\n";
  m += fmt::format("berth_registry_bytes_received_total {}\n", bytes_in.load());
  m += "# TYPE berth_registry_bytes_sent_total counter\n";
  m += fmt::format("berth_registry_bytes_sent_total {}\n", bytes_out.load());
  m += "# TYPE berth_registry_blobs_pushed_total counter\n";
  m += fmt::format("berth_registry_blobs_pushed_total {}\n", blobs_pushed.load());
  m += "# TYPE berth_registry_manifests_pushed_total counter\n";
  m += fmt::format("berth_registry_manifests_pushed_total {}\n", manifests_pushed.load());
  return m;
}

}  // namespace berth::registry
