// SPDX-License-Identifier: Apache-2.0
// Builds with the real docker CLI (legacy builder API, with and without DOCKER_BUILDKIT=0) and
// with `berth build` against a private berthd: a multi-stage Dockerfile using every
// instruction, the image runs with the expected files/env/user/workdir/cmd, a second build is
// fully cached, changing one COPY source rebuilds from that step on, the cache survives a
// daemon restart. ADD <url> talks only to a loopback HTTP server started by the test.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/digest.hpp"
#include "common/file.hpp"
#include "common/strings.hpp"
#include "e2e/docker_e2e.hpp"

namespace berth::test {
namespace {

// python3 -m http.server on 127.0.0.1:<port> serving `dir`.
class LoopbackHttp {
 public:
  bool start(const std::string& dir) {
    std::mt19937 rng(static_cast<unsigned>(::getpid() ^ std::chrono::steady_clock::now().time_since_epoch().count()));
    for (int attempt = 0; attempt < 10; ++attempt) {
      port_ = 20000 + static_cast<int>(rng() % 30000);
      pid_ = ::fork();
      if (pid_ == 0) {
        int null = ::open("/dev/null", O_RDWR);
        ::dup2(null, 1);
        ::dup2(null, 2);
        std::string p = std::to_string(port_);
        ::execlp("python3", "python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", dir.c_str(),
                 p.c_str(), nullptr);
        ::_exit(127);
      }
      for (int i = 0; i < 100; ++i) {
        auto r = run({"bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(port_)}, {}, 5);
        if (r.status == 0) return true;
        int st;
        if (::waitpid(pid_, &st, WNOHANG) == pid_) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      stop();
    }
    return false;
  }
  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int st;
      ::waitpid(pid_, &st, 0);
      pid_ = -1;
    }
  }
  ~LoopbackHttp() { stop(); }
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

// berth-registry on 127.0.0.1:0 (stderr to a file; the port comes from its "listening on" line).
class LoopbackRegistry {
 public:
  bool start(const std::string& dir) {
    std::string log = dir + "/registry.log";
    pid_ = ::fork();
    if (pid_ == 0) {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(fd, 2);
      int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 1);
      std::string b = bin("berth-registry"), root = dir + "/root";
      ::execl(b.c_str(), b.c_str(), "serve", "--addr", "127.0.0.1:0", "--root", root.c_str(), "--no-accesslog", nullptr);
      ::_exit(127);
    }
    for (int i = 0; i < 200 && port_ == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      auto t = read_file(log).value_or("");
      if (auto pos = t.find("listening on 127.0.0.1:"); pos != std::string::npos) port_ = std::atoi(t.c_str() + pos + 23);
    }
    return port_ != 0;
  }
  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  ~LoopbackRegistry() { stop(); }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

class BuildE2E : public DockerE2E {
 protected:
  void SetUp() override {
    start_berthd("build-e2e");
    if (IsSkipped() || HasFatalFailure()) return;
    ctx_ = std::make_unique<Scratch>("build-e2e-ctx");
    www_ = std::make_unique<Scratch>("build-e2e-www");
    ASSERT_TRUE(http_.start(www_->path())) << "loopback http server";
    write_context();
  }
  void TearDown() override {
    http_.stop();
    DockerE2E::TearDown();
  }

  RunResult docker(std::vector<std::string> args, bool buildkit_off = true, int timeout = 120) {
    args.insert(args.begin(), docker_);
    auto env = docker_env();
    if (buildkit_off) env.push_back("DOCKER_BUILDKIT=0");
    return run(args, {}, timeout, env);
  }
  RunResult berth(std::vector<std::string> args, int timeout = 120) {
    args.insert(args.begin(), {bin("berth"), "-H", d_->host()});
    return run(args, {}, timeout, {"DOCKER_CONFIG=" + cfgdir_->path()});
  }

  void put(const std::string& rel, const std::string& data) {
    ASSERT_TRUE(mkdir_all(dirname(ctx_->sub(rel)), 0755));
    ASSERT_TRUE(write_file(ctx_->sub(rel), data));
  }

  void write_context() {
    ASSERT_TRUE(write_file(www_->sub("remote.txt"), "from the loopback server\n"));
    auto dg = digest_file(www_->sub("remote.txt"));
    ASSERT_TRUE(dg);
    std::string url = "http://127.0.0.1:" + std::to_string(http_.port()) + "/remote.txt";
    put("tool.sh", "#!/bin/sh\necho tool-ran\n");
    put("data/one", "1\n");
    put("data/sub/two", "2\n");
    put("a.txt", "A\n");
    put("b.txt", "B\n");
    put("secret.txt", "must not be sent\n");
    put(".dockerignore", "secret.txt\n*.tmp\n");
    put("junk.tmp", "x");
    // archive.tar.gz with one file, built with busybox-free host tar.
    ASSERT_TRUE(mkdir_all(ctx_->sub("arch/in"), 0755));
    ASSERT_TRUE(write_file(ctx_->sub("arch/in/packed.txt"), "unpacked\n"));
    auto t = run({"tar", "-czf", ctx_->sub("archive.tar.gz"), "-C", ctx_->sub("arch/in"), "packed.txt"});
    ASSERT_EQ(t.status, 0) << t.err;
    ASSERT_TRUE(remove_all(ctx_->sub("arch")));
    put("Dockerfile",
        "# syntax=docker/dockerfile:1\n"
        "ARG BASE=busybox\n"
        "FROM ${BASE} AS builder\n"
        "ARG GREETING=hello\n"
        "RUN --mount=type=cache,target=/cache echo \"$GREETING\" > /greeting && echo x >> /cache/hits\n"
        "RUN --mount=type=tmpfs,target=/scratch [\"/bin/sh\", \"-c\", \"echo exec-form > /exec.txt; touch /scratch/gone\"]\n"
        "RUN --network=none <<EOF\n"
        "echo heredoc > /heredoc.txt\n"
        "EOF\n"
        "COPY --chmod=755 tool.sh /out/tool.sh\n"
        "\n"
        "FROM busybox AS unused\n"
        "RUN echo this-stage-must-not-run && exit 1\n"
        "\n"
        "FROM busybox\n"
        "MAINTAINER berth-test\n"
        "LABEL org.example.name=\"berth test\" version=1\n"
        "ENV APP_HOME=/app PATH=$PATH:/app/bin\n"
        "WORKDIR $APP_HOME\n"
        "COPY --from=builder /greeting /exec.txt /heredoc.txt ./\n"
        "COPY --from=builder /out/tool.sh bin/\n"
        "ADD archive.tar.gz /app/extracted/\n"
        "ADD --chmod=644 --checksum=" + dg->str() + " " + url + " /app/remote.txt\n"
        "COPY --chown=1000:1000 data/ /app/data/\n"
        "COPY *.txt /app/txt/\n"
        "RUN echo appuser:x:1234:1234::/home/appuser:/bin/sh >> /etc/passwd && test ! -e /scratch\n"
        "USER appuser\n"
        "EXPOSE 8080/tcp 53/udp\n"
        "VOLUME [\"/app/data\"]\n"
        "STOPSIGNAL SIGTERM\n"
        "HEALTHCHECK --interval=30s --timeout=5s CMD true\n"
        "SHELL [\"/bin/sh\", \"-c\"]\n"
        "ONBUILD RUN echo triggered > /tmp/onbuild.txt\n"
        "ENTRYPOINT [\"/bin/sh\", \"-c\"]\n"
        "CMD [\"cat /app/greeting\"]\n");
  }

  static int count(const std::string& hay, const std::string& needle) {
    int n = 0;
    for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
    return n;
  }

  std::unique_ptr<Scratch> ctx_, www_;
  LoopbackHttp http_;
};

TEST_F(BuildE2E, DockerCliMultiStageEveryInstructionCacheAndBerthBuild) {
  auto b = docker({"build", "-t", "berth-test-build:1", "-t", "berth-test-build:alias", ctx_->path()});
  ASSERT_EQ(b.status, 0) << b.out << b.err << d_->log();
  EXPECT_EQ(b.out.find("this-stage-must-not-run"), std::string::npos) << "unneeded stage ran";
  EXPECT_NE(b.out.find("Successfully tagged berth-test-build:1"), std::string::npos) << b.out;
  EXPECT_NE(b.out.find("Successfully tagged berth-test-build:alias"), std::string::npos) << b.out;
  EXPECT_EQ(count(b.out, "Using cache"), 0) << b.out;

  // The image runs with the expected content and config.
  auto r = docker({"run", "--rm", "--network", "none", "berth-test-build:1"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "hello\n");
  auto r2 = docker({"run", "--rm", "--network", "none", "berth-test-build:1",
                    "id -u; pwd; echo $APP_HOME; cat exec.txt heredoc.txt extracted/packed.txt remote.txt; tool.sh; "
                    "ls txt; stat -c '%u:%g' data/one data/sub/two; stat -c '%a' bin/tool.sh"});
  ASSERT_EQ(r2.status, 0) << r2.err;
  EXPECT_EQ(r2.out,
            "1234\n/app\n/app\nexec-form\nheredoc\nunpacked\nfrom the loopback server\ntool-ran\n"
            "a.txt\nb.txt\n1000:1000\n1000:1000\n755\n");
  auto in = docker({"image", "inspect", "berth-test-build:1", "--format",
                    "{{json .Config}}"});
  ASSERT_EQ(in.status, 0) << in.err;
  auto cfg = nlohmann::json::parse(in.out);
  EXPECT_EQ(cfg["User"], "appuser");
  EXPECT_EQ(cfg["WorkingDir"], "/app");
  EXPECT_EQ(cfg["Labels"]["org.example.name"], "berth test");
  EXPECT_EQ(cfg["Labels"]["version"], "1");
  EXPECT_TRUE(cfg["ExposedPorts"].contains("8080/tcp"));
  EXPECT_TRUE(cfg["ExposedPorts"].contains("53/udp"));
  EXPECT_TRUE(cfg["Volumes"].contains("/app/data"));
  EXPECT_EQ(cfg["StopSignal"], "SIGTERM");
  EXPECT_EQ(cfg["Healthcheck"]["Test"], nlohmann::json({"CMD-SHELL", "true"}));
  EXPECT_EQ(cfg["Healthcheck"]["Interval"], 30000000000LL);
  EXPECT_EQ(cfg["OnBuild"], nlohmann::json({"RUN echo triggered > /tmp/onbuild.txt"}));
  EXPECT_EQ(cfg["Entrypoint"], nlohmann::json({"/bin/sh", "-c"}));
  EXPECT_EQ(cfg["Cmd"], nlohmann::json({"cat /app/greeting"}));
  bool path_ok = false;
  for (auto& e : cfg["Env"]) path_ok |= e.get<std::string>().find(":/app/bin") != std::string::npos &&
                                        e.get<std::string>().rfind("PATH=/", 0) == 0;
  EXPECT_TRUE(path_ok) << cfg["Env"].dump();
  // .dockerignore kept secret.txt out.
  auto sec = docker({"run", "--rm", "--network", "none", "berth-test-build:1", "test -e /app/txt/secret.txt"});
  EXPECT_EQ(sec.status, 1);

  // Second build: fully cached, same image.
  auto id1 = docker({"image", "inspect", "-f", "{{.Id}}", "berth-test-build:1"});
  auto b2 = docker({"build", "-t", "berth-test-build:2", ctx_->path()});
  ASSERT_EQ(b2.status, 0) << b2.err;
  int steps = count(b2.out, "Step ");
  int froms = count(b2.out, ": FROM ");
  EXPECT_EQ(count(b2.out, " ---> Using cache"), steps - froms) << b2.out;
  EXPECT_EQ(count(b2.out, "Running in"), 0) << b2.out;
  auto id2 = docker({"image", "inspect", "-f", "{{.Id}}", "berth-test-build:2"});
  EXPECT_EQ(id1.out, id2.out);

  // Plain `docker build` (BuildKit default in CLI 28) falls back to the legacy API because
  // /_ping says Builder-Version: 1.
  auto b3 = docker({"build", "-q", ctx_->path()}, /*buildkit_off=*/false);
  ASSERT_EQ(b3.status, 0) << b3.out << b3.err;
  EXPECT_EQ(trim(b3.out), trim(id1.out));

  // The cache survives a daemon restart; changing one COPY source rebuilds from that step.
  d_->term();
  ASSERT_TRUE(d_->start()) << d_->log();
  put("data/sub/two", "22\n");
  auto b4 = docker({"build", "-t", "berth-test-build:3", ctx_->path()});
  ASSERT_EQ(b4.status, 0) << b4.err;
  auto at = b4.out.find("COPY --chown=1000:1000 data/");
  ASSERT_NE(at, std::string::npos) << b4.out;
  at = b4.out.rfind("Step ", at);
  std::string before = b4.out.substr(0, at), after = b4.out.substr(at);
  EXPECT_EQ(count(before, " ---> Using cache"), count(before, "Step ") - count(before, ": FROM ")) << b4.out;
  EXPECT_EQ(count(after, " ---> Using cache"), 0) << b4.out;
  auto r3 = docker({"run", "--rm", "--network", "none", "berth-test-build:3", "cat data/sub/two"});
  EXPECT_EQ(r3.out, "22\n");

  // berth build: same context, fully cached, same image id; --iidfile, -q.
  Scratch tmp("build-e2e-iid");
  auto bb = berth({"build", "-t", "berth-test-build:4", "--iidfile", tmp.sub("iid"), ctx_->path()});
  ASSERT_EQ(bb.status, 0) << bb.out << bb.err;
  EXPECT_EQ(count(bb.out, " ---> Using cache"), count(bb.out, "Step ") - count(bb.out, ": FROM ")) << bb.out;
  auto id3 = docker({"image", "inspect", "-f", "{{.Id}}", "berth-test-build:3"});
  EXPECT_EQ(read_file(tmp.sub("iid")).value_or(""), std::string(trim(id3.out)));

  // ONBUILD fires in a child build; --target, --build-arg, a failing RUN's exit code.
  Scratch child("build-e2e-child");
  ASSERT_TRUE(write_file(child.sub("Dockerfile"), "FROM berth-test-build:1\nRUN cat /tmp/onbuild.txt\n"));
  auto bc = docker({"build", "-t", "berth-test-build:child", child.path()});
  ASSERT_EQ(bc.status, 0) << bc.out << bc.err;
  EXPECT_NE(bc.out.find("triggered"), std::string::npos) << bc.out;
  auto bt = berth({"build", "--target", "builder", "--build-arg", "GREETING=bonjour", "-t", "berth-test-build:t",
                   ctx_->path()});
  ASSERT_EQ(bt.status, 0) << bt.out << bt.err;
  auto rt = docker({"run", "--rm", "--network", "none", "berth-test-build:t", "cat", "/greeting"});
  EXPECT_EQ(rt.out, "bonjour\n");
  ASSERT_TRUE(write_file(child.sub("Dockerfile"), "FROM busybox\nRUN exit 3\n"));
  auto bf = docker({"build", child.path()});
  EXPECT_NE(bf.status, 0);
  EXPECT_NE(bf.err.find("returned a non-zero code: 3"), std::string::npos) << bf.out << bf.err;
  auto bf2 = berth({"build", child.path()});
  EXPECT_EQ(bf2.status, 3) << bf2.out << bf2.err;

  // Intermediate images stay out of `docker images`; df reports the build cache; prune empties it.
  auto imgs = docker({"images", "--format", "{{.Repository}}"});
  EXPECT_EQ(count(imgs.out, "<none>"), 0) << imgs.out;
  auto df = docker({"system", "df", "--format", "{{.Type}} {{.TotalCount}}"});
  EXPECT_NE(df.out.find("Build Cache"), std::string::npos) << df.out;
  auto pr = docker({"builder", "prune", "-af"});
  EXPECT_EQ(pr.status, 0) << pr.err;
  auto b5 = docker({"build", "-t", "berth-test-build:5", ctx_->path()});
  ASSERT_EQ(b5.status, 0) << b5.err;
  // Every step runs again (the 4 RUNs of the needed stages among them), metadata-only ones too.
  EXPECT_EQ(count(b5.out, " ---> Running in"), 4) << b5.out;
  EXPECT_EQ(count(b5.out, " ---> Using cache"), 0) << b5.out;
  auto r5 = docker({"run", "--rm", "--network", "none", "berth-test-build:1"});
  EXPECT_EQ(r5.out, "hello\n") << "prune must keep tagged images";
}

// The built image goes to a registry with `berth push`; with everything local gone (image,
// build steps, build cache) `berth run` pulls and runs it. Built again with --cache-from the
// pulled image, the final stage comes entirely from it (the same image id; only the builder
// stage, which is not in that image, runs again), and a changed COPY source is not served
// from it.
TEST_F(BuildE2E, PushRunPulledAndCacheFrom) {
  if (!path_exists(bin("berth-registry"))) GTEST_SKIP() << "berth-registry not built";
  Scratch regdir("build-e2e-reg");
  LoopbackRegistry reg;
  ASSERT_TRUE(reg.start(regdir.path())) << read_file(regdir.sub("registry.log")).value_or("");
  std::string ref = reg.host() + "/berth-test/built:v1";
  auto b = docker({"build", "-t", ref, ctx_->path()});
  ASSERT_EQ(b.status, 0) << b.out << b.err << d_->log();
  auto id_of = [&](const std::string& image) {
    return std::string(trim(docker({"image", "inspect", "-f", "{{.Id}}", image}).out));
  };
  std::string id = id_of(ref);
  ASSERT_FALSE(id.empty());
  auto push = berth({"push", ref});
  ASSERT_EQ(push.status, 0) << push.out << push.err;

  ASSERT_EQ(docker({"rmi", ref}).status, 0);
  auto pr = docker({"builder", "prune", "-af"});
  ASSERT_EQ(pr.status, 0) << pr.err;
  EXPECT_NE(docker({"image", "inspect", id}).status, 0) << "the built image is still there";
  auto run1 = berth({"run", "--rm", "--network", "none", ref});
  ASSERT_EQ(run1.status, 0) << run1.out << run1.err;
  EXPECT_EQ(run1.out, "hello\n");
  EXPECT_NE(run1.err.find("Unable to find image '" + ref + "' locally"), std::string::npos) << run1.err;
  EXPECT_EQ(id_of(ref), id);
  auto run2 = berth({"run", "--rm", "--network", "none", ref, "cat data/sub/two remote.txt; id -u"});
  EXPECT_EQ(run2.out, "2\nfrom the loopback server\n1234\n") << run2.err;

  auto final_stage = [](const std::string& out) {
    auto at = out.rfind(": FROM busybox\n");
    return at == std::string::npos ? std::string() : out.substr(at);
  };
  auto c = docker({"build", "--cache-from", ref, "-t", "berth-test-build:cf", ctx_->path()});
  ASSERT_EQ(c.status, 0) << c.out << c.err;
  std::string fin = final_stage(c.out);
  ASSERT_FALSE(fin.empty()) << c.out;
  EXPECT_EQ(count(fin, " ---> Using cache"), count(fin, "Step ")) << c.out;
  EXPECT_EQ(count(fin, "Running in"), 0) << c.out;
  EXPECT_EQ(id_of("berth-test-build:cf"), id) << c.out;
  // The restored steps are in the local cache now: a plain rebuild is fully cached.
  auto c1 = berth({"build", "-q", ctx_->path()});
  ASSERT_EQ(c1.status, 0) << c1.out << c1.err;
  EXPECT_EQ(trim(c1.out), id);

  put("data/sub/two", "changed\n");
  auto c2 = docker({"build", "--cache-from", ref, "-t", "berth-test-build:cf2", ctx_->path()});
  ASSERT_EQ(c2.status, 0) << c2.out << c2.err;
  auto at = c2.out.find("COPY --chown=1000:1000 data/");
  ASSERT_NE(at, std::string::npos) << c2.out;
  std::string after = c2.out.substr(c2.out.rfind("Step ", at));
  EXPECT_EQ(count(after, " ---> Using cache"), 0) << c2.out;
  EXPECT_NE(id_of("berth-test-build:cf2"), id);
  auto r3 = docker({"run", "--rm", "--network", "none", "berth-test-build:cf2", "cat data/sub/two"});
  EXPECT_EQ(r3.out, "changed\n") << r3.err;
  // A --cache-from image that does not exist is skipped with a warning.
  auto c3 = docker({"build", "--cache-from", "berth-test-nosuch:1", "-q", ctx_->path()});
  EXPECT_EQ(c3.status, 0) << c3.out << c3.err;
}

// (busybox wget -T crashes in the test image: no timeouts; unreachable fails at once.)
// RUN steps on the build's network, through the docker CLI's legacy builder: a busybox httpd on
// berthd's own test bridge (bt<hex>, 10.2xx.yyy.0/24) and on a user network the test creates is
// the only server a RUN talks to.
class BuildNetE2E : public DockerE2E {
 protected:
  void SetUp() override {
    start_berthd("build-net-e2e", {.bridge = true});
    if (IsSkipped() || HasFatalFailure()) return;
    www_ = std::make_unique<Scratch>("build-net-www");
    ctx_ = std::make_unique<Scratch>("build-net-ctx");
    ASSERT_TRUE(write_file(www_->sub("f.txt"), "served on the bridge\n"));
  }
  void TearDown() override {
    if (d_) {
      (void)DockerE2E::docker({"rm", "-f", "berth-test-bweb", "berth-test-nweb"});
      (void)DockerE2E::docker({"network", "rm", "berth-test-bnet"});
    }
    DockerE2E::TearDown();
  }
  RunResult build(std::vector<std::string> args, const std::string& dockerfile) {
    EXPECT_TRUE(write_file(ctx_->sub("Dockerfile"), dockerfile));
    args.insert(args.begin(), {docker_, "build", "--no-cache"});
    args.push_back(ctx_->path());
    auto env = docker_env();
    env.push_back("DOCKER_BUILDKIT=0");
    return run(args, {}, 180, env);
  }
  std::string ok(std::vector<std::string> args) {
    auto r = DockerE2E::docker(args);
    EXPECT_EQ(r.status, 0) << join(args, " ") << ": " << r.err;
    return std::string(trim(r.out));
  }
  // Interfaces enslaved to the test's default bridge.
  int bridge_ports() {
    auto out = std::string(trim(run({"ip", "-o", "link", "show", "master", d_->bridge_name()}, {}, 10).out));
    return out.empty() ? 0 : static_cast<int>(split(out, '\n').size());
  }
  // Build sandboxes' netns are released (veths go in the background: polled for up to 3 s).
  bool released(int ports) {
    for (int i = 0; i < 60; ++i) {
      bool empty = true;  // only containers' (64 hex digits) are left, not the builds' (32)
      std::error_code ec;
      for (const auto& e : std::filesystem::directory_iterator(d_->exec_root() + "/netns", ec))
        empty = empty && e.path().filename().string().size() == 64;
      if (empty && bridge_ports() == ports) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  std::unique_ptr<Scratch> www_, ctx_;
};

TEST_F(BuildNetE2E, RunStepsGetTheBuildNetwork) {
  ok({"run", "-d", "--name", "berth-test-bweb", "-v", www_->path() + ":/www:ro", "busybox", "httpd", "-f", "-p", "80",
      "-h", "/www"});
  std::string ip = ok({"inspect", "-f", "{{.NetworkSettings.IPAddress}}", "berth-test-bweb"});
  ASSERT_FALSE(ip.empty());
  std::string subnet = d_->bridge_ip().substr(0, d_->bridge_ip().size() - 1);
  ASSERT_EQ(ip.rfind(subnet, 0), 0u) << ip;
  std::string url = "http://" + ip + "/f.txt";
  std::string fetch = "FROM busybox\nRUN wget -q -O /got.txt " + url + " && cat /got.txt\n";

  // Default (and `--network default`, `bridge`): the default bridge, with an address of its own
  // in /etc/hosts as a `docker run` container has.
  for (std::string mode : {"", "default", "bridge"}) {
    std::vector<std::string> a = {"-t", "berth-test-bnet:1"};
    if (!mode.empty()) a.insert(a.end(), {"--network", mode});
    auto b = build(a, fetch + "RUN ip -4 -o addr show eth0 | grep -q ' inet " + subnet +
                          "' && grep -q \"^" + subnet + ".*\t$(hostname)$\" /etc/hosts\n");
    ASSERT_EQ(b.status, 0) << mode << ": " << b.out << b.err;
    EXPECT_NE(b.out.find("served on the bridge"), std::string::npos) << b.out;
  }
  auto r = DockerE2E::docker({"run", "--rm", "--network", "none", "berth-test-bnet:1", "cat", "/got.txt"});
  EXPECT_EQ(r.out, "served on the bridge\n") << r.err;

  // --network none: loopback only; RUN --network=none in a default build likewise.
  auto n = build({"--network", "none"}, fetch);
  EXPECT_NE(n.status, 0) << n.out;
  EXPECT_NE((n.out + n.err).find("Network is unreachable"), std::string::npos) << n.out << n.err;
  auto n2 = build({}, "FROM busybox\nRUN --network=none wget -q -O- " + url + "\n");
  EXPECT_NE(n2.status, 0) << n2.out;
  // ... with loopback up, as a --network none container
  auto lo = build({}, "FROM busybox\nRUN --network=none ping -c 1 -W 2 127.0.0.1\n");
  EXPECT_EQ(lo.status, 0) << lo.out << lo.err;
  auto lo2 = build({"--network", "none"}, "FROM busybox\nRUN ip -o addr show lo | grep -q 127.0.0.1/8\n");
  EXPECT_EQ(lo2.status, 0) << lo2.out << lo2.err;
  auto n3 = build({}, "FROM busybox\nRUN --network=bridge true\n");
  EXPECT_NE(n3.status, 0);
  EXPECT_NE((n3.out + n3.err).find("invalid network mode \"bridge\""), std::string::npos) << n3.out << n3.err;
  // Host networking reaches the bridge through the host's own interface.
  auto h = build({"--network", "host"}, fetch);
  EXPECT_EQ(h.status, 0) << h.out << h.err;
  // A RUN --network=default follows the build's --network none.
  auto n4 = build({"--network", "none"}, "FROM busybox\nRUN --network=default wget -q -O- " + url + "\n");
  EXPECT_NE(n4.status, 0) << n4.out;

  // A user network by name: its embedded DNS resolves the server's container name.
  ok({"network", "create", "berth-test-bnet"});
  ok({"run", "-d", "--name", "berth-test-nweb", "--network", "berth-test-bnet", "-v", www_->path() + ":/www:ro",
      "busybox", "httpd", "-f", "-p", "80", "-h", "/www"});
  auto u = build({"--network", "berth-test-bnet"}, "FROM busybox\nRUN wget -q -O- http://berth-test-nweb/f.txt\n");
  EXPECT_EQ(u.status, 0) << u.out << u.err;
  EXPECT_NE(u.out.find("served on the bridge"), std::string::npos) << u.out;
  auto x = build({"--network", "berth-test-nosuch"}, "FROM busybox\nRUN true\n");
  EXPECT_NE(x.status, 0);
  EXPECT_NE((x.out + x.err).find("network berth-test-nosuch not found"), std::string::npos) << x.out << x.err;

  // Nothing of the build sandboxes is left: one veth on the default bridge (berth-test-bweb).
  EXPECT_TRUE(released(1)) << bridge_ports();
}

// A RUN step on a network is listed by network inspect while it runs, as dockerd lists its build
// containers (which have generated names): under the step's id, named build-<12 of the id>, the
// id the build output prints ("Running in <12>"); gone when the step ends. The step waits until
// the test has looked (it polls the httpd for go.txt).
TEST_F(BuildNetE2E, RunStepIsNamedInNetworkInspect) {
  ok({"run", "-d", "--name", "berth-test-bweb", "-v", www_->path() + ":/www:ro", "busybox", "httpd", "-f", "-p", "80",
      "-h", "/www"});
  std::string ip = ok({"inspect", "-f", "{{.NetworkSettings.IPAddress}}", "berth-test-bweb"});
  ASSERT_FALSE(ip.empty());
  std::string wait_go = "FROM busybox\nRUN i=0; until wget -q -O- http://" + ip +
                        "/go.txt; do i=$((i+1)); [ $i -lt 1200 ] || exit 1; sleep 0.1; done\n";
  RunResult b;
  std::thread builder([&] { b = build({}, wait_go); });
  auto steps = [&] {  // {id, name} of the bridge's entries that are not berth-test-bweb
    std::vector<std::pair<std::string, std::string>> out;
    auto j = nlohmann::json::parse(ok({"network", "inspect", "bridge", "-f", "{{json .Containers}}"}), nullptr, false);
    if (j.is_object())
      for (auto& [id, e] : j.items())
        if (e.value("Name", "") != "berth-test-bweb") out.emplace_back(id, e.value("Name", ""));
    return out;
  };
  std::vector<std::pair<std::string, std::string>> seen;
  for (int i = 0; i < 1200 && seen.empty(); ++i) {
    seen = steps();
    if (seen.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(write_file(www_->sub("go.txt"), "released\n"));
  builder.join();
  EXPECT_EQ(b.status, 0) << b.out << b.err;
  EXPECT_NE(b.out.find("released"), std::string::npos) << b.out;
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].second, "build-" + seen[0].first.substr(0, 12));
  EXPECT_NE(b.out.find("Running in " + seen[0].first.substr(0, 12)), std::string::npos) << b.out;
  EXPECT_TRUE(steps().empty());
  EXPECT_TRUE(released(1)) << bridge_ports();
}

// COPY/ADD --link: the classic builder parses the flag (BuildKit's bool flag syntax) and copies
// as without it.
TEST_F(BuildNetE2E, CopyLinkIsAPlainCopy) {
  ASSERT_TRUE(write_file(ctx_->sub("a.txt"), "A\n"));
  auto b = build({"-t", "berth-test-link:1"},
                 "FROM busybox\nRUN mkdir -p /d && ln -s /d /ln\nCOPY --link a.txt /ln/\n"
                 "ADD --link=false a.txt /b.txt\nCOPY --link=TRUE a.txt /c.txt\n");
  ASSERT_EQ(b.status, 0) << b.out << b.err;
  auto r = DockerE2E::docker({"run", "--rm", "--network", "none", "berth-test-link:1", "cat", "/d/a.txt", "/b.txt", "/c.txt"});
  EXPECT_EQ(r.out, "A\nA\nA\n") << r.err;
  auto bad = build({}, "FROM busybox\nCOPY --link=yes a.txt /\n");
  EXPECT_NE(bad.status, 0);
  EXPECT_NE((bad.out + bad.err).find("expecting boolean value for flag --link, not: yes"), std::string::npos)
      << bad.out << bad.err;
}

}  // namespace
}  // namespace berth::test
