// SPDX-License-Identifier: Apache-2.0
// Resources seen from inside the container, update, pause/resume, ps, events, and the v2
// manager on a private cgroup2 mount.
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include <chrono>
#include <thread>

#include "cgroups/cgroups.hpp"
#include "common/strings.hpp"
#include "config_builder.hpp"

namespace berth::test {
namespace {

using Cgroups = RuntimeTest;

TEST_F(Cgroups, TinyMemoryLimitStillRunsTrue) {
  auto c = config().args({"/bin/true"});
  c.resources()["memory"] = {{"limit", 524288}};
  auto r = run_config(c);
  EXPECT_EQ(r.status, 0) << r.err;
}

TEST_F(Cgroups, LimitsAreVisibleInside) {
  auto c = config().probe({"limits"});
  auto id = unique_name("cg");
  c.cgroups_path("/" + id);
  c.resources()["memory"] = {{"limit", 64 << 20}, {"reservation", 32 << 20}};
  c.resources()["pids"] = {{"limit", 42}};
  c.resources()["cpu"] = {{"shares", 512}, {"quota", 50000}, {"period", 100000}, {"cpus", "0"}};
  // Only where the scheduler has a weight (BFQ/CFQ): else the runtime fails with a clear error,
  // as runc does (that case is not what this test is about).
  if (path_exists("/sys/fs/cgroup/blkio/blkio.weight") || path_exists("/sys/fs/cgroup/blkio/blkio.bfq.weight"))
    c.resources()["blockIO"] = {{"weight", 300}};
  auto r = run_config(c);
  ASSERT_EQ(r.status, 0) << r.err;
  auto j = json::parse(r.out);
  EXPECT_EQ(j["memory"], std::to_string(64 << 20));
  EXPECT_EQ(j["pids"], "42");
  EXPECT_EQ(j["cpu_quota"], "50000");
  EXPECT_EQ(j["cpu_shares"], "512");
  EXPECT_EQ(j["cpuset"], "0");
  // Removed with the container.
  EXPECT_FALSE(path_exists("/sys/fs/cgroup/memory/" + id));
}

TEST_F(Cgroups, DeviceRulesDenyWhatIsNotAllowed) {
  auto c = config().args({"/bin/sh", "-c", "mknod /tmp/sda b 8 0 && head -c1 /tmp/sda; echo rc=$?"});
  c.j["root"]["readonly"] = false;
  c.process()["noNewPrivileges"] = false;
  c.process()["capabilities"] = {{"bounding", {"CAP_MKNOD"}}, {"effective", {"CAP_MKNOD"}}, {"permitted", {"CAP_MKNOD"}}};
  c.j["mounts"].push_back({{"destination", "/tmp"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
  auto r = run_config(c);
  EXPECT_NE(r.out.find("rc=1"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.err.find("Operation not permitted"), std::string::npos) << r.err;
}

TEST_F(Cgroups, PauseResumeUpdatePsEvents) {
  auto c = config().probe({"sleep", "inf"});
  auto id = new_id();
  c.resources()["pids"] = {{"limit", 100}};
  write_config(c);
  ASSERT_EQ(rtd({"run", "-d", "--bundle", bundle_, id}).status, 0);
  ASSERT_EQ(rt({"pause", id}).status, 0);
  EXPECT_EQ(state(id)["status"], "paused");
  auto bad = rt({"pause", id});
  EXPECT_NE(bad.status, 0);
  ASSERT_EQ(rt({"resume", id}).status, 0);
  EXPECT_EQ(state(id)["status"], "running");
  EXPECT_NE(rt({"resume", id}).status, 0);

  auto u = rt({"update", "--pids-limit", "7", "--memory", "100m", id});
  ASSERT_EQ(u.status, 0) << u.err;
  EXPECT_EQ(std::string(trim(read_file("/sys/fs/cgroup/pids/" + id + "/pids.max").value_or(""))), "7");
  EXPECT_EQ(std::string(trim(read_file("/sys/fs/cgroup/memory/" + id + "/memory.limit_in_bytes").value_or(""))),
            std::to_string(100 << 20));
  std::string res = scratch_->sub("res.json");
  ASSERT_TRUE(write_file(res, R"({"pids":{"limit":9}})").has_value());
  ASSERT_EQ(rt({"update", "--resources", res, id}).status, 0);
  EXPECT_EQ(std::string(trim(read_file("/sys/fs/cgroup/pids/" + id + "/pids.max").value_or(""))), "9");

  auto ps = rt({"ps", "--format", "json", id});
  ASSERT_EQ(ps.status, 0) << ps.err;
  auto pids = json::parse(ps.out);
  ASSERT_EQ(pids.size(), 1u);
  EXPECT_EQ(pids[0], state(id)["pid"]);
  auto ev = rt({"events", "--stats", id});
  ASSERT_EQ(ev.status, 0) << ev.err;
  auto e = json::parse(ev.out);
  EXPECT_EQ(e["type"], "stats");
  EXPECT_EQ(e["data"]["pids"]["current"], 1);
  EXPECT_GT(e["data"]["memory"]["usage"]["usage"].get<long>(), 0);
  EXPECT_EQ(rt({"delete", "--force", id}).status, 0);
}

// The v2 code path on a cgroup2 hierarchy of our own (the host's controllers are bound to v1,
// so only the core files -- procs, freeze, kill -- are exercised here).
TEST(CgroupsV2, ManagerOnPrivateHierarchy) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  Scratch s("cg2");
  std::string mnt = s.sub("cg2");
  ASSERT_TRUE(mkdir_all(mnt).has_value());
  if (::mount("cgroup2", mnt.c_str(), "cgroup2", 0, nullptr) != 0) GTEST_SKIP() << "cannot mount cgroup2";
  struct Umount {
    std::string p;
    ~Umount() { ::umount2(p.c_str(), MNT_DETACH); }
  } um{mnt};
  std::string name = unique_name("v2");
  auto m = cgroups::Manager::open("/" + name + "/inner", {mnt});
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->mode(), cgroups::Mode::V2);
  ASSERT_TRUE(m->create().has_value());
  pid_t child = ::fork();
  if (child == 0) {
    ::pause();
    _exit(0);
  }
  ASSERT_TRUE(m->apply(child).has_value());
  auto pids = m->pids();
  ASSERT_TRUE(pids.has_value());
  ASSERT_EQ(pids->size(), 1u);
  EXPECT_EQ((*pids)[0], child);
  ASSERT_TRUE(m->freeze(true).has_value());
  EXPECT_EQ(*m->freezer_state(), cgroups::FreezerState::Frozen);
  EXPECT_NE(read_file(mnt + "/" + name + "/inner/cgroup.events").value_or("").find("frozen 1"), std::string::npos);
  ASSERT_TRUE(m->freeze(false).has_value());
  EXPECT_EQ(*m->freezer_state(), cgroups::FreezerState::Thawed);
  cgroups::Resources r;
  r.memory.limit = 1 << 20;
  auto st = m->set(r);
  EXPECT_FALSE(st.has_value());  // memory controller not available on this private hierarchy
  cgroups::Resources dev;
  dev.devices.push_back({false, 'a', -1, -1, "rwm"});
  auto ds = m->set(dev);
  ASSERT_FALSE(ds.has_value());
  EXPECT_NE(ds.error().message().find("eBPF"), std::string::npos);
  ASSERT_TRUE(m->kill_all(SIGKILL).has_value());
  int wst;
  ::waitpid(child, &wst, 0);
  EXPECT_TRUE(WIFSIGNALED(wst));
  ASSERT_TRUE(m->destroy().has_value());
  EXPECT_FALSE(path_exists(mnt + "/" + name + "/inner"));
  ::rmdir((mnt + "/" + name).c_str());
}

// A process the container moved into a sub-cgroup of its own is still killed by
// delete --force, and the sub-cgroup is removed with the container's.
TEST_F(Cgroups, ForceDeleteKillsAndRemovesSubCgroups) {
  if (!path_exists("/sys/fs/cgroup/memory/cgroup.procs")) GTEST_SKIP() << "needs the v1 memory controller";
  auto id = unique_name("cg");
  write_config(config().cgroups_path("/" + id).probe({"sleep", "inf"}));
  auto cid = new_id();
  ASSERT_EQ(rtd({"run", "-d", "--bundle", bundle_, cid}).status, 0);
  std::string sub = "/sys/fs/cgroup/memory/" + id + "/berth-sub";
  ASSERT_EQ(::mkdir(sub.c_str(), 0755), 0);
  ASSERT_EQ(rtd({"exec", "-d", cid, "/bin/probe", "sleep", "inf"}).status, 0);
  auto procs = split(read_file("/sys/fs/cgroup/memory/" + id + "/cgroup.procs").value_or(""), '\n');
  ASSERT_FALSE(procs.empty());
  // Move the exec'd sleeper (not the init) into the sub-cgroup.
  int init = state(cid)["pid"].get<int>();
  std::string moved;
  for (auto& p : procs)
    if (!p.empty() && p != std::to_string(init)) moved = p;
  ASSERT_FALSE(moved.empty());
  ASSERT_TRUE(write_file(sub + "/cgroup.procs", moved).has_value());
  auto ps = rt({"ps", "--format", "json", cid});
  EXPECT_NE(ps.out.find(moved), std::string::npos) << ps.out;  // ps sees below the cgroup too
  auto d = rt({"delete", "--force", cid});
  EXPECT_EQ(d.status, 0) << d.err;
  EXPECT_FALSE(path_exists(sub));
  EXPECT_FALSE(path_exists("/sys/fs/cgroup/memory/" + id));
  EXPECT_FALSE(path_exists("/proc/" + moved + "/cmdline") && read_file("/proc/" + moved + "/cmdline").value_or("").find("probe") != std::string::npos);
}

// runc's update command line: flags after the id, --cpu-share, and --memory -1 lifting a
// memory+swap limit along with the memory limit (v1).
TEST_F(Cgroups, UpdateFlagsAfterIdAndUnlimitedMemory) {
  if (!path_exists("/sys/fs/cgroup/memory/cgroup.procs")) GTEST_SKIP() << "needs the v1 memory controller";
  auto c = config().probe({"sleep", "inf"});
  auto id = new_id();
  write_config(c);
  ASSERT_EQ(rtd({"run", "-d", "--bundle", bundle_, id}).status, 0);
  auto mem = [&](const char* f) {
    return std::string(trim(read_file("/sys/fs/cgroup/memory/" + id + "/" + f).value_or("")));
  };
  auto u = rt({"update", id, "--memory", "64m", "--cpu-share", "200"});
  ASSERT_EQ(u.status, 0) << u.err;
  EXPECT_EQ(mem("memory.limit_in_bytes"), std::to_string(64 << 20));
  EXPECT_EQ(std::string(trim(read_file("/sys/fs/cgroup/cpu/" + id + "/cpu.shares").value_or(""))), "200");
  bool swap = path_exists("/sys/fs/cgroup/memory/" + id + "/memory.memsw.limit_in_bytes");
  if (swap) {
    ASSERT_EQ(rt({"update", id, "--memory-swap", std::to_string(96 << 20)}).status, 0);
  }
  auto lift = rt({"update", id, "--memory", "-1"});
  ASSERT_EQ(lift.status, 0) << lift.err;
  EXPECT_GT(std::stoull(mem("memory.limit_in_bytes")), 1ull << 40);
  if (swap) {
    EXPECT_GT(std::stoull(mem("memory.memsw.limit_in_bytes")), 1ull << 40);
  }
}

// A pod cgroup with a CPU quota: a container quota above it is refused, and a shorter period
// with a quota under it is accepted although the period alone would be refused first (the
// runtime writes the quota, then the period again, like runc). runc's update.bats "update cpu
// period in a pod cgroup with pod limit set".
TEST_F(Cgroups, UpdateShorterPeriodUnderPodQuota) {
  if (!path_exists("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")) GTEST_SKIP() << "needs the v1 cpu controller";
  auto pod = unique_name("pod");
  // Removes the pod cgroup from every v1 hierarchy the runtime created it in.
  struct PodCleanup {
    std::string name;
    ~PodCleanup() {
      for (auto& h : split(read_file("/proc/self/mountinfo").value_or(""), '\n')) {
        auto f = split(h, ' ');
        if (f.size() > 4 && f[4].rfind("/sys/fs/cgroup/", 0) == 0) ::rmdir((f[4] + "/" + name).c_str());
      }
    }
  } cleanup{pod};
  ASSERT_EQ(::mkdir(("/sys/fs/cgroup/cpu/" + pod).c_str(), 0755), 0);
  ASSERT_TRUE(write_file("/sys/fs/cgroup/cpu/" + pod + "/cpu.cfs_quota_us", "50000").has_value());
  auto c = config().probe({"sleep", "inf"});
  auto id = new_id();
  c.cgroups_path("/" + pod + "/" + id);
  write_config(c);
  ASSERT_EQ(rtd({"run", "-d", "--bundle", bundle_, id}).status, 0);
  std::string dir = "/sys/fs/cgroup/cpu/" + pod + "/" + id;
  auto too_much = rt({"update", "--cpu-quota", "60000", id});
  EXPECT_EQ(too_much.status, 1) << too_much.err;
  auto u = rt({"update", "--cpu-period", "10000", "--cpu-quota", "3000", id});
  ASSERT_EQ(u.status, 0) << u.err;
  EXPECT_EQ(std::string(trim(read_file(dir + "/cpu.cfs_period_us").value_or(""))), "10000");
  EXPECT_EQ(std::string(trim(read_file(dir + "/cpu.cfs_quota_us").value_or(""))), "3000");
  EXPECT_EQ(rt({"delete", "--force", id}).status, 0);
}

}  // namespace
}  // namespace berth::test
