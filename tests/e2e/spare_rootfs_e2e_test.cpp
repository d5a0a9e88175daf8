// SPDX-License-Identifier: Apache-2.0
// The spare rootfs (src/daemon/spare_rootfs.cpp): after a container of an image has started,
// berthd makes and mounts the rootfs of the next one ahead, under a container id not used yet,
// and the next create of that image takes it. It is invisible to the API, never keeps its image
// from being removed, and nothing of it is left after a stop, a kill -9 and restart, or a
// removal of its image.
#include <dirent.h>

#include <chrono>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "e2e/docker_e2e.hpp"

namespace berth::test {
namespace {

class SpareRootfs : public DockerE2E {
 protected:
  void SetUp() override {
    start_berthd("e2e-spare");
    if (IsSkipped() || HasFatalFailure()) return;
  }

  // Ids of the bundles under the exec root that hold a mounted rootfs.
  std::set<std::string> mounted_bundles() const {
    std::set<std::string> out;
    std::string under = d_->exec_root() + "/containers/";
    for (auto line : split(read_file("/proc/self/mountinfo").value_or(""), '\n')) {
      auto f = split(line, ' ');
      if (f.size() < 5 || f[4].rfind(under, 0) != 0) continue;
      std::string rest = f[4].substr(under.size());
      if (rest.size() == 64 + 7 && rest.substr(64) == "/rootfs") out.insert(rest.substr(0, 64));
    }
    return out;
  }
  std::set<std::string> container_ids() {
    auto r = docker({"ps", "-aq", "--no-trunc"});
    EXPECT_EQ(r.status, 0) << r.err;
    std::set<std::string> out;
    for (auto& l : split(std::string(trim(r.out)), '\n'))
      if (!l.empty()) out.insert(l);
    return out;
  }
  // The one mounted rootfs that no container has, waited for up to 5 s ("" if none came).
  std::string wait_spare() {
    for (int i = 0; i < 500; ++i) {
      auto ids = container_ids();
      for (const auto& m : mounted_bundles())
        if (!ids.count(m)) return m;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return {};
  }
  std::size_t layer_records() const {
    std::size_t n = 0;
    if (DIR* d = ::opendir((d_->data_root() + "/image/containers").c_str())) {
      while (auto* e = ::readdir(d)) n += std::string(e->d_name).size() > 5;
      ::closedir(d);
    }
    return n;
  }
};

TEST_F(SpareRootfs, TheNextCreateOfTheImageTakesIt) {
  auto r = docker({"run", "--rm", "--network", "none", "busybox", "true"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::string spare = wait_spare();
  ASSERT_FALSE(spare.empty()) << d_->log();
  // not a container for the API
  EXPECT_NE(docker({"inspect", spare}).status, 0);
  EXPECT_EQ(container_ids().size(), 0u);
  // the next create of busybox gets its id, and its rootfs is the image's
  auto c = docker({"create", "--network", "none", "busybox", "sh", "-c", "echo hi > /f; cat /f; ls /bin/busybox"});
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_EQ(std::string(trim(c.out)), spare);
  auto s = docker({"start", "-a", spare});
  EXPECT_EQ(s.status, 0) << s.err;
  EXPECT_EQ(s.out, "hi\n/bin/busybox\n");
  // its writable layer is its own: the diff shows the file it wrote
  auto d = docker({"diff", spare});
  EXPECT_NE(d.out.find("A /f"), std::string::npos) << d.out;
  EXPECT_EQ(docker({"rm", spare}).status, 0);
  // a create that fails after it took the spare leaves nothing of it
  std::string taken = wait_spare();
  ASSERT_FALSE(taken.empty());
  auto bad = docker({"create", "--network", "none", "--mount", "type=bind,source=/berth-test-no-such-dir,target=/x", "busybox", "true"});
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.err.find("/berth-test-no-such-dir"), std::string::npos) << bad.err;
  EXPECT_FALSE(mounted_bundles().count(taken));
  EXPECT_FALSE(path_exists(d_->exec_root() + "/containers/" + taken));
  EXPECT_FALSE(path_exists(d_->data_root() + "/image/containers/" + taken + ".json"));
  // a size-limited layer is never the spare (its limit is set before anything is written)
  ASSERT_EQ(docker({"run", "--rm", "--network", "none", "busybox", "true"}).status, 0);
  std::string next = wait_spare();
  ASSERT_FALSE(next.empty());
  auto so = docker({"create", "--network", "none", "--storage-opt", "size=64m", "busybox", "true"});
  if (so.status == 0) {
    EXPECT_NE(std::string(trim(so.out)), next);
    EXPECT_EQ(docker({"rm", std::string(trim(so.out))}).status, 0);
  }
  // made or refused (no quota on this filesystem), it left the spare where it was
  EXPECT_TRUE(mounted_bundles().count(next));
  EXPECT_NE(docker({"inspect", next}).status, 0);
}

TEST_F(SpareRootfs, ImageRemovalIsNotHeldUpAndLeavesNothing) {
  auto r = docker({"run", "--rm", "--network", "none", "busybox", "true"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::string spare = wait_spare();
  ASSERT_FALSE(spare.empty()) << d_->log();
  auto rmi = docker({"rmi", "busybox"});
  EXPECT_EQ(rmi.status, 0) << rmi.err;
  EXPECT_TRUE(mounted_bundles().empty());
  EXPECT_EQ(layer_records(), 0u);
  EXPECT_FALSE(path_exists(d_->exec_root() + "/containers/" + spare));
  auto imgs = docker({"images", "-q"});
  EXPECT_EQ(std::string(trim(imgs.out)), "");
  // and the image comes back as usual
  ASSERT_EQ(docker({"load", "-i", images_dir() + "/busybox.tar"}).status, 0);
  auto again = docker({"run", "--rm", "--network", "none", "busybox", "echo", "back"});
  EXPECT_EQ(again.out, "back\n") << again.err;
}

TEST_F(SpareRootfs, NothingIsLeftAfterAStopOrAKill) {
  ASSERT_EQ(docker({"run", "--rm", "--network", "none", "busybox", "true"}).status, 0);
  std::string spare = wait_spare();
  ASSERT_FALSE(spare.empty()) << d_->log();
  EXPECT_EQ(d_->term(), 0);
  EXPECT_TRUE(mounted_bundles().empty());
  EXPECT_FALSE(path_exists(d_->exec_root() + "/containers/" + spare));
  EXPECT_EQ(layer_records(), 0u);

  ASSERT_TRUE(d_->start()) << d_->log();
  ASSERT_EQ(docker({"run", "--rm", "--network", "none", "busybox", "true"}).status, 0);
  spare = wait_spare();
  ASSERT_FALSE(spare.empty()) << d_->log();
  d_->kill9();
  ASSERT_TRUE(d_->start()) << d_->log();  // its collect_garbage removes what the spare was
  EXPECT_TRUE(mounted_bundles().empty());
  EXPECT_FALSE(path_exists(d_->exec_root() + "/containers/" + spare));
  EXPECT_EQ(layer_records(), 0u);
  EXPECT_EQ(docker({"run", "--rm", "--network", "none", "busybox", "echo", "ok"}).out, "ok\n");
}

}  // namespace
}  // namespace berth::test
