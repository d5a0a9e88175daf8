// SPDX-License-Identifier: Apache-2.0
// ImageService against the real kernel, on both drivers: load the test images, inspect/list,
// prepare a container rootfs and mount it, changes/export/commit, save -> load round trip,
// import, tag/remove rules, malicious archives, and kill -9 during load.
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/file.hpp"
#include "common/strings.hpp"
#include "image/image_service.hpp"
#include "storage/test_tar.hpp"
#include "crash_util.hpp"
#include "support/test_support.hpp"

namespace berth::image {
namespace {

using json = nlohmann::json;

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

std::string tar_path(const std::string& name) { return test::images_dir() + "/" + name + ".tar"; }

class ImageServiceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    if (!path_exists(tar_path("busybox"))) GTEST_FAIL() << "run make test-images";
    scratch_ = std::make_unique<test::Scratch>("image-" + GetParam());
    reopen();
  }
  void reopen() {
    svc_.reset();
    ServiceOptions o;
    o.root = scratch_->sub("root");
    o.driver = GetParam();
    auto s = ImageService::open(o);
    ASSERT_TRUE(s) << s.error().message();
    svc_ = std::move(*s);
  }
  Result<std::vector<std::string>> load_file(const std::string& path,
                                             std::vector<std::string>* progress = nullptr) {
    auto fd = open_file(path, O_RDONLY);
    if (!fd) return fail(std::move(fd.error()));
    return svc_->load(fd->get(), [&](const Progress& p) {
      if (progress) progress->push_back(p.json);
    });
  }
  std::string mount_container(const std::string& image, const std::string& cid) {
    auto ms = svc_->prepare_rootfs(image, cid);
    EXPECT_TRUE(ms) << ms.error().message();
    std::string target = scratch_->sub("mnt-" + cid);
    EXPECT_TRUE(mkdir_all(target));
    auto s = do_mount(*ms, target);
    EXPECT_TRUE(s) << s.error().message();
    return target;
  }
  std::unique_ptr<test::Scratch> scratch_;
  std::unique_ptr<ImageService> svc_;
};

TEST_P(ImageServiceTest, LoadInspectListRun) {
  std::vector<std::string> progress;
  auto loaded = load_file(tar_path("busybox"), &progress);
  ASSERT_TRUE(loaded) << loaded.error().message();
  ASSERT_EQ(*loaded, std::vector<std::string>{"busybox:latest"});
  EXPECT_NE(progress.back().find("Loaded image: busybox:latest"), std::string::npos);

  auto r = svc_->resolve("busybox");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->repo_tags, std::vector<std::string>{"busybox:latest"});
  ASSERT_TRUE(r->config.config.cmd);
  EXPECT_EQ((*r->config.config.cmd)[0], "sh");
  EXPECT_EQ(svc_->resolve(r->id)->id, r->id);
  EXPECT_EQ(svc_->resolve(r->id.substr(7, 12))->id, r->id);
  EXPECT_EQ(svc_->resolve("docker.io/library/busybox:latest")->id, r->id);
  EXPECT_TRUE(svc_->resolve("busybox:nope").error().is(Errc::NotFound));

  auto ins = svc_->inspect("busybox");
  ASSERT_TRUE(ins) << ins.error().message();
  auto j = json::parse(*ins);
  EXPECT_EQ(j["Id"], r->id);
  EXPECT_EQ(j["RepoTags"][0], "busybox:latest");
  EXPECT_EQ(j["Os"], "linux");
  EXPECT_EQ(j["RootFS"]["Layers"].size(), 1u);
  EXPECT_EQ(j["Config"]["Cmd"][0], "sh");
  EXPECT_EQ(j["GraphDriver"]["Name"], GetParam());
  EXPECT_GT(j["Size"].get<std::int64_t>(), 1000000);

  auto l = svc_->list({});
  ASSERT_TRUE(l);
  ASSERT_EQ(l->size(), 1u);
  EXPECT_EQ((*l)[0].id, r->id);
  ListFilters f;
  f.references = {"busy*"};
  EXPECT_EQ(svc_->list(f)->size(), 1u);
  f.references = {"nothing*"};
  EXPECT_EQ(svc_->list(f)->size(), 0u);
  ListFilters dang;
  dang.dangling = true;
  EXPECT_EQ(svc_->list(dang)->size(), 0u);

  auto h = svc_->history("busybox");
  ASSERT_TRUE(h);
  ASSERT_EQ(h->size(), 1u);
  EXPECT_EQ((*h)[0].id, r->id);

  // Container rootfs: mount, see the files, write, diff, export, commit.
  std::string cid = "berth-test-c1";
  std::string m = mount_container("busybox", cid);
  EXPECT_TRUE(path_exists(m + "/bin/busybox"));
  EXPECT_TRUE(path_exists(m + "/bin/probe"));
  ASSERT_TRUE(write_file(m + "/root/hello.txt", "hi"));
  ASSERT_EQ(::unlink((m + "/etc/group").c_str()), 0);
  ::umount2(m.c_str(), MNT_DETACH);
  auto again = svc_->prepare_rootfs("busybox", cid);  // idempotent
  ASSERT_TRUE(again);

  auto ch = svc_->changes(cid);
  ASSERT_TRUE(ch) << ch.error().message();
  bool added = false, deleted = false;
  for (auto& [p, k] : *ch) {
    if (p == "/root/hello.txt" && k == 1) added = true;
    if (p == "/etc/group" && k == 2) deleted = true;
  }
  EXPECT_TRUE(added);
  EXPECT_TRUE(deleted);
  EXPECT_GE(*svc_->rootfs_usage(cid), 2);

  std::string exp = scratch_->sub("export.tar");
  {
    auto fd = open_file(exp, O_WRONLY | O_CREAT | O_TRUNC);
    ASSERT_TRUE(svc_->export_rootfs(cid, fd->get()));
  }
  auto listing = test::run({"tar", "-tf", exp});
  EXPECT_NE(listing.out.find("root/hello.txt"), std::string::npos);
  EXPECT_NE(listing.out.find("bin/busybox"), std::string::npos);
  EXPECT_EQ(listing.out.find("etc/group"), std::string::npos);

  // Removing an image in use is refused; the committed child works.
  auto rm = svc_->remove("busybox", false);
  ASSERT_FALSE(rm);
  EXPECT_TRUE(rm.error().is(Errc::Conflict));

  CommitOptions co;
  co.reference = "berth-test/committed:v1";
  co.changes = {"ENV COMMITTED=1", "CMD [\"cat\", \"/root/hello.txt\"]"};
  auto cimg = svc_->commit(cid, co);
  ASSERT_TRUE(cimg) << cimg.error().message();
  auto cr = svc_->resolve("berth-test/committed:v1");
  ASSERT_TRUE(cr);
  EXPECT_EQ(cr->config.diff_ids.size(), 2u);
  EXPECT_EQ((*cr->config.config.cmd)[0], "cat");
  std::string m2 = mount_container("berth-test/committed:v1", "berth-test-c2");
  EXPECT_EQ(*read_file(m2 + "/root/hello.txt"), "hi");
  EXPECT_FALSE(path_exists(m2 + "/etc/group"));
  ::umount2(m2.c_str(), MNT_DETACH);

  // Store survives reopen (a daemon restart).
  reopen();
  EXPECT_TRUE(svc_->rootfs_mounts(cid));
  EXPECT_EQ(svc_->list({})->size(), 2u);

  ASSERT_TRUE(svc_->remove_rootfs("berth-test-c2"));
  ASSERT_TRUE(svc_->remove_rootfs(cid));
  auto rm2 = svc_->remove("berth-test/committed:v1", false);
  ASSERT_TRUE(rm2) << rm2.error().message();
  auto rm3 = svc_->remove("busybox", false);
  ASSERT_TRUE(rm3) << rm3.error().message();
  EXPECT_EQ(rm3->back().deleted, r->id);
  EXPECT_TRUE(svc_->list({})->empty());
  EXPECT_EQ(test::run({"sh", "-c", "ls " + scratch_->sub("root/content/blobs/sha256") + " | wc -l"}).out, "0\n");
}

TEST_P(ImageServiceTest, SaveLoadRoundTripAndTags) {
  ASSERT_TRUE(load_file(tar_path("busybox")));
  ASSERT_TRUE(svc_->tag("busybox", "berth-test/bb:one"));
  ASSERT_TRUE(svc_->tag("busybox:latest", "localhost:5000/berth-test/bb"));
  auto id = svc_->resolve("busybox")->id;
  EXPECT_EQ(svc_->resolve("berth-test/bb:one")->id, id);
  auto rm = svc_->remove(id, false);  // by id with several tags: must force
  ASSERT_FALSE(rm);
  EXPECT_TRUE(rm.error().is(Errc::Conflict));
  auto un = svc_->remove("berth-test/bb:one", false);
  ASSERT_TRUE(un);
  EXPECT_EQ(un->size(), 1u);
  EXPECT_EQ((*un)[0].untagged, "berth-test/bb:one");

  std::string out = scratch_->sub("saved.tar");
  {
    auto fd = open_file(out, O_WRONLY | O_CREAT | O_TRUNC);
    auto s = svc_->save({"busybox", "localhost:5000/berth-test/bb"}, fd->get());
    ASSERT_TRUE(s) << s.error().message();
  }
  auto listing = test::run({"tar", "-tf", out}).out;
  EXPECT_NE(listing.find("manifest.json"), std::string::npos);
  EXPECT_NE(listing.find("index.json"), std::string::npos);
  EXPECT_NE(listing.find("repositories"), std::string::npos);

  // Into a fresh store: same id and tags.
  auto rm2 = svc_->remove(id, true);
  ASSERT_TRUE(rm2) << rm2.error().message();
  EXPECT_TRUE(svc_->list({})->empty());
  auto loaded = load_file(out);
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(loaded->size(), 2u);
  EXPECT_EQ(svc_->resolve("busybox")->id, id);
  EXPECT_EQ(svc_->resolve("localhost:5000/berth-test/bb:latest")->id, id);
  // Loading again is idempotent.
  ASSERT_TRUE(load_file(out));
  EXPECT_EQ(svc_->list({})->size(), 1u);
}

TEST_P(ImageServiceTest, ImportWithChanges) {
  std::string tar = storage::testing::TarBuilder("gzip")
                        .dir("bin")
                        .file("bin/hello", "#!/bin/sh\necho hi\n", 0755)
                        .finish();
  std::string path = scratch_->sub("rootfs.tar.gz");
  ASSERT_TRUE(write_file(path, tar));
  auto fd = open_file(path, O_RDONLY);
  ImportOptions io;
  io.reference = "berth-test/imported";
  io.changes = {"CMD [\"/bin/hello\"]", "ENV X=1"};
  auto id = svc_->import(fd->get(), io);
  ASSERT_TRUE(id) << id.error().message();
  auto r = svc_->resolve("berth-test/imported:latest");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->id, *id);
  EXPECT_EQ(r->config.config.env, std::vector<std::string>{"X=1"});
  std::string m = mount_container(*id, "berth-test-imp");
  EXPECT_EQ(*read_file(m + "/bin/hello"), "#!/bin/sh\necho hi\n");
  ::umount2(m.c_str(), MNT_DETACH);
}

TEST_P(ImageServiceTest, MaliciousArchiveLeavesStoreUntouched) {
  // A docker-archive whose layer tries to escape; the config's diff id is right, so only the
  // extraction's confinement stops it.
  std::string layer = storage::testing::TarBuilder().file("../../../../tmp/berth-test-pwned", "x").finish();
  std::string diff = digest_of(layer).str();
  std::string cfg = R"({"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[")" +
                    diff + R"("]}})";
  std::string man = R"([{"Config":"config.json","RepoTags":["berth-test/evil:latest"],"Layers":["layer.tar"]}])";
  std::string archive = storage::testing::TarBuilder()
                            .file("config.json", cfg)
                            .file("layer.tar", layer)
                            .file("manifest.json", man)
                            .finish();
  std::string path = scratch_->sub("evil.tar");
  ASSERT_TRUE(write_file(path, archive));
  auto r = load_file(path);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("leaves the layer root"), std::string::npos) << r.error().message();
  EXPECT_FALSE(path_exists("/tmp/berth-test-pwned"));
  EXPECT_TRUE(svc_->list({})->empty());

  // Wrong diff id: DataLoss, nothing registered.
  std::string good = storage::testing::TarBuilder().file("f", "x").finish();
  std::string archive2 = storage::testing::TarBuilder()
                             .file("config.json", cfg)
                             .file("layer.tar", good)
                             .file("manifest.json", man)
                             .finish();
  ASSERT_TRUE(write_file(path, archive2));
  auto r2 = load_file(path);
  ASSERT_FALSE(r2);
  EXPECT_TRUE(r2.error().is(Errc::DataLoss)) << r2.error().message();
  EXPECT_TRUE(svc_->list({})->empty());
  reopen();
  std::string drv_dir = scratch_->sub("root/" + GetParam());
  auto left = test::run({"sh", "-c", "find " + drv_dir + " -mindepth 2 -maxdepth 2 | grep -v -e '/l$' -e '/tmp$' | wc -l"});
  EXPECT_EQ(left.out, "0\n") << test::run({"find", drv_dir}).out;
}

// kill -9 during load at several moments (reading the archive, extracting, registering):
// the reopened store is consistent and holds no image or a complete one.
TEST_P(ImageServiceTest, KillDuringLoadLeavesConsistentStore) {
  if (!path_exists(tar_path("debian"))) GTEST_SKIP() << "debian test image missing";
  if (GetParam() != "overlay2") GTEST_SKIP() << "crash consistency is driver-independent; run once";
  std::string root = scratch_->sub("root");
  svc_.reset();
  auto load = [&](ImageService& s, const ProgressFn& p) {
    int fd = ::open(tar_path("debian").c_str(), O_RDONLY | O_CLOEXEC);
    return static_cast<bool>(s.load(fd, p));
  };
  for (int delay_ms : {50, 400, 1500, 3000}) {
    auto t0 = std::chrono::steady_clock::now();
    test_crash::kill_when(root, GetParam(), scratch_->sub("progress"), load, [&](const std::string&) {
      return std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(delay_ms);
    });
    reopen();
    test_crash::expect_consistent(*svc_, "after kill -9 during load at " + std::to_string(delay_ms) + " ms");
    auto l = svc_->list({});
    ASSERT_TRUE(l) << l.error().message();
    // Either no image or a complete one that gives a working rootfs.
    for (auto& img : *l) {
      std::string m = mount_container(img.id, "berth-test-k" + std::to_string(delay_ms));
      EXPECT_TRUE(path_exists(m + "/usr/bin/env"));
      ::umount2(m.c_str(), MNT_DETACH);
      ASSERT_TRUE(svc_->remove_rootfs("berth-test-k" + std::to_string(delay_ms)));
      ASSERT_TRUE(svc_->remove(img.id, true));  // the next round loads from scratch again
    }
    EXPECT_EQ(test::run({"sh", "-c", "ls " + root + "/tmp | wc -l"}).out, "0\n");
    svc_.reset();
  }
  reopen();
  // A complete load after the kills works.
  auto loaded = load_file(tar_path("debian"));
  ASSERT_TRUE(loaded) << loaded.error().message();
  test_crash::expect_consistent(*svc_, "after a complete load");
  auto m = mount_container("debian:bookworm", "berth-test-deb");
  EXPECT_TRUE(path_exists(m + "/etc/debian_version"));
  ::umount2(m.c_str(), MNT_DETACH);
}

// kill -9 during save (early, and half-way through the layer): the store is untouched and
// consistent, and a complete save afterwards loads into a fresh store as the same image.
TEST_P(ImageServiceTest, KillDuringSaveLeavesConsistentStore) {
  if (!path_exists(tar_path("debian"))) GTEST_SKIP() << "debian test image missing";
  if (GetParam() != "overlay2") GTEST_SKIP() << "crash consistency is driver-independent; run once";
  ASSERT_TRUE(load_file(tar_path("debian")));
  std::string id = svc_->resolve("debian:bookworm")->id;
  std::string root = scratch_->sub("root"), out = scratch_->sub("saved.tar");
  svc_.reset();
  auto save = [&](ImageService& s, const ProgressFn&) {
    int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    return static_cast<bool>(s.save({"debian:bookworm"}, fd));
  };
  for (std::int64_t at : {std::int64_t{1}, std::int64_t{25} << 20}) {
    ::unlink(out.c_str());
    auto r = test_crash::kill_when(root, GetParam(), scratch_->sub("progress"), save,
                                   [&](const std::string&) { return test_crash::file_size(out) >= at; });
    reopen();
    test_crash::expect_consistent(*svc_, "after kill -9 during save at " + std::to_string(at) + " bytes");
    EXPECT_EQ(svc_->resolve("debian:bookworm")->id, id);
    svc_.reset();
  }
  reopen();
  {
    auto fd = open_file(out, O_WRONLY | O_CREAT | O_TRUNC);
    ASSERT_TRUE(svc_->save({"debian:bookworm"}, fd->get()));
  }
  test_crash::expect_consistent(*svc_, "after a complete save");
  auto first = std::move(scratch_);  // keeps saved.tar until the end
  scratch_ = std::make_unique<test::Scratch>("image-save2-" + GetParam());
  reopen();
  auto loaded = load_file(out);
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(svc_->resolve("debian:bookworm")->id, id);
}

TEST_P(ImageServiceTest, SkopeoReadsSaveAndWritesLoad) {
  if (test::run({"sh", "-c", "command -v skopeo"}).status != 0) GTEST_SKIP() << "skopeo not installed";
  if (GetParam() != "overlay2") GTEST_SKIP() << "archive formats are driver-independent; run once";
  ASSERT_TRUE(load_file(tar_path("busybox")));
  std::string id = svc_->resolve("busybox")->id;
  std::string saved = scratch_->sub("saved.tar");
  {
    auto fd = open_file(saved, O_WRONLY | O_CREAT | O_TRUNC);
    ASSERT_TRUE(svc_->save({"busybox"}, fd->get()));
  }
  auto cp = test::run({"skopeo", "copy", "docker-archive:" + saved, "oci:" + scratch_->sub("sk-oci") + ":latest"});
  ASSERT_EQ(cp.status, 0) << cp.err;
  auto ins = test::run({"skopeo", "inspect", "--config", "oci:" + scratch_->sub("sk-oci") + ":latest"});
  ASSERT_EQ(ins.status, 0) << ins.err;
  EXPECT_NE(ins.out.find("diff_ids"), std::string::npos);
  // skopeo writes a docker-archive from the OCI layout; berth loads it as the same image.
  std::string sk = scratch_->sub("sk.tar");
  auto cp2 = test::run({"skopeo", "copy", "oci:" + test::image_path("busybox", "oci"),
                        "docker-archive:" + sk + ":berth-test/skopeo:v1"});
  ASSERT_EQ(cp2.status, 0) << cp2.err;
  auto loaded = load_file(sk);
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(svc_->resolve("berth-test/skopeo:v1")->id, id);
}

INSTANTIATE_TEST_SUITE_P(Drivers, ImageServiceTest, ::testing::Values("overlay2", "vfs"));

}  // namespace
}  // namespace berth::image
