// SPDX-License-Identifier: Apache-2.0
// `berth` against a real berthd (own socket, data and exec roots), compared with the real docker
// CLI (DOCKER_HOST=unix://...) where it is installed: version, info, ps, images, inspect, run,
// logs, exec, exit codes.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <regex>
#include <cstdlib>
#include <ctime>
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
  static inline int seq_ = 0;  // several daemons in one test: one nft table each
  std::string table_ = "berth-test-cli-" + std::to_string(::getpid()) + "-" + std::to_string(seq_++);
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


// Output with ids ("sha256:<64 hex>", 64 or 12 hex digits) and a client's name prefix replaced,
// so the two clients' runs of the same scenario compare equal.
std::string normalize(std::string s, const std::string& prefix = {}) {
  s = std::regex_replace(s, std::regex("[0-9a-f]{64}"), "<id>");
  if (!prefix.empty()) s = std::regex_replace(s, std::regex(prefix), "<name>");
  return s;
}

// Every container verb through berth and through the docker CLI, one container each: exit codes,
// stdout and stderr must agree (names and ids aside).
TEST_F(CliVsDaemon, ContainerVerbsAgreeWithDocker) {
  if (docker_bin().empty()) GTEST_SKIP() << "docker CLI not installed";
  struct Step {
    std::vector<std::string> args;  // "N" / "N2" are replaced by the client's container names
    std::string in;
  };
  const std::vector<Step> steps = {
      {{"create", "--name", "N", "busybox", "sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"}, {}},
      {{"start", "N"}, {}},
      {{"inspect", "-f", "{{.Name}} {{.State.Status}} {{.Config.Cmd}} {{.HostConfig.NetworkMode}}", "N"}, {}},
      {{"top", "N", "-o", "comm"}, {}},
      {{"pause", "N"}, {}},
      {{"inspect", "-f", "{{.State.Status}} {{.State.Paused}}", "N"}, {}},
      {{"pause", "N"}, {}},
      {{"unpause", "N"}, {}},
      {{"update", "--memory", "64m", "--memory-swap", "128m", "N"}, {}},
      {{"inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}", "N"}, {}},
      {{"rename", "N", "N2"}, {}},
      {{"exec", "N2", "sh", "-c", "echo exec-out; echo exec-err >&2; exit 5"}, {}},
      {{"exec", "-i", "N2", "cat"}, "via stdin\n"},
      {{"restart", "-t", "2", "N2"}, {}},
      {{"stats", "--no-stream", "--format", "{{.Name}} {{.Container}}", "N2"}, {}},
      {{"ps", "-a", "--filter", "name=N2", "--format", "{{.Names}} {{.State}} {{.Command}} {{.Image}}"}, {}},
      {{"stop", "-t", "5", "N2"}, {}},
      {{"wait", "N2"}, {}},
      {{"start", "N2"}, {}},
      {{"kill", "N2"}, {}},
      {{"wait", "N2"}, {}},
      {{"kill", "N2"}, {}},
      {{"logs", "--tail", "1", "N2"}, {}},
      {{"port", "N2"}, {}},
      {{"port", "N2", "80"}, {}},
      {{"diff", "N2"}, {}},
      {{"rm", "N2"}, {}},
      {{"start", "N2"}, {}},
      {{"inspect", "N2"}, {}},
      {{"rm", "berth-test-nosuch"}, {}},
  };
  auto play = [&](bool use_docker, const std::string& n) {
    std::vector<std::string> out;
    for (const auto& st : steps) {
      std::vector<std::string> a = st.args;
      for (auto& x : a) {
        if (x == "N") x = n;
        else if (x == "N2") x = n + "-2";
        else if (x == "name=N2") x = "name=" + n + "-2";
      }
      auto r = use_docker ? d_->docker(a, st.in) : d_->berth(a, st.in);
      std::string line = join(st.args, " ") + " -> " + std::to_string(r.status) + "\n" + r.out + "--- stderr\n" + r.err;
      out.push_back(normalize(line, n));
    }
    return out;
  };
  auto b = play(false, "berth-test-vb");
  auto d = play(true, "berth-test-vd");
  ASSERT_EQ(b.size(), d.size());
  for (std::size_t i = 0; i < b.size(); ++i) EXPECT_EQ(b[i], d[i]) << "step " << i;
  // (the steps can fail: a few fixed points)
  EXPECT_NE(d[0].find("-> 0\n<id>\n"), std::string::npos) << d[0];
  EXPECT_NE(d[5].find("paused true"), std::string::npos) << d[5];
  EXPECT_NE(d[9].find("67108864 134217728"), std::string::npos) << d[9];
  EXPECT_NE(d[11].find("-> 5\nexec-out\n--- stderr\nexec-err\n"), std::string::npos) << d[11];
  EXPECT_NE(d[20].find("-> 0\n137\n"), std::string::npos) << d[20];
  EXPECT_NE(d[24].find("No public port '80' published"), std::string::npos) << d[24];
}

// volume, network, system df/info/events, version: berth and docker print the same.
TEST_F(CliVsDaemon, VolumeNetworkSystemVerbsAgreeWithDocker) {
  if (docker_bin().empty()) GTEST_SKIP() << "docker CLI not installed";
  auto both = [&](const std::vector<std::string>& a, const std::string& in = {}) {
    auto b = d_->berth(a, in);
    auto d = d_->docker(a, in);
    EXPECT_EQ(b.status, d.status) << join(a, " ") << "\n" << b.err << d.err;
    EXPECT_EQ(normalize(b.out), normalize(d.out)) << join(a, " ");
    EXPECT_EQ(normalize(b.err), normalize(d.err)) << join(a, " ");
    return d;
  };
  auto c = both({"volume", "create", "--label", "k=v", "berth-test-vol"});
  EXPECT_EQ(c.out, "berth-test-vol\n");
  both({"volume", "ls", "--format", "{{.Driver}} {{.Name}} {{.Labels}}"});
  both({"volume", "ls", "-q", "--filter", "label=k=v"});
  both({"volume", "inspect", "-f", "{{.Name}} {{.Driver}} {{.Labels}} {{.Scope}}", "berth-test-vol"});
  both({"volume", "inspect", "berth-test-nosuch"});
  both({"network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}}"});
  both({"network", "inspect", "-f", "{{.Name}} {{.Driver}}", "none"});
  both({"network", "inspect", "berth-test-nosuch"});
  ASSERT_EQ(d_->berth({"run", "--name", "berth-test-df", "-v", "berth-test-vol:/v", "busybox", "sh", "-c",
                       "echo data > /v/f; head -c 100000 /dev/zero > /big"}).status, 0);
  std::time_t run_done = std::time(nullptr);
  auto df = both({"system", "df"});
  EXPECT_NE(df.out.find("Local Volumes"), std::string::npos) << df.out;
  both({"system", "df", "--format", "{{.Type}} {{.TotalCount}} {{.Active}} {{.Size}} {{.Reclaimable}}"});
  both({"system", "info", "--format", "{{.Containers}} {{.ContainersStopped}} {{.Images}} {{.Driver}}"});
  // `--until 0s` is now in whole seconds for both CLIs (as docker's GetTimestamp): the events of
  // the current second are after it. Queried once the second of the run's events has passed,
  // both see them all, whichever second each of the two calls falls in.
  while (std::time(nullptr) <= run_done) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  both({"events", "--since", "0", "--until", "0s", "--filter", "container=berth-test-df", "--format",
        "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}"});
  both({"version", "--format", "{{.Server.APIVersion}} {{.Server.MinAPIVersion}} {{.Server.Os}}"});
  // (removals change state: one client removes, then both fail alike)
  EXPECT_EQ(d_->berth({"rm", "berth-test-df"}).out, "berth-test-df\n");
  both({"rm", "berth-test-df"});
  EXPECT_EQ(d_->docker({"volume", "rm", "berth-test-vol"}).out, "berth-test-vol\n");
  both({"volume", "rm", "berth-test-vol"});
}

// system prune (asked and answered no, -f, --volumes, -a): the same scenario played through each
// client deletes the same things and prints the same report.
TEST_F(CliVsDaemon, SystemPruneAgreesWithDocker) {
  if (docker_bin().empty()) GTEST_SKIP() << "docker CLI not installed";
  auto play = [&](bool use_docker) {
    auto cli = [&](const std::vector<std::string>& a, const std::string& in = {}) {
      return use_docker ? d_->docker(a, in) : d_->berth(a, in);
    };
    std::string tr;
    auto step = [&](const std::vector<std::string>& a, const std::string& in = {}) {
      auto r = cli(a, in);
      std::string out = normalize(r.out);
      if (a[0] == "volume") {  // listed by name: random anonymous names sort anywhere
        auto lines = split(std::string(trim(out)), '\n');
        std::sort(lines.begin(), lines.end());
        out = join(lines, "\n") + "\n";
      }
      tr += join(a, " ") + " -> " + std::to_string(r.status) + "\n" + out + "--- stderr\n" + normalize(r.err);
      return r;
    };
    EXPECT_EQ(d_->berth({"load", "-i", test::images_dir() + "/busybox.tar"}).status, 0);
    EXPECT_EQ(cli({"create", "--name", "berth-test-p1", "busybox", "true"}).status, 0);
    EXPECT_EQ(cli({"run", "--name", "berth-test-p2", "-v", "/anon", "busybox", "true"}).status, 0);
    EXPECT_EQ(cli({"commit", "berth-test-p2"}).status, 0);  // a dangling image
    EXPECT_EQ(cli({"volume", "create", "berth-test-named"}).status, 0);
    EXPECT_EQ(cli({"run", "-d", "--name", "berth-test-up", "busybox", "sleep", "600"}).status, 0);
    step({"system", "prune"}, "n\n");
    step({"system", "prune", "-f"});
    step({"volume", "ls", "-q"});
    step({"system", "prune", "-f", "--volumes"});
    step({"volume", "ls", "-q"});
    step({"rm", "-f", "berth-test-up"});
    step({"system", "prune", "-af"});
    step({"images", "-q"});
    step({"volume", "rm", "berth-test-named"});
    return tr;
  };
  std::string d = play(true);
  std::string b = play(false);
  EXPECT_EQ(b, d);
  EXPECT_NE(d.find("Deleted Containers:\n<id>\n<id>\n"), std::string::npos) << d;
  EXPECT_NE(d.find("untagged: busybox:latest"), std::string::npos) << d;
  EXPECT_NE(d.find("Deleted Volumes:\n<id>\n"), std::string::npos) << d;
}

// One client, two daemons: `berth context` create/ls/use/inspect/rm select the daemon as
// docker's contexts do, `--context`/BERTH_CONTEXT override the current one, and docker's CLI
// stores and reports the same endpoints for the same commands.
TEST_F(CliVsDaemon, ContextsSelectBetweenTwoDaemons) {
  test::Scratch s2("cli2");
  Daemon d2(s2);
  ASSERT_TRUE(d2.ready()) << d2.log();
  ASSERT_EQ(d2.berth({"load", "-i", test::images_dir() + "/busybox.tar"}).status, 0);
  ASSERT_EQ(d_->berth({"create", "--name", "berth-test-ctx-one", "busybox", "true"}).status, 0);
  ASSERT_EQ(d2.berth({"create", "--name", "berth-test-ctx-two", "busybox", "true"}).status, 0);

  // No -H and no BERTH_HOST/DOCKER_HOST: only the context decides.
  std::string cfg = scratch_->sub("ctxcfg");
  auto berth = [&](std::vector<std::string> args, std::vector<std::string> env = {}) {
    args.insert(args.begin(), test::bin("berth"));
    env.push_back("BERTH_CONFIG=" + cfg);
    env.push_back("BERTH_HOST=");
    env.push_back("DOCKER_HOST=");
    return test::run(args, {}, 60, env);
  };
  auto names = [&](std::vector<std::string> pre, std::vector<std::string> env = {}) {
    pre.insert(pre.end(), {"ps", "-a", "--format", "{{.Names}}"});
    auto r = berth(pre, env);
    EXPECT_EQ(r.status, 0) << r.err;
    return std::string(trim(r.out));
  };
  auto c1 = berth({"context", "create", "berth-test-one", "--description", "first", "--docker", "host=" + d_->host()});
  ASSERT_EQ(c1.status, 0) << c1.err;
  EXPECT_EQ(c1.out, "berth-test-one\n");
  ASSERT_EQ(berth({"context", "create", "berth-test-two", "--docker", "host=" + d2.host()}).status, 0);
  auto dup = berth({"context", "create", "berth-test-two", "--docker", "host=" + d2.host()});
  EXPECT_EQ(dup.status, 1);
  EXPECT_NE(dup.err.find("already exists"), std::string::npos) << dup.err;

  auto ls = berth({"context", "ls", "--format", "{{.Name}} {{.Current}} {{.DockerEndpoint}}"});
  ASSERT_EQ(ls.status, 0) << ls.err;
  EXPECT_NE(ls.out.find("default true"), std::string::npos) << ls.out;
  EXPECT_NE(ls.out.find("berth-test-one false " + d_->host()), std::string::npos) << ls.out;
  EXPECT_NE(ls.out.find("berth-test-two false " + d2.host()), std::string::npos) << ls.out;

  auto use = berth({"context", "use", "berth-test-two"});
  ASSERT_EQ(use.status, 0) << use.err;
  EXPECT_EQ(names({}), "berth-test-ctx-two");
  EXPECT_EQ(names({"--context", "berth-test-one"}), "berth-test-ctx-one");
  EXPECT_EQ(names({}, {"BERTH_CONTEXT=berth-test-one"}), "berth-test-ctx-one");
  // -H wins over the context, as with docker.
  EXPECT_EQ(names({"-H", d_->host()}), "berth-test-ctx-one");
  auto show = berth({"context", "show"});
  EXPECT_EQ(show.out, "berth-test-two\n");
  auto missing = berth({"context", "use", "berth-test-nosuch"});
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("does not exist"), std::string::npos) << missing.err;

  // In use: refused without -f, as docker does.
  auto rm_cur = berth({"context", "rm", "berth-test-two"});
  EXPECT_EQ(rm_cur.status, 1);
  EXPECT_NE(rm_cur.err.find("in use"), std::string::npos) << rm_cur.err;

  // docker's CLI with its own config dir: same endpoints for the same commands.
  if (!docker_bin().empty()) {
    std::string dcfg = scratch_->sub("ctxdcfg");
    auto docker = [&](std::vector<std::string> args) {
      args.insert(args.begin(), docker_bin());
      return test::run(args, {}, 60, {"DOCKER_CONFIG=" + dcfg, "DOCKER_HOST="});
    };
    ASSERT_EQ(docker({"context", "create", "berth-test-one", "--description", "first", "--docker", "host=" + d_->host()}).status, 0);
    std::vector<std::string> fmt = {"context", "inspect", "berth-test-one", "--format",
                                    "{{.Name}} {{.Endpoints.docker.Host}} {{.Endpoints.docker.SkipTLSVerify}}"};
    auto di = docker(fmt);
    auto bi = berth(fmt);
    ASSERT_EQ(di.status, 0) << di.err;
    EXPECT_EQ(bi.out, di.out);
    EXPECT_EQ(bi.status, di.status);
    auto dps = docker({"--context", "berth-test-one", "ps", "-a", "--format", "{{.Names}}"});
    EXPECT_EQ(std::string(trim(dps.out)), names({"--context", "berth-test-one"}));
    auto dmiss = docker({"context", "use", "berth-test-nosuch"});
    EXPECT_EQ(dmiss.status, missing.status);
  }

  ASSERT_EQ(berth({"context", "use", "default"}).status, 0);
  auto rm = berth({"context", "rm", "berth-test-one", "berth-test-two"});
  EXPECT_EQ(rm.status, 0) << rm.err;
  auto after = berth({"context", "ls", "-q"});
  EXPECT_EQ(after.out, "default\n");
}

// `system df` in its four shapes (table, json, -v, -v json) and the json lines of `ps`/`images`
// print what docker's CLI prints for the same daemon state.
TEST_F(CliVsDaemon, SystemDfVerboseAndJsonAgreeWithDocker) {
  if (docker_bin().empty()) GTEST_SKIP() << "docker CLI not installed";
  ASSERT_EQ(d_->berth({"volume", "create", "berth-test-dfv"}).status, 0);
  ASSERT_EQ(d_->berth({"create", "--name", "berth-test-dfc", "-v", "berth-test-dfv:/data", "busybox", "sh", "-c", "echo a && echo b"}).status, 0);
  ASSERT_EQ(d_->berth({"run", "--name", "berth-test-dfr", "busybox", "sh", "-c", "echo x > /x"}).status, 0);
  std::vector<std::vector<std::string>> cmds = {
      {"system", "df"}, {"system", "df", "--format", "json"}, {"system", "df", "-v"},
      {"system", "df", "-v", "--format", "json"}, {"ps", "-a", "--format", "json"}, {"images", "--format", "json"},
      {"volume", "ls", "--format", "json"}};
  for (const auto& c : cmds) {
    // "N seconds ago" may tick between the two calls: one retry.
    test::RunResult b, d;
    for (int attempt = 0; attempt < 2; ++attempt) {
      b = d_->berth(c);
      d = d_->docker(c);
      if (b.out == d.out) break;
    }
    EXPECT_EQ(b.status, d.status) << join(c, " ");
    EXPECT_EQ(b.out, d.out) << join(c, " ");
  }
  EXPECT_NE(d_->berth({"system", "df", "-v"}).out.find("berth-test-dfv"), std::string::npos);
  ASSERT_EQ(d_->berth({"rm", "-f", "berth-test-dfc", "berth-test-dfr"}).status, 0);
  ASSERT_EQ(d_->berth({"volume", "rm", "berth-test-dfv"}).status, 0);
}

}  // namespace
}  // namespace berth
