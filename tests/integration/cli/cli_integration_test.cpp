// SPDX-License-Identifier: Apache-2.0
// `berth` against a real berthd (own socket, data and exec roots), compared with the real docker
// CLI (DOCKER_HOST=unix://...) where it is installed: version, info, ps, images, inspect, run,
// logs, exec, exit codes.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include <gtest/gtest.h>

#include "common/file.hpp"
#include "common/strings.hpp"
#include "support/test_support.hpp"

namespace berth {
namespace {

std::string docker_bin() {
  for (const char* p : {"/usr/local/bin/docker", "/usr/bin/docker"})
    if (::access(p, X_OK) == 0) return p;
  return "";
}

class Daemon {
 public:
  explicit Daemon(const test::Scratch& s) : s_(s) {
    sock_ = s.sub("d.sock");
    std::string log = s.sub("berthd.log");
    // Same runtime choice as the daemon's tests: $BERTH_TEST_RUNTIME, else our berth-runtime.
    std::string rt = test::bin("berth-runtime");
    if (const char* e = std::getenv("BERTH_TEST_RUNTIME"); e && *e) rt = e;
    (void)write_file(s.sub("daemon.json"), "{}");
    std::vector<std::string> argv = {test::bin("berthd"), "-H", "unix://" + sock_, "--data-root", s.sub("data"),
                                     "--exec-root", s.sub("exec"), "--pidfile", s.sub("berthd.pid"),
                                     "--config-file", s.sub("daemon.json"), "-G", "",
                                     "--add-runtime", "test=" + rt, "--default-runtime", "test",
                                     // networking is not the subject: no default bridge, own nft table
                                     "--bridge", "none", "--nft-table", table_};
    pid_ = ::fork();
    if (pid_ == 0) {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::vector<char*> a;
      for (auto& x : argv) a.push_back(const_cast<char*>(x.c_str()));
      a.push_back(nullptr);
      ::execv(a[0], a.data());
      ::_exit(127);
    }
    for (int i = 0; i < 200 && !path_exists(sock_); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ~Daemon() {
    if (pid_ > 0) {
      auto ids = berth({"ps", "-aq"});
      for (const auto& id : split(std::string(trim(ids.out)), '\n'))
        if (!id.empty()) berth({"rm", "-f", id});
      ::kill(pid_, SIGTERM);
      int st;
      ::waitpid(pid_, &st, 0);
      test::run({"nft", "delete", "table", "inet", table_}, {}, 10);
    }
  }
  bool ready() const { return path_exists(sock_); }
  std::string host() const { return "unix://" + sock_; }
  std::string log() const {
    auto l = read_file(s_.sub("berthd.log"));
    return l ? *l : "";
  }
  test::RunResult berth(std::vector<std::string> args, const std::string& in = {}) const {
    args.insert(args.begin(), {test::bin("berth"), "-H", host()});
    return test::run(args, in, 60, {"BERTH_CONFIG=" + s_.sub("cfg")});
  }
  test::RunResult docker(std::vector<std::string> args, const std::string& in = {}) const {
    args.insert(args.begin(), docker_bin());
    return test::run(args, in, 60, {"DOCKER_HOST=" + host(), "DOCKER_CONFIG=" + s_.sub("dcfg")});
  }

 private:
  const test::Scratch& s_;
  std::string table_ = "berth-test-cli-" + std::to_string(::getpid());
  std::string sock_;
  pid_t pid_ = -1;
};

class CliVsDaemon : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {}
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    if (!path_exists(test::bin("berthd")) || !path_exists(test::bin("berth")))
      GTEST_SKIP() << "berthd or berth not built yet";
    if (!path_exists(test::images_dir() + "/busybox.tar")) GTEST_FAIL() << "test image busybox.tar missing: run make test-images";
    scratch_ = std::make_unique<test::Scratch>("cli");
    d_ = std::make_unique<Daemon>(*scratch_);
    ASSERT_TRUE(d_->ready()) << d_->log();
    auto r = d_->berth({"load", "-i", test::images_dir() + "/busybox.tar"});
    ASSERT_EQ(r.status, 0) << r.err << d_->log();
    ASSERT_NE(r.out.find("Loaded image"), std::string::npos) << r.out;
  }
  void TearDown() override {
    d_.reset();
    scratch_.reset();
  }
  std::unique_ptr<test::Scratch> scratch_;
  std::unique_ptr<Daemon> d_;
};

TEST_F(CliVsDaemon, VersionAndInfo) {
  auto r = d_->berth({"version"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("Server:"), std::string::npos);
  EXPECT_NE(r.out.find(" Engine:\n  Version:"), std::string::npos) << r.out;
  auto v = d_->berth({"version", "--format", "{{.Server.Version}} {{.Server.ApiVersion}}"});
  EXPECT_EQ(v.status, 0);
  r = d_->berth({"info", "--format", "{{.Containers}} {{.Images}}"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "0 1\n");
  if (docker_bin().empty()) return;
  auto dv = d_->docker({"version", "--format", "{{.Server.Version}} {{.Server.APIVersion}}"});
  EXPECT_EQ(dv.status, 0) << dv.err;
  EXPECT_EQ(dv.out, v.out);
  auto di = d_->docker({"info", "--format", "{{.Containers}} {{.Images}}"});
  EXPECT_EQ(di.out, "0 1\n");
}

TEST_F(CliVsDaemon, RunOutputAndExitCodes) {
  auto r = d_->berth({"run", "--rm", "busybox", "echo", "hello", "world"});
  EXPECT_EQ(r.status, 0) << r.err << d_->log();
  EXPECT_EQ(r.out, "hello world\n");
  r = d_->berth({"run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_EQ(r.out, "out\n");
  // (berthd may add a "WARNING: ..." line from create, as dockerd does)
  EXPECT_EQ(r.err.substr(r.err.size() >= 4 ? r.err.size() - 4 : 0), "err\n") << r.err;
  r = d_->berth({"run", "--rm", "busybox", "/no/such/binary"});
  EXPECT_EQ(r.status, 127) << r.out << r.err;
  r = d_->berth({"run", "--rm", "-i", "busybox", "cat"}, "piped stdin\n");
  EXPECT_EQ(r.status, 0) << r.err;
  if (!docker_bin().empty()) {
    // stdin forwarding is the daemon's job: berth must behave as the docker CLI does.
    auto dr = d_->docker({"run", "--rm", "-i", "busybox", "cat"}, "piped stdin\n");
    EXPECT_EQ(r.out, dr.out);
  }
  r = d_->berth({"run", "--rm", "nosuchimage-berth-test"});
  EXPECT_EQ(r.status, 125);
  EXPECT_NE(r.err.find("Unable to find image"), std::string::npos) << r.err;
  if (docker_bin().empty()) return;
  auto dr = d_->docker({"run", "--rm", "busybox", "sh", "-c", "echo out; exit 3"});
  EXPECT_EQ(dr.status, 3) << dr.err;
  EXPECT_EQ(dr.out, "out\n");
}

TEST_F(CliVsDaemon, LifecyclePsInspectLogsExec) {
  auto r = d_->berth({"run", "-d", "--name", "berth-test-web", "busybox", "sh", "-c", "echo started; sleep 600"});
  ASSERT_EQ(r.status, 0) << r.err << d_->log();
  std::string id(trim(r.out));
  EXPECT_EQ(id.size(), 64u);
  r = d_->berth({"ps", "--format", "{{.ID}} {{.Names}} {{.State}}"});
  EXPECT_EQ(r.out, id.substr(0, 12) + " berth-test-web running\n");
  r = d_->berth({"ps"});
  EXPECT_EQ(r.out.substr(0, 12), "CONTAINER ID");
  EXPECT_NE(r.out.find("Up "), std::string::npos) << r.out;
  r = d_->berth({"inspect", "-f", "{{.Name}} {{.State.Running}} {{.Config.Image}}", "berth-test-web"});
  EXPECT_EQ(r.out, "/berth-test-web true busybox\n");
  r = d_->berth({"exec", "berth-test-web", "sh", "-c", "echo in-exec; exit 7"});
  EXPECT_EQ(r.status, 7) << r.err;
  EXPECT_EQ(r.out, "in-exec\n");
  for (int i = 0; i < 50; ++i) {
    r = d_->berth({"logs", "berth-test-web"});
    if (r.out == "started\n") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(r.out, "started\n");
  if (!docker_bin().empty()) {
    auto d = d_->docker({"ps", "--format", "{{.ID}} {{.Names}} {{.State}}"});
    EXPECT_EQ(d.out, id.substr(0, 12) + " berth-test-web running\n");
    auto bi = d_->berth({"inspect", "-f", "{{.Id}} {{.State.Status}} {{.Config.Cmd}}", "berth-test-web"});
    auto di = d_->docker({"inspect", "-f", "{{.Id}} {{.State.Status}} {{.Config.Cmd}}", "berth-test-web"});
    EXPECT_EQ(bi.out, di.out);
    auto dl = d_->docker({"logs", "berth-test-web"});
    EXPECT_EQ(dl.out, "started\n");
    auto bim = d_->berth({"images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}"});
    auto dim = d_->docker({"images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}"});
    EXPECT_EQ(bim.out, dim.out);
  }
  r = d_->berth({"stop", "-t", "1", "berth-test-web"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "berth-test-web\n");
  r = d_->berth({"ps", "-a", "--format", "{{.Status}}"});
  EXPECT_EQ(r.out.substr(0, 8), "Exited (") << r.out;
  r = d_->berth({"rm", "berth-test-web"});
  EXPECT_EQ(r.status, 0) << r.err;
  r = d_->berth({"inspect", "berth-test-web"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "Error: No such object: berth-test-web\n");
}

}  // namespace
}  // namespace berth
