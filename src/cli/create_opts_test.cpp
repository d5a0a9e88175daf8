// SPDX-License-Identifier: Apache-2.0
// The ContainerCreate body must equal, byte for byte, what docker 28's CLI sends for the same
// flags (testdata/*.json were captured from `docker create/run` against a recording socket).
#include "cli/create_opts.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/file.hpp"

namespace berth::cli {
namespace {

std::string golden(const std::string& name) {
  auto t = read_file(std::string(BERTH_CLI_TESTDATA) + "/" + name);
  EXPECT_TRUE(t) << name;
  std::string g = t ? *t : "";
  while (!g.empty() && g.back() == '\n') g.pop_back();  // Go's encoder ends with a newline
  return g;
}

std::string body_for(const std::vector<std::string>& argv, bool for_run) {
  ParseOptions o;
  o.interspersed = false;
  auto f = parse_flags(container_create_flags(for_run), argv, o);
  EXPECT_TRUE(f) << (f ? "" : f.error().message());
  if (!f) return "";
  auto r = build_create_request(*f, for_run);
  EXPECT_TRUE(r) << (r ? "" : r.error().message());
  return r ? r->body.dump() : "";
}

TEST(CreateOpts, DefaultMatchesDocker) {
  EXPECT_EQ(body_for({"busybox"}, false), golden("create_default.json"));
}

TEST(CreateOpts, RunDetachedRmMatchesDocker) {
  EXPECT_EQ(body_for({"--rm", "-d", "busybox", "sleep", "1"}, true), golden("run_rm_d.json"));
}

TEST(CreateOpts, ManyFlagsMatchDocker) {
  unsetenv("B");
  std::string b = body_for(
      {"--name", "x", "-e", "A=1", "-e", "B", "-v", "/a:/b:ro", "-v", "vol:/c", "-w", "/w", "-u", "1000:1000",
       "--entrypoint", "/bin/sh", "--restart", "on-failure:3", "--memory", "64m", "--cpus", "1.5",
       "--pids-limit", "100", "--cap-add", "NET_ADMIN", "--cap-drop", "ALL", "--read-only", "--init",
       "--ulimit", "nofile=1024:2048", "--security-opt", "no-new-privileges", "--privileged", "--network",
       "none", "-t", "-i", "-p", "8080:80", "-p", "127.0.0.1:53:53/udp", "-l", "k=v", "--hostname", "h",
       "--add-host", "a:1.2.3.4", "--dns", "8.8.8.8", "--tmpfs", "/tmp:size=1m", "--shm-size", "1m",
       "--stop-signal", "SIGINT", "--stop-timeout", "5", "busybox", "ls", "-l"},
      false);
  EXPECT_EQ(b, golden("create_full.json"));
}

TEST(CreateOpts, Conflicts) {
  ParseOptions o;
  o.interspersed = false;
  auto f = parse_flags(container_create_flags(true), {"--rm", "--restart", "always", "busybox"}, o);
  ASSERT_TRUE(f);
  auto r = build_create_request(*f, true);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "Conflicting options: --restart and --rm");
  f = parse_flags(container_create_flags(true), {"-p", "x:y:z:w", "busybox"}, o);
  ASSERT_TRUE(f);
  EXPECT_FALSE(build_create_request(*f, true));
}

TEST(CreateOpts, InteractiveRunAttachesStdin) {
  ParseOptions o;
  o.interspersed = false;
  auto f = parse_flags(container_create_flags(true), {"-it", "busybox", "sh"}, o);
  ASSERT_TRUE(f);
  auto r = build_create_request(*f, true);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->body["AttachStdin"].get<bool>());
  EXPECT_TRUE(r->body["OpenStdin"].get<bool>());
  EXPECT_TRUE(r->body["StdinOnce"].get<bool>());
  EXPECT_TRUE(r->body["Tty"].get<bool>());
  EXPECT_EQ(r->body["Cmd"], Json::array({"sh"}));
}

TEST(CreateOpts, HealthFlags) {
  ParseOptions o;
  o.interspersed = false;
  auto f = parse_flags(container_create_flags(true),
                       {"--health-cmd", "curl -f localhost", "--health-interval", "1m30s", "--health-timeout", "300ms",
                        "--health-retries", "4", "--health-start-period", "1.5s", "--health-start-interval", "2s", "busybox"},
                       o);
  ASSERT_TRUE(f);
  auto r = build_create_request(*f, true);
  ASSERT_TRUE(r) << r.error().message();
  const auto& h = r->body["Healthcheck"];
  EXPECT_EQ(h["Test"], Json::array({"CMD-SHELL", "curl -f localhost"}));
  EXPECT_EQ(h["Interval"].get<std::int64_t>(), 90000000000LL);
  EXPECT_EQ(h["Timeout"].get<std::int64_t>(), 300000000LL);
  EXPECT_EQ(h["StartPeriod"].get<std::int64_t>(), 1500000000LL);
  EXPECT_EQ(h["StartInterval"].get<std::int64_t>(), 2000000000LL);
  EXPECT_EQ(h["Retries"].get<int>(), 4);
  f = parse_flags(container_create_flags(true), {"--no-healthcheck", "busybox"}, o);
  ASSERT_TRUE(f);
  r = build_create_request(*f, true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body["Healthcheck"]["Test"], Json::array({"NONE"}));
  f = parse_flags(container_create_flags(true), {"--no-healthcheck", "--health-cmd", "x", "busybox"}, o);
  ASSERT_TRUE(f);
  r = build_create_request(*f, true);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "--no-healthcheck conflicts with --health-* options");
  f = parse_flags(container_create_flags(true), {"--health-interval", "5x", "busybox"}, o);
  ASSERT_TRUE(f);
  EXPECT_FALSE(build_create_request(*f, true));
  f = parse_flags(container_create_flags(true), {"busybox"}, o);
  ASSERT_TRUE(f);
  r = build_create_request(*f, true);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->body.contains("Healthcheck"));
}

}  // namespace
}  // namespace berth::cli
