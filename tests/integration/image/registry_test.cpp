// SPDX-License-Identifier: Apache-2.0
// Pull and push against registries on loopback: tests/integration/image/tiny_registry.py (seeded
// from the OCI layouts of the test images; drops the first GET of each blob half-way so Range
// resume is exercised; optional bearer auth), and berth-registry when it has been built.
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/file.hpp"
#include "common/strings.hpp"
#include "image/image_service.hpp"
#include "crash_util.hpp"
#include "support/test_support.hpp"

namespace berth::image {
namespace {

using json = nlohmann::json;

// A child process killed (and reaped) on destruction.
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv) {
    pid_ = ::fork();
    if (pid_ == 0) {
      int devnull = ::open("/dev/null", O_RDWR);
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
      std::vector<char*> a;
      for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
      a.push_back(nullptr);
      ::execvp(a[0], a.data());
      ::_exit(127);
    }
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

 private:
  pid_t pid_ = -1;
};

std::string wait_for_file(const std::string& path) {
  for (int i = 0; i < 200; ++i) {
    auto s = read_file(path);
    if (s && !s->empty()) return *s;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return {};
}

class RegistryTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    if (test::image_path("busybox", "oci").empty()) GTEST_FAIL() << "run make test-images";
    scratch_ = std::make_unique<test::Scratch>("registry-" + GetParam());
  }
  std::string start_tiny(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {"python3", BERTH_SOURCE_DIR "/tests/integration/image/tiny_registry.py",
                                     "--root", scratch_->sub("reg"), "--port-file", scratch_->sub("port"),
                                     "--seed", "berth-test/busybox:latest=" + test::image_path("busybox", "oci"),
                                     "--cut-first-blob-get"};
    for (auto& e : extra) argv.push_back(e);
    reg_ = std::make_unique<Child>(argv);
    std::string port = wait_for_file(scratch_->sub("port"));
    EXPECT_FALSE(port.empty()) << "tiny registry did not start";
    return "127.0.0.1:" + port;
  }
  std::unique_ptr<ImageService> open_store(const std::string& name) {
    ServiceOptions o;
    o.root = scratch_->sub(name);
    o.driver = GetParam();
    auto s = ImageService::open(o);
    EXPECT_TRUE(s) << s.error().message();
    return s ? std::move(*s) : nullptr;
  }
  std::unique_ptr<test::Scratch> scratch_;
  std::unique_ptr<Child> reg_;
};

TEST_P(RegistryTest, PullStreamsLayersWithResume) {
  std::string host = start_tiny();
  auto svc = open_store("a");
  std::vector<std::string> msgs;
  auto id = svc->pull(host + "/berth-test/busybox", {}, [&](const Progress& p) { msgs.push_back(p.json); });
  ASSERT_TRUE(id) << id.error().message();
  // Same image as loading the docker-archive of the same layout.
  auto fd = open_file(test::images_dir() + "/busybox.tar", O_RDONLY);
  ASSERT_TRUE(svc->load(fd->get(), nullptr));
  EXPECT_EQ(svc->resolve("busybox")->id, *id);
  auto ins = json::parse(*svc->inspect(host + "/berth-test/busybox:latest"));
  ASSERT_EQ(ins["RepoDigests"].size(), 1u);
  EXPECT_TRUE(ins["RepoDigests"][0].get<std::string>().starts_with(host + "/berth-test/busybox@sha256:"));
  EXPECT_NE(msgs.back().find("Downloaded newer image"), std::string::npos);
  bool downloading = false;
  for (auto& m : msgs) downloading |= m.find("Downloading") != std::string::npos;
  EXPECT_TRUE(downloading);
  // Pull again: up to date, nothing downloaded.
  msgs.clear();
  ASSERT_TRUE(svc->pull(host + "/berth-test/busybox:latest", {}, [&](const Progress& p) { msgs.push_back(p.json); }));
  EXPECT_NE(msgs.back().find("Image is up to date"), std::string::npos);
  // The pulled rootfs works.
  auto ms = svc->prepare_rootfs(*id, "berth-test-pulled");
  ASSERT_TRUE(ms);
  EXPECT_TRUE(svc->remove_rootfs("berth-test-pulled"));
  // Missing tag: NotFound with Docker's wording.
  auto missing = svc->pull(host + "/berth-test/busybox:nope", {}, nullptr);
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().is(Errc::NotFound)) << missing.error().message();
}

TEST_P(RegistryTest, PushThenPullGivesIdenticalDigests) {
  std::string host = start_tiny();
  auto a = open_store("a");
  auto fd = open_file(test::images_dir() + "/busybox.tar", O_RDONLY);
  ASSERT_TRUE(a->load(fd->get(), nullptr));
  std::string ref = host + "/berth-test/pushed:v1";
  ASSERT_TRUE(a->tag("busybox", ref));
  std::vector<std::string> msgs;
  auto st = a->push(ref, "", [&](const Progress& p) { msgs.push_back(p.json); });
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_NE(msgs.back().find("v1: digest: sha256:"), std::string::npos);
  auto pushed_digests = json::parse(*a->inspect(ref))["RepoDigests"];

  auto b = open_store("b");
  auto id = b->pull(ref, {}, nullptr);
  ASSERT_TRUE(id) << id.error().message();
  EXPECT_EQ(*id, a->resolve(ref)->id);
  EXPECT_EQ(json::parse(*b->inspect(ref))["RepoDigests"], pushed_digests);
}

// A chunked upload whose connection drops mid-PATCH resumes from the offset the registry
// reports (GET on the upload URL: Range), not from byte 0; the pushed image pulls back equal.
TEST_P(RegistryTest, ChunkedPushResumesInterruptedUpload) {
  if (GetParam() != "overlay2") GTEST_SKIP() << "transport only; run once";
  // Not seeded: the busybox layer must really go up.
  reg_ = std::make_unique<Child>(std::vector<std::string>{
      "python3", BERTH_SOURCE_DIR "/tests/integration/image/tiny_registry.py", "--root", scratch_->sub("reg"),
      "--port-file", scratch_->sub("port"), "--cut-first-patch"});
  std::string port = wait_for_file(scratch_->sub("port"));
  ASSERT_FALSE(port.empty()) << "tiny registry did not start";
  std::string host = "127.0.0.1:" + port;
  ServiceOptions o;
  o.root = scratch_->sub("a");
  o.driver = GetParam();
  o.upload_chunk_size = 256 << 10;
  auto a = ImageService::open(o);
  ASSERT_TRUE(a) << a.error().message();
  auto fd = open_file(test::images_dir() + "/busybox.tar", O_RDONLY);
  ASSERT_TRUE((*a)->load(fd->get(), nullptr));
  std::string ref = host + "/berth-test/resumed:v1";
  ASSERT_TRUE((*a)->tag("busybox", ref));
  auto st = (*a)->push(ref, "", nullptr);
  ASSERT_TRUE(st) << st.error().message();
  auto b = open_store("b");
  auto id = b->pull(ref, {}, nullptr);
  ASSERT_TRUE(id) << id.error().message();
  EXPECT_EQ(*id, (*a)->resolve(ref)->id);
}

TEST_P(RegistryTest, BearerTokenAuth) {
  std::string host = start_tiny({"--auth", "berth:s3cret"});
  auto svc = open_store("a");
  auto denied = svc->pull(host + "/berth-test/busybox", {}, nullptr);
  ASSERT_FALSE(denied);
  EXPECT_TRUE(denied.error().is(Errc::PermissionDenied)) << denied.error().message();
  PullOptions po;
  // X-Registry-Auth: base64url of {"username","password"}
  std::string js = R"({"username":"berth","password":"s3cret","serveraddress":")" + host + R"("})";
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string enc;
  int val = 0, bits = -6;
  for (unsigned char c : js) {
    val = (val << 8) + c;
    bits += 8;
    while (bits >= 0) {
      enc.push_back(t[(val >> bits) & 0x3F]);
      bits -= 6;
    }
  }
  if (bits > -6) enc.push_back(t[((val << 8) >> (bits + 8)) & 0x3F]);
  po.auth_base64 = enc;
  auto id = svc->pull(host + "/berth-test/busybox", po, nullptr);
  ASSERT_TRUE(id) << id.error().message();
}

TEST_P(RegistryTest, BerthRegistryRoundTrip) {
  std::string bin = test::bin("berth-registry");
  if (!path_exists(bin)) GTEST_SKIP() << "berth-registry not built: " << bin;
  int port = 20000 + static_cast<int>(::getpid() % 20000);
  std::string host = "127.0.0.1:" + std::to_string(port);
  Child reg({bin, "serve", "--addr", host, "--root", scratch_->sub("breg"), "--no-accesslog"});
  bool up = false;
  for (int i = 0; i < 100 && !up; ++i) {
    up = test::run({"curl", "-sf", "http://" + host + "/v2/"}).status == 0;
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!up) GTEST_SKIP() << "berth-registry did not come up on " << host;
  auto a = open_store("a");
  auto fd = open_file(test::images_dir() + "/busybox.tar", O_RDONLY);
  ASSERT_TRUE(a->load(fd->get(), nullptr));
  std::string ref = host + "/berth-test/bb:latest";
  ASSERT_TRUE(a->tag("busybox", ref));
  auto st = a->push(ref, "", nullptr);
  ASSERT_TRUE(st) << st.error().message();
  auto b = open_store("b");
  auto id = b->pull(ref, {}, nullptr);
  ASSERT_TRUE(id) << id.error().message();
  EXPECT_EQ(*id, a->resolve(ref)->id);
}

// berth-registry over TLS with a private CA: the CA comes from certs.d/<host:port>/ca.crt (which
// also switches a loopback registry to https), and blobs go up in PATCH chunks.
TEST_P(RegistryTest, CertsDirTlsAndChunkedPush) {
  std::string bin = test::bin("berth-registry");
  if (!path_exists(bin)) GTEST_SKIP() << "berth-registry not built: " << bin;
  if (GetParam() != "overlay2") GTEST_SKIP() << "transport only; run once";
  std::string d = scratch_->sub("pki");
  ASSERT_TRUE(mkdir_all(d));
  auto gen = test::run({"sh", "-c",
                        "cd " + d + " && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 "
                        "-subj /CN=berth-test-ca 2>/dev/null && openssl req -newkey rsa:2048 -nodes -keyout srv.key "
                        "-out srv.csr -subj /CN=127.0.0.1 2>/dev/null && printf 'subjectAltName=IP:127.0.0.1\\n' > ext && "
                        "openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out srv.crt -days 2 "
                        "-extfile ext 2>/dev/null"});
  ASSERT_EQ(gen.status, 0) << gen.err;
  int port = 20000 + static_cast<int>((::getpid() + 7919) % 20000);
  std::string host = "127.0.0.1:" + std::to_string(port);
  ASSERT_TRUE(write_file(d + "/reg.yml", "http:\n  tls:\n    certificate: " + d + "/srv.crt\n    key: " + d + "/srv.key\n"));
  Child reg({bin, "serve", "--addr", host, "--root", scratch_->sub("treg"), "--config", d + "/reg.yml", "--no-accesslog"});
  bool up = false;
  for (int i = 0; i < 100 && !up; ++i) {
    up = test::run({"curl", "-sf", "--cacert", d + "/ca.crt", "https://" + host + "/v2/"}).status == 0;
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!up) GTEST_SKIP() << "berth-registry (TLS) did not come up on " << host;
  std::string certs = scratch_->sub("certs.d");
  ASSERT_TRUE(mkdir_all(certs + "/" + host));
  ASSERT_EQ(test::run({"cp", d + "/ca.crt", certs + "/" + host + "/ca.crt"}).status, 0);
  auto open_with = [&](const std::string& name, bool with_certs) {
    ServiceOptions o;
    o.root = scratch_->sub(name);
    o.driver = GetParam();
    o.certs_dirs = {with_certs ? certs : scratch_->sub("no-certs.d")};
    o.upload_chunk_size = 64 << 10;  // busybox's ~2 MB layer goes up in many PATCHes
    auto s = ImageService::open(o);
    EXPECT_TRUE(s) << s.error().message();
    return s ? std::move(*s) : nullptr;
  };
  auto a = open_with("a", true);
  auto fd = open_file(test::images_dir() + "/busybox.tar", O_RDONLY);
  ASSERT_TRUE(a->load(fd->get(), nullptr));
  std::string ref = host + "/berth-test/tls:1";
  ASSERT_TRUE(a->tag("busybox", ref));
  auto st = a->push(ref, "", nullptr);
  ASSERT_TRUE(st) << st.error().message();
  auto b = open_with("b", true);
  auto id = b->pull(ref, {}, nullptr);
  ASSERT_TRUE(id) << id.error().message();
  EXPECT_EQ(*id, a->resolve(ref)->id);
  // Without the CA (and so over plain http) the same registry is unreachable.
  auto c = open_with("c", false);
  EXPECT_FALSE(c->pull(ref, {}, nullptr));
}

// kill -9 at three moments of a pull (download started, half of the layer in, layer complete
// and extracting/registering): every reopen finds a consistent store; the half-downloaded blob
// stays as a resumable ingest and the next pull continues from it instead of from byte 0.
TEST_P(RegistryTest, KillDuringPullLeavesConsistentStore) {
  if (test::image_path("debian", "oci").empty()) GTEST_SKIP() << "debian test image missing";
  if (GetParam() != "overlay2") GTEST_SKIP() << "crash consistency is driver-independent; run once";
  std::string host = start_tiny({"--seed", "berth-test/debian:bookworm=" + test::image_path("debian", "oci")});
  std::string ref = host + "/berth-test/debian:bookworm";
  std::string root = scratch_->sub("a");
  auto pull = [&](ImageService& s, const ProgressFn& p) { return static_cast<bool>(s.pull(ref, {}, p)); };
  struct Point {
    const char* name;
    std::function<bool(const std::string&)> when;
  };
  std::int64_t killed_at = 0;
  std::vector<Point> points = {
      {"download started", [](const std::string& p) { return test_crash::downloaded(p) > 0; }},
      {"half downloaded", [&](const std::string& p) { return (killed_at = test_crash::downloaded(p)) > (20 << 20); }},
      {"download complete", [](const std::string& p) { return p.find("Download complete") != std::string::npos; }},
  };
  for (auto& pt : points) {
    auto r = test_crash::kill_when(root, GetParam(), scratch_->sub("progress"), pull, pt.when);
    auto svc = open_store("a");
    ASSERT_TRUE(svc);
    test_crash::expect_consistent(*svc, std::string("after kill -9 at ") + pt.name);
    auto l = svc->list({});
    ASSERT_TRUE(l) << l.error().message();
    for (auto& img : *l) {  // none, or a complete image
      auto ms = svc->prepare_rootfs(img.id, "berth-test-kp");
      ASSERT_TRUE(ms) << ms.error().message();
      ASSERT_TRUE(svc->remove_rootfs("berth-test-kp"));
    }
    EXPECT_EQ(test::run({"sh", "-c", "ls " + root + "/tmp | wc -l"}).out, "0\n");
    if (std::string(pt.name) == "half downloaded" && r.killed) {
      // The next pull resumes: its first progress already counts the bytes kept on disk.
      std::int64_t first = -1;
      auto again = test_crash::kill_when(root, GetParam(), scratch_->sub("progress"), pull,
                                         [&](const std::string& p) {
                                           if (first < 0 && test_crash::downloaded(p) > 0) first = test_crash::downloaded(p);
                                           return first >= 0;
                                         });
      EXPECT_GE(first, killed_at / 2) << "pull did not resume the partial download";
      auto svc2 = open_store("a");
      test_crash::expect_consistent(*svc2, "after kill -9 of the resumed pull");
    }
  }
  auto svc = open_store("a");
  auto id = svc->pull(ref, {}, nullptr);
  ASSERT_TRUE(id) << id.error().message();
  test_crash::expect_consistent(*svc, "after a complete pull");
  auto ms = svc->prepare_rootfs(*id, "berth-test-kp2");
  ASSERT_TRUE(ms);
  std::string target = scratch_->sub("mnt");
  ASSERT_TRUE(mkdir_all(target));
  auto& m = (*ms)[0];
  int rc = m.type == "bind" ? ::mount(m.source.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr)
                            : ::mount(m.source.c_str(), target.c_str(), m.type.c_str(), 0, join(m.options, ",").c_str());
  ASSERT_EQ(rc, 0);
  EXPECT_TRUE(path_exists(target + "/etc/debian_version"));
  ::umount2(target.c_str(), MNT_DETACH);
  ASSERT_TRUE(svc->remove_rootfs("berth-test-kp2"));
}

// kill -9 during a push (as the first layer starts, and a little later): the local store is
// untouched and consistent, and a complete push afterwards gives the digests a fresh pull sees.
TEST_P(RegistryTest, KillDuringPushLeavesConsistentStore) {
  if (test::image_path("debian", "oci").empty()) GTEST_SKIP() << "debian test image missing";
  if (GetParam() != "overlay2") GTEST_SKIP() << "crash consistency is driver-independent; run once";
  std::string host = start_tiny({"--seed", "berth-test/debian:bookworm=" + test::image_path("debian", "oci")});
  // An empty second registry, so the layer really goes up.
  Child reg2({"python3", BERTH_SOURCE_DIR "/tests/integration/image/tiny_registry.py", "--root",
              scratch_->sub("reg2"), "--port-file", scratch_->sub("port2")});
  std::string port2 = wait_for_file(scratch_->sub("port2"));
  ASSERT_FALSE(port2.empty()) << "second tiny registry did not start";
  std::string src = host + "/berth-test/debian:bookworm", dst = "127.0.0.1:" + port2 + "/berth-test/pushed:v1";
  {
    auto a = open_store("a");
    ASSERT_TRUE(a->pull(src, {}, nullptr));
    ASSERT_TRUE(a->tag(src, dst));
  }
  std::string root = scratch_->sub("a");
  auto push = [&](ImageService& s, const ProgressFn& p) { return static_cast<bool>(s.push(dst, "", p)); };
  for (int delay_ms : {0, 300}) {
    auto started = std::chrono::steady_clock::time_point::max();
    test_crash::kill_when(root, GetParam(), scratch_->sub("progress"), push, [&](const std::string& p) {
      if (started == std::chrono::steady_clock::time_point::max() && p.find("\"Pushing\"") != std::string::npos)
        started = std::chrono::steady_clock::now();
      return std::chrono::steady_clock::now() >= started + std::chrono::milliseconds(delay_ms);
    });
    auto svc = open_store("a");
    ASSERT_TRUE(svc);
    test_crash::expect_consistent(*svc, "after kill -9 during push +" + std::to_string(delay_ms) + " ms");
    EXPECT_TRUE(svc->resolve(dst));
  }
  auto a = open_store("a");
  auto st = a->push(dst, "", nullptr);
  ASSERT_TRUE(st) << st.error().message();
  test_crash::expect_consistent(*a, "after a complete push");
  auto b = open_store("b");
  auto id = b->pull(dst, {}, nullptr);
  ASSERT_TRUE(id) << id.error().message();
  EXPECT_EQ(*id, a->resolve(dst)->id);
  auto pulled = json::parse(*b->inspect(dst))["RepoDigests"];
  ASSERT_EQ(pulled.size(), 1u);
  auto pushed = json::parse(*a->inspect(dst))["RepoDigests"];
  EXPECT_NE(std::find(pushed.begin(), pushed.end(), pulled[0]), pushed.end()) << pushed.dump();
}

INSTANTIATE_TEST_SUITE_P(Drivers, RegistryTest, ::testing::Values("overlay2", "vfs"));

}  // namespace
}  // namespace berth::image
