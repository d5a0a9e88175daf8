// SPDX-License-Identifier: Apache-2.0
// Path confinement of layer extraction (Delete whiteout mode: no root needed).
#include "storage/tar_apply.hpp"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "common/file.hpp"
#include "storage/test_tar.hpp"

namespace berth::storage {
namespace {

class TarApply : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = *TempDir::create("/tmp", "berth-test-tarapply-");
    root_ = tmp_.path() + "/root";
    ASSERT_TRUE(mkdir_all(root_));
  }
  Result<ApplyStats> apply(const std::string& tar, ApplyOptions o = {}) {
    o.whiteouts = WhiteoutMode::Delete;
    auto r = string_reader(tar);
    return apply_tar(*r, root_, o);
  }
  TempDir tmp_;
  std::string root_;
};

TEST_F(TarApply, ExtractsFilesDirsLinks) {
  auto s = apply(testing::TarBuilder()
                     .dir("etc", 0755)
                     .file("etc/hosts", "127.0.0.1 localhost\n", 0640)
                     .symlink("etc/link", "hosts")
                     .hardlink("etc/hard", "etc/hosts")
                     .file("./deep/a/b/c.txt", "x")
                     .finish());
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(*read_file(root_ + "/etc/hosts"), "127.0.0.1 localhost\n");
  EXPECT_EQ(*read_file(root_ + "/etc/link"), "127.0.0.1 localhost\n");
  struct stat a {}, b {};
  ::stat((root_ + "/etc/hosts").c_str(), &a);
  ::stat((root_ + "/etc/hard").c_str(), &b);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_mode & 07777, 0640u);
  EXPECT_EQ(a.st_mtime, 1700000000);
  EXPECT_EQ(*read_file(root_ + "/deep/a/b/c.txt"), "x");
}

TEST_F(TarApply, RejectsDotDot) {
  auto s = apply(testing::TarBuilder().file("a/../../escape", "x").finish());
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("leaves the layer root"), std::string::npos);
  EXPECT_FALSE(path_exists(tmp_.path() + "/escape"));
}

TEST_F(TarApply, AbsoluteNamesStayInside) {
  ASSERT_TRUE(apply(testing::TarBuilder().file("/abs.txt", "x").finish()));
  EXPECT_TRUE(path_exists(root_ + "/abs.txt"));
}

TEST_F(TarApply, SymlinkParentCannotEscape) {
  // "evil" -> the scratch dir outside root: resolved inside root, where it does not exist, so
  // writing "evil/x" fails and nothing appears outside. A relative "../../.." resolves to root.
  std::string outside = tmp_.path();
  auto s = apply(testing::TarBuilder().symlink("evil", outside).file("evil/pwned", "x").finish());
  EXPECT_FALSE(s);
  EXPECT_FALSE(path_exists(outside + "/pwned"));
  auto s2 = apply(testing::TarBuilder().symlink("rel", "../../..").file("rel/pwned2", "y").finish());
  ASSERT_TRUE(s2) << s2.error().message();
  EXPECT_FALSE(path_exists(tmp_.path() + "/pwned2"));
  EXPECT_TRUE(path_exists(root_ + "/pwned2"));
}

TEST_F(TarApply, FinalSymlinkIsReplacedNotFollowed) {
  ASSERT_TRUE(write_file(tmp_.path() + "/victim", "safe"));
  auto s = apply(testing::TarBuilder()
                     .symlink("f", tmp_.path() + "/victim")
                     .file("f", "overwritten")
                     .finish());
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(*read_file(tmp_.path() + "/victim"), "safe");
  EXPECT_EQ(*read_file(root_ + "/f"), "overwritten");
}

TEST_F(TarApply, HardlinkOutsideRejected) {
  ASSERT_TRUE(write_file(tmp_.path() + "/secret", "s"));
  auto s = apply(testing::TarBuilder().hardlink("h", "../secret").finish());
  ASSERT_FALSE(s);
  EXPECT_FALSE(path_exists(root_ + "/h"));
  // Through a symlink in a parent: resolved inside root, where no "secret" exists.
  auto s2 = apply(testing::TarBuilder()
                      .symlink("up", tmp_.path())
                      .hardlink("h2", "up/secret")
                      .finish());
  ASSERT_FALSE(s2);
  struct stat st {};
  ::stat((tmp_.path() + "/secret").c_str(), &st);
  EXPECT_EQ(st.st_nlink, 1u);
}

TEST_F(TarApply, WhiteoutsDeleteOnFullCopy) {
  ASSERT_TRUE(apply(testing::TarBuilder()
                        .file("a/keep", "1")
                        .file("a/gone", "2")
                        .file("o/old1", "3")
                        .file("o/old2", "4")
                        .finish()));
  ASSERT_TRUE(apply(testing::TarBuilder()
                        .file("a/.wh.gone", "")
                        .file("o/new", "5")
                        .file("o/.wh..wh..opq", "")
                        .finish()));
  EXPECT_TRUE(path_exists(root_ + "/a/keep"));
  EXPECT_FALSE(path_exists(root_ + "/a/gone"));
  EXPECT_FALSE(path_exists(root_ + "/a/.wh.gone"));
  EXPECT_TRUE(path_exists(root_ + "/o/new"));
  EXPECT_FALSE(path_exists(root_ + "/o/old1"));
  EXPECT_FALSE(path_exists(root_ + "/o/.wh..wh..opq"));
}

TEST_F(TarApply, SizeLimit) {
  ApplyOptions o;
  o.max_bytes = 100;
  auto s = apply(testing::TarBuilder().file("big", std::string(1000, 'x')).finish(), o);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("size limit"), std::string::npos);
}

TEST_F(TarApply, GarbageIsAnError) {
  EXPECT_FALSE(apply(std::string(1024, 'z')));
}

}  // namespace
}  // namespace berth::storage
