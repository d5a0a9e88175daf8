// SPDX-License-Identifier: Apache-2.0
// The shared storage driver suite (containerd's snapshots/testsuite idea): every driver must
// build layers from tars, honour whiteouts, give a mountable rw layer, report changes and
// diffs, and reject malicious tarballs leaving the store untouched.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "common/file.hpp"
#include "common/strings.hpp"
#include "storage/driver.hpp"
#include "storage/tar_write.hpp"
#include "storage/test_tar.hpp"
#include "support/test_support.hpp"

namespace berth::storage {
namespace {

using testing::TarBuilder;

// Performs the driver's mount descriptions at target (what the runtime does).
Status do_mount(const std::vector<Mount>& ms, const std::string& target) {
  for (auto& m : ms) {
    if (m.type == "bind") {
      if (::mount(m.source.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
        return fail_errno("bind mount", m.source);
      continue;
    }
    std::string data = join(m.options, ",");
    if (::mount(m.source.c_str(), target.c_str(), m.type.c_str(), 0, data.c_str()) != 0)
      return fail_errno("mount " + m.type, data);
  }
  return ok();
}

class DriverSuite : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    scratch_ = std::make_unique<test::Scratch>("storage-" + GetParam());
    if (GetParam() == "btrfs") mount_btrfs(scratch_->sub("home"));
    auto d = open_driver(GetParam(), scratch_->sub("home"));
    ASSERT_TRUE(d) << d.error().message();
    drv_ = std::move(*d);
  }
  void TearDown() override {
    drv_.reset();
    if (!btrfs_home_.empty()) ::umount2(btrfs_home_.c_str(), MNT_DETACH);  // the loop device autoclears
  }
  // A btrfs filesystem in a sparse image file, loop-mounted at home (removed with the scratch).
  void mount_btrfs(const std::string& home) {
    std::string img = scratch_->sub("btrfs.img");
    ASSERT_TRUE(mkdir_all(home));
    auto t = test::run({"truncate", "-s", "320M", img});
    ASSERT_EQ(t.status, 0) << t.err;
    auto mk = test::run({"mkfs.btrfs", "-q", img}, {}, 60);
    if (mk.status == 127) GTEST_SKIP() << "mkfs.btrfs missing (btrfs-progs)";
    ASSERT_EQ(mk.status, 0) << mk.err;
    auto m = test::run({"mount", "-o", "loop", img, home}, {}, 60);
    if (m.status != 0 && m.err.find("unknown filesystem type") != std::string::npos)
      GTEST_SKIP() << "no btrfs in this kernel";
    ASSERT_EQ(m.status, 0) << m.err;
    btrfs_home_ = home;
  }
  Result<LayerStats> create(const std::string& id, const std::string& parent, const std::string& tar) {
    auto r = string_reader(tar);
    return drv_->create_from_tar(id, parent, *r);
  }
  std::string mount_rw(const std::string& id) {
    std::string target = scratch_->sub("mnt-" + id);
    EXPECT_TRUE(mkdir_all(target));
    auto ms = drv_->mounts(id);
    EXPECT_TRUE(ms) << ms.error().message();
    auto s = do_mount(*ms, target);
    EXPECT_TRUE(s) << s.error().message();
    return target;
  }
  std::unique_ptr<test::Scratch> scratch_;
  std::unique_ptr<Driver> drv_;
  std::string btrfs_home_;
};

TEST_P(DriverSuite, LayersWhiteoutsAndRwLayer) {
  ASSERT_TRUE(create("base", "",
                     TarBuilder()
                         .dir("etc")
                         .file("etc/passwd", "root:x:0:0\n", 0644)
                         .file("etc/secret", "s", 0600, 1000, 1000)
                         .file("etc/gone", "x")
                         .dir("opq")
                         .file("opq/old", "old")
                         .symlink("bin", "usr/bin")
                         .file("usr/bin/tool", "#!/bin/sh\n", 0755)
                         .chardev("dev-null", 1, 3)
                         .finish()));
  ASSERT_TRUE(create("child", "base",
                     TarBuilder()
                         .file("etc/.wh.gone", "")
                         .file("opq/.wh..wh..opq", "")
                         .file("opq/new", "new")
                         .file("etc/added", "a")
                         .finish()));
  ASSERT_TRUE(drv_->create_rw("ctr", "child"));
  std::string m = mount_rw("ctr");
  EXPECT_EQ(*read_file(m + "/etc/passwd"), "root:x:0:0\n");
  EXPECT_FALSE(path_exists(m + "/etc/gone"));
  EXPECT_FALSE(path_exists(m + "/opq/old"));
  EXPECT_EQ(*read_file(m + "/opq/new"), "new");
  EXPECT_EQ(*read_file(m + "/bin/tool"), "#!/bin/sh\n");
  struct stat st {};
  ASSERT_EQ(::stat((m + "/etc/secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::lstat((m + "/dev-null").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(1, 3));

  // Writes go to the rw layer only.
  ASSERT_TRUE(write_file(m + "/etc/written", "w"));
  ASSERT_EQ(::unlink((m + "/etc/passwd").c_str()), 0);
  ::umount2(m.c_str(), MNT_DETACH);
  auto ch = drv_->changes("ctr");
  ASSERT_TRUE(ch) << ch.error().message();
  bool added = false, deleted = false;
  for (auto& c : *ch) {
    if (c.path == "/etc/written" && c.kind == ChangeKind::Added) added = true;
    if (c.path == "/etc/passwd" && c.kind == ChangeKind::Deleted) deleted = true;
  }
  EXPECT_TRUE(added);
  EXPECT_TRUE(deleted);

  // The diff as a tar re-applies on the child to give the same view.
  std::string diff = scratch_->sub("diff.tar");
  {
    auto fd = open_file(diff, O_WRONLY | O_CREAT | O_TRUNC);
    ASSERT_TRUE(fd);
    auto s = drv_->diff_tar("ctr", fd->get());
    ASSERT_TRUE(s) << s.error().message();
  }
  {
    auto fd = open_file(diff, O_RDONLY);
    auto r = fd_reader(fd->get());
    auto s = drv_->create_from_tar("committed", "child", *r);
    ASSERT_TRUE(s) << s.error().message();
  }
  ASSERT_TRUE(drv_->create_rw("ctr2", "committed"));
  std::string m2 = mount_rw("ctr2");
  EXPECT_EQ(*read_file(m2 + "/etc/written"), "w");
  EXPECT_FALSE(path_exists(m2 + "/etc/passwd"));
  EXPECT_TRUE(path_exists(m2 + "/etc/added"));
  ::umount2(m2.c_str(), MNT_DETACH);

  auto u = drv_->usage("base");
  ASSERT_TRUE(u);
  EXPECT_GE(*u, 11);
  for (auto id : {"ctr2", "committed", "ctr", "child", "base"}) ASSERT_TRUE(drv_->remove(id));
  EXPECT_TRUE(drv_->list()->empty());
}

TEST_P(DriverSuite, MaliciousTarballsLeaveStoreUntouched) {
  ASSERT_TRUE(create("base", "", TarBuilder().file("ok", "1").finish()));
  std::string outside = scratch_->sub("outside");
  ASSERT_TRUE(mkdir_all(outside));
  ASSERT_TRUE(write_file(outside + "/victim", "safe"));
  struct Case {
    const char* name;
    std::string tar;
  };
  std::vector<Case> corpus = {
      {"dotdot", TarBuilder().file("../../../escape", "x").finish()},
      {"nested-dotdot", TarBuilder().file("a/b/../../../escape", "x").finish()},
      {"hardlink-out", TarBuilder().hardlink("h", "../../outside/victim").finish()},
      {"hardlink-via-symlink",
       TarBuilder().symlink("s", outside).hardlink("h", "s/victim").finish()},
      {"write-through-abs-symlink",
       TarBuilder().symlink("s", outside).file("s/victim", "pwned").finish()},
      {"symlink-dir-then-file", TarBuilder().symlink("d", "/").file("d/../../x/y", "z").finish()},
      {"garbage", std::string(4096, '\x7f')},
      {"truncated", TarBuilder().file("big", std::string(100000, 'x')).finish().substr(0, 5000)},
  };
  auto before = *drv_->list();
  for (auto& c : corpus) {
    auto s = create(std::string("evil-") + c.name, "base", c.tar);
    EXPECT_FALSE(s) << c.name << " was accepted";
    if (!s) {
      EXPECT_FALSE(s.error().message().empty());
    }
    EXPECT_EQ(*drv_->list(), before) << c.name << " left a layer behind";
  }
  EXPECT_EQ(*read_file(outside + "/victim"), "safe");
  EXPECT_FALSE(path_exists(scratch_->sub("escape")));
}

TEST_P(DriverSuite, XattrsAndMtimesPreserved) {
  std::string src = scratch_->sub("src");
  ASSERT_TRUE(mkdir_all(src + "/d"));
  ASSERT_TRUE(write_file(src + "/d/f", "data"));
  ASSERT_EQ(::setxattr((src + "/d/f").c_str(), "user.berth", "v1", 2, 0), 0);
  struct timespec ts[2] = {{1600000000, 0}, {1600000000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (src + "/d/f").c_str(), ts, 0), 0);
  // Build the tar from the directory with the same writer the drivers use for diffs.
  EXPECT_FALSE(drv_->create_rw("tmp", ""));  // reserved names are refused
  std::string t = scratch_->sub("x.tar");
  auto out = open_file(t, O_WRONLY | O_CREAT | O_TRUNC);
  ASSERT_TRUE(write_tar(src, out->get()));
  auto in = open_file(t, O_RDONLY);
  auto r = fd_reader(in->get());
  auto cr = drv_->create_from_tar("x", "", *r);
  ASSERT_TRUE(cr) << cr.error().message();
  std::string f = drv_->diff_dir("x") + "/d/f";
  char v[8] = {};
  EXPECT_EQ(::getxattr(f.c_str(), "user.berth", v, sizeof v), 2);
  EXPECT_EQ(std::string(v, 2), "v1");
  struct stat st {};
  ::stat(f.c_str(), &st);
  EXPECT_EQ(st.st_mtime, 1600000000);
}

INSTANTIATE_TEST_SUITE_P(Drivers, DriverSuite, ::testing::Values("overlay2", "vfs", "btrfs"));

// A container's layer is never a lower: no link file, no l/ entry (two inodes less per
// container), and it stays a layer across a reopen (init's repair) and in check().
TEST(Overlay2, ContainerLayerHasNoLinkAndSurvivesReopen) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  test::Scratch s("storage-ovl-rw");
  std::string root = s.sub("root"), home = root + "/overlay2";
  {
    auto d = open_driver("overlay2", root);
    ASSERT_TRUE(d) << d.error().message();
    auto r = string_reader(TarBuilder().file("f", "base").finish());
    ASSERT_TRUE((*d)->create_from_tar("img", "", *r));
    ASSERT_TRUE((*d)->create_rw("ctr-rw", "img"));
    EXPECT_TRUE(path_exists(home + "/img/link"));
    EXPECT_FALSE(path_exists(home + "/ctr-rw/link"));
    EXPECT_EQ(list_dir(home + "/l").size(), 1u);  // the image layer's only
    EXPECT_TRUE((*d)->check().empty());
    auto lower = (*d)->create_rw("on-ctr", "ctr-rw");  // made, but it cannot be mounted
    ASSERT_TRUE(lower);
    auto m = (*d)->mounts("on-ctr");
    ASSERT_FALSE(m);
    EXPECT_NE(m.error().message().find("cannot be a lower"), std::string::npos) << m.error().message();
    ASSERT_TRUE((*d)->remove("on-ctr"));
  }
  auto d = open_driver("overlay2", root);
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_TRUE((*d)->exists("ctr-rw"));
  EXPECT_TRUE((*d)->check().empty());
  std::string target = s.sub("mnt");
  ASSERT_TRUE(mkdir_all(target));
  auto ms = (*d)->mounts("ctr-rw");
  ASSERT_TRUE(ms) << ms.error().message();
  ASSERT_TRUE(do_mount(*ms, target));
  EXPECT_EQ(*read_file(target + "/f"), "base");
  ::umount2(target.c_str(), MNT_DETACH);
  ASSERT_TRUE((*d)->remove("ctr-rw"));
  EXPECT_FALSE(path_exists(home + "/ctr-rw"));
  ASSERT_TRUE((*d)->remove("img"));
  EXPECT_TRUE(list_dir(home + "/l").empty());
}

TEST(DriverSelection, RefusesDataOfAnotherDriverAndUnsupportedDrivers) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  test::Scratch s("storage-select");
  std::string home = s.sub("root");
  ASSERT_TRUE(open_driver("vfs", home));
  auto other = open_driver("overlay2", home);
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message().find("created by storage driver \"vfs\""), std::string::npos)
      << other.error().message();
  auto again = open_driver("", home);  // no choice: the driver that created the root
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ((*again)->name(), "vfs");
  auto zfs = open_driver("zfs", s.sub("root2"));
  ASSERT_FALSE(zfs);
  EXPECT_NE(zfs.error().message().find("not supported"), std::string::npos);
  auto notbtrfs = open_driver("btrfs", s.sub("root3"));  // scratch is not on btrfs here
  if (backing_filesystem(s.path()) != "btrfs") {
    ASSERT_FALSE(notbtrfs);
    EXPECT_NE(notbtrfs.error().message().find("not on btrfs"), std::string::npos);
  }
  EXPECT_EQ(driver_status("overlay2", home)[0].first, "Backing Filesystem");
  EXPECT_TRUE(driver_status("vfs", home).empty());
}

}  // namespace
}  // namespace berth::storage
