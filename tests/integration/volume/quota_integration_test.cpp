// SPDX-License-Identifier: Apache-2.0
// --storage-opt size= at the driver level (root): overlay2 on a loop-mounted xfs with project
// quotas, btrfs qgroups on a loop-mounted btrfs, and the refusals elsewhere.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "common/file.hpp"
#include "integration/volume/loop_fs.hpp"
#include "storage/driver.hpp"
#include "storage/quota.hpp"
#include "support/test_support.hpp"

using namespace berth;
using namespace berth::storage;

namespace {

// Writes `mib` MiB to path in 1 MiB chunks, then fsyncs; the errno of the first failure, or 0.
int write_mib(const std::string& path, int mib) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return errno;
  std::string chunk(1 << 20, 'q');
  for (int i = 0; i < mib; ++i)
    if (!write_all(fd.get(), chunk)) return errno;
  if (::fsync(fd.get()) != 0) return errno;
  return 0;
}

// The limit holds inside the rw layer's writable directory, and only there.
void expect_limit_enforced(Driver& d, const std::string& writable_dir) {
  EXPECT_EQ(write_mib(writable_dir + "/small", 4), 0);
  int e = write_mib(writable_dir + "/big", 24);
  EXPECT_TRUE(e == EDQUOT || e == ENOSPC) << strerror(e);
  (void)d;
}

}  // namespace

TEST(StorageQuota, ParsesSizeAndRefusesOtherKeys) {
  EXPECT_EQ(*parse_storage_opts({{"size", "20M"}}), 20u << 20);
  EXPECT_EQ(*parse_storage_opts({{"size", "1.5k"}}), 1536u);
  EXPECT_EQ(*parse_storage_opts({}), 0u);
  auto bad = parse_storage_opts({{"size", "lots"}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "invalid size: 'lots'");
  auto unknown = parse_storage_opts({{"dm.basesize", "1G"}});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message(), "Unknown option dm.basesize");
}

TEST(StorageQuota, Overlay2OnXfsWithPquotaLimitsTheRwLayer) {
  REQUIRE_ROOT();
  test::Scratch s("quota-xfs");
  std::string why;
  auto fs = test::LoopFs::make(s.sub("xfs.img"), s.sub("home"), "xfs", "pquota", &why);
  if (!fs) GTEST_SKIP() << why;
  {
    auto d = open_driver("overlay2", fs->dir());
    ASSERT_TRUE(d) << d.error().message();
    ASSERT_TRUE((*d)->check_size_limit()) << (*d)->check_size_limit().error().message();
    ASSERT_TRUE((*d)->create_rw("berth-test-base", ""));
    ASSERT_TRUE((*d)->create_rw("berth-test-rw", "berth-test-base"));
    ASSERT_TRUE((*d)->set_size_limit("berth-test-rw", 16u << 20));
    expect_limit_enforced(**d, (*d)->diff_dir("berth-test-rw"));
    // a second limited layer gets its own project: the first one's usage does not count
    ASSERT_TRUE((*d)->create_rw("berth-test-rw2", "berth-test-base"));
    ASSERT_TRUE((*d)->set_size_limit("berth-test-rw2", 16u << 20));
    EXPECT_EQ(write_mib((*d)->diff_dir("berth-test-rw2") + "/f", 8), 0);
    // unlimited layers stay unlimited
    ASSERT_TRUE((*d)->create_rw("berth-test-free", "berth-test-base"));
    EXPECT_EQ(write_mib((*d)->diff_dir("berth-test-free") + "/f", 24), 0);
    for (auto id : {"berth-test-rw", "berth-test-rw2", "berth-test-free", "berth-test-base"})
      EXPECT_TRUE((*d)->remove(id));
  }
  // after a restart, new ids do not collide with the ones in use
  auto d = open_driver("overlay2", fs->dir());
  ASSERT_TRUE(d) << d.error().message();
  ASSERT_TRUE((*d)->create_rw("berth-test-a", ""));
  ASSERT_TRUE((*d)->set_size_limit("berth-test-a", 16u << 20));
  EXPECT_EQ(write_mib((*d)->diff_dir("berth-test-a") + "/f", 12), 0);
  auto d2 = open_driver("overlay2", fs->dir());
  ASSERT_TRUE(d2);
  ASSERT_TRUE((*d2)->create_rw("berth-test-b", ""));
  ASSERT_TRUE((*d2)->set_size_limit("berth-test-b", 16u << 20));
  EXPECT_EQ(write_mib((*d2)->diff_dir("berth-test-b") + "/f", 12), 0) << "shares the project of berth-test-a";
  EXPECT_TRUE((*d2)->remove("berth-test-a"));
  EXPECT_TRUE((*d2)->remove("berth-test-b"));
}

TEST(StorageQuota, Overlay2WithoutProjectQuotaIsRefusedInDockerdWords) {
  REQUIRE_ROOT();
  test::Scratch s("quota-noquota");
  std::string why;
  auto fs = test::LoopFs::make(s.sub("xfs.img"), s.sub("home"), "xfs", "", &why);  // xfs, no pquota
  if (!fs) GTEST_SKIP() << why;
  for (const std::string& home : {fs->dir(), s.sub("ext")}) {
    auto d = open_driver("overlay2", home);
    ASSERT_TRUE(d) << d.error().message();
    auto c = (*d)->check_size_limit();
    ASSERT_FALSE(c) << home;
    EXPECT_EQ(c.error().message(), "--storage-opt is supported only for overlay over xfs with 'pquota' mount option");
  }
  auto v = open_driver("vfs", s.sub("vfs"));
  ASSERT_TRUE(v);
  ASSERT_FALSE((*v)->check_size_limit());
  EXPECT_NE((*v)->check_size_limit().error().message().find("not supported by the vfs storage driver"),
            std::string::npos);
}

TEST(StorageQuota, BtrfsQgroupLimitsTheRwSubvolume) {
  REQUIRE_ROOT();
  test::Scratch s("quota-btrfs");
  std::string why;
  auto fs = test::LoopFs::make(s.sub("btrfs.img"), s.sub("home"), "btrfs", "", &why);
  if (!fs) GTEST_SKIP() << why;
  auto d = open_driver("btrfs", fs->dir());
  ASSERT_TRUE(d) << d.error().message();
  ASSERT_TRUE((*d)->check_size_limit());
  ASSERT_TRUE((*d)->create_rw("berth-test-base", ""));
  EXPECT_EQ(write_mib((*d)->diff_dir("berth-test-base") + "/image-file", 2), 0);
  ASSERT_TRUE((*d)->create_rw("berth-test-rw", "berth-test-base"));
  auto st = (*d)->set_size_limit("berth-test-rw", 16u << 20);
  ASSERT_TRUE(st) << st.error().message();
  expect_limit_enforced(**d, (*d)->diff_dir("berth-test-rw"));
  // the parent (and a sibling without a limit) are not limited
  ASSERT_TRUE((*d)->create_rw("berth-test-free", "berth-test-base"));
  EXPECT_EQ(write_mib((*d)->diff_dir("berth-test-free") + "/f", 24), 0);
  for (auto id : {"berth-test-rw", "berth-test-free", "berth-test-base"}) EXPECT_TRUE((*d)->remove(id));
}
