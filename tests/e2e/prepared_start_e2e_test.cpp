// SPDX-License-Identifier: Apache-2.0
// Containers made ahead of their start (daemon.hpp, PreparedTask): right after `docker create`
// the runtime creates the container and its init waits; `docker start` only lets it go. What
// the start must see is seen (a copy into it, an update), the prepared container is dropped when
// not started in time, when removed, and when berthd stops or dies, and nothing of it is left.
#include <unistd.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "e2e/docker_e2e.hpp"

namespace berth::test {
namespace {

class PreparedStart : public DockerE2E {
 protected:
  void SetUp() override {
    start_berthd("e2e-prep");
    if (IsSkipped() || HasFatalFailure()) return;
    rt_root_ = d_->exec_root() + "/runtime/" + basename(test_runtime());
  }

  std::string create(std::vector<std::string> args) {
    args.insert(args.begin(), {"create", "--network", "none"});
    auto r = docker(args);
    EXPECT_EQ(r.status, 0) << r.err;
    return std::string(trim(r.out));
  }
  // The runtime's state of the container (its init waits for the start) while prepared.
  std::string runtime_state(const std::string& id) const { return rt_root_ + "/" + id + "/state.json"; }
  bool wait_prepared(const std::string& id) const {
    for (int i = 0; i < 200; ++i) {
      if (path_exists(runtime_state(id))) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  bool wait_dropped(const std::string& id, int ms) const {
    for (int i = 0; i < ms / 10; ++i) {
      if (!path_exists(rt_root_ + "/" + id)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  bool mounted(const std::string& id) const {
    return read_file("/proc/self/mountinfo").value_or("").find(id) != std::string::npos;
  }
  // Its mounts are gone within `ms`: a netns is let go a little after its container's exit or
  // removal (NetnsPool::drop_later), off the way of the API's answers.
  bool unmounted_within(const std::string& id, int ms) const {
    for (int i = 0; i < ms / 10 && mounted(id); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return !mounted(id);
  }
  bool shim_running(const std::string& id) const {
    return run({"pgrep", "-f", "berth-shim.*" + id}, {}, 10).status == 0;
  }
  int prepared_init_pid(const std::string& id) const {
    auto s = read_file(runtime_state(id));
    if (!s) return 0;
    return nlohmann::json::parse(*s).value("pid", 0);
  }

  std::string rt_root_;
};

TEST_F(PreparedStart, StartRunsTheContainerMadeAtCreate) {
  std::string id = create({"busybox", "sh", "-c", "echo started; exit 3"});
  ASSERT_TRUE(wait_prepared(id)) << d_->log();
  int pid = prepared_init_pid(id);
  EXPECT_GT(pid, 0);
  EXPECT_EQ(trim(docker({"inspect", "-f", "{{.State.Status}} {{.State.Pid}}", id}).out), "created 0");
  auto s = docker({"start", "-a", id});
  EXPECT_EQ(s.status, 3) << s.err;
  EXPECT_EQ(s.out, "started\n");
  EXPECT_EQ(trim(docker({"inspect", "-f", "{{.State.ExitCode}}", id}).out), "3");
  EXPECT_EQ(docker({"rm", id}).status, 0);
  EXPECT_TRUE(wait_dropped(id, 5000));
  EXPECT_TRUE(unmounted_within(id, 2000));
  // the process that runs is the one made at create
  std::string l = create({"busybox", "sleep", "60"});
  ASSERT_TRUE(wait_prepared(l));
  int lpid = prepared_init_pid(l);
  ASSERT_EQ(docker({"start", l}).status, 0);
  EXPECT_EQ(trim(docker({"inspect", "-f", "{{.State.Status}} {{.State.Pid}}", l}).out), "running " + std::to_string(lpid));
  EXPECT_EQ(docker({"rm", "-f", l}).status, 0);
}

TEST_F(PreparedStart, StartSeesACopyAndAnUpdateMadeBeforeIt) {
  std::string id = create({"busybox", "sh", "-c",
                           "cat /berth-test-file; cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || "
                           "cat /sys/fs/cgroup/memory.max"});
  ASSERT_TRUE(wait_prepared(id));
  Scratch tmp("e2e-prep-cp");
  ASSERT_TRUE(write_file(tmp.sub("f"), "copied in\n"));
  auto cp = docker({"cp", tmp.sub("f"), id + ":/berth-test-file"});
  ASSERT_EQ(cp.status, 0) << cp.err;
  auto up = docker({"update", "--memory", "64m", "--memory-swap", "128m", id});
  ASSERT_EQ(up.status, 0) << up.err;
  auto s = docker({"start", "-a", id});
  ASSERT_EQ(s.status, 0) << s.err;
  EXPECT_EQ(s.out, "copied in\n67108864\n");
  EXPECT_EQ(docker({"rm", id}).status, 0);
}

TEST_F(PreparedStart, RemovedBeforeItsStartLeavesNothing) {
  std::string id = create({"busybox", "true"});
  ASSERT_TRUE(wait_prepared(id));
  int pid = prepared_init_pid(id);
  ASSERT_GT(pid, 0);
  EXPECT_EQ(docker({"rm", id}).status, 0);
  EXPECT_TRUE(wait_dropped(id, 5000));
  EXPECT_FALSE(shim_running(id));
  EXPECT_TRUE(unmounted_within(id, 2000));
  // the init is gone (a zombie of a shim that was not reaped here counts as gone)
  auto st = read_file("/proc/" + std::to_string(pid) + "/stat");
  EXPECT_TRUE(!st || st->find(") Z ") != std::string::npos) << *st;
}

TEST_F(PreparedStart, NotStartedInTimeIsDroppedAndStartsAnew) {
  std::string id = create({"busybox", "echo", "late start"});
  ASSERT_TRUE(wait_prepared(id));
  EXPECT_TRUE(wait_dropped(id, 15000));  // its shim's TTL is 10 s
  EXPECT_FALSE(shim_running(id));
  auto s = docker({"start", "-a", id});
  EXPECT_EQ(s.status, 0) << s.err;
  EXPECT_EQ(s.out, "late start\n");
  EXPECT_EQ(docker({"rm", id}).status, 0);
  EXPECT_TRUE(unmounted_within(id, 2000));
}

TEST_F(PreparedStart, DaemonKilledOrStoppedWithAPreparedContainer) {
  std::string id = create({"busybox", "echo", "after restart"});
  ASSERT_TRUE(wait_prepared(id));
  d_->kill9();
  // the shim sees berthd go and drops the container
  EXPECT_TRUE(wait_dropped(id, 5000));
  EXPECT_FALSE(shim_running(id));
  ASSERT_TRUE(d_->start()) << d_->log();
  EXPECT_TRUE(unmounted_within(id, 2000));  // the restarted berthd unmounted its rootfs and netns
  auto s = docker({"start", "-a", id});
  EXPECT_EQ(s.status, 0) << s.err;
  EXPECT_EQ(s.out, "after restart\n");

  std::string id2 = create({"busybox", "true"});
  ASSERT_TRUE(wait_prepared(id2));
  EXPECT_EQ(d_->term(), 0);
  EXPECT_TRUE(wait_dropped(id2, 5000));
  EXPECT_FALSE(shim_running(id2));
  EXPECT_TRUE(unmounted_within(id2, 2000));
  ASSERT_TRUE(d_->start()) << d_->log();
  EXPECT_EQ(docker({"rm", id, id2}).status, 0);
}

TEST_F(PreparedStart, TtyAndStdinOfAPreparedContainer) {
  std::string id = create({"-i", "busybox", "sh", "-c", "read x; echo got-$x"});
  ASSERT_TRUE(wait_prepared(id));
  auto s = docker({"start", "-ai", id}, "hello\n");
  EXPECT_EQ(s.status, 0) << s.err;
  EXPECT_EQ(s.out, "got-hello\n");
  std::string t = create({"-t", "busybox", "sh", "-c", "tty"});
  ASSERT_TRUE(wait_prepared(t));
  auto ts = docker({"start", "-a", t});
  EXPECT_EQ(ts.status, 0) << ts.err;
  EXPECT_EQ(trim(ts.out), "/dev/pts/0");
  EXPECT_EQ(docker({"rm", id, t}).status, 0);
}

}  // namespace
}  // namespace berth::test
