// SPDX-License-Identifier: Apache-2.0
// seccomp (custom profile with errnoRet, moby's default profile) and escapes that must fail:
// symlinked mount destinations, leaked host fds (CVE-2024-21626), cwd through a leaked fd.
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstring>
#include <thread>

#include "common/strings.hpp"
#include "config_builder.hpp"

namespace berth::test {
namespace {

using Security = RuntimeTest;

// moby's profile (docker's format) -> OCI linux.seccomp, for a container without extra caps.
json moby_default_as_oci() {
  auto txt = read_file(std::string(BERTH_SOURCE_DIR) + "/../shared/specs/seccomp/default.json");
  if (!txt) txt = read_file("/work/shared/specs/seccomp/default.json");
  if (!txt) return nullptr;
  auto m = json::parse(*txt);
  json o = {{"defaultAction", m["defaultAction"]}, {"architectures", json::array()}, {"syscalls", json::array()}};
  if (m.contains("defaultErrnoRet")) o["defaultErrnoRet"] = m["defaultErrnoRet"];
  for (auto& a : m["archMap"])
    if (a["architecture"] == "SCMP_ARCH_X86_64") {
      o["architectures"].push_back(a["architecture"]);
      for (auto& s : a["subArchitectures"]) o["architectures"].push_back(s);
    }
  for (auto& s : m["syscalls"]) {
    auto inc = s.value("includes", json::object());
    if (inc.contains("caps")) continue;
    if (inc.contains("arches")) {
      bool ours = false;
      for (auto& a : inc["arches"]) ours = ours || a == "amd64" || a == "x86_64";
      if (!ours) continue;
    }
    json e = {{"names", s["names"]}, {"action", s["action"]}};
    if (s.contains("args") && !s["args"].is_null()) e["args"] = s["args"];
    if (s.contains("errnoRet")) e["errnoRet"] = s["errnoRet"];
    o["syscalls"].push_back(e);
  }
  return o;
}

TEST_F(Security, SeccompErrnoRetAndMode) {
  auto c = config().args({"/bin/sh", "-c", "mkdir /dev/shm/x; echo rc=$?; /bin/probe seccomp"});
  c.lnx()["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"},
                        {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
                        {"syscalls", {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 13}}}}};
  auto r = run_config(c);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("rc=1"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;  // errno 13
  EXPECT_NE(r.out.find("\n2\n"), std::string::npos) << r.out;  // Seccomp: 2 (filter)
}

TEST_F(Security, SeccompWithoutNnpAndKillAction) {
  auto c = config().args({"/bin/sh", "-c", "/bin/probe nnp; mkdir /dev/shm/y; echo after"});
  c.process()["noNewPrivileges"] = false;
  c.process()["capabilities"] = {{"bounding", {"CAP_KILL"}}, {"effective", {"CAP_KILL"}}, {"permitted", {"CAP_KILL"}}};
  c.lnx()["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"},
                        {"syscalls", {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_KILL_PROCESS"}}}}};
  auto r = run_config(c);
  EXPECT_NE(r.out.find("false"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("after"), std::string::npos) << r.out;  // the shell survives its killed child
}

TEST_F(Security, SeccompNotifyListenerGetsTheFd) {
  std::string sock_path = scratch_->sub("seccomp.sock");
  int ls = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(ls, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, sock_path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(ls, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(ls, 1), 0);
  std::string payload;
  int got = -1;
  std::thread agent([&] {
    pollfd p{ls, POLLIN, 0};
    if (::poll(&p, 1, 20000) <= 0) return;
    int conn = ::accept4(ls, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) return;
    char buf[8192];
    iovec iov{buf, sizeof buf};
    alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf;
    msg.msg_controllen = sizeof cbuf;
    ssize_t n = ::recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
    if (n > 0) payload.assign(buf, static_cast<std::size_t>(n));
    if (cmsghdr* c = CMSG_FIRSTHDR(&msg); c && c->cmsg_type == SCM_RIGHTS) std::memcpy(&got, CMSG_DATA(c), sizeof got);
    ::close(conn);
    // No agent behind it: closing the listener makes notified syscalls fail with ENOSYS.
    if (got >= 0) ::close(got);
  });
  auto c = config().args({"/bin/sh", "-c", "mkdir /dev/shm/z; echo rc=$?"});
  c.lnx()["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"},
                        {"listenerPath", sock_path},
                        {"listenerMetadata", "berth-meta"},
                        {"syscalls", {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_NOTIFY"}}}}};
  auto r = run_config(c);
  agent.join();
  ::close(ls);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_GE(got, 0);
  EXPECT_NE(payload.find("\"seccompFd\""), std::string::npos) << payload;
  EXPECT_NE(payload.find("berth-meta"), std::string::npos) << payload;
  EXPECT_NE(r.out.find("rc=1"), std::string::npos) << r.out << r.err;
}

TEST_F(Security, MobyDefaultProfileLoads) {
  auto prof = moby_default_as_oci();
  if (prof.is_null()) GTEST_SKIP() << "moby default.json not found";
  auto c = config().args({"/bin/sh", "-c", "/bin/probe seccomp; unshare -U true 2>/dev/null; echo unshare=$?"});
  c.lnx()["seccomp"] = prof;
  auto r = run_config(c);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("2\n", 0), 0u) << r.out;
  EXPECT_EQ(r.out.find("unshare=0"), std::string::npos) << r.out;
}

TEST_F(Security, SymlinkMountDestinationStaysInsideRootfs) {
  auto rootfs = copy_rootfs();
  std::string host_target = scratch_->sub("host-target");
  ASSERT_TRUE(mkdir_all(host_target).has_value());
  ASSERT_EQ(::symlink(host_target.c_str(), (rootfs + "/evil-abs").c_str()), 0);
  ASSERT_EQ(::symlink("../../../../../../../../../..", (rootfs + "/evil-rel").c_str()), 0);
  auto c = ConfigBuilder(rootfs).args({"/bin/sh", "-c", "echo pwned > /evil-abs/owned; echo pwned > /evil-rel/owned-rel; echo done"});
  c.j["root"]["readonly"] = false;
  c.j["mounts"].push_back({{"destination", "/evil-abs"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
  c.j["mounts"].push_back({{"destination", "/evil-rel/tmp"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
  auto r = run_config(c);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_FALSE(path_exists(host_target + "/owned"));
  EXPECT_FALSE(path_exists("/owned-rel"));
  EXPECT_FALSE(path_exists("/tmp/owned-rel"));
  auto mi = read_file("/proc/self/mountinfo").value_or("");
  EXPECT_EQ(mi.find(host_target), std::string::npos) << "host dir got a mount";
  // The symlink was resolved inside the rootfs: the tmpfs went to <rootfs><host_target>.
  EXPECT_TRUE(path_exists(rootfs + host_target));
}

TEST_F(Security, HostFdsDoNotLeakUnlessPreserved) {
  write_config(config().probe({"fds"}));
  auto id = new_id();
  std::string cmd = "exec 7</tmp 8>/dev/null; exec " + bin("berth-runtime") + " --root " + root_ + " run --bundle " + bundle_ + " " + id;
  auto r = run({"/bin/sh", "-c", cmd});
  ASSERT_EQ(r.status, 0) << r.err;
  auto fds = json::parse(r.out);
  for (auto& f : fds) {
    auto s = f.get<std::string>();
    int n = std::atoi(s.c_str());
    EXPECT_TRUE(n <= 2 || s.find("/proc") != std::string::npos || s.find("?") != std::string::npos) << s;
    EXPECT_EQ(s.find("/tmp"), std::string::npos) << s;
  }
  auto id2 = new_id();
  std::string cmd2 = "exec 3</tmp 4</tmp 5</tmp 6</tmp 7</tmp; exec " + bin("berth-runtime") + " --root " + root_ +
                     " run --preserve-fds 5 --bundle " + bundle_ + " " + id2;
  auto r2 = run({"/bin/sh", "-c", cmd2});
  ASSERT_EQ(r2.status, 0) << r2.err;
  EXPECT_NE(r2.out.find("\"7=/tmp\""), std::string::npos) << r2.out;
}

TEST_F(Security, CwdThroughLeakedFdIsRefused) {
  auto c = config();
  c.process()["cwd"] = "/proc/self/fd/7";
  write_config(c);
  auto id = new_id();
  std::string cmd = "exec 7</ ; exec " + bin("berth-runtime") + " --root " + root_ + " run --bundle " + bundle_ + " " + id;
  auto r = run({"/bin/sh", "-c", cmd});
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_NE(r.err.find("cwd"), std::string::npos) << r.err;
  auto c2 = config().probe({"cwd"});
  c2.process()["cwd"] = "/../../../../tmp";
  auto r2 = run_config(c2);
  EXPECT_EQ(r2.out, "\"/tmp\"\n") << r2.err;
}

TEST_F(Security, InitIsNotDumpableBeforeStart) {
  write_config(config().probe({"sleep", "inf"}));
  auto id = new_id();
  ASSERT_EQ(rtd({"create", "--bundle", bundle_, id}).status, 0);
  int pid = state(id)["pid"].get<int>();
  // Non-dumpable (CVE-2019-5736): even root needs CAP_SYS_PTRACE to reach /proc/<pid>/exe of
  // the runtime's init, so a container process cannot open the host binary through it.
  auto r = run({"setpriv", "--bounding-set=-sys_ptrace", "readlink", "/proc/" + std::to_string(pid) + "/exe"});
  EXPECT_NE(r.status, 0) << r.out;
  auto ok = run({"readlink", "/proc/" + std::to_string(pid) + "/exe"});
  EXPECT_EQ(ok.status, 0) << ok.err;
}

}  // namespace
}  // namespace berth::test
