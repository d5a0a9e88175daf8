// SPDX-License-Identifier: Apache-2.0
// The probe and the test images are the ground truth for every later suite: check that they
// exist and that the probe reports what the kernel says, using only unshare(1) and chroot(8).
#include <gtest/gtest.h>

#include "support/test_support.hpp"

namespace berth {
namespace {

TEST(Probe, ReportsHostnameInsideNewUtsNamespace) {
  REQUIRE_ROOT();
  REQUIRE_IMAGE("busybox");
  auto rootfs = test::image_path("busybox", "rootfs");
  auto r = test::run({"unshare", "--uts", "--", "chroot", rootfs, "/bin/sh", "-c",
                      "hostname berth-probe-host && /bin/probe uts"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("\"hostname\":\"berth-probe-host\""), std::string::npos) << r.out;
}

TEST(Probe, AllSectionsFormOneJsonObject) {
  REQUIRE_ROOT();
  REQUIRE_IMAGE("busybox");
  auto rootfs = test::image_path("busybox", "rootfs");
  auto r = test::run({"chroot", rootfs, "/bin/probe"});
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* key : {"\"ids\"", "\"caps\"", "\"nnp\"", "\"seccomp\"", "\"rlimits\"",
                          "\"mounts\"", "\"cgroup\"", "\"ns\"", "\"env\"", "\"cwd\"", "\"umask\"",
                          "\"fds\""}) {
    EXPECT_NE(r.out.find(key), std::string::npos) << key;
  }
  auto e = test::run({"chroot", rootfs, "/bin/probe", "exit", "7"});
  EXPECT_EQ(e.status, 7);
}

TEST(TestImages, OciLayoutsAreComplete) {
  for (const char* img : {"busybox", "debian"}) {
    auto oci = test::image_path(img, "oci");
    ASSERT_FALSE(oci.empty()) << img;
    EXPECT_TRUE(path_exists(oci + "/index.json"));
    EXPECT_TRUE(path_exists(oci + "/oci-layout"));
    EXPECT_TRUE(path_exists(oci + "/manifest.json"));
    EXPECT_TRUE(path_exists(test::images_dir() + "/" + img + ".tar"));
  }
}

}  // namespace
}  // namespace berth
