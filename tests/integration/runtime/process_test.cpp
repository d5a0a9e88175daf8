// SPDX-License-Identifier: Apache-2.0
// What the container's process sees: ids, caps, nnp, rlimits, uts, namespaces, cwd, env, umask,
// mounts (ro root, masked/readonly paths, binds), devices, sysctl, oom score, user namespaces.
#include <sys/stat.h>

#include "common/strings.hpp"
#include "config_builder.hpp"

namespace berth::test {
namespace {

using Process = RuntimeTest;

unsigned long host_ns(const char* t) {
  struct stat st {};
  ::stat((std::string("/proc/self/ns/") + t).c_str(), &st);
  return st.st_ino;
}

bool has_mount(const json& probe, const std::string& dest, const std::string& opt_prefix) {
  for (auto& m : probe["mounts"]) {
    auto f = split(m.get<std::string>(), ' ');
    if (f.size() > 5 && f[4] == dest && f[5].rfind(opt_prefix, 0) == 0) return true;
  }
  return false;
}

TEST_F(Process, IdentityCapsRlimitsUtsEnvCwdUmask) {
  auto c = config();
  c.j["hostname"] = "berth-host";
  c.j["domainname"] = "berth.example";
  auto& p = c.process();
  p["user"] = {{"uid", 1000}, {"gid", 1001}, {"umask", 63}, {"additionalGids", {10, 20}}};
  p["env"].push_back("BERTH_TEST=yes");
  p["cwd"] = "/tmp";
  p["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 123}, {"hard", 456}},
                  {{"type", "RLIMIT_CORE"}, {"soft", 0}, {"hard", 0}}};
  p["capabilities"] = {{"bounding", {"CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"}},
                       {"effective", {"CAP_KILL"}},
                       {"permitted", {"CAP_KILL", "CAP_NET_RAW"}},
                       {"inheritable", {"CAP_NET_RAW"}},
                       {"ambient", {"CAP_NET_RAW"}}};
  auto j = run_probe(c);
  EXPECT_EQ(j["ids"]["uid"], 1000);
  EXPECT_EQ(j["ids"]["euid"], 1000);
  EXPECT_EQ(j["ids"]["gid"], 1001);
  EXPECT_EQ(j["ids"]["groups"], json({10, 20}));
  EXPECT_EQ(j["caps"]["bounding"], "0000000000002021");  // CHOWN(0) KILL(5) NET_RAW(13)
  EXPECT_EQ(j["caps"]["inheritable"], "0000000000002000");
  // A non-root user keeps only the ambient set after execve.
  EXPECT_EQ(j["caps"]["ambient"], "0000000000002000");
  EXPECT_EQ(j["caps"]["effective"], "0000000000002000");
  EXPECT_EQ(j["nnp"], true);
  EXPECT_EQ(j["rlimits"]["RLIMIT_NOFILE"]["soft"], 123);
  EXPECT_EQ(j["rlimits"]["RLIMIT_NOFILE"]["hard"], 456);
  EXPECT_EQ(j["rlimits"]["RLIMIT_CORE"]["hard"], 0);
  EXPECT_EQ(j["uts"]["hostname"], "berth-host");
  EXPECT_EQ(j["uts"]["domainname"], "berth.example");
  EXPECT_EQ(j["cwd"], "/tmp");
  EXPECT_EQ(j["umask"], "0077");
  bool env_ok = false;
  for (auto& e : j["env"]) env_ok = env_ok || e == "BERTH_TEST=yes";
  EXPECT_TRUE(env_ok) << j["env"];
}

TEST_F(Process, RootWithoutNnpKeepsConfiguredCaps) {
  auto c = config();
  c.process()["noNewPrivileges"] = false;
  c.process()["capabilities"] = {{"bounding", {"CAP_SYS_ADMIN", "CAP_BOGUS_CAP"}}, {"effective", {"CAP_SYS_ADMIN"}},
                                 {"permitted", {"CAP_SYS_ADMIN"}}};
  auto j = run_probe(c);
  EXPECT_EQ(j["nnp"], false);
  EXPECT_EQ(j["caps"]["effective"], "0000000000200000");
  EXPECT_EQ(j["caps"]["bounding"], "0000000000200000");
  EXPECT_EQ(j["ids"]["uid"], 0);
  EXPECT_EQ(j["umask"], "0022");
}

TEST_F(Process, NamespacesDifferFromHost) {
  auto c = config();
  c.add_ns("time");
  c.lnx()["timeOffsets"] = {{"monotonic", {{"secs", 86400}, {"nanosecs", 0}}}};
  auto j = run_probe(c);
  for (const char* t : {"pid", "net", "ipc", "uts", "mnt", "cgroup", "time"})
    EXPECT_NE(j["ns"][t].get<unsigned long>(), host_ns(t)) << t;
  EXPECT_EQ(j["ns"]["user"].get<unsigned long>(), host_ns("user"));
  // cgroup namespace: the container sees its own cgroup as "/".
  for (auto& l : j["cgroup"]) EXPECT_EQ(l.get<std::string>().substr(l.get<std::string>().rfind(':')), ":/") << l;
}

TEST_F(Process, JoinsNamespaceByPath) {
  auto c = config().remove_ns("network").add_ns("network", "/proc/" + std::to_string(::getpid()) + "/ns/net");
  c.remove_ns("uts").add_ns("uts", "/proc/self/ns/uts");
  c.j.erase("hostname");
  auto j = run_probe(c);
  EXPECT_EQ(j["ns"]["net"].get<unsigned long>(), host_ns("net"));
  EXPECT_NE(j["ns"]["pid"].get<unsigned long>(), host_ns("pid"));
}

TEST_F(Process, MountsRootReadonlyMaskedAndReadonlyPaths) {
  std::string src = scratch_->sub("data");
  ASSERT_TRUE(mkdir_all(src).has_value());
  ASSERT_TRUE(write_file(src + "/hello", "from host").has_value());
  auto c = config().probe({"write", "/data/new", "x"});
  c.j["mounts"].push_back({{"destination", "/data"}, {"type", "bind"}, {"source", src}, {"options", {"rbind", "ro", "nosuid"}}});
  c.j["mounts"].push_back({{"destination", "/scratch"}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"size=1m", "mode=700"}}});
  auto w = run_config(c);
  EXPECT_EQ(w.status, 1);
  EXPECT_NE(w.out.find("Read-only file system"), std::string::npos) << w.out;
  c.probe({"cat", "/data/hello"});
  EXPECT_EQ(run_config(c).out, "from host");
  c.probe({"write", "/etc/x", "x"});
  EXPECT_NE(run_config(c).out.find("Read-only file system"), std::string::npos);
  c.probe({"write", "/scratch/x", "x"});
  EXPECT_EQ(run_config(c).out, "ok\n");
  c.probe({"write", "/proc/sys/kernel/hostname", "x"});
  EXPECT_NE(run_config(c).out.find("Read-only file system"), std::string::npos);
  c.probe({"cat", "/proc/keys"});
  auto masked = run_config(c);
  EXPECT_EQ(masked.status, 0);
  EXPECT_EQ(masked.out, "");
  c.probe({});
  auto j = run_probe(c);
  EXPECT_TRUE(has_mount(j, "/", "ro"));
  EXPECT_TRUE(has_mount(j, "/data", "ro,nosuid"));
  EXPECT_TRUE(has_mount(j, "/proc/sys", "ro"));
  EXPECT_TRUE(has_mount(j, "/sys", "ro"));
  EXPECT_TRUE(has_mount(j, "/scratch", "rw"));
  EXPECT_FALSE(path_exists(src + "/new"));
}

TEST_F(Process, DevicesAndDevSymlinks) {
  auto c = config().args({"/bin/sh", "-c", "ls -l /dev/null /dev/zero /dev/tty /dev/fuse-berth && readlink /dev/fd && readlink /dev/ptmx && echo x > /dev/null && head -c 4 /dev/zero | wc -c"});
  c.lnx()["devices"] = {{{"path", "/dev/fuse-berth"}, {"type", "c"}, {"major", 10}, {"minor", 229}, {"fileMode", 0600}, {"uid", 0}, {"gid", 0}}};
  auto r = run_config(c);
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("crw-rw-rw-"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("crw-------    1 root     root       10, 229 "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/proc/self/fd\npts/ptmx\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("4\n"), std::string::npos);
}

TEST_F(Process, SysctlAndOomScoreAdj) {
  auto c = config().probe({"cat", "/proc/sys/net/ipv4/ip_forward"});
  c.lnx()["sysctl"] = {{"net.ipv4.ip_forward", "1"}};
  c.process()["oomScoreAdj"] = 123;
  auto r = run_config(c);
  EXPECT_EQ(r.out, "1\n") << r.err;
  c.probe({"cat", "/proc/self/oom_score_adj"});
  EXPECT_EQ(run_config(c).out, "123\n");
}

TEST_F(Process, UserNamespaceMapsRoot) {
  auto c = config();
  c.add_ns("user");
  c.lnx()["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  c.lnx()["gidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  // cgroup v1 hierarchies cannot be mounted from a user namespace: drop that mount.
  json mounts = json::array();
  for (auto& m : c.j["mounts"])
    if (m["destination"] != "/sys/fs/cgroup") mounts.push_back(m);
  c.j["mounts"] = mounts;
  auto j = run_probe(c);
  EXPECT_EQ(j["ids"]["uid"], 0);
  EXPECT_NE(j["ns"]["user"].get<unsigned long>(), host_ns("user"));
  c.probe({"cat", "/proc/self/uid_map"});
  auto r = run_config(c);
  EXPECT_NE(r.out.find("100000"), std::string::npos) << r.out << r.err;
}

// A bind source the container's root cannot reach (under a 0700 directory of the host's root)
// is still mounted with a user namespace: the runtime clones it before the init enters the
// namespace (runc's userns.bats "2 inaccessible mounts" and "inaccessible mount + exec").
TEST_F(Process, UserNamespaceMountsInaccessibleBindSources) {
  auto c = config();
  c.add_ns("user");
  c.lnx()["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  c.lnx()["gidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  json mounts = json::array();
  for (auto& m : c.j["mounts"])
    if (m["destination"] != "/sys/fs/cgroup") mounts.push_back(m);
  // Mount points the user namespace's root may create (the shared image is not written to).
  mounts.push_back({{"destination", "/tmp"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
  for (int i = 1; i <= 2; ++i) {
    std::string top = scratch_->sub("inaccessible-" + std::to_string(i));
    ASSERT_EQ(::mkdir(top.c_str(), 0700), 0);
    ASSERT_EQ(::chmod(top.c_str(), 0700), 0);
    ASSERT_EQ(::mkdir((top + "/dir").c_str(), 0755), 0);
    ASSERT_TRUE(write_file(top + "/dir/foo.txt", "foo" + std::to_string(i), 0644).has_value());
    mounts.push_back({{"destination", "/tmp/m" + std::to_string(i)}, {"type", "bind"}, {"source", top + "/dir"},
                      {"options", i == 1 ? json{"bind"} : json{"rbind", "ro"}}});
  }
  c.j["mounts"] = mounts;
  c.probe({"cat", "/tmp/m2/foo.txt"});
  auto r = run_config(c);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "foo2");
  // The same container detached, then exec (which does no mounts) sees both.
  c.probe({"sleep", "inf"});
  write_config(c);
  auto id = new_id();
  ASSERT_EQ(rtd({"run", "-d", "--bundle", bundle_, id}).status, 0);
  auto e = rt({"exec", id, "/bin/cat", "/tmp/m1/foo.txt", "/tmp/m2/foo.txt"});
  EXPECT_EQ(e.status, 0) << e.err;
  EXPECT_EQ(e.out, "foo1foo2");
  // ro still applies to the moved mount.
  auto w = rt({"exec", id, "/bin/sh", "-c", "echo x > /tmp/m2/foo.txt"});
  EXPECT_NE(w.status, 0);
  EXPECT_EQ(read_file(scratch_->sub("inaccessible-2/dir/foo.txt")).value_or(""), "foo2");
}

TEST_F(Process, NoPivotAndRelativeRoot) {
  auto c = config();
  ASSERT_EQ(::symlink(rootfs_.c_str(), (bundle_ + "/rootfs").c_str()), 0);
  c.j["root"]["path"] = "rootfs";
  write_config(c);
  auto id = new_id();
  auto r = rt({"run", "--no-pivot", "--bundle", bundle_, id});
  ASSERT_EQ(r.status, 0) << r.err;
  auto j = json::parse(r.out);
  EXPECT_EQ(j["cwd"], "/");
}

// With --no-pivot the host's mounts stay under the chroot; a nested user+pid+mount namespace
// must still not be able to mount a fresh procfs (runc's "must not expose bare /proc").
TEST_F(Process, NoPivotCannotMountBareProc) {
  auto c = config().args({"unshare", "-mrpf", "sh", "-c", "mount -t proc none /proc && echo mounted"});
  for (auto set : {"bounding", "permitted", "effective"}) {
    c.process()["capabilities"][set].push_back("CAP_SETFCAP");
    c.process()["capabilities"][set].push_back("CAP_SYS_ADMIN");
  }
  c.process()["noNewPrivileges"] = false;
  write_config(c);
  auto r = rt({"run", "--no-pivot", "--bundle", bundle_, new_id()});
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_EQ(r.out.find("mounted"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("denied"), std::string::npos) << r.err;
}

// A read-only /dev still gets its devices, /dev/pts and /dev/shm; it is made read-only last.
TEST_F(Process, ReadonlyDevMount) {
  auto c = config().args({"/bin/sh", "-c", "grep '^tmpfs /dev ' /proc/mounts; ls /dev/pts/ptmx /dev/null; touch /dev/x"});
  for (auto& m : c.j["mounts"])
    if (m["destination"] == "/dev") m["options"].push_back("ro");
  auto r = run_config(c);
  EXPECT_NE(r.out.find("tmpfs /dev tmpfs ro,"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("/dev/null"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("Read-only file system"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace berth::test
