// SPDX-License-Identifier: Apache-2.0
// exec into a running container: namespaces, cgroup, env/cwd/user, --process, --detach.
#include <sys/stat.h>

#include "common/strings.hpp"
#include "config_builder.hpp"

namespace berth::test {
namespace {

using Exec = RuntimeTest;

TEST_F(Exec, JoinsNamespacesAndCgroup) {
  write_config(config().probe({"sleep", "inf"}));
  auto id = new_id();
  ASSERT_EQ(rtd({"run", "-d", "--bundle", bundle_, id}).status, 0);
  int pid = state(id)["pid"].get<int>();
  auto r = rt({"exec", id, "/bin/probe"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto j = json::parse(r.out);
  for (const char* t : {"pid", "net", "ipc", "uts", "mnt", "cgroup"}) {
    struct stat st {};
    ::stat(("/proc/" + std::to_string(pid) + "/ns/" + (std::string(t) == "mnt" ? "mnt" : t)).c_str(), &st);
    EXPECT_EQ(j["ns"][t].get<unsigned long>(), st.st_ino) << t;
  }
  EXPECT_EQ(j["uts"]["hostname"], "berth-test");
  EXPECT_EQ(j["nnp"], true);
  EXPECT_EQ(j["caps"]["bounding"], "0000000020000420");
  // It is in the container's cgroup, so ps lists it while it runs.
  auto ps_during = rt({"exec", id, "/bin/sh", "-c", "cat /proc/self/cgroup | grep memory"});
  EXPECT_NE(ps_during.out.find("memory:/"), std::string::npos) << ps_during.out;

  auto e = rt({"exec", "--env", "FOO=bar", "--cwd", "/tmp", "--user", "1000:1000", "--additional-gids", "5", id,
               "/bin/probe"});
  ASSERT_EQ(e.status, 0) << e.err;
  auto k = json::parse(e.out);
  EXPECT_EQ(k["ids"]["uid"], 1000);
  EXPECT_EQ(k["ids"]["gid"], 1000);
  EXPECT_EQ(k["ids"]["groups"], json({5}));
  EXPECT_EQ(k["cwd"], "/tmp");
  bool foo = false;
  for (auto& v : k["env"]) foo = foo || v == "FOO=bar";
  EXPECT_TRUE(foo);
  auto code = rt({"exec", id, "/bin/probe", "exit", "5"});
  EXPECT_EQ(code.status, 5);
  auto missing = rt({"exec", id, "/nope"});
  EXPECT_NE(missing.status, 0);
  EXPECT_NE(missing.err.find("no such file"), std::string::npos) << missing.err;
}

TEST_F(Exec, ProcessFileDetachAndPidFile) {
  write_config(config().probe({"sleep", "inf"}));
  auto id = new_id();
  ASSERT_EQ(rtd({"run", "-d", "--bundle", bundle_, id}).status, 0);
  std::string pf = scratch_->sub("proc.json");
  json p = {{"args", {"/bin/probe", "sleep", "inf"}}, {"cwd", "/"}, {"env", {"PATH=/bin"}}, {"user", {{"uid", 0}, {"gid", 0}}}};
  ASSERT_TRUE(write_file(pf, p.dump()).has_value());
  std::string pidfile = scratch_->sub("exec.pid");
  auto r = rtd({"exec", "--process", pf, "--detach", "--pid-file", pidfile, id});
  ASSERT_EQ(r.status, 0) << r.err;
  auto pid = parse_int(read_file(pidfile).value_or(""));
  ASSERT_TRUE(pid.has_value());
  EXPECT_TRUE(path_exists("/proc/" + std::to_string(*pid)));
  auto ps = rt({"ps", "--format", "json", id});
  auto arr = json::parse(ps.out);
  EXPECT_EQ(arr.size(), 2u) << ps.out;
  EXPECT_EQ(rt({"delete", "--force", id}).status, 0);
}

TEST_F(Exec, RefusedInStoppedOrPausedContainer) {
  write_config(config().probe({"sleep", "inf"}));
  auto id = new_id();
  ASSERT_EQ(rtd({"run", "-d", "--bundle", bundle_, id}).status, 0);
  ASSERT_EQ(rt({"pause", id}).status, 0);
  auto p = rt({"exec", id, "/bin/true"});
  EXPECT_NE(p.status, 0);
  EXPECT_NE(p.err.find("paused"), std::string::npos) << p.err;
  ASSERT_EQ(rt({"resume", id}).status, 0);
  ASSERT_EQ(rt({"kill", id, "KILL"}).status, 0);
  for (int i = 0; i < 100 && state(id)["status"] != "stopped"; ++i) ::usleep(20000);
  auto s = rt({"exec", id, "/bin/true"});
  EXPECT_NE(s.status, 0);
  EXPECT_NE(s.err.find("stopped"), std::string::npos) << s.err;
}

// exec --cgroup (v1 / hybrid): into a sub-cgroup of the container's, never above it.
TEST_F(Exec, CgroupFlagJoinsSubCgroupsOnly) {
  if (!path_exists("/sys/fs/cgroup/memory/cgroup.procs")) GTEST_SKIP() << "needs the v1 memory controller";
  write_config(config().probe({"sleep", "inf"}));
  auto id = new_id();
  ASSERT_EQ(rtd({"run", "-d", "--bundle", bundle_, id}).status, 0);
  int pid = state(id)["pid"].get<int>();
  std::string rel;
  for (auto& l : split(read_file("/proc/" + std::to_string(pid) + "/cgroup").value_or(""), '\n'))
    if (l.find(":memory:") != std::string::npos) rel = l.substr(l.find(":memory:") + 8);
  ASSERT_FALSE(rel.empty());
  std::string sub = "/sys/fs/cgroup/memory" + rel + "/berth-sub";
  ASSERT_EQ(::mkdir(sub.c_str(), 0755), 0);
  auto in = rt({"exec", "--cgroup", "memory:berth-sub", id, "cat", "/proc/self/cgroup"});
  EXPECT_EQ(in.status, 0) << in.err;
  // Seen through the container's cgroup namespace: its own cgroup is "/".
  EXPECT_NE(in.out.find(":memory:/berth-sub\n"), std::string::npos) << in.out;
  EXPECT_NE(in.out.find(":pids:/\n"), std::string::npos) << in.out;  // the others: its top
  auto up = rt({"exec", "--cgroup", "..", id, "true"});
  EXPECT_NE(up.status, 0);
  EXPECT_NE(up.err.find(" .. is not a sub cgroup path"), std::string::npos) << up.err;
  auto none = rt({"exec", "--cgroup", "cpu:nonexistent", id, "true"});
  EXPECT_NE(none.status, 0);
  EXPECT_NE(none.err.find("/nonexistent/cgroup.procs: no such file"), std::string::npos) << none.err;
  auto bad = rt({"exec", "--cgroup", "whaaat:/", id, "true"});
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.err.find("unknown controller whaaat"), std::string::npos) << bad.err;
  EXPECT_EQ(::rmdir(sub.c_str()), 0);  // the exec'd cat is gone
}

}  // namespace
}  // namespace berth::test
