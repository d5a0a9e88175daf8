// SPDX-License-Identifier: Apache-2.0
// Real-kernel checks for the RAII guards in src/common.
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include "common/mount_guard.hpp"
#include "support/test_support.hpp"

namespace berth {
namespace {

bool is_mounted(const std::string& target) {
  auto info = read_file("/proc/self/mountinfo");
  return info && info->find(" " + target + " ") != std::string::npos;
}

TEST(MountGuard, UnmountsOnScopeExitUnlessCommitted) {
  REQUIRE_ROOT();
  test::Scratch s("mount");
  std::string a = s.sub("a"), b = s.sub("b");
  ASSERT_TRUE(mkdir_all(a));
  ASSERT_TRUE(mkdir_all(b));
  {
    auto g = mount_guarded("tmpfs", a, "tmpfs", 0, "size=1m");
    ASSERT_TRUE(g) << g.error().message();
    EXPECT_TRUE(is_mounted(a));
  }
  EXPECT_FALSE(is_mounted(a));
  {
    auto g = mount_guarded("tmpfs", b, "tmpfs", 0, "size=1m");
    ASSERT_TRUE(g);
    g->commit();
  }
  EXPECT_TRUE(is_mounted(b));
  ASSERT_EQ(::umount2(b.c_str(), MNT_DETACH), 0);
}

TEST(MountGuard, FailedMountIsAnErrorValue) {
  REQUIRE_ROOT();
  auto g = mount_guarded("none", "/nonexistent-berth-test", "tmpfs", 0, nullptr);
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().code(), Errc::NotFound);
}

TEST(NamespaceFd, JoinsAnotherNetNamespaceInAChild) {
  REQUIRE_ROOT();
  auto self = NamespaceFd::open_pid(::getpid(), "net");
  ASSERT_TRUE(self);
  auto self_ino = self->inode();
  ASSERT_TRUE(self_ino);
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  pid_t child = ::fork();
  if (child == 0) {
    // A child in a new netns joins ours back: its inode must then equal ours.
    if (::unshare(CLONE_NEWNET) < 0) ::_exit(2);
    auto before = NamespaceFd::open_pid(::getpid(), "net");
    if (!before || *before->inode() == *self_ino) ::_exit(3);
    if (!self->join(CLONE_NEWNET)) ::_exit(4);
    auto after = NamespaceFd::open_pid(::getpid(), "net");
    ::_exit(after && *after->inode() == *self_ino ? 0 : 5);
  }
  int st = 0;
  ASSERT_EQ(::waitpid(child, &st, 0), child);
  EXPECT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0);
}

}  // namespace
}  // namespace berth
