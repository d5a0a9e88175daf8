// SPDX-License-Identifier: Apache-2.0
#include "common/path.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "common/file.hpp"

namespace berth {
namespace {

// A root with escape attempts: abs symlink, relative ".." symlink, and a chain.
class PathTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    auto d = TempDir::create("/tmp", "berth-test-path-");
    ASSERT_TRUE(d);
    tmp_ = std::move(*d);
    root_ = tmp_.path() + "/root";
    ASSERT_TRUE(mkdir_all(root_ + "/etc"));
    ASSERT_TRUE(mkdir_all(root_ + "/data"));
    ASSERT_TRUE(write_file(root_ + "/etc/passwd", "inside"));
    ASSERT_TRUE(write_file(tmp_.path() + "/secret", "outside"));
    ASSERT_EQ(::symlink("/etc/passwd", (root_ + "/abs").c_str()), 0);
    ASSERT_EQ(::symlink("../../secret", (root_ + "/data/rel").c_str()), 0);
    ASSERT_EQ(::symlink("/data/rel", (root_ + "/chain").c_str()), 0);
    ASSERT_EQ(::symlink("/", (root_ + "/slash").c_str()), 0);
    auto fd = open_file(root_, O_PATH | O_DIRECTORY);
    ASSERT_TRUE(fd);
    rootfd_ = std::move(*fd);
  }
  Result<std::string> read_in_root(std::string_view p) {
    auto fd = GetParam() ? open_in_root_fallback(rootfd_, p, O_RDONLY)
                         : open_in_root(rootfd_, p, O_RDONLY);
    if (!fd) return fail(fd.error());
    return read_fd(fd->get());
  }
  TempDir tmp_;
  std::string root_;
  UniqueFd rootfd_;
};

TEST_P(PathTest, StaysInsideRoot) {
  EXPECT_EQ(read_in_root("/etc/passwd").value_or("?"), "inside");
  EXPECT_EQ(read_in_root("abs").value_or("?"), "inside");
  EXPECT_EQ(read_in_root("../../../etc/passwd").value_or("?"), "inside");
  EXPECT_EQ(read_in_root("slash/etc/passwd").value_or("?"), "inside");
  // ../../secret from /data resolves to /secret inside root, which does not exist.
  EXPECT_FALSE(read_in_root("data/rel"));
  EXPECT_FALSE(read_in_root("chain"));
  EXPECT_FALSE(read_in_root("/nonexistent/x"));
}

TEST_P(PathTest, NoFollowRefusesFinalSymlink) {
  auto fd = GetParam() ? open_in_root_fallback(rootfd_, "abs", O_RDONLY | O_NOFOLLOW)
                       : open_in_root(rootfd_, "abs", O_RDONLY | O_NOFOLLOW);
  EXPECT_FALSE(fd);
}

INSTANTIATE_TEST_SUITE_P(Openat2AndFallback, PathTest, ::testing::Bool());

TEST(Path, MkdirAllInRootFollowsSymlinksInside) {
  auto d = TempDir::create("/tmp", "berth-test-path-");
  ASSERT_TRUE(d);
  std::string root = d->path() + "/root";
  ASSERT_TRUE(mkdir_all(root));
  ASSERT_EQ(::symlink("/", (root + "/up").c_str()), 0);
  ASSERT_EQ(::symlink("../../../..", (root + "/dots").c_str()), 0);
  auto rfd = open_file(root, O_PATH | O_DIRECTORY);
  ASSERT_TRUE(rfd);
  ASSERT_TRUE(mkdir_all_in_root(*rfd, "up/a/b"));
  ASSERT_TRUE(mkdir_all_in_root(*rfd, "dots/escape"));
  EXPECT_TRUE(path_exists(root + "/a/b"));
  EXPECT_TRUE(path_exists(root + "/escape"));
  EXPECT_FALSE(path_exists(d->path() + "/escape"));
}

TEST(Path, SecureJoin) {
  auto d = TempDir::create("/tmp", "berth-test-path-");
  ASSERT_TRUE(d);
  std::string root = d->path();
  ASSERT_EQ(::symlink("/real", (root + "/etc").c_str()), 0);
  ASSERT_EQ(::symlink("../../..", (root + "/up").c_str()), 0);
  EXPECT_EQ(*secure_join(root, "/etc/passwd"), root + "/real/passwd");
  EXPECT_EQ(*secure_join(root, "up/x"), root + "/x");
  EXPECT_EQ(*secure_join(root, "../../a/./b/"), root + "/a/b");
}

TEST(Path, CleanPath) {
  EXPECT_EQ(clean_path("/a//b/./c/.."), "/a/b");
  EXPECT_EQ(clean_path("/../x"), "/x");
  EXPECT_EQ(clean_path("a/../.."), "..");
  EXPECT_EQ(clean_path(""), ".");
}

}  // namespace
}  // namespace berth
