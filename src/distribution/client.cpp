// SPDX-License-Identifier: Apache-2.0
#include "distribution/client.hpp"

#include <curl/curl.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/base64.hpp"
#include "common/file.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "oci/media_types.hpp"

namespace berth::distribution {

using json = nlohmann::json;

namespace {

constexpr std::size_t kMaxManifest = 4u << 20;

std::once_flag g_curl_once;

std::string url_escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += static_cast<char>(c);
    else out += fmt::format("%{:02X}", c);
  }
  return out;
}

// TLS material of one registry (certs.d).
struct TlsFiles {
  std::string ca_pem;      // system bundle + the registry's *.crt, or empty
  std::string cert, key;   // client certificate / key paths, or empty
};

struct Request {
  const TlsFiles* tls = nullptr;
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;
  std::string body;                 // small bodies
  BlobSource* upload = nullptr;     // streamed body
  std::int64_t upload_size = -1;
  const Sink* sink = nullptr;       // streamed 2xx response body
  std::int64_t skip = 0;            // bytes of a 200 body to drop (resume without Range support)
  bool follow = true;
};

struct Response {
  long status = 0;
  std::map<std::string, std::string> headers;  // lowercase names, last value
  std::string body;
  Error sink_error;
  bool sink_failed = false;
  std::int64_t delivered = 0;
};

struct CurlCtx {
  const Request* req;
  Response* resp;
  CURL* h;
  std::int64_t skipped = 0;
};

size_t header_cb(char* p, size_t sz, size_t n, void* u) {
  auto* c = static_cast<CurlCtx*>(u);
  std::string_view line(p, sz * n);
  if (line.starts_with("HTTP/")) c->resp->headers.clear();
  auto colon = line.find(':');
  if (colon != std::string_view::npos)
    c->resp->headers[to_lower(trim(line.substr(0, colon)))] = std::string(trim(line.substr(colon + 1)));
  return sz * n;
}

size_t write_cb(char* p, size_t sz, size_t n, void* u) {
  auto* c = static_cast<CurlCtx*>(u);
  size_t len = sz * n;
  long status = 0;
  curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
  if (c->req->sink && status >= 200 && status < 300) {
    const char* d = p;
    size_t k = len;
    if (status == 200 && c->skipped < c->req->skip) {
      auto drop = static_cast<size_t>(std::min<std::int64_t>(c->req->skip - c->skipped, static_cast<std::int64_t>(k)));
      c->skipped += static_cast<std::int64_t>(drop);
      d += drop;
      k -= drop;
    }
    if (k > 0) {
      auto s = (*c->req->sink)(d, k);
      if (!s) {
        c->resp->sink_error = std::move(s.error());
        c->resp->sink_failed = true;
        return 0;  // aborts the transfer
      }
      c->resp->delivered += static_cast<std::int64_t>(k);
    }
    return len;
  }
  if (c->resp->body.size() + len > kMaxManifest) return 0;
  c->resp->body.append(p, len);
  return len;
}

size_t read_cb(char* buf, size_t sz, size_t n, void* u) {
  auto* c = static_cast<CurlCtx*>(u);
  auto r = c->req->upload->read(buf, sz * n);
  if (!r) return CURL_READFUNC_ABORT;
  return *r;
}

Result<Response> perform(const Request& r, const std::string& ua) {
  std::call_once(g_curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CURL* h = curl_easy_init();
  if (!h) return fail(Errc::Internal, "curl_easy_init failed");
  Response resp;
  CurlCtx ctx{&r, &resp, h};
  struct curl_slist* hs = nullptr;
  for (auto& x : r.headers) hs = curl_slist_append(hs, x.c_str());
  if (r.method != "GET" && r.method != "HEAD" && !r.upload && r.body.empty())
    hs = curl_slist_append(hs, "Content-Length: 0");
  curl_easy_setopt(h, CURLOPT_URL, r.url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
  curl_easy_setopt(h, CURLOPT_USERAGENT, ua.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 15L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &ctx);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &ctx);
  curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 512L * 1024);
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "identity");
  if (r.follow) {
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
  }
  if (r.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if ((r.method == "PUT" || r.method == "PATCH") && r.upload) {
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    if (r.method != "PUT") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(h, CURLOPT_READDATA, &ctx);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(r.upload_size));
  } else if (r.method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    if (!r.body.empty()) {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, r.body.data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    }
  }
  struct curl_blob ca_blob {};
  if (r.tls) {
    if (!r.tls->ca_pem.empty()) {
      ca_blob.data = const_cast<char*>(r.tls->ca_pem.data());
      ca_blob.len = r.tls->ca_pem.size();
      ca_blob.flags = CURL_BLOB_NOCOPY;
      curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca_blob);
    }
    if (!r.tls->cert.empty()) {
      curl_easy_setopt(h, CURLOPT_SSLCERT, r.tls->cert.c_str());
      curl_easy_setopt(h, CURLOPT_SSLKEY, r.tls->key.c_str());
    }
  }
  CURLcode rc = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
  curl_slist_free_all(hs);
  curl_easy_cleanup(h);
  if (resp.sink_failed) return fail(std::move(resp.sink_error));
  if (rc != CURLE_OK)
    return fail(Errc::Unavailable, fmt::format("{} {}: {}", r.method, r.url, curl_easy_strerror(rc)));
  return resp;
}

std::string registry_error(const Response& r) {
  try {
    auto j = json::parse(r.body);
    if (j.contains("errors") && !j["errors"].empty()) {
      auto& e = j["errors"][0];
      return fmt::format("{}: {}", e.value("code", ""), e.value("message", ""));
    }
  } catch (const std::exception&) {
  }
  return fmt::format("unexpected HTTP status {}", r.status);
}

Errc errc_for_status(long s) {
  if (s == 404) return Errc::NotFound;
  if (s == 401 || s == 403) return Errc::PermissionDenied;
  if (s >= 500 || s == 429) return Errc::Unavailable;
  return Errc::InvalidArgument;
}

}  // namespace

std::optional<Challenge> parse_www_authenticate(const std::string& header) {
  auto sp = header.find(' ');
  if (sp == std::string::npos) return std::nullopt;
  Challenge c;
  c.scheme = to_lower(header.substr(0, sp));
  std::string rest = header.substr(sp + 1);
  std::size_t i = 0;
  while (i < rest.size()) {
    while (i < rest.size() && (rest[i] == ' ' || rest[i] == ',')) ++i;
    auto eq = rest.find('=', i);
    if (eq == std::string::npos) break;
    std::string key = to_lower(trim(rest.substr(i, eq - i)));
    std::string val;
    std::size_t j = eq + 1;
    if (j < rest.size() && rest[j] == '"') {
      auto end = rest.find('"', j + 1);
      if (end == std::string::npos) end = rest.size();
      val = rest.substr(j + 1, end - j - 1);
      i = end + 1;
    } else {
      auto end = rest.find(',', j);
      if (end == std::string::npos) end = rest.size();
      val = std::string(trim(rest.substr(j, end - j)));
      i = end;
    }
    c.params[key] = val;
  }
  return c;
}

struct Client::Impl {
  ClientOptions opts;
  std::mutex mu;
  std::map<std::string, std::string> auth_cache;  // domain|scope -> Authorization header value

  std::map<std::string, std::unique_ptr<TlsFiles>> tls_cache;  // domain -> certs.d material (null: none)

  // certs.d/<domain>/ of the first configured directory that has one, or "".
  std::string certs_dir(const std::string& domain) const {
    for (auto& d : opts.certs_dirs) {
      std::string p = d + "/" + domain;
      struct stat st {};
      if (::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return p;
    }
    return {};
  }

  const TlsFiles* tls_for(const std::string& domain) {
    std::lock_guard lk(mu);
    auto it = tls_cache.find(domain);
    if (it != tls_cache.end()) return it->second.get();
    std::unique_ptr<TlsFiles> t;
    std::string dir = certs_dir(domain);
    if (!dir.empty()) {
      t = std::make_unique<TlsFiles>();
      std::vector<std::string> names;
      if (DIR* dp = ::opendir(dir.c_str())) {
        while (auto* e = ::readdir(dp)) names.emplace_back(e->d_name);
        ::closedir(dp);
      }
      std::sort(names.begin(), names.end());
      std::string extra;
      for (auto& n : names) {
        if (n.ends_with(".crt")) {
          if (auto pem = read_file(dir + "/" + n, 1 << 20)) extra += *pem + "\n";
        } else if (n.ends_with(".cert") && t->cert.empty()) {
          std::string key = dir + "/" + n.substr(0, n.size() - 5) + ".key";
          if (::access(key.c_str(), R_OK) == 0) {
            t->cert = dir + "/" + n;
            t->key = key;
          } else {
            log::warn("certs.d: {} has no matching .key, ignored", dir + "/" + n);
          }
        }
      }
      if (!extra.empty()) {
        for (const char* sys : {"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"})
          if (auto b = read_file(sys, 8 << 20)) {
            t->ca_pem = *b + "\n";
            break;
          }
        t->ca_pem += extra;
      }
    }
    const TlsFiles* out = t.get();
    tls_cache[domain] = std::move(t);
    return out;
  }

  bool insecure(const std::string& domain) const {
    std::string host = domain;
    if (auto c = host.rfind(':'); c != std::string::npos && host.find(']') == std::string::npos) host = host.substr(0, c);
    if (host == "localhost" || host.starts_with("127.") || host == "[::1]") return true;
    for (auto& r : opts.insecure_registries)
      if (r == domain || r == host) return true;
    return false;
  }

  std::string base(const std::string& domain) const {
    std::string host = domain == "docker.io" ? "registry-1.docker.io" : domain;
    return (insecure(domain) && certs_dir(domain).empty() ? "http://" : "https://") + host;
  }

  std::vector<std::string> bases(const std::string& domain, bool with_mirrors) const {
    std::vector<std::string> out;
    if (with_mirrors) {
      auto it = opts.mirrors.find(domain);
      if (it != opts.mirrors.end())
        for (auto m : it->second) {
          while (m.ends_with("/")) m.pop_back();
          out.push_back(m);
        }
    }
    out.push_back(base(domain));
    return out;
  }

  std::optional<Credentials> creds_for(const std::string& domain) {
    if (opts.credentials) return opts.credentials;
    std::string path = opts.docker_config;
    if (path.empty()) {
      if (const char* dc = std::getenv("DOCKER_CONFIG")) path = std::string(dc) + "/config.json";
      else if (const char* home = std::getenv("HOME")) path = std::string(home) + "/.docker/config.json";
    }
    auto raw = read_file(path);
    if (!raw) return std::nullopt;
    try {
      auto j = json::parse(*raw);
      std::vector<std::string> keys = {domain, "https://" + domain, "http://" + domain};
      if (domain == "docker.io")
        keys = {"https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io"};
      std::string helper;
      if (j.contains("credHelpers"))
        for (auto& k : keys)
          if (j["credHelpers"].contains(k)) helper = j["credHelpers"][k].get<std::string>();
      if (helper.empty() && j.contains("credsStore")) helper = j["credsStore"].get<std::string>();
      if (!helper.empty()) {
        if (auto c = run_helper(helper, keys[0])) return c;
      }
      if (j.contains("auths")) {
        for (auto& k : keys) {
          if (!j["auths"].contains(k)) continue;
          auto& a = j["auths"][k];
          Credentials c;
          if (a.contains("auth")) {
            std::string decoded = base64_decode(a["auth"].get<std::string>()).value_or("");
            auto [u, p] = split_once(decoded, ':');
            c.username = u;
            c.password = p;
          }
          c.identity_token = a.value("identitytoken", "");
          if (!c.username.empty() || !c.identity_token.empty()) return c;
        }
      }
    } catch (const std::exception& e) {
      log::warn("docker config {}: {}", path, e.what());
    }
    return std::nullopt;
  }

  static std::optional<Credentials> run_helper(const std::string& helper, const std::string& server) {
    for (char c : helper)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return std::nullopt;
    std::string cmd = fmt::format("printf '%s' '{}' | docker-credential-{} get 2>/dev/null", server, helper);
    FILE* f = ::popen(cmd.c_str(), "r");
    if (!f) return std::nullopt;
    std::string out;
    char buf[4096];
    while (size_t k = std::fread(buf, 1, sizeof buf, f)) out.append(buf, k);
    if (::pclose(f) != 0) return std::nullopt;
    try {
      auto j = json::parse(out);
      Credentials c;
      c.username = j.value("Username", "");
      c.password = j.value("Secret", "");
      if (c.username == "<token>") {
        c.identity_token = c.password;
        c.username.clear();
        c.password.clear();
      }
      return c;
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }

  Result<std::string> fetch_token(const std::string& domain, const Challenge& ch,
                                  const std::string& scope) {
    auto realm = ch.params.find("realm");
    if (realm == ch.params.end()) return fail(Errc::PermissionDenied, "bearer challenge without realm");
    auto creds = creds_for(domain);
    Request r;
    {
      // The token server gets the registry's certs.d material when it is on the same host.
      std::string host = realm->second;
      if (auto p = host.find("://"); p != std::string::npos) host = host.substr(p + 3);
      host = host.substr(0, host.find('/'));
      if (host == domain) r.tls = tls_for(domain);
    }
    std::string q;
    if (auto s = ch.params.find("service"); s != ch.params.end()) q += "service=" + url_escape(s->second);
    std::string sc = ch.params.count("scope") ? ch.params.at("scope") : scope;
    if (!sc.empty()) q += (q.empty() ? "" : "&") + std::string("scope=") + url_escape(sc);
    if (creds && !creds->identity_token.empty()) {
      // OAuth2 refresh-token grant (POST form).
      r.method = "POST";
      r.url = realm->second;
      r.headers.push_back("Content-Type: application/x-www-form-urlencoded");
      r.body = q + "&grant_type=refresh_token&client_id=berth&refresh_token=" +
               url_escape(creds->identity_token);
    } else {
      r.url = realm->second + (realm->second.find('?') == std::string::npos ? "?" : "&") + q;
      if (creds && !creds->username.empty())
        r.headers.push_back("Authorization: Basic " + base64_encode(creds->username + ":" + creds->password));
    }
    auto resp = TRY(perform(r, opts.user_agent));
    if (resp.status != 200)
      return fail(Errc::PermissionDenied,
                  fmt::format("get token from {}: HTTP {}", realm->second, resp.status));
    try {
      auto j = json::parse(resp.body);
      std::string t = j.value("token", "");
      if (t.empty()) t = j.value("access_token", "");
      if (t.empty()) return fail(Errc::PermissionDenied, "token server returned no token");
      return t;
    } catch (const std::exception& e) {
      return fail(Errc::PermissionDenied, fmt::format("token response: {}", e.what()));
    }
  }

  // Performs r (URL already absolute) with authorization for (domain, scope); answers one 401
  // challenge and retries.
  Result<Response> authed(const std::string& domain, const std::string& scope, Request r) {
    std::string key = domain + "|" + scope;
    std::string auth;
    {
      std::lock_guard lk(mu);
      if (auto it = auth_cache.find(key); it != auth_cache.end()) auth = it->second;
    }
    for (int round = 0; round < 2; ++round) {
      Request rr = r;
      rr.tls = tls_for(domain);
      if (!auth.empty()) rr.headers.push_back("Authorization: " + auth);
      auto resp = TRY(perform(rr, opts.user_agent));
      if (resp.status != 401 || round == 1) return resp;
      auto hdr = resp.headers.find("www-authenticate");
      if (hdr == resp.headers.end()) return resp;
      auto ch = parse_www_authenticate(hdr->second);
      if (!ch) return resp;
      if (ch->scheme == "bearer") {
        auth = "Bearer " + TRY(fetch_token(domain, *ch, scope));
      } else if (ch->scheme == "basic") {
        auto c = creds_for(domain);
        if (!c || c->username.empty()) return resp;
        auth = "Basic " + base64_encode(c->username + ":" + c->password);
      } else {
        return resp;
      }
      std::lock_guard lk(mu);
      auth_cache[key] = auth;
    }
    return fail(Errc::Internal, "unreachable");
  }
};

Client::Client(ClientOptions opts) : impl_(std::make_unique<Impl>()) { impl_->opts = std::move(opts); }
Client::~Client() = default;

std::string Client::base_url(const std::string& domain) const { return impl_->base(domain); }

Status Client::ping(const oci::Reference& ref) {
  Request r;
  r.url = impl_->base(ref.domain) + "/v2/";
  auto resp = TRY(impl_->authed(ref.domain, "", r));
  if (resp.status != 200)
    return fail(errc_for_status(resp.status), fmt::format("ping {}: HTTP {}", r.url, resp.status));
  return ok();
}

Result<std::vector<std::string>> Client::catalog(const std::string& domain, std::size_t limit) {
  std::vector<std::string> out;
  std::string next = "/v2/_catalog?n=100";
  while (!next.empty() && out.size() < limit) {
    Request r;
    r.url = impl_->base(domain) + next;
    auto resp = TRY(impl_->authed(domain, "registry:catalog:*", r));
    if (resp.status != 200)
      return fail(errc_for_status(resp.status), fmt::format("{}: HTTP {}", r.url, resp.status));
    try {
      auto j = json::parse(resp.body);
      for (auto& n : j.value("repositories", json::array())) out.push_back(n.get<std::string>());
    } catch (const std::exception& e) {
      return fail(Errc::InvalidArgument, fmt::format("{}: invalid catalog: {}", r.url, e.what()));
    }
    next.clear();
    // Link: </v2/_catalog?last=x&n=100>; rel="next"
    if (auto it = resp.headers.find("link"); it != resp.headers.end()) {
      auto a = it->second.find('<'), b = it->second.find('>');
      if (a != std::string::npos && b != std::string::npos && b > a) next = it->second.substr(a + 1, b - a - 1);
      if (!next.starts_with("/v2/")) next.clear();
    }
  }
  if (out.size() > limit) out.resize(limit);
  return out;
}

Result<Manifest> Client::get_manifest(const oci::Reference& ref, const oci::Platform& platform) {
  const std::string scope = "repository:" + ref.path + ":pull";
  const std::string accept =
      fmt::format("Accept: {}, {}, {}, {}, {}", oci::media::kDockerManifest, oci::media::kDockerManifestList,
                  oci::media::kOciManifest, oci::media::kOciIndex, oci::media::kDockerSchema1Signed);
  auto fetch = [&](const std::string& what) -> Result<std::pair<std::string, std::string>> {
    Error last(Errc::Unavailable, "no endpoint");
    for (auto& b : impl_->bases(ref.domain, true)) {
      Request r;
      r.url = fmt::format("{}/v2/{}/manifests/{}", b, ref.path, what);
      r.headers.push_back(accept);
      auto resp = impl_->authed(ref.domain, scope, r);
      if (!resp) {
        last = std::move(resp.error());
        continue;
      }
      if (resp->status == 200) {
        std::string ct = resp->headers.count("content-type") ? resp->headers["content-type"] : "";
        if (auto semi = ct.find(';'); semi != std::string::npos) ct = ct.substr(0, semi);
        return std::make_pair(std::move(resp->body), std::string(trim(ct)));
      }
      if (resp->status == 404)
        last = Error(Errc::NotFound, fmt::format("manifest for {} not found: manifest unknown", ref.familiar()));
      else
        last = Error(errc_for_status(resp->status),
                     fmt::format("fetch manifest {}: {}", ref.familiar(), registry_error(*resp)));
    }
    return fail(std::move(last));
  };
  std::string what = ref.digest.empty() ? ref.tag : ref.digest;
  auto [raw, ct] = TRY(fetch(what));
  Manifest out;
  std::string mt = TRY(oci::sniff_media_type(raw));
  if (mt.empty()) mt = ct;
  if (oci::media::is_schema1(mt) || oci::media::is_schema1(ct))
    return fail(Errc::Unimplemented,
                fmt::format("{}: Docker Image manifest version 2, schema 1 is not supported; the image "
                            "must be rebuilt and pushed with a newer client",
                            ref.familiar()));
  out.top_digest = digest_of(raw);
  if (!ref.digest.empty() && out.top_digest.str() != ref.digest)
    return fail(Errc::DataLoss, fmt::format("manifest digest {} does not match {}", out.top_digest.str(), ref.digest));
  if (oci::media::is_index(mt)) {
    auto idx = TRY(oci::parse_index(raw));
    const oci::Descriptor* pick = nullptr;
    for (auto& d : idx.manifests) {
      if (!d.platform) continue;
      if (d.annotations.count("vnd.docker.reference.type")) continue;  // attestations
      if (oci::platform_matches(platform, *d.platform)) {
        pick = &d;
        break;
      }
    }
    if (!pick)
      return fail(Errc::NotFound, fmt::format("no matching manifest for {} in the manifest list entries",
                                              platform.str()));
    auto [raw2, ct2] = TRY(fetch(pick->digest.str()));
    if (digest_of(raw2) != pick->digest)
      return fail(Errc::DataLoss, fmt::format("manifest {} does not match its digest", pick->digest.str()));
    raw = std::move(raw2);
    mt = TRY(oci::sniff_media_type(raw));
    if (mt.empty()) mt = ct2;
  }
  if (!oci::media::is_manifest(mt))
    return fail(Errc::InvalidArgument, fmt::format("unsupported manifest media type \"{}\"", mt));
  out.parsed = TRY(oci::parse_manifest(raw));
  out.digest = digest_of(raw);
  out.media_type = mt;
  out.raw = std::move(raw);
  return out;
}

Status Client::get_blob(const oci::Reference& repo, const oci::Descriptor& desc, const Sink& sink,
                        const ProgressCb& progress, std::int64_t start) {
  const std::string scope = "repository:" + repo.path + ":pull";
  Hasher h(desc.digest.algo());
  std::int64_t offset = start;
  Sink tee = [&](const void* d, std::size_t n) -> Status {
    if (offset + static_cast<std::int64_t>(n) > desc.size && desc.size > 0)
      return fail(Errc::DataLoss, fmt::format("blob {} is larger than {} bytes", desc.digest.str(), desc.size));
    h.update(d, n);
    TRY(sink(d, n));
    offset += static_cast<std::int64_t>(n);
    if (progress) progress(offset, desc.size);
    return ok();
  };
  Error last(Errc::Unavailable, "no endpoint");
  auto bases = impl_->bases(repo.domain, true);
  for (std::size_t bi = 0; bi < bases.size(); ++bi) {
    for (int attempt = 0; attempt <= impl_->opts.retries; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(250 << attempt));
      Request r;
      r.url = fmt::format("{}/v2/{}/blobs/{}", bases[bi], repo.path, desc.digest.str());
      r.sink = &tee;
      if (offset > 0) {
        r.headers.push_back(fmt::format("Range: bytes={}-", offset));
        r.skip = offset;  // if the server ignores Range and answers 200
      }
      auto resp = impl_->authed(repo.domain, scope, r);
      if (!resp) {
        if (resp.error().is(Errc::DataLoss) || resp.error().is(Errc::Cancelled) ||
            resp.error().is(Errc::InvalidArgument) || resp.error().is(Errc::PermissionDenied))
          return fail(std::move(resp.error()));
        last = std::move(resp.error());
        continue;  // network error: retry (resuming)
      }
      if (resp->status == 200 || resp->status == 206) {
        if (desc.size > 0 && offset < desc.size) {
          last = Error(Errc::Unavailable, fmt::format("blob {}: short read", desc.digest.str()));
          continue;
        }
        if (start > 0) return ok();  // the caller holds the prefix and verifies
        Digest got = h.finish();
        if (got != desc.digest)
          return fail(Errc::DataLoss, fmt::format("blob digest {} does not match {}", got.str(), desc.digest.str()));
        return ok();
      }
      last = Error(errc_for_status(resp->status),
                   fmt::format("fetch blob {}: {}", desc.digest.short_id(), registry_error(*resp)));
      if (resp->status < 500 && resp->status != 429) break;  // next mirror / source
    }
    if (offset > start) break;  // never mix bytes from two endpoints
  }
  return fail(std::move(last));
}

Result<std::string> Client::get_blob_bytes(const oci::Reference& repo, const oci::Descriptor& desc) {
  if (desc.size > static_cast<std::int64_t>(kMaxManifest) * 4)
    return fail(Errc::InvalidArgument, "blob too large to buffer");
  std::string out;
  TRY(get_blob(repo, desc, [&](const void* d, std::size_t n) -> Status {
    out.append(static_cast<const char*>(d), n);
    return ok();
  }));
  return out;
}

Result<bool> Client::blob_exists(const oci::Reference& repo, const Digest& d) {
  Request r;
  r.method = "HEAD";
  r.url = fmt::format("{}/v2/{}/blobs/{}", impl_->base(repo.domain), repo.path, d.str());
  auto resp = TRY(impl_->authed(repo.domain, "repository:" + repo.path + ":pull,push", r));
  if (resp.status == 200) return true;
  if (resp.status == 404) return false;
  if (resp.status == 401)  // a HEAD has no error body: dockerd's wording
    return fail(Errc::PermissionDenied, "unauthorized: authentication required (docker login " + repo.domain + ")");
  if (resp.status == 403) return fail(Errc::PermissionDenied, "denied: requested access to the resource is denied");
  return fail(errc_for_status(resp.status), fmt::format("HEAD blob {}: HTTP {}", d.short_id(), resp.status));
}

Status Client::put_blob(const oci::Reference& repo, const Digest& d, std::int64_t size,
                        const std::function<Result<std::unique_ptr<BlobSource>>()>& open,
                        const std::string& from_repo) {
  const std::string scope = "repository:" + repo.path + ":pull,push";
  std::string base = impl_->base(repo.domain);
  Request start;
  start.method = "POST";
  start.url = fmt::format("{}/v2/{}/blobs/uploads/", base, repo.path);
  if (!from_repo.empty() && from_repo != repo.path)
    start.url += fmt::format("?mount={}&from={}", d.str(), url_escape(from_repo));
  start.follow = false;
  auto resp = TRY(impl_->authed(repo.domain, scope, start));
  if (resp.status == 201) return ok();  // mounted
  if (resp.status != 202)
    return fail(errc_for_status(resp.status), fmt::format("start upload: {}", registry_error(resp)));
  std::string loc = resp.headers["location"];
  if (loc.empty()) return fail(Errc::Internal, "upload without Location");
  if (loc.starts_with("/")) loc = base + loc;
  auto src = TRY(open());
  const std::int64_t chunk = impl_->opts.upload_chunk_size;
  if (chunk > 0 && size > chunk) {
    // Chunked: PATCH with Content-Range for each piece, each answer giving the next Location.
    struct Limited : BlobSource {
      BlobSource* s = nullptr;
      std::int64_t left = 0;
      Result<std::size_t> read(void* b, std::size_t n) override {
        if (left <= 0) return std::size_t{0};
        std::size_t k = TRY(s->read(b, static_cast<std::size_t>(std::min<std::int64_t>(left, static_cast<std::int64_t>(n)))));
        left -= static_cast<std::int64_t>(k);
        return k;
      }
    };
    std::int64_t off = 0;
    int failures = 0;
    while (off < size) {
      std::int64_t n = std::min(chunk, size - off);
      Limited lim;
      lim.s = src.get();
      lim.left = n;
      Request patch;
      patch.method = "PATCH";
      patch.url = loc;
      patch.upload = &lim;
      patch.upload_size = n;
      patch.follow = false;
      patch.headers.push_back("Content-Type: application/octet-stream");
      patch.headers.push_back(fmt::format("Content-Range: {}-{}", off, off + n - 1));
      auto presp = impl_->authed(repo.domain, scope, patch);
      if (presp && presp->status == 202) {
        std::string next = presp->headers["location"];
        if (!next.empty()) loc = next.starts_with("/") ? base + next : next;
        off += n;
        continue;
      }
      Error err = presp ? Error(errc_for_status(presp->status),
                                fmt::format("upload blob {} chunk at {}: {}", d.short_id(), off, registry_error(*presp)))
                        : std::move(presp.error());
      if (presp && presp->status != 416 && presp->status < 500) return fail(std::move(err));
      if (++failures > impl_->opts.retries) return fail(std::move(err));
      // Resume: the upload's status (GET → 204, Range: 0-<last byte>) says how much the
      // registry kept; continue from there with a fresh source.
      std::this_thread::sleep_for(std::chrono::milliseconds(250 << failures));
      Request st;
      st.url = loc;
      st.follow = false;
      auto sresp = impl_->authed(repo.domain, scope, st);
      if (!sresp || (sresp->status != 204 && sresp->status != 202)) return fail(std::move(err));
      std::string range = sresp->headers["range"];
      std::int64_t have = 0;
      if (auto dash = range.find('-'); dash != std::string::npos)
        have = std::strtoll(range.c_str() + dash + 1, nullptr, 10) + 1;
      if (have < 0 || have > size) return fail(std::move(err));
      if (std::string next = sresp->headers["location"]; !next.empty())
        loc = next.starts_with("/") ? base + next : next;
      src = TRY(open());
      std::vector<char> buf(1 << 16);
      for (std::int64_t skip = have; skip > 0;) {
        std::size_t k = TRY(src->read(buf.data(), static_cast<std::size_t>(std::min<std::int64_t>(skip, 1 << 16))));
        if (k == 0) return fail(Errc::DataLoss, fmt::format("blob {} shorter than {} bytes", d.short_id(), size));
        skip -= static_cast<std::int64_t>(k);
      }
      off = have;
    }
    loc += (loc.find('?') == std::string::npos ? "?" : "&") + std::string("digest=") + url_escape(d.str());
    Request fin;
    fin.method = "PUT";
    fin.url = loc;
    fin.follow = false;
    fin.headers.push_back("Content-Type: application/octet-stream");
    auto fresp = TRY(impl_->authed(repo.domain, scope, fin));
    if (fresp.status != 201 && fresp.status != 204)
      return fail(errc_for_status(fresp.status), fmt::format("close upload of blob {}: {}", d.short_id(), registry_error(fresp)));
    return ok();
  }
  loc += (loc.find('?') == std::string::npos ? "?" : "&") + std::string("digest=") + url_escape(d.str());
  Request put;
  put.method = "PUT";
  put.url = loc;
  put.upload = src.get();
  put.upload_size = size;
  put.follow = false;
  put.headers.push_back("Content-Type: application/octet-stream");
  auto presp = TRY(impl_->authed(repo.domain, scope, put));
  if (presp.status != 201 && presp.status != 204)
    return fail(errc_for_status(presp.status), fmt::format("upload blob {}: {}", d.short_id(), registry_error(presp)));
  return ok();
}

Status Client::put_manifest(const oci::Reference& ref, const std::string& media_type,
                            const std::string& raw) {
  Request r;
  r.method = "PUT";
  r.url = fmt::format("{}/v2/{}/manifests/{}", impl_->base(ref.domain), ref.path,
                      ref.digest.empty() ? ref.tag : ref.digest);
  r.headers.push_back("Content-Type: " + media_type);
  r.body = raw;
  r.follow = false;
  auto resp = TRY(impl_->authed(ref.domain, "repository:" + ref.path + ":pull,push", r));
  if (resp.status != 201 && resp.status != 200)
    return fail(errc_for_status(resp.status), fmt::format("put manifest: {}", registry_error(resp)));
  return ok();
}

}  // namespace berth::distribution
