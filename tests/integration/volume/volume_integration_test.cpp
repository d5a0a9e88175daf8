// SPDX-License-Identifier: Apache-2.0
// Root tests: real mounts, ownership, crash safety of copy-up.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/file.hpp"
#include "support/test_support.hpp"
#include "volume/volume.hpp"

using namespace berth;
using namespace berth::volume;

TEST(VolumeIntegration, TmpfsVolumeMountedWithSizeLimit) {
  REQUIRE_ROOT();
  test::Scratch s("volume-tmpfs");
  auto svc = VolumeService::open(s.path());
  ASSERT_TRUE(svc);
  ASSERT_TRUE(svc->create("berth-test-tmp", "local",
                          {{"type", "tmpfs"}, {"device", "tmpfs"}, {"o", "size=1m,mode=0700"}}, {}));
  auto spec = svc->mount_spec("berth-test-tmp");
  ASSERT_TRUE(spec) << spec.error().message();
  ASSERT_TRUE(spec->needs_host_mount);
  ASSERT_EQ(::mount(spec->device.c_str(), spec->source.c_str(), spec->fstype.c_str(), spec->flags,
                    spec->data.c_str()),
            0)
      << strerror(errno);
  struct stat st{};
  ASSERT_EQ(stat(spec->source.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  // 2 MiB cannot fit in a 1 MiB tmpfs.
  auto w = write_file(spec->source + "/big", std::string(2u << 20, 'x'));
  EXPECT_FALSE(w);
  ASSERT_EQ(umount2(spec->source.c_str(), MNT_DETACH), 0);
  EXPECT_TRUE(svc->remove("berth-test-tmp"));
}

TEST(VolumeIntegration, CopyUpKeepsOwnersXattrsSymlinks) {
  REQUIRE_ROOT();
  test::Scratch s("volume-cu");
  std::string src = s.sub("img/etc");
  ASSERT_TRUE(mkdir_all(src + "/d"));
  ASSERT_TRUE(write_file(src + "/d/f", "data", 0604));
  ASSERT_EQ(lchown((src + "/d/f").c_str(), 1234, 5678), 0);
  ASSERT_EQ(lchown((src + "/d").c_str(), 42, 43), 0);
  ASSERT_EQ(symlink("/etc/passwd", (src + "/abs").c_str()), 0);
  ASSERT_EQ(lchown((src + "/abs").c_str(), 7, 8), 0);
  bool xattrs = setxattr((src + "/d/f").c_str(), "trusted.berth", "v", 1, 0) == 0;
  auto svc = VolumeService::open(s.sub("root"));
  ASSERT_TRUE(svc);
  auto v = svc->create("berth-test-cu", "local", {}, {});
  ASSERT_TRUE(v);
  ASSERT_TRUE(svc->copy_up("berth-test-cu", src));
  struct stat st{};
  ASSERT_EQ(lstat((v->mountpoint + "/d/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  EXPECT_EQ(st.st_mode & 07777, 0604u);
  ASSERT_EQ(lstat((v->mountpoint + "/d").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 42u);
  ASSERT_EQ(lstat((v->mountpoint + "/abs").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(st.st_uid, 7u);
  char buf[16];
  ASSERT_EQ(readlink((v->mountpoint + "/abs").c_str(), buf, sizeof buf), 11);
  if (xattrs) {
    char val[8];
    EXPECT_EQ(getxattr((v->mountpoint + "/d/f").c_str(), "trusted.berth", val, sizeof val), 1);
  }
}

TEST(VolumeIntegration, KilledCopyUpLeavesNoHalfVolume) {
  REQUIRE_ROOT();
  test::Scratch s("volume-crash");
  std::string src = s.sub("img");
  for (int d = 0; d < 20; ++d) {
    ASSERT_TRUE(mkdir_all(src + "/d" + std::to_string(d)));
    for (int f = 0; f < 50; ++f)
      ASSERT_TRUE(write_file(src + "/d" + std::to_string(d) + "/f" + std::to_string(f),
                             std::string(4096, 'a')));
  }
  {
    auto svc = VolumeService::open(s.sub("root"));
    ASSERT_TRUE(svc);
    ASSERT_TRUE(svc->create("berth-test-crash", "local", {}, {}));
  }
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto svc = VolumeService::open(s.sub("root"));
    _exit(svc && svc->copy_up("berth-test-crash", src) ? 0 : 1);
  }
  usleep(30 * 1000);  // copy of 1000 fsync'd files takes far longer
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  auto svc = VolumeService::open(s.sub("root"));
  ASSERT_TRUE(svc);
  auto v = svc->inspect("berth-test-crash");
  ASSERT_TRUE(v);
  EXPECT_FALSE(path_exists(s.sub("root/volumes/berth-test-crash/_data.copyup")));
  // Either untouched (empty) or complete.
  int n = 0;
  for (int d = 0; d < 20; ++d)
    for (int f = 0; f < 50; ++f)
      n += path_exists(v->mountpoint + "/d" + std::to_string(d) + "/f" + std::to_string(f));
  EXPECT_TRUE(n == 0 || n == 1000) << n;
  // A fresh copy-up now completes.
  ASSERT_TRUE(svc->copy_up("berth-test-crash", src));
  EXPECT_TRUE(path_exists(v->mountpoint + "/d19/f49"));
}

TEST(VolumeIntegration, NfsWithoutAddrIsClearError) {
  test::Scratch s("volume-nfs");
  auto svc = VolumeService::open(s.path());
  ASSERT_TRUE(svc);
  ASSERT_TRUE(svc->create("berth-test-nfs", "local",
                          {{"type", "nfs"}, {"device", ":/export"}, {"o", "rw"}}, {}));
  auto spec = svc->mount_spec("berth-test-nfs");
  ASSERT_FALSE(spec);
  EXPECT_NE(spec.error().message().find("addr="), std::string::npos);
}

// A volume with driver options is filled while mounted (its _data is a mount point).
TEST(VolumeIntegration, CopyUpIntoMountedVolumeInPlace) {
  REQUIRE_ROOT();
  test::Scratch s("volume-cu-mounted");
  std::string src = s.sub("img/srv");
  ASSERT_TRUE(mkdir_all(src + "/sub"));
  ASSERT_TRUE(write_file(src + "/sub/f", "image data", 0640));
  ASSERT_EQ(lchown((src + "/sub/f").c_str(), 1234, 5678), 0);
  ASSERT_EQ(chmod(src.c_str(), 0751), 0);
  ASSERT_EQ(lchown(src.c_str(), 42, 43), 0);
  auto svc = VolumeService::open(s.sub("root"));
  ASSERT_TRUE(svc);
  ASSERT_TRUE(svc->create("berth-test-mcu", "local", {{"type", "tmpfs"}, {"device", "tmpfs"}, {"o", "size=4m"}}, {}));
  auto spec = svc->mount_spec("berth-test-mcu");
  ASSERT_TRUE(spec);
  auto mount = [&] {
    return ::mount(spec->device.c_str(), spec->source.c_str(), spec->fstype.c_str(), spec->flags, spec->data.c_str());
  };
  ASSERT_EQ(mount(), 0) << strerror(errno);
  auto st = svc->copy_up("berth-test-mcu", src);
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(read_file(spec->source + "/sub/f").value_or(""), "image data");
  struct stat sb{};
  ASSERT_EQ(lstat((spec->source + "/sub/f").c_str(), &sb), 0);
  EXPECT_EQ(sb.st_uid, 1234u);
  EXPECT_EQ(sb.st_mode & 07777, 0640u);
  ASSERT_EQ(lstat(spec->source.c_str(), &sb), 0);
  EXPECT_EQ(sb.st_uid, 42u);
  EXPECT_EQ(sb.st_mode & 07777, 0751u);
  EXPECT_FALSE(path_exists(spec->source + "/.berth-copyup"));
  EXPECT_FALSE(path_exists(s.sub("root/volumes/berth-test-mcu/copyup.publishing")));
  // non-empty: a second copy-up leaves it alone
  ASSERT_TRUE(write_file(spec->source + "/sub/f", "changed"));
  ASSERT_TRUE(svc->copy_up("berth-test-mcu", src));
  EXPECT_EQ(read_file(spec->source + "/sub/f").value_or(""), "changed");
  ASSERT_EQ(umount2(spec->source.c_str(), MNT_DETACH), 0);

  // interrupted while publishing (marker written, one entry moved): the next copy-up finishes
  ASSERT_TRUE(write_file(src + "/top", "t"));
  ASSERT_EQ(mount(), 0) << strerror(errno);
  std::string stage = spec->source + "/.berth-copyup";
  ASSERT_TRUE(mkdir_all(stage + "/sub"));
  ASSERT_TRUE(write_file(stage + "/sub/f", "image data"));
  ASSERT_TRUE(write_file(spec->source + "/top", "t"));  // already moved
  ASSERT_TRUE(write_file(s.sub("root/volumes/berth-test-mcu/copyup.publishing"), ""));
  ASSERT_TRUE(svc->copy_up("berth-test-mcu", src));
  EXPECT_EQ(read_file(spec->source + "/sub/f").value_or(""), "image data");
  EXPECT_EQ(read_file(spec->source + "/top").value_or(""), "t");
  EXPECT_FALSE(path_exists(stage));
  EXPECT_FALSE(path_exists(s.sub("root/volumes/berth-test-mcu/copyup.publishing")));
  ASSERT_EQ(umount2(spec->source.c_str(), MNT_DETACH), 0);

  // interrupted while copying (no marker): the half copy is dropped and the copy starts over
  ASSERT_EQ(mount(), 0) << strerror(errno);
  ASSERT_TRUE(mkdir_all(stage));
  ASSERT_TRUE(write_file(stage + "/half", "x"));
  ASSERT_TRUE(svc->copy_up("berth-test-mcu", src));
  EXPECT_FALSE(path_exists(spec->source + "/half"));
  EXPECT_EQ(read_file(spec->source + "/sub/f").value_or(""), "image data");
  EXPECT_FALSE(path_exists(stage));
  ASSERT_EQ(umount2(spec->source.c_str(), MNT_DETACH), 0);
  EXPECT_TRUE(svc->remove("berth-test-mcu"));
}
