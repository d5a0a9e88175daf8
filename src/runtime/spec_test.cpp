// SPDX-License-Identifier: Apache-2.0
#include "runtime/spec.hpp"

#include <signal.h>
#include <sys/resource.h>

#include <gtest/gtest.h>

#include "runtime/container.hpp"
#include "runtime/state.hpp"

namespace berth::runtime {
namespace {

TEST(Spec, ParsesDefaultSpec) {
  auto s = parse_spec(default_spec_json(false));
  ASSERT_TRUE(s.has_value()) << s.error().message();
  ASSERT_TRUE(s->process.has_value());
  EXPECT_EQ(s->process->args, std::vector<std::string>{"sh"});
  EXPECT_TRUE(s->process->terminal);
  EXPECT_TRUE(s->root_readonly);
  EXPECT_EQ(s->root_path, "rootfs");
  EXPECT_EQ(s->hostname, "runc");
  ASSERT_TRUE(s->linux_.has_value());
  EXPECT_EQ(s->linux_->namespaces.size(), 5u);  // runc 1.1: pid network ipc uts mount
  ASSERT_EQ(s->process->rlimits.size(), 1u);
  EXPECT_EQ(s->process->rlimits[0].resource, RLIMIT_NOFILE);
  ASSERT_TRUE(s->linux_->resources.has_value());
  ASSERT_EQ(s->linux_->resources->devices.size(), 1u);
  EXPECT_FALSE(s->linux_->resources->devices[0].allow);
  EXPECT_EQ(s->linux_->resources->devices[0].type, 'a');
  auto rl = parse_spec(default_spec_json(true));
  ASSERT_TRUE(rl.has_value());
  EXPECT_EQ(rl->linux_->uid_mappings.size(), 1u);
}

TEST(Spec, ParsesResourcesSeccompHooks) {
  auto s = parse_spec(R"({"ociVersion":"1.0.2","root":{"path":"/r"},"process":{"args":["a"],"cwd":"/",
    "user":{"uid":1,"gid":2,"umask":18,"additionalGids":[5,6]},"oomScoreAdj":100},
    "hooks":{"prestart":[{"path":"/bin/true","timeout":3}]},
    "linux":{"cgroupsPath":"/x","resources":{"memory":{"limit":524288,"swap":-1},"cpu":{"shares":512,"quota":50000,"period":100000,"cpus":"0"},
      "pids":{"limit":10},"blockIO":{"weight":500,"throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1048576}]},
      "devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":3,"access":"rw"}]},
      "seccomp":{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]},
      "sysctl":{"net.ipv4.ip_forward":"1"},"timeOffsets":{"monotonic":{"secs":10}}}})");
  ASSERT_TRUE(s.has_value()) << s.error().message();
  EXPECT_EQ(s->process->user.uid, 1u);
  EXPECT_EQ(*s->process->user.umask, 18u);
  EXPECT_EQ(s->process->user.additional_gids.size(), 2u);
  EXPECT_EQ(*s->process->oom_score_adj, 100);
  ASSERT_EQ(s->hooks.prestart.size(), 1u);
  EXPECT_EQ(*s->hooks.prestart[0].timeout, 3);
  auto& r = *s->linux_->resources;
  EXPECT_EQ(*r.memory.limit, 524288);
  EXPECT_EQ(*r.memory.swap, -1);
  EXPECT_EQ(*r.cpu.shares, 512u);
  EXPECT_EQ(r.cpu.cpus, "0");
  EXPECT_EQ(*r.pids_limit, 10);
  EXPECT_EQ(r.blkio.read_bps.size(), 1u);
  ASSERT_EQ(r.devices.size(), 2u);
  EXPECT_EQ(r.devices[1].major, 1);
  EXPECT_EQ(s->linux_->seccomp->default_errno_ret.value_or(0), 1u);
  EXPECT_EQ(s->linux_->sysctl.at("net.ipv4.ip_forward"), "1");
  EXPECT_EQ(s->linux_->time_offsets_secs.at("monotonic"), 10);
}

TEST(Spec, ErrorsNameTheField) {
  auto s = parse_spec(R"({"process":{"args":["a"],"user":{"uid":"root"}}})");
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.error().message().find("process.user"), std::string::npos) << s.error().message();
  auto b = parse_spec(R"({"linux":{"namespaces":[{"type":"bogus"}]}})");
  ASSERT_FALSE(b.has_value());
  EXPECT_NE(b.error().message().find("linux.namespaces"), std::string::npos);
  auto m = parse_spec(R"({"mounts":[{"destination":"relative"}]})");
  EXPECT_FALSE(m.has_value());
  EXPECT_FALSE(parse_spec("{not json").has_value());
  auto rl = parse_spec(R"({"process":{"rlimits":[{"type":"RLIMIT_BOGUS","soft":1,"hard":1}]}})");
  EXPECT_FALSE(rl.has_value());
}

// runc reads a device rule's access as a set of r/w/m (runc's update.bats "minimal transition
// rules" uses "rwa"): other letters are dropped, an empty access is refused.
TEST(Spec, DeviceAccessKeepsOnlyReadWriteMknod) {
  auto s = parse_spec(R"({"linux":{"resources":{"devices":[{"allow":false,"access":"rwm"},
    {"allow":false,"type":"c","major":1,"minor":11,"access":"rwa"},{"allow":true,"type":"c","major":1,"minor":3,"access":"mwr"},
    {"allow":true,"type":"c","major":1,"minor":5,"access":"a"}]}}})");
  ASSERT_TRUE(s.has_value()) << s.error().message();
  auto& d = s->linux_->resources->devices;
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[1].access, "rw");
  EXPECT_EQ(cgroups::device_rule_string(d[1]), "c 1:11 rw");
  EXPECT_EQ(d[2].access, "rwm");
  auto e = parse_spec(R"({"linux":{"resources":{"devices":[{"allow":false,"access":""}]}}})");
  ASSERT_FALSE(e.has_value());
  EXPECT_NE(e.error().message().find("linux.resources.devices"), std::string::npos) << e.error().message();
}

TEST(Spec, ContainerIdsAndSignals) {
  EXPECT_TRUE(validate_id("berth-test-abc_1.2+3").has_value());
  EXPECT_FALSE(validate_id("a/b").has_value());
  EXPECT_FALSE(validate_id("..").has_value());
  EXPECT_FALSE(validate_id("").has_value());
  EXPECT_EQ(parse_signal("KILL"), SIGKILL);
  EXPECT_EQ(parse_signal("sigterm"), SIGTERM);
  EXPECT_EQ(parse_signal("9"), 9);
  EXPECT_EQ(parse_signal("SIGRTMIN+1"), SIGRTMIN + 1);
  EXPECT_EQ(parse_signal("NOPE"), -1);
}

}  // namespace
}  // namespace berth::runtime
