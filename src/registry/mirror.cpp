// SPDX-License-Identifier: Apache-2.0
#include "registry/mirror.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <curl/curl.h>
#include <nlohmann/json.hpp>

#include "common/base64.hpp"
#include "common/defer.hpp"
#include "common/file.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "registry/names.hpp"

namespace berth::registry {

namespace {

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

struct Sink {
  std::string* body;
  int fd;
  std::size_t limit;
  bool overflow = false;
};

size_t write_cb(char* p, size_t sz, size_t n, void* ud) {
  auto* s = static_cast<Sink*>(ud);
  std::size_t len = sz * n;
  if (s->fd >= 0) return write_all(s->fd, std::string_view(p, len)) ? len : 0;
  if (s->body->size() + len > s->limit) {
    s->overflow = true;
    return 0;
  }
  s->body->append(p, len);
  return len;
}

struct HeaderSink {
  std::string content_type, www_auth, content_length;
};
size_t header_cb(char* p, size_t sz, size_t n, void* ud) {
  auto* h = static_cast<HeaderSink*>(ud);
  std::string_view line(p, sz * n);
  auto [k, v] = split_once(line, ':');
  std::string key = to_lower(trim(k));
  if (key == "content-type") h->content_type = std::string(trim(v));
  if (key == "www-authenticate") h->www_auth = std::string(trim(v));
  if (key == "content-length") h->content_length = std::string(trim(v));
  return sz * n;
}

// Bearer realm="x",service="y",scope="z" -> map
std::map<std::string, std::string> parse_challenge(std::string_view c) {
  std::map<std::string, std::string> m;
  auto sp = c.find(' ');
  if (sp == c.npos) return m;
  m["scheme"] = to_lower(c.substr(0, sp));
  std::string_view rest = c.substr(sp + 1);
  while (!rest.empty()) {
    rest = trim(rest);
    auto eq = rest.find('=');
    if (eq == rest.npos) break;
    std::string key = to_lower(trim(rest.substr(0, eq)));
    rest.remove_prefix(eq + 1);
    std::string val;
    if (!rest.empty() && rest[0] == '"') {
      auto end = rest.find('"', 1);
      val = std::string(rest.substr(1, end == rest.npos ? rest.npos : end - 1));
      rest = end == rest.npos ? std::string_view{} : rest.substr(end + 1);
    } else {
      auto end = rest.find(',');
      val = std::string(trim(rest.substr(0, end)));
      rest = end == rest.npos ? std::string_view{} : rest.substr(end);
    }
    m[key] = val;
    if (!rest.empty() && rest[0] == ',') rest.remove_prefix(1);
  }
  return m;
}

const char* kManifestAccept =
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

}  // namespace

Mirror::Mirror(MirrorOptions o) : o_(std::move(o)) {
  static CurlGlobal g;
  while (!o_.remote_url.empty() && o_.remote_url.back() == '/') o_.remote_url.pop_back();
}
Mirror::~Mirror() = default;

RResult<Mirror::Fetched> Mirror::get_once(const std::string& path, const std::string& accept, int sink_fd,
                                          const std::string& authorization, bool head) {
  CURL* c = curl_easy_init();
  if (!c) return rfail(Code::Internal, "curl_easy_init failed");
  Fetched f;
  Sink sink{&f.body, sink_fd, 4u << 20};
  HeaderSink hs;
  std::string url = path.starts_with("http") ? path : o_.remote_url + path;
  curl_slist* hdrs = nullptr;
  if (!accept.empty()) hdrs = curl_slist_append(hdrs, ("Accept: " + accept).c_str());
  if (!authorization.empty()) hdrs = curl_slist_append(hdrs, ("Authorization: " + authorization).c_str());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);  // blob redirects to storage backends
  curl_easy_setopt(c, CURLOPT_UNRESTRICTED_AUTH, 0L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &hs);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "berth-registry");
  if (head) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  if (!o_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, o_.ca_file.c_str());
  CURLcode rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &f.status);
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(c);
  if (rc != CURLE_OK && !(f.status >= 400 && rc == CURLE_WRITE_ERROR))
    return rfail(Code::Unavailable, std::string("upstream: ") + curl_easy_strerror(rc));
  f.content_type = hs.content_type;
  f.www_authenticate = hs.www_auth;
  if (auto n = parse_uint(hs.content_length)) f.content_length = *n;
  return f;
}

RResult<std::string> Mirror::fetch_token(const std::string& challenge, const std::string& scope) {
  auto ch = parse_challenge(challenge);
  if (ch["scheme"] != "bearer" || ch["realm"].empty()) return rfail(Code::Unavailable, "upstream auth challenge not understood");
  std::string url = ch["realm"] + (ch["realm"].find('?') == std::string::npos ? "?" : "&");
  CURL* c = curl_easy_init();
  auto esc = [&](const std::string& s) {
    char* e = curl_easy_escape(c, s.c_str(), static_cast<int>(s.size()));
    std::string r = e;
    curl_free(e);
    return r;
  };
  url += "service=" + esc(ch["service"]);
  std::string sc = ch.count("scope") ? ch["scope"] : scope;
  if (!sc.empty()) url += "&scope=" + esc(sc);
  std::string body;
  Sink sink{&body, -1, 1u << 20};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
  if (!o_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, o_.ca_file.c_str());
  if (!o_.username.empty()) {
    curl_easy_setopt(c, CURLOPT_USERNAME, o_.username.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, o_.password.c_str());
  }
  CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(c);
  if (rc != CURLE_OK || status != 200) return rfail(Code::Unavailable, "upstream token request failed");
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object()) return rfail(Code::Unavailable, "upstream token response invalid");
  std::string tok = j.value("token", j.value("access_token", ""));
  if (tok.empty()) return rfail(Code::Unavailable, "upstream token response invalid");
  return "Bearer " + tok;
}

RResult<Mirror::Fetched> Mirror::get(const std::string& path, const std::string& scope, const std::string& accept,
                                     int sink_fd, bool head) {
  std::string auth;
  {
    std::lock_guard lk(mu_);
    if (auto it = tokens_.find(scope); it != tokens_.end()) auth = it->second;
  }
  auto f = RTRY(get_once(path, accept, sink_fd, auth, head));
  if (f.status != 401) return f;
  auto ch = parse_challenge(f.www_authenticate);
  if (ch["scheme"] == "basic") {
    if (o_.username.empty()) return rfail(Code::Unauthorized, "upstream requires credentials");
    std::string up = o_.username + ":" + o_.password;
    auth = "Basic " + base64_encode(up);
  } else {
    auth = RTRY(fetch_token(f.www_authenticate, scope));
  }
  {
    std::lock_guard lk(mu_);
    tokens_[scope] = auth;
  }
  if (sink_fd >= 0) {
    if (::ftruncate(sink_fd, 0) != 0 || ::lseek(sink_fd, 0, SEEK_SET) != 0) return fail_errno("reset download");
  }
  return get_once(path, accept, sink_fd, auth, head);
}

RResult<void> Mirror::ensure_manifest(Storage& s, const std::string& name, const std::string& ref) {
  bool by_digest = looks_like_digest(ref);
  std::uint64_t sz = 0;
  bool cached = bool(s.resolve_manifest(name, ref, &sz));
  std::string key = name + ":" + ref;
  if (cached) {
    if (by_digest) return {};
    std::lock_guard lk(mu_);
    auto it = tag_checked_.find(key);
    if (it != tag_checked_.end() && std::chrono::steady_clock::now() - it->second < o_.tag_ttl) return {};
  }
  auto f = get("/v2/" + name + "/manifests/" + ref, "repository:" + name + ":pull", kManifestAccept, -1);
  if (!f || f->status != 200) {
    if (cached) return {};  // upstream down or gone: serve what we have
    if (!f) return tl::unexpected(f.error());
    if (f->status == 404) return rfail(Code::ManifestUnknown, "manifest unknown to upstream");
    if (f->status == 401 || f->status == 403) return rfail(Code::Unauthorized, "upstream denied access");
    return rfail(Code::Unavailable, "upstream answered " + std::to_string(f->status));
  }
  auto r = s.put_manifest(name, ref, f->content_type, std::move(f->body), /*verify_refs=*/false);
  if (!r) return tl::unexpected(r.error());
  std::lock_guard lk(mu_);
  tag_checked_[key] = std::chrono::steady_clock::now();
  return {};
}

RResult<void> Mirror::ensure_blob(Storage& s, const std::string& name, const Digest& d) {
  if (s.stat_blob(name, d)) return {};
  // Concurrent misses of one blob: the first downloads, the others wait and find it cached.
  std::shared_ptr<std::mutex> flight;
  {
    std::lock_guard lk(mu_);
    auto& slot = inflight_[d.str()];
    if (!slot) slot = std::make_shared<std::mutex>();
    flight = slot;
  }
  std::lock_guard fl(*flight);
  auto release = defer([&] {
    std::lock_guard lk(mu_);
    auto it = inflight_.find(d.str());
    if (it != inflight_.end() && it->second.use_count() <= 2) inflight_.erase(it);
  });
  if (s.stat_blob(name, d)) return {};
  if (s.have_blob(d)) {  // cached for another repository of the same upstream
    if (s.mount_blob(name, d, "")) return {};
  }
  std::string tmp = s.options().root + "/tmp/mirror-" + random_hex(16);
  UniqueFd fd = RTRY(open_file(tmp, O_RDWR | O_CREAT | O_EXCL, 0600));
  auto cleanup = [&] { ::unlink(tmp.c_str()); };
  auto f = get("/v2/" + name + "/blobs/" + d.str(), "repository:" + name + ":pull", "", fd.get());
  if (!f) {
    cleanup();
    return tl::unexpected(f.error());
  }
  if (f->status != 200) {
    cleanup();
    if (f->status == 404) return rfail(Code::BlobUnknown, "blob unknown to upstream");
    return rfail(Code::Unavailable, "upstream answered " + std::to_string(f->status));
  }
  if (::lseek(fd.get(), 0, SEEK_SET) != 0) {
    cleanup();
    return fail_errno("seek download");
  }
  int rfd = fd.get();
  auto r = s.put_blob(name, d, [rfd](char* buf, std::size_t n) -> Result<std::size_t> {
    ssize_t k = ::read(rfd, buf, n);
    if (k < 0) return fail_errno("read download");
    return static_cast<std::size_t>(k);
  });
  cleanup();
  if (!r) return tl::unexpected(r.error());
  return {};
}

RResult<std::uint64_t> Mirror::head_blob(Storage& s, const std::string& name, const Digest& d) {
  if (auto b = s.stat_blob(name, d)) return b->size;
  if (s.have_blob(d)) {  // cached for another repository of the same upstream
    if (auto b = s.mount_blob(name, d, "")) return b->size;
  }
  auto f = RTRY(get("/v2/" + name + "/blobs/" + d.str(), "repository:" + name + ":pull", "", -1, /*head=*/true));
  if (f.status == 404) return rfail(Code::BlobUnknown, "blob unknown to upstream");
  if (f.status == 401 || f.status == 403) return rfail(Code::Unauthorized, "upstream denied access");
  if (f.status != 200) return rfail(Code::Unavailable, "upstream answered " + std::to_string(f.status));
  if (!f.content_length) return rfail(Code::Unavailable, "upstream sent no Content-Length for the blob");
  return *f.content_length;
}

RResult<std::vector<std::string>> Mirror::list_tags(const std::string& name) {
  auto f = RTRY(get("/v2/" + name + "/tags/list", "repository:" + name + ":pull", "application/json", -1));
  if (f.status == 404) return rfail(Code::NameUnknown, "repository name not known to upstream");
  if (f.status != 200) return rfail(Code::Unavailable, "upstream answered " + std::to_string(f.status));
  auto j = nlohmann::json::parse(f.body, nullptr, false);
  std::vector<std::string> out;
  if (j.is_object() && j.contains("tags") && j["tags"].is_array())
    for (auto& t : j["tags"])
      if (t.is_string()) out.push_back(t.get<std::string>());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace berth::registry
