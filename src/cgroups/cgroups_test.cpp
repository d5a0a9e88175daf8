// SPDX-License-Identifier: Apache-2.0
#include "cgroups/cgroups.hpp"
#include "cgroups/attach_primer.hpp"
#include "common/file.hpp"

#include <unistd.h>

#include <gtest/gtest.h>

namespace berth::cgroups {
namespace {

TEST(Cgroups, SharesToWeightMatchesRunc) {
  EXPECT_EQ(shares_to_weight(0), 0u);
  EXPECT_EQ(shares_to_weight(2), 1u);
  EXPECT_EQ(shares_to_weight(1024), 39u);
  EXPECT_EQ(shares_to_weight(262144), 10000u);
}

TEST(Cgroups, DeviceRuleString) {
  EXPECT_EQ(device_rule_string({false, 'a', -1, -1, "rwm"}), "a *:* rwm");
  EXPECT_EQ(device_rule_string({true, 'c', 1, 3, "rwm"}), "c 1:3 rwm");
  EXPECT_EQ(device_rule_string({true, 'c', 136, -1, "rw"}), "c 136:* rw");
}

TEST(Cgroups, RejectsRootAndSystemdPaths) {
  EXPECT_FALSE(Manager::open("/", {"/nonexistent"}).has_value());
  EXPECT_FALSE(Manager::open("system.slice:berth:abc").has_value());
  auto m = Manager::open("a/b/../c", {"/tmp/x"});
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->path(), "/a/c");
  EXPECT_EQ(m->dir("memory"), "/tmp/x/a/c");
}

TEST(AttachPrimer, PrimesWithoutMovingThisProcess) {
  if (::geteuid() != 0) GTEST_SKIP() << "writing cgroup.procs needs root";
  auto before = read_file("/proc/self/cgroup");
  ASSERT_TRUE(before.has_value());
  {
    AttachPrimer p;
    if (!p.enabled()) GTEST_SKIP() << "no writable cgroup.procs for this process";
    EXPECT_NE(p.procs_path().find("cgroup.procs"), std::string::npos);
    p.prime();
    p.prime();
    // Stays warm for two seconds; destruction must not wait for that.
    ::usleep(50 * 1000);
  }
  EXPECT_EQ(*read_file("/proc/self/cgroup"), *before);
}

}  // namespace
}  // namespace berth::cgroups
