// SPDX-License-Identifier: Apache-2.0
// Test helpers for berth-runtime: a config.json builder starting from runc's default layout
// (busybox rootfs, probe as the process) and a fixture that owns a --root, a bundle and the
// containers it creates (force-deleted in TearDown, even when the test failed).
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/file.hpp"
#include "support/test_support.hpp"

namespace berth::test {

using json = nlohmann::json;

class ConfigBuilder {
 public:
  explicit ConfigBuilder(const std::string& rootfs) {
    j = {{"ociVersion", "1.0.2"},
         {"process",
          {{"terminal", false},
           {"user", {{"uid", 0}, {"gid", 0}}},
           {"args", {"/bin/probe"}},
           {"env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"}},
           {"cwd", "/"},
           {"capabilities",
            {{"bounding", {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}},
             {"effective", {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}},
             {"permitted", {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}}}},
           {"rlimits", {{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}}},
           {"noNewPrivileges", true}}},
         {"root", {{"path", rootfs}, {"readonly", true}}},
         {"hostname", "berth-test"},
         {"mounts",
          {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
           {{"destination", "/dev"}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
           {{"destination", "/dev/pts"}, {"type", "devpts"}, {"source", "devpts"},
            {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}}},
           {{"destination", "/dev/shm"}, {"type", "tmpfs"}, {"source", "shm"}, {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}},
           {{"destination", "/dev/mqueue"}, {"type", "mqueue"}, {"source", "mqueue"}, {"options", {"nosuid", "noexec", "nodev"}}},
           {{"destination", "/sys"}, {"type", "sysfs"}, {"source", "sysfs"}, {"options", {"nosuid", "noexec", "nodev", "ro"}}},
           {{"destination", "/sys/fs/cgroup"}, {"type", "cgroup"}, {"source", "cgroup"}, {"options", {"nosuid", "noexec", "nodev", "relatime", "ro"}}}}},
         {"linux",
          {{"resources", {{"devices", {{{"allow", false}, {"access", "rwm"}}}}}},
           {"namespaces", {{{"type", "pid"}}, {{"type", "network"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}, {{"type", "cgroup"}}}},
           {"maskedPaths", {"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"}},
           {"readonlyPaths", {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}}}}};
  }
  ConfigBuilder& args(std::vector<std::string> a) {
    j["process"]["args"] = a;
    return *this;
  }
  ConfigBuilder& probe(std::vector<std::string> a) {
    a.insert(a.begin(), "/bin/probe");
    return args(a);
  }
  ConfigBuilder& remove_ns(const std::string& t) {
    json keep = json::array();
    for (auto& n : j["linux"]["namespaces"])
      if (n["type"] != t) keep.push_back(n);
    j["linux"]["namespaces"] = keep;
    return *this;
  }
  ConfigBuilder& add_ns(const std::string& t, const std::string& path = {}) {
    remove_ns(t);
    json n = {{"type", t}};
    if (!path.empty()) n["path"] = path;
    j["linux"]["namespaces"].push_back(n);
    return *this;
  }
  ConfigBuilder& cgroups_path(const std::string& p) {
    j["linux"]["cgroupsPath"] = p;
    return *this;
  }
  json& resources() { return j["linux"]["resources"]; }
  json& process() { return j["process"]; }
  json& lnx() { return j["linux"]; }
  std::string dump() const { return j.dump(2); }

  json j;
};

class RuntimeTest : public ::testing::Test {
 public:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    rootfs_ = image_path("busybox", "rootfs");
    if (rootfs_.empty()) GTEST_FAIL() << "test image busybox missing: run make test-images";
    scratch_ = std::make_unique<Scratch>("rt");
    root_ = scratch_->sub("state");
    bundle_ = scratch_->sub("bundle");
    ::mkdir(bundle_.c_str(), 0755);
  }
  void TearDown() override {
    for (auto& id : ids_) rt({"delete", "--force", id});
  }

  ConfigBuilder config() { return ConfigBuilder(rootfs_); }
  // A writable copy of the busybox rootfs (for tests that plant files).
  std::string copy_rootfs() {
    std::string dst = scratch_->sub("rootfs-copy");
    auto r = run({"cp", "-a", rootfs_, dst});
    EXPECT_EQ(r.status, 0) << r.err;
    return dst;
  }
  void write_config(const ConfigBuilder& c, const std::string& bundle = {}) {
    auto st = write_file((bundle.empty() ? bundle_ : bundle) + "/config.json", c.dump());
    ASSERT_TRUE(st.has_value());
  }
  std::string new_id() {
    ids_.push_back(unique_name("rt"));
    return ids_.back();
  }
  RunResult rt(std::vector<std::string> args, const std::string& in = {}, int timeout = 30) {
    std::vector<std::string> argv = {bin("berth-runtime"), "--root", root_};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, in, timeout);
  }
  // For create / run -d: the container inherits the caller's stdio (runc's pass-through mode),
  // so it must not get our capture pipes; stdout goes to /dev/null, stderr to a file we read.
  RunResult rtd(std::vector<std::string> args) {
    std::string errf = scratch_->sub("stderr-" + unique_name("e"));
    std::vector<std::string> argv = {"/bin/sh", "-c", "f=$1; shift; exec \"$@\" </dev/null >/dev/null 2>\"$f\"", "sh",
                                     errf, bin("berth-runtime"), "--root", root_};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run(argv, {}, 30);
    r.err = read_file(errf).value_or("");
    return r;
  }
  // `run` of a config; returns the result (stdout = the probe's output).
  RunResult run_config(const ConfigBuilder& c) {
    write_config(c);
    return rt({"run", "--bundle", bundle_, new_id()});
  }
  json run_probe(const ConfigBuilder& c) {
    auto r = run_config(c);
    EXPECT_EQ(r.status, 0) << r.err;
    try {
      return json::parse(r.out);
    } catch (...) {
      ADD_FAILURE() << "probe output is not JSON: " << r.out << r.err;
      return json::object();
    }
  }
  json state(const std::string& id) {
    auto r = rt({"state", id});
    EXPECT_EQ(r.status, 0) << r.err;
    try {
      return json::parse(r.out);
    } catch (...) {
      return json::object();
    }
  }

  std::string rootfs_, root_, bundle_;
  std::unique_ptr<Scratch> scratch_;
  std::vector<std::string> ids_;
};

}  // namespace berth::test
