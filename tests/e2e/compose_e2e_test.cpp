// SPDX-License-Identifier: Apache-2.0
// docker-compose 1.29 (Debian's, through docker-py) against a private berthd with its own
// default bridge and nftables table: a two-service project with a user network (service names
// through the embedded DNS), a named volume shared by both services and a published port; then
// `ps` (each service once), `logs`, and `down -v` leaves no container, network or volume behind.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "e2e/docker_e2e.hpp"

namespace berth::test {
namespace {

class Compose : public DockerE2E {
 protected:
  void SetUp() override {
    compose_ = which("docker-compose");
    if (compose_.empty()) GTEST_SKIP() << "docker-compose not on PATH";
    start_berthd("e2e-compose", {.bridge = true});
    if (IsSkipped() || HasFatalFailure()) return;
    proj_ = std::make_unique<Scratch>("e2e-compose-proj");
  }
  void TearDown() override {
    if (d_ && proj_) (void)tool(compose_, {"down", "-v", "--remove-orphans"});
    DockerE2E::TearDown();
  }
  RunResult tool(const std::string& prog, std::vector<std::string> args, int timeout = 120) {
    args.insert(args.begin(), prog);
    if (prog == compose_) args.insert(args.begin() + 1, {"-p", "bertht", "-f", proj_->sub("docker-compose.yml")});
    auto env = docker_env();
    env.push_back("COMPOSE_INTERACTIVE_NO_CLI=1");
    return run(args, {}, timeout, env);
  }

  std::string compose_;
  std::unique_ptr<Scratch> proj_;
};

TEST_F(Compose, UpPsLogsDown) {
  int port = free_port();
  std::string yml = R"(version: "3.8"
services:
  web:
    image: busybox:latest
    command: ["sh", "-c", "mkdir -p /www && echo hello-compose > /www/index.html && httpd -f -p 80 -h /www"]
    volumes: ["data:/data"]
    ports: ["127.0.0.1:)" + std::to_string(port) + R"(:80"]
    labels: {berth.test: "web"}
  client:
    image: busybox:latest
    depends_on: [web]
    command: ["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://web/ && echo fetched > /data/result && exit 0; sleep 0.5; done; exit 1"]
    volumes: ["data:/data"]
volumes:
  data: {}
)";
  ASSERT_TRUE(write_file(proj_->sub("docker-compose.yml"), yml));
  auto up = tool(compose_, {"up", "-d"});
  ASSERT_EQ(up.status, 0) << up.out << up.err;

  // The client reached the web service by name and wrote into the shared volume.
  std::string status;
  for (int i = 0; i < 100; ++i) {
    status = std::string(trim(tool(docker_, {"inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "bertht_client_1"}).out));
    if (status.rfind("exited", 0) == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(status, "exited 0");
  auto logs = tool(compose_, {"logs", "--no-color", "client"});
  EXPECT_NE(logs.out.find("hello-compose"), std::string::npos) << logs.out << logs.err;
  auto cat = tool(docker_, {"exec", "bertht_web_1", "cat", "/data/result"});
  EXPECT_EQ(cat.out, "fetched\n") << cat.err;

  // Another container on the project network reaches the service by name.
  auto wget = tool(docker_, {"run", "--rm", "--network", "bertht_default", "busybox", "wget", "-qO-", "http://web/"});
  EXPECT_EQ(wget.out, "hello-compose\n") << wget.err;

  // ps lists each service once (label filters are ANDed).
  auto ps = tool(compose_, {"ps"});
  EXPECT_EQ(ps.status, 0) << ps.err;
  std::size_t n = 0;
  for (std::size_t p = ps.out.find("bertht_web_1"); p != std::string::npos; p = ps.out.find("bertht_web_1", p + 1)) ++n;
  EXPECT_EQ(n, 1u) << ps.out;

  auto down = tool(compose_, {"down", "-v"});
  EXPECT_EQ(down.status, 0) << down.err;
  EXPECT_EQ(trim(tool(docker_, {"ps", "-aq"}).out), "");
  EXPECT_EQ(tool(docker_, {"volume", "ls", "-q"}).out.find("bertht_data"), std::string::npos);
  EXPECT_EQ(tool(docker_, {"network", "ls", "-q", "--filter", "name=bertht_default"}).out, "");
}

}  // namespace
}  // namespace berth::test
