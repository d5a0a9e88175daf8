// SPDX-License-Identifier: Apache-2.0
// The whole CLI (run_cli) against an in-process fake Engine API on a unix socket.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "cli/context_store.hpp"
#include "common/file.hpp"
#include "http/http.hpp"

namespace berth::cli {
namespace {

struct Out {
  int rc;
  std::string out, err;
};

std::string slurp(int fd) {
  ::lseek(fd, 0, SEEK_SET);
  std::string s;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) s.append(buf, static_cast<std::size_t>(n));
  return s;
}

Out run(std::vector<std::string> args) {
  args.insert(args.begin(), "berth");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int o = ::memfd_create("out", MFD_CLOEXEC), e = ::memfd_create("err", MFD_CLOEXEC);
  int so = ::dup(1), se = ::dup(2);
  ::dup2(o, 1);
  ::dup2(e, 2);
  int rc = run_cli(static_cast<int>(args.size()), argv.data());
  ::dup2(so, 1);
  ::dup2(se, 2);
  ::close(so);
  ::close(se);
  Out r{rc, slurp(o), slurp(e)};
  ::close(o);
  ::close(e);
  return r;
}

class FakeDaemon : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create("/tmp", "berth-test-cli-");
    ASSERT_TRUE(d);
    dir_ = std::move(*d);
    sock_ = dir_.path() + "/d.sock";
    router_.add("GET", "/v1.47/version", [](http::Request&, http::ResponseWriter& w) {
      (void)w.send(200, R"({"Version":"0.1.0","ApiVersion":"1.47","MinAPIVersion":"1.24","Os":"linux","Arch":"amd64","GitCommit":"x","GoVersion":"c++","BuildTime":"now","Platform":{"Name":"berth"}})", "application/json");
    });
    router_.add("GET", "/v1.47/containers/json", [this](http::Request& q, http::ResponseWriter& w) {
      last_query_ = q.query;
      (void)w.send(200, R"([{"Id":"0123456789abcdef0123","Names":["/web"],"Image":"busybox","Command":"sleep 10","Created":1,"State":"running","Status":"Up 5 minutes","Ports":[{"IP":"0.0.0.0","PrivatePort":80,"PublicPort":8080,"Type":"tcp"}],"Labels":{}}])", "application/json");
    });
    router_.add("GET", "/v1.47/containers/{id}/json", [](http::Request& q, http::ResponseWriter& w) {
      if (q.param("id") != "web") {
        (void)w.send(404, R"({"message":"No such container: )" + q.param("id") + "\"}", "application/json");
        return;
      }
      (void)w.send(200, R"({"Id":"0123456789abcdef0123","Name":"/web","State":{"Status":"running"},"Config":{"Tty":false}})", "application/json");
    });
    router_.add("GET", "/v1.47/images/{id}/json", [](http::Request& q, http::ResponseWriter& w) {
      (void)w.send(404, R"({"message":"No such image: )" + q.param("id") + "\"}", "application/json");
    });
    router_.add("GET", "/v1.47/volumes/{id}", [](http::Request& q, http::ResponseWriter& w) {
      (void)w.send(404, R"({"message":"get )" + q.param("id") + R"(: no such volume"})", "application/json");
    });
    router_.add("GET", "/v1.47/networks/{id}", [](http::Request& q, http::ResponseWriter& w) {
      (void)w.send(404, R"({"message":"network )" + q.param("id") + R"( not found"})", "application/json");
    });
    router_.add("POST", "/v1.47/containers/{id}/stop", [](http::Request& q, http::ResponseWriter& w) {
      if (q.param("id") == "web") (void)w.send(204);
      else (void)w.send(404, R"({"message":"No such container: )" + q.param("id") + "\"}", "application/json");
    });
    router_.add("POST", "/v1.47/containers/create", [this](http::Request& q, http::ResponseWriter& w) {
      auto b = q.body().read_all();
      created_body_ = b ? *b : "";
      (void)w.send(201, R"({"Id":"feedfeedfeedfeed","Warnings":[]})", "application/json");
    });
    router_.add("POST", "/v1.47/containers/{id}/start", [](http::Request&, http::ResponseWriter& w) {
      (void)w.send(204);
    });
    router_.add("GET", "/v1.47/containers/{id}/logs", [](http::Request&, http::ResponseWriter& w) {
      std::string frame("\x01\0\0\0\0\0\0\x06hello\n\x02\0\0\0\0\0\0\x04oops", 26);
      (void)w.begin_stream(200, "application/vnd.docker.multiplexed-stream");
      (void)w.write(frame);
      (void)w.end_stream();
    });
    server_ = std::make_unique<http::Server>(router_.handler());
    ASSERT_TRUE(server_->listen_unix(sock_, 0600));
    ASSERT_TRUE(server_->start());
    host_ = "unix://" + sock_;
    setenv("BERTH_CONFIG", (dir_.path() + "/cfg").c_str(), 1);
    unsetenv("BERTH_HOST");
    unsetenv("DOCKER_HOST");
    unsetenv("BERTH_CONTEXT");
    unsetenv("DOCKER_CONTEXT");
    setenv("TZ", "UTC", 1);
  }
  void TearDown() override {
    server_->stop();
    unsetenv("BERTH_CONFIG");
  }

  TempDir dir_;
  std::string sock_, host_;
  http::Router router_;
  std::unique_ptr<http::Server> server_;
  std::string last_query_, created_body_;
};

TEST_F(FakeDaemon, VersionShowsClientAndServer) {
  auto r = run({"-H", host_, "version"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("Client:\n Version:"), std::string::npos);
  EXPECT_NE(r.out.find("Server: berth\n Engine:\n  Version:          0.1.0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("API version:      1.47 (minimum version 1.24)"), std::string::npos) << r.out;
  r = run({"-H", host_, "version", "--format", "{{.Server.Version}}/{{.Client.ApiVersion}}"});
  EXPECT_EQ(r.out, "0.1.0/1.47\n");
}

TEST_F(FakeDaemon, PsTableAndFormats) {
  auto r = run({"-H", host_, "ps"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')),
            "CONTAINER ID   IMAGE     COMMAND      CREATED        STATUS         PORTS                  NAMES");
  EXPECT_NE(r.out.find("0123456789ab   busybox   \"sleep 10\"   "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Up 5 minutes   0.0.0.0:8080->80/tcp   web\n"), std::string::npos) << r.out;
  EXPECT_EQ(last_query_, "all=0");
  r = run({"-H", host_, "ps", "-aq"});
  EXPECT_EQ(r.out, "0123456789ab\n");
  EXPECT_EQ(last_query_, "all=1");
  r = run({"-H", host_, "ps", "--format", "{{.Names}}:{{.Status}}", "--filter", "status=running"});
  EXPECT_EQ(r.out, "web:Up 5 minutes\n");
  EXPECT_NE(last_query_.find("filters="), std::string::npos);
  r = run({"-H", host_, "ps", "--no-trunc", "--format", "{{json .ID}}"});
  EXPECT_EQ(r.out, "\"0123456789abcdef0123\"\n");
}

TEST_F(FakeDaemon, InspectAndNotFound) {
  auto r = run({"-H", host_, "inspect", "web"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out.substr(0, 12), "[\n    {\n    ");
  r = run({"-H", host_, "inspect", "-f", "{{.Name}} {{.State.Status}}", "web"});
  EXPECT_EQ(r.out, "/web running\n");
  r = run({"-H", host_, "inspect", "nope"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.out, "[]\n");
  EXPECT_EQ(r.err, "Error: No such object: nope\n");
  r = run({"-H", host_, "container", "inspect", "nope"});
  EXPECT_EQ(r.err, "Error: No such container: nope\n");
}

TEST_F(FakeDaemon, StopPrintsNamesAndDaemonErrors) {
  auto r = run({"-H", host_, "stop", "web", "gone"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.out, "web\n");
  EXPECT_EQ(r.err, "Error response from daemon: No such container: gone\n");
}

TEST_F(FakeDaemon, RunDetachedSendsDockerBody) {
  auto r = run({"-H", host_, "run", "-d", "--name", "x", "--cap-add", "net_admin", "--cap-drop", "Cap_Chown",
                "--cap-drop", "all", "busybox", "echo", "-n", "hi"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "feedfeedfeedfeed\n");
  auto b = Json::parse(created_body_);
  EXPECT_EQ(b["Cmd"], Json::array({"echo", "-n", "hi"}));
  EXPECT_EQ(b["HostConfig"]["CapAdd"], Json::array({"CAP_NET_ADMIN"}));  // as the docker CLI sends them
  EXPECT_EQ(b["HostConfig"]["CapDrop"], Json::array({"CAP_CHOWN", "ALL"}));
  EXPECT_FALSE(b["AttachStdout"].get<bool>());
}

TEST_F(FakeDaemon, LogsDemultiplexes) {
  auto r = run({"-H", host_, "logs", "web"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "hello\n");
  EXPECT_EQ(r.err, "oops");
}

TEST_F(FakeDaemon, ContextsSelectTheDaemon) {
  auto r = run({"context", "create", "berth-test-ctx", "--docker", "host=" + host_});
  ASSERT_EQ(r.rc, 0) << r.err;
  r = run({"--context", "berth-test-ctx", "ps", "-q"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "0123456789ab\n");
  r = run({"context", "use", "berth-test-ctx"});
  EXPECT_EQ(r.rc, 0);
  r = run({"ps", "-q"});
  EXPECT_EQ(r.out, "0123456789ab\n");
  r = run({"context", "ls", "--format", "{{.Name}} {{.Current}}"});
  EXPECT_EQ(r.out, "default false\nberth-test-ctx true\n");
  r = run({"context", "rm", "berth-test-ctx"});
  EXPECT_EQ(r.rc, 1);  // in use
  r = run({"context", "rm", "-f", "berth-test-ctx"});
  EXPECT_EQ(r.rc, 0);
  setenv("BERTH_HOST", host_.c_str(), 1);
  r = run({"ps", "-q"});
  EXPECT_EQ(r.out, "0123456789ab\n");
  unsetenv("BERTH_HOST");
}

TEST_F(FakeDaemon, SshBridgeThroughDialStdio) {
  // A fake "ssh" that runs the remote command locally against our daemon.
  std::string fake = dir_.path() + "/fake-ssh";
  std::string self = std::string(BERTH_BINARY_DIR) + "/bin/berth";
  if (!path_exists(self)) GTEST_SKIP() << "berth binary not built";
  ASSERT_TRUE(write_file(fake, "#!/bin/sh\nexec " + self + " -H " + host_ + " system dial-stdio\n", 0755));
  setenv("BERTH_SSH", fake.c_str(), 1);
  auto r = run({"-H", "ssh://me@remote", "ps", "-q"});
  unsetenv("BERTH_SSH");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "0123456789ab\n");
}

TEST(Cli, ExitCodesAndUsage) {
  setenv("BERTH_HOST", "unix:///tmp/berth-test-no-such.sock", 1);
  auto r = run({"ps", "--bogus"});
  EXPECT_EQ(r.rc, 125);
  EXPECT_EQ(r.err.substr(0, 22), "unknown flag: --bogus\n");
  r = run({"nosuchverb"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("unknown command: berth nosuchverb"), std::string::npos);
  r = run({"inspect"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("'berth inspect' requires at least 1 argument"), std::string::npos);
  r = run({"ps"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "Cannot connect to the berth daemon at unix:///tmp/berth-test-no-such.sock. Is the daemon running?\n");
  r = run({"run", "busybox"});
  EXPECT_EQ(r.rc, 125);
  r = run({"ps", "--help"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("Usage:  berth ps [OPTIONS]"), std::string::npos);
  EXPECT_NE(r.out.find("  -a, --all"), std::string::npos);
  r = run({"volume"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("  ls "), std::string::npos);
  unsetenv("BERTH_HOST");
}

TEST(Cli, EveryCommandHasHelp) {
  for (const Command* c : commands()) {
    std::string h = command_help(*c);
    EXPECT_NE(h.find("Usage:  berth " + c->name), std::string::npos) << c->name;
    EXPECT_FALSE(c->summary.empty()) << c->name;
    EXPECT_NE(c->run, nullptr) << c->name;
  }
  std::string b = bash_completion();
  EXPECT_NE(b.find("complete -F _berth berth"), std::string::npos);
  EXPECT_NE(b.find("volume)"), std::string::npos);
  EXPECT_NE(zsh_completion().find("bashcompinit"), std::string::npos);
}

TEST(Cli, Endpoints) {
  auto e = parse_endpoint("unix:///run/x.sock");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->path, "/run/x.sock");
  e = parse_endpoint("tcp://10.0.0.1:2376");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->host, "10.0.0.1");
  EXPECT_EQ(e->port, 2376);
  e = parse_endpoint("ssh://bob@h:2222");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, Endpoint::Ssh);
  EXPECT_EQ(e->user, "bob");
  EXPECT_EQ(e->port, 2222);
  EXPECT_FALSE(parse_endpoint("ftp://x"));
}

}  // namespace
}  // namespace berth::cli
