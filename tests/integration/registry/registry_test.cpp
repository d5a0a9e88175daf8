// SPDX-License-Identifier: Apache-2.0
// berth-registry end to end on 127.0.0.1 (random port, scratch root), driven with berth's own
// HTTP client and raw sockets for malformed traffic.
#include <arpa/inet.h>
#include <crypt.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/base64.hpp"
#include "common/digest.hpp"
#include "common/file.hpp"
#include "http/http.hpp"
#include "support/test_support.hpp"

namespace berth {
namespace {

using nlohmann::json;

// A berth-registry child process; SIGKILLed and reaped on destruction.
class Registry {
 public:
  Registry(const std::string& root, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {test::bin("berth-registry"), "serve", "--addr", "127.0.0.1:0", "--root", root};
    argv.insert(argv.end(), extra.begin(), extra.end());
    int p[2];
    EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(p[1], 2);
      std::vector<char*> av;
      for (auto& a : argv) av.push_back(a.data());
      av.push_back(nullptr);
      ::execv(av[0], av.data());
      ::_exit(127);
    }
    ::close(p[1]);
    err_fd_ = p[0];
    // Wait for "listening on 127.0.0.1:PORT".
    std::string log;
    for (int i = 0; i < 100 && port_ == 0; ++i) {
      pollfd pf{err_fd_, POLLIN, 0};
      if (::poll(&pf, 1, 100) <= 0) continue;
      char buf[4096];
      ssize_t n = ::read(err_fd_, buf, sizeof buf);
      if (n <= 0) break;
      log.append(buf, static_cast<std::size_t>(n));
      auto pos = log.find("listening on 127.0.0.1:");
      if (pos != std::string::npos) port_ = static_cast<std::uint16_t>(std::stoi(log.substr(pos + 23)));
    }
    EXPECT_NE(port_, 0) << log;
    // Keep draining stderr so the access log never blocks the server.
    drain_ = ::fork();
    if (drain_ == 0) {
      char buf[65536];
      while (::read(err_fd_, buf, sizeof buf) > 0) {
      }
      ::_exit(0);
    }
  }
  ~Registry() { kill9(); }
  void kill9() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
    if (drain_ > 0) {
      ::kill(drain_, SIGKILL);
      ::waitpid(drain_, nullptr, 0);
      drain_ = -1;
    }
    if (err_fd_ >= 0) ::close(err_fd_);
    err_fd_ = -1;
  }
  std::uint16_t port() const { return port_; }
  http::Client client() const {
    http::ClientOptions o;
    o.host = "127.0.0.1";
    o.port = port_;
    o.timeout_ms = 20000;
    return http::Client(o);
  }

 private:
  pid_t pid_ = -1, drain_ = -1;
  int err_fd_ = -1;
  std::uint16_t port_ = 0;
};

http::Response req(http::Client& c, std::string_view method, const std::string& target, std::string_view body = {},
                   http::Headers h = {}) {
  auto r = c.request(method, target, body, h);
  EXPECT_TRUE(r) << method << " " << target << ": " << (r ? "" : r.error().message());
  return r ? *r : http::Response{};
}

std::string err_code(const http::Response& r) {
  auto j = json::parse(r.body, nullptr, false);
  if (!j.is_object() || !j.contains("errors")) return "";
  return j["errors"][0]["code"];
}

std::string push_blob(http::Client& c, const std::string& repo, const std::string& data) {
  std::string d = digest_of(data).str();
  auto r = req(c, "POST", "/v2/" + repo + "/blobs/uploads/?digest=" + d, data);
  EXPECT_EQ(r.status, 201) << r.body;
  return d;
}

std::string manifest_for(const std::string& cfg, const std::string& cfg_data, const std::vector<std::pair<std::string, std::size_t>>& layers,
                         const std::string& extra = "") {
  json m = {{"schemaVersion", 2},
            {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
            {"config", {{"mediaType", "application/vnd.oci.image.config.v1+json"}, {"digest", cfg}, {"size", cfg_data.size()}}},
            {"layers", json::array()}};
  for (auto& [d, n] : layers)
    m["layers"].push_back({{"mediaType", "application/vnd.oci.image.layer.v1.tar"}, {"digest", d}, {"size", n}});
  std::string s = m.dump();
  if (!extra.empty()) s = s.substr(0, s.size() - 1) + "," + extra + "}";
  return s;
}

constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";

// Raw request over a fresh socket; the connection is closed after sending (truncated uploads).
void send_raw_and_close(std::uint16_t port, const std::string& bytes) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_TRUE(write_all(fd, bytes));
  ::usleep(100 * 1000);
  ::close(fd);
  ::usleep(200 * 1000);
}

std::size_t count_files(const std::string& dir) {
  std::size_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec); it != std::filesystem::recursive_directory_iterator(); ++it)
    if (it->is_regular_file()) ++n;
  return n;
}

TEST(Registry, BaseHealthMetrics) {
  test::Scratch s("registry");
  Registry r(s.sub("root"));
  auto c = r.client();
  auto base = req(c, "GET", "/v2/");
  EXPECT_EQ(base.status, 200);
  EXPECT_EQ(base.header("Docker-Distribution-API-Version"), "registry/2.0");
  EXPECT_EQ(req(c, "GET", "/debug/health").status, 200);
  auto m = req(c, "GET", "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("berth_registry_http_requests_total{method=\"GET\",code=\"2xx\"}"), std::string::npos) << m.body;
}

TEST(Registry, PushMonolithicAndChunkedPullWithRange) {
  test::Scratch s("registry");
  Registry r(s.sub("root"));
  auto c = r.client();
  std::string d1 = push_blob(c, "lib/app", "monolithic blob");
  auto g = req(c, "GET", "/v2/lib/app/blobs/" + d1);
  EXPECT_EQ(g.status, 200);
  EXPECT_EQ(g.body, "monolithic blob");
  EXPECT_EQ(g.header("Docker-Content-Digest"), d1);
  auto h = req(c, "HEAD", "/v2/lib/app/blobs/" + d1);
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.header("Content-Length"), "15");
  auto rg = req(c, "GET", "/v2/lib/app/blobs/" + d1, {}, {{"Range", "bytes=4-7"}});
  EXPECT_EQ(rg.status, 206);
  EXPECT_EQ(rg.body, "lith");
  EXPECT_EQ(rg.header("Content-Range"), "bytes 4-7/15");
  EXPECT_EQ(req(c, "GET", "/v2/lib/app/blobs/" + d1, {}, {{"Range", "bytes=99-"}}).status, 416);

  // Chunked: POST, PATCH x2 with Content-Range, status, PUT with digest.
  std::string data = "0123456789abcdefghij";
  auto st = req(c, "POST", "/v2/lib/app/blobs/uploads/");
  ASSERT_EQ(st.status, 202);
  std::string loc = st.header("Location");
  ASSERT_FALSE(loc.empty());
  auto p1 = req(c, "PATCH", loc, data.substr(0, 10), {{"Content-Range", "0-9"}, {"Content-Type", "application/octet-stream"}});
  EXPECT_EQ(p1.status, 202);
  EXPECT_EQ(p1.header("Range"), "0-9");
  // Out of order chunk: 416, offset unchanged.
  auto ooo = req(c, "PATCH", p1.header("Location"), "zz", {{"Content-Range", "15-16"}});
  EXPECT_EQ(ooo.status, 416);
  EXPECT_EQ(ooo.header("Location"), loc);
  EXPECT_EQ(ooo.header("Range"), "0-9");
  auto stat = req(c, "GET", loc);
  EXPECT_EQ(stat.status, 204);
  EXPECT_EQ(stat.header("Range"), "0-9");
  EXPECT_EQ(req(c, "PATCH", loc, data.substr(10), {{"Content-Range", "10-19"}}).status, 202);
  std::string d2 = digest_of(data).str();
  auto fin = req(c, "PUT", loc + "?digest=" + d2);
  EXPECT_EQ(fin.status, 201) << fin.body;
  EXPECT_EQ(fin.header("Location"), "/v2/lib/app/blobs/" + d2);
  EXPECT_EQ(req(c, "GET", "/v2/lib/app/blobs/" + d2).body, data);
  // Cancelled upload is gone.
  auto st2 = req(c, "POST", "/v2/lib/app/blobs/uploads/");
  EXPECT_EQ(req(c, "DELETE", st2.header("Location")).status, 204);
  auto gone = req(c, "GET", st2.header("Location"));
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(err_code(gone), "BLOB_UPLOAD_UNKNOWN");
}

// docker/containerd push: POST, one PATCH with a chunked (streamed) body, PUT ?digest= empty.
TEST(Registry, StreamedPatchLikeDocker) {
  test::Scratch s("registry");
  Registry r(s.sub("root"));
  auto c = r.client();
  std::string data(3 << 20, 'd');
  for (std::size_t i = 0; i < data.size(); i += 4096) data[i] = static_cast<char>('a' + (i / 4096) % 26);
  auto st = req(c, "POST", "/v2/docker/blobs/uploads/");
  ASSERT_EQ(st.status, 202);
  std::size_t pos = 0;
  auto p = c.request_stream_body("PATCH", st.header("Location"), [&](char* buf, std::size_t n) -> Result<std::size_t> {
    std::size_t k = std::min<std::size_t>({n, data.size() - pos, 100000});
    std::memcpy(buf, data.data() + pos, k);
    pos += k;
    return k;
  });
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->status, 202);
  EXPECT_EQ(p->header("Range"), "0-" + std::to_string(data.size() - 1));
  std::string d = digest_of(data).str();
  EXPECT_EQ(req(c, "PUT", p->header("Location") + "?digest=" + d).status, 201);
  EXPECT_EQ(req(c, "GET", "/v2/docker/blobs/" + d).body == data, true);
}

TEST(Registry, CrossRepoMount) {
  test::Scratch s("registry");
  Registry r(s.sub("root"));
  auto c = r.client();
  std::string d = push_blob(c, "src", "shared layer");
  EXPECT_EQ(req(c, "GET", "/v2/dst/blobs/" + d).status, 404);
  auto m = req(c, "POST", "/v2/dst/blobs/uploads/?mount=" + d + "&from=src");
  EXPECT_EQ(m.status, 201);
  EXPECT_EQ(req(c, "GET", "/v2/dst/blobs/" + d).body, "shared layer");
  EXPECT_EQ(req(c, "POST", "/v2/dst2/blobs/uploads/?mount=" + d).status, 201);  // without from
  // Unknown blob: falls back to an upload session.
  EXPECT_EQ(req(c, "POST", "/v2/dst/blobs/uploads/?mount=" + digest_of("nope").str() + "&from=src").status, 202);
}

TEST(Registry, ManifestsTagsCatalogReferrers) {
  test::Scratch s("registry");
  Registry r(s.sub("root"), {"--delete"});
  auto c = r.client();
  std::string cfg = push_blob(c, "app", "{}");
  std::string layer = push_blob(c, "app", "layer-data");
  std::string m = manifest_for(cfg, "{}", {{layer, 10}});
  std::string md = digest_of(m).str();
  for (const char* tag : {"v1", "v2", "v3", "latest"}) {
    auto p = req(c, "PUT", std::string("/v2/app/manifests/") + tag, m, {{"Content-Type", kOciManifest}});
    ASSERT_EQ(p.status, 201) << p.body;
    EXPECT_EQ(p.header("Docker-Content-Digest"), md);
  }
  auto g = req(c, "GET", "/v2/app/manifests/v1", {}, {{"Accept", kOciManifest}});
  EXPECT_EQ(g.status, 200);
  EXPECT_EQ(g.body, m);
  EXPECT_EQ(g.header("Content-Type"), kOciManifest);
  EXPECT_EQ(g.header("Docker-Content-Digest"), md);
  auto hd = req(c, "HEAD", "/v2/app/manifests/" + md);
  EXPECT_EQ(hd.status, 200);
  EXPECT_EQ(hd.header("Content-Length"), std::to_string(m.size()));
  EXPECT_EQ(err_code(req(c, "GET", "/v2/app/manifests/nope")), "MANIFEST_UNKNOWN");
  EXPECT_EQ(err_code(req(c, "GET", "/v2/nothere/manifests/latest")), "NAME_UNKNOWN");

  // Pagination.
  auto t1 = req(c, "GET", "/v2/app/tags/list?n=2");
  EXPECT_EQ(json::parse(t1.body)["tags"], json({"latest", "v1"}));
  EXPECT_EQ(t1.header("Link"), "</v2/app/tags/list?last=v1&n=2>; rel=\"next\"");
  auto t2 = req(c, "GET", "/v2/app/tags/list?n=2&last=v1");
  EXPECT_EQ(json::parse(t2.body)["tags"], json({"v2", "v3"}));
  EXPECT_EQ(t2.header("Link"), "");
  EXPECT_EQ(json::parse(req(c, "GET", "/v2/app/tags/list").body)["tags"].size(), 4u);
  EXPECT_EQ(json::parse(req(c, "GET", "/v2/_catalog").body)["repositories"], json({"app"}));

  // Referrers: an artifact with a subject.
  std::string sig = manifest_for(cfg, "{}", {}, R"("artifactType":"application/vnd.example.sig","subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + md +
                                                    R"(","size":)" + std::to_string(m.size()) + "}");
  std::string sd = digest_of(sig).str();
  auto ps = req(c, "PUT", "/v2/app/manifests/" + sd, sig, {{"Content-Type", kOciManifest}});
  ASSERT_EQ(ps.status, 201) << ps.body;
  EXPECT_EQ(ps.header("OCI-Subject"), md);
  auto refs = req(c, "GET", "/v2/app/referrers/" + md);
  EXPECT_EQ(refs.status, 200);
  EXPECT_EQ(refs.header("Content-Type"), "application/vnd.oci.image.index.v1+json");
  auto rj = json::parse(refs.body);
  ASSERT_EQ(rj["manifests"].size(), 1u);
  EXPECT_EQ(rj["manifests"][0]["digest"], sd);
  EXPECT_EQ(rj["manifests"][0]["artifactType"], "application/vnd.example.sig");
  auto filtered = req(c, "GET", "/v2/app/referrers/" + md + "?artifactType=application/other");
  EXPECT_EQ(filtered.header("OCI-Filters-Applied"), "artifactType");
  EXPECT_EQ(json::parse(filtered.body)["manifests"].size(), 0u);
  EXPECT_EQ(json::parse(req(c, "GET", "/v2/app/referrers/" + digest_of("x").str()).body)["manifests"].size(), 0u);

  // Deletes: tag, manifest, blob.
  EXPECT_EQ(req(c, "DELETE", "/v2/app/manifests/v3").status, 202);
  EXPECT_EQ(req(c, "GET", "/v2/app/manifests/v3").status, 404);
  EXPECT_EQ(req(c, "DELETE", "/v2/app/manifests/" + md).status, 202);
  EXPECT_EQ(req(c, "GET", "/v2/app/manifests/v1").status, 404);
  EXPECT_EQ(req(c, "DELETE", "/v2/app/blobs/" + layer).status, 202);
  EXPECT_EQ(err_code(req(c, "GET", "/v2/app/blobs/" + layer)), "BLOB_UNKNOWN");
}

TEST(Registry, BadRequestsGetSpecErrorsAndChangeNothing) {
  test::Scratch s("registry");
  Registry r(s.sub("root"));
  auto c = r.client();
  std::string blobs = s.sub("root") + "/blobs";
  // Wrong digest.
  auto w = req(c, "POST", "/v2/app/blobs/uploads/?digest=" + digest_of("other").str(), "content");
  EXPECT_EQ(w.status, 400);
  EXPECT_EQ(err_code(w), "DIGEST_INVALID");
  EXPECT_EQ(req(c, "POST", "/v2/app/blobs/uploads/?digest=sha256:xyz", "content").status, 400);
  EXPECT_EQ(count_files(blobs), 0u);
  // Truncated upload: Content-Length 100, 10 bytes, then the client goes away.
  auto st = req(c, "POST", "/v2/app/blobs/uploads/");
  std::string loc = st.header("Location");
  send_raw_and_close(r.port(), "PATCH " + loc + " HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789");
  auto stat = req(c, "GET", loc);
  EXPECT_EQ(stat.status, 204);
  EXPECT_EQ(stat.header("Range"), "0-0");  // nothing kept
  EXPECT_EQ(req(c, "PUT", loc + "?digest=" + digest_of("0123456789").str()).status, 400);
  EXPECT_EQ(count_files(blobs), 0u);
  // Oversized manifest.
  std::string cfg = push_blob(c, "app", "{}");
  std::string big = manifest_for(cfg, "{}", {}, R"("annotations":{"a":")" + std::string(5 << 20, 'x') + "\"}");
  auto o = req(c, "PUT", "/v2/app/manifests/big", big, {{"Content-Type", kOciManifest}});
  EXPECT_EQ(o.status, 413);
  EXPECT_EQ(err_code(o), "MANIFEST_INVALID");
  // Manifest referencing a missing blob.
  auto mb = req(c, "PUT", "/v2/app/manifests/v1", manifest_for(cfg, "{}", {{digest_of("missing").str(), 7}}),
                {{"Content-Type", kOciManifest}});
  EXPECT_EQ(mb.status, 404);
  EXPECT_EQ(err_code(mb), "MANIFEST_BLOB_UNKNOWN");
  auto inv = req(c, "PUT", "/v2/app/manifests/v1", "{not json", {{"Content-Type", kOciManifest}});
  EXPECT_EQ(inv.status, 400);
  EXPECT_EQ(err_code(inv), "MANIFEST_INVALID");
  EXPECT_EQ(json::parse(req(c, "GET", "/v2/app/tags/list").body)["tags"].size(), 0u);
  // Path traversal and invalid names.
  for (std::string bad : {"/v2/%2e%2e/%2e%2e/etc/blobs/uploads/", "/v2/a/../../b/blobs/uploads/", "/v2/UPPER/blobs/uploads/",
                          "/v2/a/_layers/blobs/uploads/", "/v2/a%2f..%2f..%2fx/blobs/uploads/"}) {
    auto b = req(c, "POST", bad);
    EXPECT_TRUE(b.status == 400 || b.status == 404) << bad << " -> " << b.status;
    EXPECT_NE(b.status / 100, 2) << bad;
  }
  auto nb = req(c, "POST", "/v2/UPPER/blobs/uploads/");
  EXPECT_EQ(err_code(nb), "NAME_INVALID");
  EXPECT_FALSE(path_exists(s.sub("etc")));
  EXPECT_FALSE(path_exists(s.sub("root/etc")));
  EXPECT_FALSE(path_exists(s.sub("b")));
  // Delete disabled by default.
  auto dd = req(c, "DELETE", "/v2/app/blobs/" + cfg);
  EXPECT_EQ(dd.status, 405);
  EXPECT_EQ(err_code(dd), "UNSUPPORTED");
}

TEST(Registry, ReadOnlyMode) {
  test::Scratch s("registry");
  {
    Registry w(s.sub("root"));
    auto c = w.client();
    push_blob(c, "app", "x");
  }
  Registry r(s.sub("root"), {"--readonly"});
  auto c = r.client();
  EXPECT_EQ(req(c, "GET", "/v2/app/blobs/" + digest_of("x").str()).status, 200);
  auto p = req(c, "POST", "/v2/app/blobs/uploads/");
  EXPECT_EQ(p.status, 405);
  EXPECT_EQ(err_code(p), "UNSUPPORTED");
}

TEST(Registry, GarbageCollectKeepsReferencedBlobs) {
  test::Scratch s("registry");
  std::string root = s.sub("root");
  std::string keep, drop, cfg;
  {
    Registry r(root, {"--delete"});
    auto c = r.client();
    cfg = push_blob(c, "app", "{}");
    keep = push_blob(c, "app", "kept");
    drop = push_blob(c, "app", "dropped");
    ASSERT_EQ(req(c, "PUT", "/v2/app/manifests/v1", manifest_for(cfg, "{}", {{keep, 4}}), {{"Content-Type", kOciManifest}}).status, 201);
    std::string m2 = manifest_for(cfg, "{}", {{drop, 7}});
    ASSERT_EQ(req(c, "PUT", "/v2/app/manifests/v2", m2, {{"Content-Type", kOciManifest}}).status, 201);
    ASSERT_EQ(req(c, "DELETE", "/v2/app/manifests/" + digest_of(m2).str()).status, 202);
  }
  auto dry = test::run({test::bin("berth-registry"), "garbage-collect", "--dry-run", "--root", root});
  EXPECT_EQ(dry.status, 0) << dry.err;
  EXPECT_NE(dry.out.find("would delete " + drop), std::string::npos) << dry.out;
  auto gc = test::run({test::bin("berth-registry"), "garbage-collect", "--root", root});
  EXPECT_EQ(gc.status, 0) << gc.err;
  EXPECT_NE(gc.out.find("deleted " + drop), std::string::npos) << gc.out;
  EXPECT_EQ(gc.out.find(keep), std::string::npos) << gc.out;
  Registry r(root);
  auto c = r.client();
  EXPECT_EQ(req(c, "GET", "/v2/app/blobs/" + keep).body, "kept");
  EXPECT_EQ(req(c, "GET", "/v2/app/blobs/" + drop).status, 404);
  EXPECT_EQ(req(c, "GET", "/v2/app/manifests/v1").status, 200);
}

TEST(Registry, Kill9DuringPushLosesNothingAcknowledged) {
  test::Scratch s("registry");
  std::string root = s.sub("root");
  std::vector<std::pair<std::string, std::string>> acked;  // digest, data
  std::string pending_loc;
  {
    Registry r(root);
    auto c = r.client();
    for (int i = 0; i < 30; ++i) {
      std::string data = "blob-" + std::to_string(i) + std::string(static_cast<std::size_t>(1000 * i), 'z');
      acked.emplace_back(push_blob(c, "crash", data), data);
    }
    std::string m = manifest_for(acked[0].first, acked[0].second, {{acked[1].first, acked[1].second.size()}});
    ASSERT_EQ(req(c, "PUT", "/v2/crash/manifests/v1", m, {{"Content-Type", kOciManifest}}).status, 201);
    // An acknowledged chunk of an unfinished upload survives too.
    auto st = req(c, "POST", "/v2/crash/blobs/uploads/");
    pending_loc = st.header("Location");
    ASSERT_EQ(req(c, "PATCH", pending_loc, "first-half-", {{"Content-Range", "0-10"}}).status, 202);
    // In flight at the moment of the kill: a half-sent upload.
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(r.port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_TRUE(write_all(fd, "POST /v2/crash/blobs/uploads/?digest=" + digest_of(std::string(1 << 20, 'q')).str() +
                                  " HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n" + std::string(300000, 'q')));
    ::usleep(100 * 1000);
    r.kill9();
    ::close(fd);
  }
  Registry r(root);
  auto c = r.client();
  for (auto& [d, data] : acked) {
    auto g = req(c, "GET", "/v2/crash/blobs/" + d);
    ASSERT_EQ(g.status, 200) << d;
    EXPECT_EQ(digest_of(g.body).str(), d);
  }
  EXPECT_EQ(req(c, "GET", "/v2/crash/manifests/v1").status, 200);
  auto stat = req(c, "GET", pending_loc);
  EXPECT_EQ(stat.status, 204);
  EXPECT_EQ(stat.header("Range"), "0-10");
  ASSERT_EQ(req(c, "PATCH", pending_loc, "second-half", {{"Content-Range", "11-21"}}).status, 202);
  EXPECT_EQ(req(c, "PUT", pending_loc + "?digest=" + digest_of("first-half-second-half").str()).status, 201);
  EXPECT_EQ(req(c, "GET", "/v2/crash/blobs/" + digest_of(std::string(1 << 20, 'q')).str()).status, 404);
}

std::string basic(const std::string& up) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned v = 0;
  int bits = 0;
  for (unsigned char ch : up) {
    v = (v << 8) | ch;
    bits += 8;
    while (bits >= 6) out += t[(v >> (bits -= 6)) & 63];
  }
  if (bits) out += t[(v << (6 - bits)) & 63];
  while (out.size() % 4) out += '=';
  return "Basic " + out;
}

std::string htpasswd_line(const std::string& user, const std::string& pw) {
  char salt[64];
  crypt_gensalt_rn("$2y$", 5, nullptr, 0, salt, sizeof salt);
  crypt_data d{};
  return user + ":" + crypt_r(pw.c_str(), salt, &d) + "\n";
}

TEST(Registry, HtpasswdBasicAuth) {
  test::Scratch s("registry");
  ASSERT_TRUE(write_file(s.sub("htpasswd"), htpasswd_line("alice", "pw")));
  ASSERT_TRUE(write_file(s.sub("config.yml"), "auth:\n  htpasswd:\n    realm: test\n    path: " + s.sub("htpasswd") + "\n"));
  Registry r(s.sub("root"), {"--config", s.sub("config.yml")});
  auto c = r.client();
  auto no = req(c, "GET", "/v2/");
  EXPECT_EQ(no.status, 401);
  EXPECT_EQ(no.header("WWW-Authenticate"), "Basic realm=\"test\"");
  EXPECT_EQ(err_code(no), "UNAUTHORIZED");
  EXPECT_EQ(req(c, "GET", "/v2/", {}, {{"Authorization", basic("alice:bad")}}).status, 401);
  EXPECT_EQ(req(c, "GET", "/v2/", {}, {{"Authorization", basic("alice:pw")}}).status, 200);
  EXPECT_EQ(req(c, "POST", "/v2/app/blobs/uploads/?digest=" + digest_of("a").str(), "a", {{"Authorization", basic("alice:pw")}}).status, 201);
}

TEST(Registry, TokenAuthWithOwnTokenEndpoint) {
  test::Scratch s("registry");
  ASSERT_TRUE(write_file(s.sub("htpasswd"), htpasswd_line("bob", "pw")));
  ASSERT_TRUE(write_file(s.sub("config.yml"), "auth:\n  htpasswd:\n    path: " + s.sub("htpasswd") +
                                                 "\n  token:\n    realm: http://127.0.0.1/token\n    service: reg\n    issuer: reg\n    secret: s3cret\n"));
  Registry r(s.sub("root"), {"--config", s.sub("config.yml")});
  auto c = r.client();
  auto no = req(c, "POST", "/v2/app/blobs/uploads/");
  EXPECT_EQ(no.status, 401);
  EXPECT_EQ(no.header("WWW-Authenticate"), R"(Bearer realm="http://127.0.0.1/token",service="reg",scope="repository:app:pull,push")");
  auto tk = req(c, "GET", "/token?service=reg&scope=repository:app:pull,push", {}, {{"Authorization", basic("bob:pw")}});
  ASSERT_EQ(tk.status, 200) << tk.body;
  std::string bearer = "Bearer " + json::parse(tk.body)["token"].get<std::string>();
  EXPECT_EQ(req(c, "POST", "/v2/app/blobs/uploads/?digest=" + digest_of("a").str(), "a", {{"Authorization", bearer}}).status, 201);
  auto other = req(c, "GET", "/v2/other/tags/list", {}, {{"Authorization", bearer}});
  EXPECT_EQ(other.status, 401);  // as distribution: a valid token without the scope
  EXPECT_EQ(err_code(other), "UNAUTHORIZED");
  EXPECT_EQ(other.header("WWW-Authenticate"),
            R"(Bearer realm="http://127.0.0.1/token",service="reg",scope="repository:other:pull",error="insufficient_scope")");
  EXPECT_EQ(req(c, "GET", "/token?service=reg&scope=repository:app:pull", {}, {{"Authorization", basic("bob:no")}}).status, 401);
}

TEST(Registry, MirrorPullThroughCache) {
  test::Scratch s("registry");
  auto up = std::make_unique<Registry>(s.sub("upstream"));
  auto uc = up->client();
  std::string cfg = push_blob(uc, "library/img", "{}");
  std::string layer = push_blob(uc, "library/img", "upstream layer");
  std::string m = manifest_for(cfg, "{}", {{layer, 14}});
  ASSERT_EQ(req(uc, "PUT", "/v2/library/img/manifests/latest", m, {{"Content-Type", kOciManifest}}).status, 201);
  ASSERT_TRUE(write_file(s.sub("mirror.yml"), "proxy:\n  remoteurl: http://127.0.0.1:" + std::to_string(up->port()) + "\n"));
  Registry mirror(s.sub("mirror"), {"--config", s.sub("mirror.yml")});
  auto mc = mirror.client();
  auto g = req(mc, "GET", "/v2/library/img/manifests/latest");
  EXPECT_EQ(g.status, 200) << g.body;
  EXPECT_EQ(g.body, m);
  EXPECT_EQ(req(mc, "GET", "/v2/library/img/blobs/" + layer).body, "upstream layer");
  EXPECT_EQ(req(mc, "GET", "/v2/library/img/blobs/" + digest_of("nope").str()).status, 404);
  EXPECT_EQ(req(mc, "POST", "/v2/library/img/blobs/uploads/").status, 405);
  // Concurrent misses of one blob: all served, content stored once.
  std::string big(2 << 20, 'm');
  std::string bd = push_blob(uc, "library/img", big);
  std::vector<std::thread> ts;
  std::atomic<int> okc{0};
  for (int i = 0; i < 4; ++i)
    ts.emplace_back([&] {
      auto tc = mirror.client();
      auto g2 = tc.request("GET", "/v2/library/img/blobs/" + bd);
      if (g2 && g2->status == 200 && g2->body == big) ++okc;
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(okc.load(), 4);
  // Upstream gone: the cache still serves.
  up.reset();
  EXPECT_EQ(req(mc, "GET", "/v2/library/img/manifests/latest").body, m);
  EXPECT_EQ(req(mc, "GET", "/v2/library/img/blobs/" + layer).body, "upstream layer");
  auto miss = req(mc, "GET", "/v2/library/img/blobs/" + cfg);  // never fetched, upstream down
  EXPECT_EQ(miss.status, 503);
  EXPECT_EQ(err_code(miss), "UNAVAILABLE");
}

TEST(Registry, OnlineGcWhileServing) {
  test::Scratch s("registry");
  ASSERT_TRUE(write_file(s.sub("config.yml"), "storage:\n  gc:\n    interval: 1s\n    grace: 0s\n"));
  Registry r(s.sub("root"), {"--config", s.sub("config.yml")});
  auto c = r.client();
  std::string cfg = push_blob(c, "app", "{}");
  std::string layer = push_blob(c, "app", "referenced");
  ASSERT_EQ(req(c, "PUT", "/v2/app/manifests/v1", manifest_for(cfg, "{}", {{layer, 10}}), {{"Content-Type", kOciManifest}}).status, 201);
  std::string orphan = push_blob(c, "app", "orphan");
  bool gone = false;
  for (int i = 0; i < 50 && !gone; ++i) {  // pulls keep working while GC runs
    EXPECT_EQ(req(c, "GET", "/v2/app/manifests/v1").status, 200);
    gone = req(c, "HEAD", "/v2/app/blobs/" + orphan).status == 404;
    if (!gone) ::usleep(100 * 1000);
  }
  EXPECT_TRUE(gone);
  EXPECT_EQ(req(c, "GET", "/v2/app/blobs/" + layer).body, "referenced");
  EXPECT_EQ(req(c, "GET", "/v2/app/blobs/" + cfg).body, "{}");
  auto m = req(c, "GET", "/metrics");
  EXPECT_NE(m.body.find("berth_registry_manifests_pushed_total 1"), std::string::npos);
}

TEST(Registry, MirrorAuthenticatesToUpstream) {
  test::Scratch s("registry");
  ASSERT_TRUE(write_file(s.sub("htpasswd"), htpasswd_line("up", "pw")));
  ASSERT_TRUE(write_file(s.sub("up.yml"), "auth:\n  htpasswd:\n    path: " + s.sub("htpasswd") + "\n"));
  Registry up(s.sub("upstream"), {"--config", s.sub("up.yml")});
  auto uc = up.client();
  http::Headers a{{"Authorization", basic("up:pw")}};
  std::string data = "private layer";
  std::string d = digest_of(data).str();
  ASSERT_EQ(req(uc, "POST", "/v2/priv/blobs/uploads/?digest=" + d, data, a).status, 201);
  std::string port = std::to_string(up.port());
  ASSERT_TRUE(write_file(s.sub("bad.yml"), "proxy:\n  remoteurl: http://127.0.0.1:" + port + "\n"));
  ASSERT_TRUE(write_file(s.sub("good.yml"), "proxy:\n  remoteurl: http://127.0.0.1:" + port + "\n  username: up\n  password: pw\n"));
  {
    Registry anon(s.sub("m1"), {"--config", s.sub("bad.yml")});
    auto c = anon.client();
    EXPECT_NE(req(c, "GET", "/v2/priv/blobs/" + d).status, 200);
  }
  Registry m(s.sub("m2"), {"--config", s.sub("good.yml")});
  auto c = m.client();
  auto g = req(c, "GET", "/v2/priv/blobs/" + d);
  EXPECT_EQ(g.status, 200) << g.body;
  EXPECT_EQ(g.body, data);
}

TEST(Registry, MirrorBearerTokenToUpstream) {
  test::Scratch s("registry");
  std::string port = std::to_string(test::free_port());
  ASSERT_TRUE(write_file(s.sub("htpasswd"), htpasswd_line("up", "pw")));
  ASSERT_TRUE(write_file(s.sub("up.yml"), "auth:\n  htpasswd:\n    path: " + s.sub("htpasswd") +
                                             "\n  token:\n    realm: http://127.0.0.1:" + port +
                                             "/token\n    service: up\n    issuer: up\n    secret: k\n"));
  Registry up(s.sub("upstream"), {"--config", s.sub("up.yml"), "--addr", "127.0.0.1:" + port});
  ASSERT_EQ(std::to_string(up.port()), port);
  auto uc = up.client();
  auto tk = req(uc, "GET", "/token?service=up&scope=repository:priv:pull,push", {}, {{"Authorization", basic("up:pw")}});
  http::Headers a{{"Authorization", "Bearer " + json::parse(tk.body)["token"].get<std::string>()}};
  std::string data = "token layer";
  std::string d = digest_of(data).str();
  ASSERT_EQ(req(uc, "POST", "/v2/priv/blobs/uploads/?digest=" + d, data, a).status, 201);
  ASSERT_TRUE(write_file(s.sub("m.yml"), "proxy:\n  remoteurl: http://127.0.0.1:" + port + "\n  username: up\n  password: pw\n"));
  Registry m(s.sub("mirror"), {"--config", s.sub("m.yml")});
  auto c = m.client();
  auto g = req(c, "GET", "/v2/priv/blobs/" + d);
  EXPECT_EQ(g.status, 200) << g.body;
  EXPECT_EQ(g.body, data);
}

TEST(Registry, TlsFromConfigWithFlagOverrides) {
  test::Scratch s("registry");
  auto gen = test::run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", s.sub("key.pem"), "-out", s.sub("cert.pem"), "-days", "1", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"});
  if (gen.status != 0) GTEST_SKIP() << "openssl CLI unavailable: " << gen.err;
  // The file says port 1 and another root; the flags (--addr/--root from Registry) win.
  ASSERT_TRUE(write_file(s.sub("config.yml"), "storage:\n  filesystem:\n    rootdirectory: " + s.sub("ignored") +
                                                 "\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:1\n  tls:\n    certificate: " +
                                                 s.sub("cert.pem") + "\n    key: " + s.sub("key.pem") + "\n"));
  Registry r(s.sub("root"), {"--config", s.sub("config.yml")});
  http::ClientOptions o;
  o.host = "127.0.0.1";
  o.port = r.port();
  o.tls = true;
  o.ca_file = s.sub("cert.pem");
  o.timeout_ms = 20000;
  http::Client c(o);
  EXPECT_EQ(req(c, "GET", "/v2/").status, 200);
  std::string data(300000, 'T');
  std::string d = push_blob(c, "tls/app", data);
  auto g = req(c, "GET", "/v2/tls/app/blobs/" + d);
  EXPECT_EQ(g.status, 200);
  EXPECT_EQ(g.body, data);
  EXPECT_EQ(req(c, "DELETE", "/v2/tls/app/blobs/" + d).status, 202);  // delete enabled by the file
  EXPECT_TRUE(path_exists(s.sub("root/blobs")));
  EXPECT_FALSE(path_exists(s.sub("ignored")));
}

TEST(Registry, AcceptNegotiationForManifests) {
  test::Scratch s("registry");
  Registry r(s.sub("root"));
  auto c = r.client();
  std::string cfg = push_blob(c, "app", "{}");
  std::string layer = push_blob(c, "app", "layer-data");
  std::string oci = manifest_for(cfg, "{}", {{layer, 10}});
  std::string od = digest_of(oci).str();
  ASSERT_EQ(req(c, "PUT", "/v2/app/manifests/oci", oci, {{"Content-Type", kOciManifest}}).status, 201);
  json dm = json::parse(oci);
  dm["mediaType"] = "application/vnd.docker.distribution.manifest.v2+json";
  std::string docker = dm.dump();
  std::string dd = digest_of(docker).str();
  ASSERT_EQ(req(c, "PUT", "/v2/app/manifests/docker", docker, {{"Content-Type", dm["mediaType"].get<std::string>()}}).status, 201);
  json idx = {{"schemaVersion", 2},
              {"mediaType", "application/vnd.oci.image.index.v1+json"},
              {"manifests",
               {{{"mediaType", kOciManifest}, {"digest", od}, {"size", oci.size()},
                 {"platform", {{"os", "linux"}, {"architecture", "arm64"}}}},
                {{"mediaType", "application/vnd.docker.distribution.manifest.v2+json"}, {"digest", dd},
                 {"size", docker.size()}, {"platform", {{"os", "linux"}, {"architecture", "amd64"}}}}}}};
  std::string index = idx.dump();
  std::string id = digest_of(index).str();
  ASSERT_EQ(req(c, "PUT", "/v2/app/manifests/multi", index, {{"Content-Type", "application/vnd.oci.image.index.v1+json"}}).status, 201);

  const std::string kDockerV2 = "application/vnd.docker.distribution.manifest.v2+json";
  // Served as stored: no Accept, a wildcard, or a list naming the stored type.
  for (const char* method : {"GET", "HEAD"}) {
    EXPECT_EQ(req(c, method, "/v2/app/manifests/oci").status, 200) << method;
    EXPECT_EQ(req(c, method, "/v2/app/manifests/oci", {}, {{"Accept", "*/*"}}).status, 200) << method;
    auto g = req(c, method, "/v2/app/manifests/oci", {}, {{"Accept", kDockerV2 + ", " + kOciManifest + ";q=0.5"}});
    EXPECT_EQ(g.status, 200) << method;
    EXPECT_EQ(g.header("Content-Type"), kOciManifest);
    // Two Accept headers are one list.
    EXPECT_EQ(req(c, method, "/v2/app/manifests/docker", {}, {{"Accept", kOciManifest}, {"Accept", kDockerV2}}).status, 200);
    // Not listed: 404 MANIFEST_UNKNOWN (no format conversion).
    auto no = req(c, method, "/v2/app/manifests/oci", {}, {{"Accept", kDockerV2}});
    EXPECT_EQ(no.status, 404) << method;
    if (std::string(method) == "GET") {
      EXPECT_EQ(err_code(no), "MANIFEST_UNKNOWN");
    }
    EXPECT_EQ(req(c, method, "/v2/app/manifests/" + dd, {}, {{"Accept", kOciManifest}}).status, 404);
    // q=0 excludes a type.
    EXPECT_EQ(req(c, method, "/v2/app/manifests/oci", {}, {{"Accept", std::string(kOciManifest) + ";q=0"}}).status, 404);
  }
  // An index by tag for a client without index support: the linux/amd64 child it accepts.
  auto child = req(c, "GET", "/v2/app/manifests/multi", {}, {{"Accept", kDockerV2}});
  EXPECT_EQ(child.status, 200);
  EXPECT_EQ(child.header("Docker-Content-Digest"), dd);
  EXPECT_EQ(child.body, docker);
  // ... but not when the amd64 child's type is not accepted either, nor by digest.
  EXPECT_EQ(req(c, "GET", "/v2/app/manifests/multi", {}, {{"Accept", kOciManifest}}).status, 404);
  EXPECT_EQ(req(c, "GET", "/v2/app/manifests/" + id, {}, {{"Accept", kDockerV2}}).status, 404);
  auto whole = req(c, "GET", "/v2/app/manifests/multi", {}, {{"Accept", "application/vnd.oci.image.index.v1+json"}});
  EXPECT_EQ(whole.header("Docker-Content-Digest"), id);
}

TEST(Registry, PutByDigestWithTagParameters) {
  test::Scratch s("registry");
  Registry r(s.sub("root"));
  auto c = r.client();
  std::string cfg = push_blob(c, "app", "{}");
  std::string m = manifest_for(cfg, "{}", {});
  std::string md = digest_of(m).str();
  // An invalid tag among them: 400 and nothing stored.
  auto bad = req(c, "PUT", "/v2/app/manifests/" + md + "?tag=ok&tag=-bad", m, {{"Content-Type", kOciManifest}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(err_code(bad), "MANIFEST_INVALID");
  EXPECT_EQ(req(c, "GET", "/v2/app/manifests/" + md).status, 404);
  EXPECT_EQ(json::parse(req(c, "GET", "/v2/app/tags/list").body)["tags"].size(), 0u);
  // Tag parameters on a push by tag are refused.
  EXPECT_EQ(req(c, "PUT", "/v2/app/manifests/v1?tag=v2", m, {{"Content-Type", kOciManifest}}).status, 400);
  auto p = req(c, "PUT", "/v2/app/manifests/" + md + "?tag=1.2.3&tag=latest", m, {{"Content-Type", kOciManifest}});
  ASSERT_EQ(p.status, 201) << p.body;
  std::vector<std::string> got;
  for (auto& [k, v] : p.headers.list())
    if (http::iequals(k, "OCI-Tag")) got.push_back(v);
  EXPECT_EQ(got, (std::vector<std::string>{"1.2.3", "latest"}));
  EXPECT_EQ(json::parse(req(c, "GET", "/v2/app/tags/list").body)["tags"], json({"1.2.3", "latest"}));
  EXPECT_EQ(req(c, "GET", "/v2/app/manifests/latest").header("Docker-Content-Digest"), md);
}

TEST(Registry, CatalogFromIndexWithPagination) {
  test::Scratch s("registry");
  std::vector<std::string> names = {"a", "b/c", "b/d/e", "f", "zz"};
  {
    Registry r(s.sub("root"));
    auto c = r.client();
    for (auto& n : names) push_blob(c, n, "x");
    EXPECT_EQ(req(c, "POST", "/v2/uploadonly/blobs/uploads/").status, 202);  // a session alone makes no repository
    auto p1 = req(c, "GET", "/v2/_catalog?n=2");
    EXPECT_EQ(json::parse(p1.body)["repositories"], json({"a", "b/c"}));
    EXPECT_EQ(p1.header("Link"), "</v2/_catalog?last=b%2Fc&n=2>; rel=\"next\"");
    auto p2 = req(c, "GET", "/v2/_catalog?n=2&last=b/c");
    EXPECT_EQ(json::parse(p2.body)["repositories"], json({"b/d/e", "f"}));
    auto p3 = req(c, "GET", "/v2/_catalog?n=2&last=f");
    EXPECT_EQ(json::parse(p3.body)["repositories"], json({"zz"}));
    EXPECT_EQ(p3.header("Link"), "");
    EXPECT_EQ(json::parse(req(c, "GET", "/v2/_catalog?n=0").body)["repositories"].size(), 0u);
    EXPECT_EQ(req(c, "GET", "/v2/_catalog?n=x").status / 100, 4);
  }
  // After a restart the index is rebuilt from disk.
  Registry r2(s.sub("root"));
  auto c2 = r2.client();
  EXPECT_EQ(json::parse(req(c2, "GET", "/v2/_catalog").body)["repositories"], json(names));
}

TEST(Registry, AclLimitsTokenScopesAndBasicAuth) {
  test::Scratch s("registry");
  ASSERT_TRUE(write_file(s.sub("htpasswd"), htpasswd_line("alice", "pw") + htpasswd_line("bob", "pw")));
  ASSERT_TRUE(write_file(s.sub("acl"), "# who what actions\n"
                                       "alice  alice/*           pull,push,delete\n"
                                       "*      library/*         pull\n"
                                       "@anonymous public/*      pull\n"
                                       "bob    registry:catalog  *\n"));
  ASSERT_TRUE(write_file(s.sub("config.yml"), "auth:\n  htpasswd:\n    path: " + s.sub("htpasswd") + "\n  acl:\n    path: " +
                                                 s.sub("acl") + "\n  token:\n    realm: http://127.0.0.1/token\n    service: reg\n    issuer: reg\n    secret: s3cret\n"));
  Registry r(s.sub("root"), {"--config", s.sub("config.yml")});
  auto c = r.client();
  auto token = [&](const std::string& who, const std::string& scope) {
    http::Headers h;
    if (!who.empty()) h.add("Authorization", basic(who + ":pw"));
    auto t = req(c, "GET", "/token?service=reg&scope=" + scope, {}, h);
    EXPECT_EQ(t.status, 200) << t.body;
    std::string tok = json::parse(t.body)["token"].get<std::string>();
    auto dot1 = tok.find('.'), dot2 = tok.rfind('.');
    std::string payload = tok.substr(dot1 + 1, dot2 - dot1 - 1);
    for (auto& ch : payload) ch = ch == '-' ? '+' : ch == '_' ? '/' : ch;
    while (payload.size() % 4) payload += '=';
    return std::pair{"Bearer " + tok, json::parse(*base64_decode(payload))["access"]};
  };
  // alice: everything she asked on her namespace.
  auto [ta, acc_a] = token("alice", "repository:alice/app:pull,push,delete");
  EXPECT_EQ(acc_a, json::parse(R"([{"type":"repository","name":"alice/app","actions":["pull","push","delete"]}])"));
  EXPECT_EQ(req(c, "POST", "/v2/alice/app/blobs/uploads/?digest=" + digest_of("a").str(), "a", {{"Authorization", ta}}).status, 201);
  // bob asking for alice's repository gets a token without that scope: push is denied.
  auto [tb, acc_b] = token("bob", "repository:alice/app:pull,push");
  EXPECT_EQ(acc_b, json::array());
  auto denied = req(c, "POST", "/v2/alice/app/blobs/uploads/", {}, {{"Authorization", tb}});
  EXPECT_EQ(denied.status, 401);
  EXPECT_NE(denied.header("WWW-Authenticate").find("error=\"insufficient_scope\""), std::string::npos);
  // library/*: pull only, for any user; push is cut from the grant.
  auto [tl, acc_l] = token("bob", "repository:library/x:pull,push");
  EXPECT_EQ(acc_l, json::parse(R"([{"type":"repository","name":"library/x","actions":["pull"]}])"));
  EXPECT_EQ(req(c, "POST", "/v2/library/x/blobs/uploads/", {}, {{"Authorization", tl}}).status, 401);
  // Anonymous: public/* pull only.
  auto [tn, acc_n] = token("", "repository:public/x:pull,push");
  EXPECT_EQ(acc_n, json::parse(R"([{"type":"repository","name":"public/x","actions":["pull"]}])"));
  EXPECT_EQ(token("", "repository:library/x:pull").second, json::array());
  // Catalog only for bob.
  EXPECT_EQ(token("alice", "registry:catalog:*").second, json::array());
  auto [tc, acc_c] = token("bob", "registry:catalog:*");
  EXPECT_EQ(req(c, "GET", "/v2/_catalog", {}, {{"Authorization", tc}}).status, 200);
  EXPECT_EQ(req(c, "GET", "/v2/_catalog", {}, {{"Authorization", ta}}).status, 401);
  // Cross-repository mount with a token: pull on `from` belongs to the request's scope.
  std::string ad = digest_of("a").str();
  auto [tm1, acc_m1] = token("alice", "repository:alice/copy:pull,push");
  auto m1 = req(c, "POST", "/v2/alice/copy/blobs/uploads/?mount=" + ad + "&from=alice/app", {}, {{"Authorization", tm1}});
  EXPECT_EQ(m1.status, 401);
  EXPECT_EQ(m1.header("WWW-Authenticate"),
            R"(Bearer realm="http://127.0.0.1/token",service="reg",scope="repository:alice/copy:pull,push repository:alice/app:pull",error="insufficient_scope")");
  auto [tm2, acc_m2] = token("alice", "repository:alice/copy:pull,push&scope=repository:alice/app:pull");
  EXPECT_EQ(acc_m2.size(), 2u);
  auto m2 = req(c, "POST", "/v2/alice/copy/blobs/uploads/?mount=" + ad + "&from=alice/app", {}, {{"Authorization", tm2}});
  EXPECT_EQ(m2.status, 201) << m2.body;
  // bob may not pull alice/app: his token for the mount lacks it, so the request stays 401.
  auto [tm3, acc_m3] = token("bob", "repository:library/y:pull,push&scope=repository:alice/app:pull");
  EXPECT_EQ(acc_m3, json::parse(R"([{"type":"repository","name":"library/y","actions":["pull"]}])"));
  EXPECT_EQ(req(c, "POST", "/v2/library/y/blobs/uploads/?mount=" + ad + "&from=alice/app", {}, {{"Authorization", tm3}}).status, 401);
  // Nothing was stored for the denied pushes.
  EXPECT_EQ(json::parse(req(c, "GET", "/v2/_catalog", {}, {{"Authorization", tc}}).body)["repositories"],
            json({"alice/app", "alice/copy"}));
}

TEST(Registry, AclWithBasicAuth) {
  test::Scratch s("registry");
  ASSERT_TRUE(write_file(s.sub("htpasswd"), htpasswd_line("alice", "pw") + htpasswd_line("bob", "pw")));
  ASSERT_TRUE(write_file(s.sub("acl"), "alice alice/* *\n@anonymous alice/* pull\n"));
  ASSERT_TRUE(write_file(s.sub("config.yml"), "auth:\n  htpasswd:\n    path: " + s.sub("htpasswd") + "\n  acl:\n    path: " + s.sub("acl") + "\n"));
  Registry r(s.sub("root"), {"--config", s.sub("config.yml")});
  auto c = r.client();
  std::string d = digest_of("a").str();
  EXPECT_EQ(req(c, "POST", "/v2/alice/x/blobs/uploads/?digest=" + d, "a", {{"Authorization", basic("alice:pw")}}).status, 201);
  auto bob = req(c, "POST", "/v2/alice/x/blobs/uploads/?digest=" + d, "a", {{"Authorization", basic("bob:pw")}});
  EXPECT_EQ(bob.status, 403);
  EXPECT_EQ(err_code(bob), "DENIED");
  EXPECT_EQ(req(c, "GET", "/v2/alice/x/blobs/" + d).status, 200);  // anonymous pull granted
  EXPECT_EQ(req(c, "POST", "/v2/alice/x/blobs/uploads/").status, 401);  // anonymous push: log in
  EXPECT_EQ(req(c, "GET", "/v2/other/tags/list", {}, {{"Authorization", basic("alice:pw")}}).status, 403);
  // A malformed ACL file stops the server from starting.
  ASSERT_TRUE(write_file(s.sub("acl"), "alice alice/* fly\n"));
  int rc = std::system(("timeout 10 " + test::bin("berth-registry") + " serve --addr 127.0.0.1:0 --root " + s.sub("root2") +
                        " --config " + s.sub("config.yml") + " 2>/dev/null")
                           .c_str());
  ASSERT_TRUE(WIFEXITED(rc));
  EXPECT_NE(WEXITSTATUS(rc), 0);
  EXPECT_NE(WEXITSTATUS(rc), 124) << "started despite a malformed ACL";
}

TEST(Registry, MirrorHeadDoesNotDownload) {
  test::Scratch s("registry");
  Registry up(s.sub("upstream"));
  auto uc = up.client();
  std::string big(3 << 20, 'h');
  std::string bd = push_blob(uc, "library/img", big);
  ASSERT_TRUE(write_file(s.sub("mirror.yml"), "proxy:\n  remoteurl: http://127.0.0.1:" + std::to_string(up.port()) + "\n"));
  Registry mirror(s.sub("mirror"), {"--config", s.sub("mirror.yml")});
  auto mc = mirror.client();
  auto h = req(mc, "HEAD", "/v2/library/img/blobs/" + bd);
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.header("Content-Length"), std::to_string(big.size()));
  EXPECT_EQ(h.header("Docker-Content-Digest"), bd);
  EXPECT_EQ(count_files(s.sub("mirror") + "/blobs"), 0u);  // nothing downloaded
  EXPECT_EQ(req(mc, "HEAD", "/v2/library/img/blobs/" + digest_of("nope").str()).status, 404);
  EXPECT_EQ(req(mc, "GET", "/v2/library/img/blobs/" + bd).body, big);
  EXPECT_EQ(count_files(s.sub("mirror") + "/blobs"), 1u);
  EXPECT_EQ(req(mc, "HEAD", "/v2/library/img/blobs/" + bd).header("Content-Length"), std::to_string(big.size()));
}

TEST(Registry, TlsProbeOnPlainPortClosesAtOnce) {
  // docker and skopeo try https first on an insecure registry: the server must drop the
  // ClientHello at once (they fall back to http) rather than wait for a request head.
  test::Scratch s("registry");
  Registry r(s.sub("root"));
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(r.port());
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  const char hello[] = {0x16, 0x03, 0x01, 0x00, 0x2f, 0x01, 0x00, 0x00, 0x2b, 0x03, 0x03};
  ASSERT_TRUE(write_all(fd, std::string_view(hello, sizeof hello)));
  pollfd pf{fd, POLLIN, 0};
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(::poll(&pf, 1, 3000), 1);
  char buf[256];
  EXPECT_LE(::read(fd, buf, sizeof buf), 0);  // closed, nothing sent
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  ::close(fd);
  auto c = r.client();
  EXPECT_EQ(req(c, "GET", "/v2/").status, 200);
}

}  // namespace
}  // namespace berth
