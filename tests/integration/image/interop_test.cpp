// SPDX-License-Identifier: Apache-2.0
// Interop with the real thing, each peer started privately for the test and skipped (with the
// reason) when it is not installed: Debian's docker-registry (push, pull, push back, pull again:
// identical digests) and dockerd (an archive berth saves loads in dockerd as the same image, and
// one dockerd saves loads in berth; dockerd pulls what berth pushed).
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/file.hpp"
#include "common/strings.hpp"
#include "image/image_service.hpp"
#include "support/test_support.hpp"
#include "third_party.hpp"

namespace berth::image {
namespace {

using json = nlohmann::json;

class InteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    if (test::image_path("busybox", "oci").empty()) GTEST_FAIL() << "run make test-images";
    scratch_ = std::make_unique<test::Scratch>("interop");
  }
  std::unique_ptr<ImageService> open_store(const std::string& name) {
    ServiceOptions o;
    o.root = scratch_->sub(name);
    o.driver = "overlay2";
    auto s = ImageService::open(o);
    EXPECT_TRUE(s) << s.error().message();
    return s ? std::move(*s) : nullptr;
  }
  Status load(ImageService& s, const std::string& path) {
    auto fd = TRY(open_file(path, O_RDONLY));
    TRY(s.load(fd.get(), nullptr));
    return ok();
  }
  void expect_rootfs_has(ImageService& s, const std::string& image, const std::string& file) {
    auto ms = s.prepare_rootfs(image, "berth-test-interop");
    ASSERT_TRUE(ms) << ms.error().message();
    std::string target = scratch_->sub("mnt");
    ASSERT_TRUE(mkdir_all(target));
    auto& m = (*ms)[0];
    int rc = m.type == "bind" ? ::mount(m.source.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr)
                              : ::mount(m.source.c_str(), target.c_str(), m.type.c_str(), 0,
                                        join(m.options, ",").c_str());
    ASSERT_EQ(rc, 0) << strerror(errno);
    EXPECT_TRUE(path_exists(target + file));
    ::umount2(target.c_str(), MNT_DETACH);
    EXPECT_TRUE(s.remove_rootfs("berth-test-interop"));
  }
  std::unique_ptr<test::Scratch> scratch_;
};

// push -> pull -> push back -> pull again against distribution's registry: one manifest digest
// and one image id all the way (the registry's own Docker-Content-Digest agrees).
TEST_F(InteropTest, DockerRegistryPushPullPushBackIdenticalDigests) {
  test::DockerRegistry reg;
  if (auto why = reg.start(scratch_->sub("registry")); !why.empty()) GTEST_SKIP() << why;
  for (const char* name : {"busybox", "debian"}) {
    std::string tar = test::images_dir() + "/" + name + ".tar";
    if (!path_exists(tar)) continue;
    SCOPED_TRACE(name);
    auto a = open_store(std::string("a-") + name);
    ASSERT_TRUE(load(*a, tar));
    std::string local = std::string(name) == "busybox" ? "busybox:latest" : "debian:bookworm";
    std::string id = a->resolve(local)->id;
    std::string repo = std::string("berth-test/") + name;
    std::string ref1 = reg.host() + "/" + repo + ":v1";
    ASSERT_TRUE(a->tag(local, ref1));
    auto st = a->push(ref1, "", nullptr);
    ASSERT_TRUE(st) << st.error().message();
    std::string d1 = reg.manifest_digest(repo, "v1");
    ASSERT_TRUE(d1.starts_with("sha256:")) << "registry has no manifest for v1";
    EXPECT_EQ(json::parse(*a->inspect(ref1))["RepoDigests"][0], reg.host() + "/" + repo + "@" + d1);

    auto b = open_store(std::string("b-") + name);
    auto pulled = b->pull(ref1, {}, nullptr);
    ASSERT_TRUE(pulled) << pulled.error().message();
    EXPECT_EQ(*pulled, id);
    std::string ref2 = reg.host() + "/" + repo + ":v2";
    ASSERT_TRUE(b->tag(ref1, ref2));
    st = b->push(ref2, "", nullptr);
    ASSERT_TRUE(st) << st.error().message();
    EXPECT_EQ(reg.manifest_digest(repo, "v2"), d1);

    auto c = open_store(std::string("c-") + name);
    auto again = c->pull(reg.host() + "/" + repo + "@" + d1, {}, nullptr);
    ASSERT_TRUE(again) << again.error().message();
    EXPECT_EQ(*again, id);
    auto by_tag = c->pull(ref2, {}, nullptr);
    ASSERT_TRUE(by_tag) << by_tag.error().message();
    EXPECT_EQ(*by_tag, id);
    EXPECT_EQ(json::parse(*c->inspect(ref2))["RepoDigests"][0], reg.host() + "/" + repo + "@" + d1);
    expect_rootfs_has(*c, id, std::string(name) == "busybox" ? "/bin/sh" : "/etc/debian_version");
  }
}

// berth save -> dockerd load, dockerd save -> berth load, and dockerd pulls what berth pushed
// to distribution's registry: the same image id everywhere.
TEST_F(InteropTest, DockerdLoadsBerthSaveAndBerthLoadsDockerdSave) {
  test::PrivateDockerd dockerd;
  if (auto why = dockerd.start(scratch_->sub("dockerd")); !why.empty()) GTEST_SKIP() << why;
  auto a = open_store("a");
  ASSERT_TRUE(load(*a, test::images_dir() + "/busybox.tar"));
  std::string id = a->resolve("busybox")->id;
  ASSERT_TRUE(a->tag("busybox", "berth-test/saved:v1"));
  std::string saved = scratch_->sub("berth-saved.tar");
  {
    auto fd = open_file(saved, O_WRONLY | O_CREAT | O_TRUNC);
    ASSERT_TRUE(a->save({"berth-test/saved:v1"}, fd->get()));
  }
  auto r = dockerd.api({"-sS", "-X", "POST", "-H", "Content-Type: application/x-tar", "--data-binary",
                        "@" + saved, "http://d/images/load?quiet=1"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("berth-test/saved:v1"), std::string::npos) << r.out;
  r = dockerd.api({"-sf", "http://d/images/berth-test/saved:v1/json"});
  ASSERT_EQ(r.status, 0) << "dockerd does not know the loaded image";
  auto dj = json::parse(r.out);
  EXPECT_EQ(dj["Id"], id);
  auto bj = json::parse(*a->inspect("berth-test/saved:v1"));
  EXPECT_EQ(dj["RootFS"]["Layers"], bj["RootFS"]["Layers"]);

  // The other way: dockerd's own save (its legacy layout: <id>/layer.tar, json, VERSION).
  ASSERT_EQ(dockerd.api({"-sf", "-X", "POST", "http://d/images/berth-test/saved:v1/tag?repo=berth-test/fromdocker&tag=v2"}).status, 0);
  std::string dsaved = scratch_->sub("dockerd-saved.tar");
  r = dockerd.api({"-sf", "-o", dsaved, "http://d/images/get?names=berth-test/fromdocker:v2"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto b = open_store("b");
  auto fd = open_file(dsaved, O_RDONLY);
  ASSERT_TRUE(fd);
  auto loaded = b->load(fd->get(), nullptr);
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(*loaded, std::vector<std::string>{"berth-test/fromdocker:v2"});
  EXPECT_EQ(b->resolve("berth-test/fromdocker:v2")->id, id);
  expect_rootfs_has(*b, id, "/bin/sh");

  // dockerd pulls from distribution's registry what berth pushed there.
  test::DockerRegistry reg;
  if (auto why = reg.start(scratch_->sub("registry")); !why.empty()) GTEST_SKIP() << why;
  std::string ref = reg.host() + "/berth-test/pushed:v1";
  ASSERT_TRUE(a->tag("busybox", ref));
  ASSERT_TRUE(a->push(ref, "", nullptr));
  r = dockerd.api({"-sSf", "-X", "POST", "http://d/images/create?fromImage=" + reg.host() +
                                             "/berth-test/pushed&tag=v1"});
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  r = dockerd.api({"-sf", "http://d/images/" + ref + "/json"});
  ASSERT_EQ(r.status, 0);
  EXPECT_EQ(json::parse(r.out)["Id"], id);
  EXPECT_EQ(json::parse(r.out)["RepoDigests"], json::parse(*a->inspect(ref))["RepoDigests"]);
}

}  // namespace
}  // namespace berth::image
