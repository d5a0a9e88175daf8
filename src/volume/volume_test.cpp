// SPDX-License-Identifier: Apache-2.0
#include "volume/volume.hpp"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/file.hpp"

using namespace berth;
using namespace berth::volume;

namespace {
struct Tmp {
  std::string path;
  Tmp() {
    char t[] = "/tmp/berth-test-volume-XXXXXX";
    path = mkdtemp(t);
  }
  ~Tmp() { (void)remove_all(path); }
};
}  // namespace

TEST(VolumeName, DockerRule) {
  EXPECT_TRUE(validate_name("ab"));
  EXPECT_TRUE(validate_name("my_vol.1-x"));
  EXPECT_FALSE(validate_name("a"));
  EXPECT_FALSE(validate_name("_ab"));
  EXPECT_FALSE(validate_name("a/b"));
  auto e = validate_name("/x");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message().find("includes invalid characters for a local volume name"),
            std::string::npos);
  EXPECT_EQ(generate_anonymous_name().size(), 64u);
  EXPECT_TRUE(validate_name(generate_anonymous_name()));
}

TEST(VolumeOpts, ParsesMountStyle) {
  auto m = parse_driver_opts({{"type", "tmpfs"}, {"device", "tmpfs"}, {"o", "size=1m,uid=1000,noexec,rw"}});
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->data, "size=1m,uid=1000");
  EXPECT_EQ(m->flags, static_cast<unsigned long>(MS_NOEXEC));
  auto b = parse_driver_opts({{"type", "none"}, {"device", "/srv"}, {"o", "bind"}});
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->bind);
  EXPECT_FALSE(parse_driver_opts({{"bogus", "1"}}));
  EXPECT_FALSE(parse_driver_opts({{"type", "tmpfs"}}));  // missing device
  EXPECT_TRUE(parse_driver_opts({}));
}

TEST(VolumeFilters, Match) {
  Volume v;
  v.name = "data1";
  v.labels = {{"a", "1"}, {"b", ""}};
  EXPECT_TRUE(*matches(v, {{"dangling", {"true"}}}));
  EXPECT_FALSE(*matches(v, {{"dangling", {"false"}}}));
  EXPECT_TRUE(*matches(v, {{"label", {"a=1"}}, {"name", {"ata"}}}));
  EXPECT_FALSE(*matches(v, {{"label", {"a=2"}}}));
  EXPECT_TRUE(*matches(v, {{"label", {"b"}}}));
  EXPECT_TRUE(*matches(v, {{"driver", {"local"}}}));
  EXPECT_FALSE(*matches(v, {{"driver", {"nfs"}}}));
  EXPECT_FALSE(matches(v, {{"bogus", {"x"}}}));
  EXPECT_FALSE(matches(v, {{"dangling", {"maybe"}}}));
}

TEST(VolumeService, CreateInspectListRemove) {
  Tmp t;
  auto svc = VolumeService::open(t.path);
  ASSERT_TRUE(svc) << svc.error().message();
  auto v = svc->create("berth-test-v1", "local", {}, {{"k", "v"}});
  ASSERT_TRUE(v) << v.error().message();
  EXPECT_EQ(v->mountpoint, t.path + "/volumes/berth-test-v1/_data");
  EXPECT_TRUE(path_exists(v->mountpoint));
  ASSERT_TRUE(write_file(v->mountpoint + "/f", std::string(10000, 'x')));
  auto anon = svc->create("", "", {}, {});
  ASSERT_TRUE(anon);
  EXPECT_EQ(anon->name.size(), 64u);
  EXPECT_FALSE(svc->create("x/y", "local", {}, {}));
  EXPECT_FALSE(svc->create("berth-test-v2", "nfsplugin", {}, {}));

  auto in = svc->inspect("berth-test-v1", true);
  ASSERT_TRUE(in);
  ASSERT_TRUE(in->size.has_value());
  EXPECT_GE(*in->size, 10000);
  auto j = nlohmann::json::parse(to_docker_json(*in));
  EXPECT_EQ(j["Name"], "berth-test-v1");
  EXPECT_EQ(j["Driver"], "local");
  EXPECT_EQ(j["Scope"], "local");
  EXPECT_EQ(j["Labels"]["k"], "v");
  EXPECT_EQ(j["UsageData"]["RefCount"], 0);

  auto l = svc->list({{"label", {"k=v"}}});
  ASSERT_TRUE(l);
  ASSERT_EQ(l->size(), 1u);
  EXPECT_EQ((*l)[0].name, "berth-test-v1");
  EXPECT_EQ(svc->list()->size(), 2u);

  // in use -> refused, even with force; refcount survives reopen
  ASSERT_TRUE(svc->acquire("berth-test-v1", "c1"));
  auto svc2 = VolumeService::open(t.path);
  ASSERT_TRUE(svc2);
  auto r = svc2->remove("berth-test-v1", true);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(Errc::Conflict));
  EXPECT_EQ(svc2->list({{"dangling", {"false"}}})->size(), 1u);
  ASSERT_TRUE(svc2->release("berth-test-v1", "c1"));

  // prune: only anonymous unless all=true
  auto p = svc2->prune();
  ASSERT_TRUE(p);
  ASSERT_EQ(p->deleted.size(), 1u);
  EXPECT_EQ(p->deleted[0], anon->name);
  auto p2 = svc2->prune({{"all", {"true"}}});
  ASSERT_TRUE(p2);
  ASSERT_EQ(p2->deleted.size(), 1u);
  EXPECT_GE(p2->reclaimed, 10000u);
  EXPECT_TRUE(svc2->list()->empty());
  auto rm = svc2->remove("berth-test-v1");
  ASSERT_FALSE(rm);
  EXPECT_TRUE(rm.error().is(Errc::NotFound));
  EXPECT_TRUE(svc2->remove("berth-test-v1", true));
}

TEST(VolumeService, StagingDebrisRemovedOnOpen) {
  Tmp t;
  ASSERT_TRUE(mkdir_all(t.path + "/volumes/.staging-half-1234/_data"));
  auto svc = VolumeService::open(t.path);
  ASSERT_TRUE(svc);
  EXPECT_FALSE(path_exists(t.path + "/volumes/.staging-half-1234"));
  EXPECT_TRUE(svc->list()->empty());
}

TEST(VolumeService, CopyUpKeepsModesAndSymlinks) {
  Tmp t;
  std::string src = t.path + "/src";
  ASSERT_TRUE(mkdir_all(src + "/sub"));
  ASSERT_TRUE(write_file(src + "/sub/file", "hello", 0640));
  ASSERT_EQ(symlink("sub/file", (src + "/link").c_str()), 0);
  ASSERT_EQ(chmod((src + "/sub").c_str(), 0711), 0);
  auto svc = VolumeService::open(t.path + "/root");
  ASSERT_TRUE(svc);
  auto v = svc->create("berth-test-cu", "local", {}, {});
  ASSERT_TRUE(v);
  ASSERT_TRUE(svc->copy_up("berth-test-cu", src));
  struct stat st{};
  ASSERT_EQ(lstat((v->mountpoint + "/sub/file").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  ASSERT_EQ(lstat((v->mountpoint + "/sub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0711u);
  ASSERT_EQ(lstat((v->mountpoint + "/link").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(*read_file(v->mountpoint + "/link"), "hello");
  // not empty any more: second copy-up is a no-op
  ASSERT_TRUE(write_file(src + "/new", "x"));
  ASSERT_TRUE(svc->copy_up("berth-test-cu", src));
  EXPECT_FALSE(path_exists(v->mountpoint + "/new"));
}
