// SPDX-License-Identifier: Apache-2.0
// create -> start -> state -> kill -> delete, run/-d, list, pid files, exit codes, hooks.
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <thread>

#include "common/strings.hpp"
#include "config_builder.hpp"

namespace berth::test {
namespace {

using Lifecycle = RuntimeTest;

bool wait_status(RuntimeTest* t, const std::string& id, const std::string& want) {
  for (int i = 0; i < 200; ++i) {
    auto r = t->rt({"state", id});
    if (r.status == 0 && json::parse(r.out).value("status", "") == want) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

TEST_F(Lifecycle, CreateStartStateKillDelete) {
  write_config(config().probe({"sleep", "inf"}));
  auto id = new_id();
  std::string pidfile = scratch_->sub("pid");
  auto c = rtd({"create", "--bundle", bundle_, "--pid-file", pidfile, id});
  ASSERT_EQ(c.status, 0) << c.err;
  auto s = state(id);
  EXPECT_EQ(s["status"], "created");
  EXPECT_EQ(s["id"], id);
  EXPECT_EQ(s["ociVersion"], "1.0.2-dev");
  int pid = s["pid"].get<int>();
  EXPECT_GT(pid, 0);
  auto pf = read_file(pidfile);
  ASSERT_TRUE(pf.has_value());
  EXPECT_EQ(*pf, std::to_string(pid));
  // The init is blocked before exec: still our binary, not the probe.
  auto comm = read_file("/proc/" + std::to_string(pid) + "/comm");
  ASSERT_TRUE(comm.has_value());
  EXPECT_EQ(std::string(trim(*comm)), "berth-runtime");

  auto st = rt({"start", id});
  ASSERT_EQ(st.status, 0) << st.err;
  EXPECT_TRUE(wait_status(this, id, "running"));
  // "running" as soon as the fifo is opened; the init's execve follows a moment later.
  for (int i = 0; i < 500; ++i) {
    comm = read_file("/proc/" + std::to_string(pid) + "/comm");
    if (std::string(trim(comm.value_or(""))) == "probe") break;
    ::usleep(10000);
  }
  EXPECT_EQ(std::string(trim(comm.value_or(""))), "probe");
  auto again = rt({"start", id});
  EXPECT_NE(again.status, 0);
  EXPECT_NE(again.err.find("cannot start an already running container"), std::string::npos) << again.err;

  auto del = rt({"delete", id});
  EXPECT_NE(del.status, 0);
  EXPECT_NE(del.err.find("is not stopped: running"), std::string::npos) << del.err;

  auto k = rt({"kill", id, "KILL"});
  ASSERT_EQ(k.status, 0) << k.err;
  EXPECT_TRUE(wait_status(this, id, "stopped"));
  EXPECT_EQ(state(id)["pid"], 0);
  auto k2 = rt({"kill", id, "KILL"});
  EXPECT_NE(k2.status, 0);
  EXPECT_NE(k2.err.find("container not running"), std::string::npos) << k2.err;
  // runc: `kill -a ID 0` probes a stopped container without error; a failed exec exits 255.
  EXPECT_EQ(rt({"kill", "--all", id, "0"}).status, 0);
  EXPECT_EQ(rt({"exec", id + "-missing", "true"}).status, 255);
  ASSERT_EQ(rt({"delete", id}).status, 0);
  auto gone = rt({"state", id});
  EXPECT_NE(gone.status, 0);
  EXPECT_NE(gone.err.find("does not exist"), std::string::npos) << gone.err;
  EXPECT_FALSE(path_exists("/sys/fs/cgroup/memory/" + id));
  EXPECT_FALSE(path_exists("/sys/fs/cgroup/pids/" + id));
}

TEST_F(Lifecycle, RunPropagatesExitCodeAndOutput) {
  auto r = run_config(config().probe({"exit", "7"}));
  EXPECT_EQ(r.status, 7) << r.err;
  auto e = run_config(config().probe({"echo", "hello", "world"}));
  EXPECT_EQ(e.status, 0) << e.err;
  EXPECT_EQ(e.out, "hello world\n");
  // The container is deleted after a foreground run.
  EXPECT_EQ(rt({"list", "-q"}).out, "");
}

TEST_F(Lifecycle, MinimalConfigWithoutProcMount) {
  auto c = config().probe({"echo", "minimal"});
  c.j["mounts"] = json::array();
  c.j["linux"]["namespaces"] = {{{"type", "mount"}}};
  c.j.erase("hostname");
  c.j["linux"].erase("resources");
  c.j["linux"]["maskedPaths"] = json::array();
  c.j["linux"]["readonlyPaths"] = json::array();
  auto r = run_config(c);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "minimal\n");
}

// No mount namespace of its own (none, or a joined one, as runtime-tools' linux_ns_itype and
// linux_ns_path do): the spec's /proc is not mounted, so the init must reach exec.fifo through
// the host's /proc while it waits for `start`.
TEST_F(Lifecycle, CreateWithoutOwnMountNamespaceWaitsForStart) {
  auto c = config().probe({"sleep", "inf"});
  c.j["linux"]["namespaces"] = {{{"type", "pid"}}};
  c.j.erase("hostname");
  write_config(c);
  auto id = new_id();
  auto cr = rtd({"create", "--bundle", bundle_, id});
  ASSERT_EQ(cr.status, 0) << cr.err;
  auto s = state(id);
  EXPECT_EQ(s["status"], "created") << s.dump();
  EXPECT_GT(s["pid"].get<int>(), 0);
  ASSERT_EQ(rt({"start", id}).status, 0);
  EXPECT_TRUE(wait_status(this, id, "running"));
  // Same mount namespace as ours.
  char a[64] = {}, b[64] = {};
  ASSERT_GT(::readlink("/proc/self/ns/mnt", a, sizeof a - 1), 0);
  ASSERT_GT(::readlink(("/proc/" + std::to_string(s["pid"].get<int>()) + "/ns/mnt").c_str(), b, sizeof b - 1), 0);
  EXPECT_STREQ(a, b);
  ASSERT_EQ(rt({"delete", "--force", id}).status, 0);
}

TEST_F(Lifecycle, StdinIsPassedThrough) {
  write_config(config().probe({"stdin"}));
  auto r = rt({"run", "--bundle", bundle_, new_id()}, "line one\nline two\n");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "line one\nline two\nEOF\n");
}

TEST_F(Lifecycle, DetachedRunListAndSignals) {
  write_config(config().probe({"sleep", "inf"}));
  auto id = new_id();
  auto r = rtd({"run", "-d", "--bundle", bundle_, id});
  ASSERT_EQ(r.status, 0) << r.err;
  auto l = rt({"list", "--format", "json"});
  ASSERT_EQ(l.status, 0);
  auto arr = json::parse(l.out);
  ASSERT_EQ(arr.size(), 1u);
  EXPECT_EQ(arr[0]["id"], id);
  EXPECT_EQ(arr[0]["status"], "running");
  EXPECT_EQ(arr[0]["owner"], "root");
  EXPECT_EQ(rt({"list", "-q"}).out, id + "\n");
  auto table = rt({"list"});
  EXPECT_EQ(table.out.rfind("ID ", 0), 0u) << table.out;
  EXPECT_NE(table.out.find(id), std::string::npos);
  EXPECT_NE(rt({"kill", id, "NOSUCHSIG"}).status, 0);
  ASSERT_EQ(rt({"kill", "--all", id, "9"}).status, 0);
  EXPECT_TRUE(wait_status(this, id, "stopped"));
  EXPECT_EQ(rt({"delete", id}).status, 0);
}

TEST_F(Lifecycle, ForceDeleteKillsRunningContainer) {
  write_config(config().probe({"sleep", "inf"}));
  auto id = new_id();
  ASSERT_EQ(rtd({"run", "-d", "--bundle", bundle_, id}).status, 0);
  int pid = state(id)["pid"].get<int>();
  auto d = rt({"delete", "--force", id});
  EXPECT_EQ(d.status, 0) << d.err;
  // Gone, or a zombie waiting for its reaper.
  auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (stat) {
    EXPECT_NE(stat->find(") Z "), std::string::npos) << *stat;
  }
  EXPECT_NE(rt({"state", id}).status, 0);
  EXPECT_EQ(rt({"delete", "--force", id}).status, 0);  // missing + force is fine
}

TEST_F(Lifecycle, DuplicateIdAndBadConfigFail) {
  write_config(config().probe({"sleep", "inf"}));
  auto id = new_id();
  ASSERT_EQ(rtd({"create", "--bundle", bundle_, id}).status, 0);
  auto dup = rtd({"create", "--bundle", bundle_, id});
  EXPECT_NE(dup.status, 0);
  EXPECT_NE(dup.err.find("container with id exists"), std::string::npos) << dup.err;
  auto bad = rtd({"create", "--bundle", scratch_->path(), new_id()});
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.err.find("config.json not found"), std::string::npos) << bad.err;
  auto c = config();
  c.args({"/no/such/binary"});
  write_config(c);
  auto nf = rtd({"create", "--bundle", bundle_, new_id()});
  EXPECT_NE(nf.status, 0);
  EXPECT_NE(nf.err.find("no such file or directory"), std::string::npos) << nf.err;
  EXPECT_EQ(rt({"list", "-q"}).out, id + "\n");  // failed creates leave nothing behind
}

TEST_F(Lifecycle, HooksGetStateOnStdin) {
  std::string out = scratch_->sub("hooks.log");
  auto c = config().probe({"exit", "0"});
  auto hook = [&](const std::string& name) {
    return json{{"path", "/bin/sh"}, {"args", {"sh", "-c", "echo " + name + " $(cat) >> " + out}}};
  };
  c.j["hooks"] = {{"prestart", {hook("prestart")}},
                  {"createRuntime", {hook("createRuntime")}},
                  {"createContainer", {hook("createContainer")}},
                  {"poststart", {hook("poststart")}},
                  {"poststop", {hook("poststop")}}};
  auto r = run_config(c);
  ASSERT_EQ(r.status, 0) << r.err;
  auto log = read_file(out);
  ASSERT_TRUE(log.has_value());
  auto lines = split(*log, '\n');
  ASSERT_GE(lines.size(), 5u) << *log;
  EXPECT_EQ(lines[0].rfind("prestart {", 0), 0u) << *log;
  EXPECT_EQ(lines[1].rfind("createRuntime {", 0), 0u);
  EXPECT_EQ(lines[2].rfind("createContainer {", 0), 0u);
  EXPECT_EQ(lines[3].rfind("poststart {", 0), 0u);
  EXPECT_EQ(lines[4].rfind("poststop {", 0), 0u);
  auto st = json::parse(lines[0].substr(9));
  EXPECT_EQ(st["status"], "creating");
  EXPECT_GT(st["pid"].get<int>(), 0);
  EXPECT_EQ(json::parse(lines[3].substr(10))["status"], "running");
}

TEST_F(Lifecycle, FailingOrSlowHookFailsCreate) {
  auto c = config().probe({"exit", "0"});
  c.j["hooks"] = {{"prestart", {{{"path", "/bin/sh"}, {"args", {"sh", "-c", "echo boom >&2; exit 3"}}}}}};
  auto r = run_config(c);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("prestart"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("boom"), std::string::npos) << r.err;
  c.j["hooks"] = {{"createRuntime", {{{"path", "/bin/sleep"}, {"args", {"sleep", "10"}}, {"timeout", 1}}}}};
  auto t0 = std::chrono::steady_clock::now();
  auto s = run_config(c);
  EXPECT_NE(s.status, 0);
  EXPECT_NE(s.err.find("timeout"), std::string::npos) << s.err;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_EQ(rt({"list", "-q"}).out, "");
}

TEST_F(Lifecycle, SpecAndFeatures) {
  auto r = run({bin("berth-runtime"), "spec", "--bundle", bundle_});
  ASSERT_EQ(r.status, 0) << r.err;
  auto j = json::parse(read_file(bundle_ + "/config.json").value_or("{}"));
  EXPECT_EQ(j["process"]["args"][0], "sh");
  EXPECT_EQ(j["root"]["path"], "rootfs");
  EXPECT_NE(run({bin("berth-runtime"), "spec", "--bundle", bundle_}).status, 0);  // exists
  auto f = run({bin("berth-runtime"), "features"});
  ASSERT_EQ(f.status, 0);
  auto fj = json::parse(f.out);
  EXPECT_EQ(fj["linux"]["seccomp"]["enabled"], true);
  EXPECT_EQ(fj["hooks"].size(), 6u);
  auto cp = run({bin("berth-runtime"), "checkpoint", "x"});
  EXPECT_NE(cp.status, 0);
  EXPECT_NE(cp.err.find("criu"), std::string::npos);
  for (const char* parent : {"/abs/parent", "./missing-parent"}) {  // runc's usage checks come first
    auto pp = run({bin("berth-runtime"), "checkpoint", "--parent-path", parent, "--image-path", bundle_, "x"});
    EXPECT_NE(pp.status, 0);
    EXPECT_NE(pp.err.find("--parent-path"), std::string::npos) << pp.err;
  }
}

// Help and version name the binary by its invocation name, so tools that drive it as `runc`
// (runc's own suite checks `runc -v` / `runc exec -h`) see runc's texts.
TEST_F(Lifecycle, HelpAndVersionUseTheInvocationName) {
  std::string link = scratch_->sub("runc");
  ASSERT_EQ(::symlink(bin("berth-runtime").c_str(), link.c_str()), 0);
  auto v = run({link, "-v"});
  ASSERT_EQ(v.status, 0) << v.err;
  EXPECT_EQ(v.out.rfind("runc version ", 0), 0u) << v.out;
  EXPECT_NE(v.out.find("\ncommit: "), std::string::npos) << v.out;
  auto h = run({link, "exec", "-h"});
  ASSERT_EQ(h.status, 0) << h.err;
  EXPECT_NE(h.out.find("\n   runc exec - "), std::string::npos) << h.out;
  auto own = run({bin("berth-runtime"), "--version"});
  EXPECT_EQ(own.out.rfind("berth-runtime version ", 0), 0u) << own.out;
  auto bad = run({link, "foo", "-h"});
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.err.find("No help topic for 'foo'"), std::string::npos) << bad.err;
}

// createContainer hooks run with the rootfs as cwd; no hook inherits a runtime fd.
TEST_F(Lifecycle, HookCwdAndNoLeakedFds) {
  std::string out = scratch_->sub("hook.log");
  auto c = config().probe({"exit", "0"});
  // startContainer runs inside the container: 0-2 plus ls' own directory fd, nothing else.
  c.j["hooks"] = {{"createContainer", {{{"path", "/bin/sh"}, {"args", {"sh", "-c", "test -x ./bin/probe && echo cwd-ok >> " + out}}}}},
                  {"startContainer", {{{"path", "/bin/sh"}, {"args", {"sh", "-c", "[ $(ls /proc/self/fd | wc -l) -eq 4 ]"}}}}}};
  auto r = run_config(c);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(read_file(out).value_or(""), "cwd-ok\n");
}

}  // namespace
}  // namespace berth::test
