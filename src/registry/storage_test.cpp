// SPDX-License-Identifier: Apache-2.0
#include "registry/storage.hpp"

#include <sys/stat.h>
#include <utime.h>

#include <atomic>
#include <cstring>
#include <thread>

#include <gtest/gtest.h>

#include "common/file.hpp"

namespace berth::registry {
namespace {

ByteSource from_string(std::string s) {
  auto data = std::make_shared<std::string>(std::move(s));
  auto pos = std::make_shared<std::size_t>(0);
  return [data, pos](char* buf, std::size_t n) -> Result<std::size_t> {
    std::size_t k = std::min(n, data->size() - *pos);
    std::memcpy(buf, data->data() + *pos, k);
    *pos += k;
    return k;
  };
}

class StorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::move(*TempDir::create("/tmp", "berth-test-registry-"));
    StorageOptions o;
    o.root = dir_.path() + "/root";
    s_ = std::move(*Storage::open(o));
  }
  Digest put(const std::string& repo, const std::string& data) {
    Digest d = digest_of(data);
    auto r = s_->put_blob(repo, d, from_string(data));
    EXPECT_TRUE(r) << r.error().message;
    return d;
  }
  std::string image_manifest(const Digest& cfg, const std::vector<Digest>& layers,
                             const std::string& extra = "") {
    std::string m = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
                    cfg.str() + R"(","size":2},"layers":[)";
    for (std::size_t i = 0; i < layers.size(); ++i)
      m += (i ? "," : "") + std::string(R"({"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":")") +
           layers[i].str() + R"(","size":1})";
    return m + "]" + extra + "}";
  }
  TempDir dir_;
  std::unique_ptr<Storage> s_;
};

TEST_F(StorageTest, MonolithicBlobAndDedup) {
  Digest d = put("a/b", "hello");
  auto st = s_->stat_blob("a/b", d);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->size, 5u);
  EXPECT_EQ(*read_file(st->path), "hello");
  // Not linked into another repo until pushed or mounted there.
  EXPECT_EQ(s_->stat_blob("c", d).error().code, Code::BlobUnknown);
  put("c", "hello");
  EXPECT_EQ(s_->stat_blob("c", d)->path, st->path);  // one copy of the content
}

TEST_F(StorageTest, WrongDigestChangesNothing) {
  Digest wrong = digest_of("other");
  auto r = s_->put_blob("a", wrong, from_string("hello"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::DigestInvalid);
  EXPECT_EQ(r.error().status(), 400);
  EXPECT_FALSE(s_->have_blob(wrong));
  EXPECT_FALSE(s_->have_blob(digest_of("hello")));
}

TEST_F(StorageTest, ChunkedUploadWithRanges) {
  auto up = s_->start_upload("r");
  ASSERT_TRUE(up);
  auto a = s_->append_upload("r", up->uuid, 0, 3, from_string("abc"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->offset, 3u);
  // Out-of-order range: 416 and nothing changes.
  auto bad = s_->append_upload("r", up->uuid, 5, 3, from_string("xyz"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().status(), 416);
  EXPECT_EQ(s_->upload_status("r", up->uuid)->offset, 3u);
  // Truncated chunk (Content-Length 5, 2 bytes sent): rolled back.
  auto trunc = s_->append_upload("r", up->uuid, 3, 5, from_string("de"));
  ASSERT_FALSE(trunc);
  EXPECT_EQ(trunc.error().code, Code::BlobUploadInvalid);
  EXPECT_EQ(s_->upload_status("r", up->uuid)->offset, 3u);
  ASSERT_TRUE(s_->append_upload("r", up->uuid, 3, std::nullopt, from_string("def")));
  // Wrong repository cannot see the session.
  EXPECT_EQ(s_->upload_status("other", up->uuid).error().code, Code::BlobUploadUnknown);
  auto fin = s_->finish_upload("r", up->uuid, digest_of("abcdef"));
  ASSERT_TRUE(fin) << fin.error().message;
  EXPECT_EQ(fin->size, 6u);
  EXPECT_EQ(s_->upload_status("r", up->uuid).error().code, Code::BlobUploadUnknown);
}

TEST_F(StorageTest, UploadSurvivesRestart) {
  auto up = s_->start_upload("r");
  ASSERT_TRUE(s_->append_upload("r", up->uuid, 0, std::nullopt, from_string("part1-")));
  StorageOptions o = s_->options();
  s_.reset();
  s_ = std::move(*Storage::open(o));
  EXPECT_EQ(s_->upload_status("r", up->uuid)->offset, 6u);
  ASSERT_TRUE(s_->append_upload("r", up->uuid, 6, std::nullopt, from_string("part2")));
  ASSERT_TRUE(s_->finish_upload("r", up->uuid, digest_of("part1-part2")));
}

TEST_F(StorageTest, PurgeStaleUploads) {
  auto up = s_->start_upload("r");
  auto fresh = s_->start_upload("r");
  std::string data = s_->options().root + "/uploads/" + up->uuid + "/data";
  struct utimbuf old{1000, 1000};
  ASSERT_EQ(::utime(data.c_str(), &old), 0);
  EXPECT_EQ(s_->purge_uploads(std::chrono::seconds(3600)), 1u);
  EXPECT_FALSE(s_->upload_status("r", up->uuid));
  EXPECT_TRUE(s_->upload_status("r", fresh->uuid));
}

TEST_F(StorageTest, BadUuidIsUnknown) {
  EXPECT_EQ(s_->upload_status("r", "../../etc").error().code, Code::BlobUploadUnknown);
}

TEST_F(StorageTest, ManifestPutGetTagsDelete) {
  Digest cfg = put("app", "{}");
  Digest l1 = put("app", "L");
  std::string m = image_manifest(cfg, {l1});
  auto p = s_->put_manifest("app", "v1", "application/vnd.oci.image.manifest.v1+json", m);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->digest, digest_of(m));
  auto g = s_->get_manifest("app", "v1");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->content, m);
  EXPECT_EQ(g->media_type, "application/vnd.oci.image.manifest.v1+json");
  EXPECT_TRUE(s_->get_manifest("app", p->digest.str()));
  ASSERT_TRUE(s_->put_manifest("app", "v2", "", m));
  EXPECT_EQ(*s_->list_tags("app"), (std::vector<std::string>{"v1", "v2"}));
  EXPECT_EQ(s_->list_tags("nope").error().code, Code::NameUnknown);
  EXPECT_EQ(s_->catalog(), std::vector<std::string>{"app"});
  // Delete a tag, then the manifest (which removes the remaining tag).
  ASSERT_TRUE(s_->delete_manifest("app", "v1"));
  EXPECT_EQ(s_->get_manifest("app", "v1").error().code, Code::ManifestUnknown);
  ASSERT_TRUE(s_->delete_manifest("app", p->digest.str()));
  EXPECT_EQ(s_->get_manifest("app", "v2").error().code, Code::ManifestUnknown);
  EXPECT_EQ(s_->get_manifest("app", p->digest.str()).error().code, Code::ManifestUnknown);
}

TEST_F(StorageTest, ManifestValidation) {
  Digest cfg = put("app", "{}");
  std::string missing = image_manifest(cfg, {digest_of("never pushed")});
  auto r = s_->put_manifest("app", "v1", "", missing);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::ManifestBlobUnknown);
  EXPECT_EQ(s_->put_manifest("app", "v1", "", "not json").error().code, Code::ManifestInvalid);
  std::string big = image_manifest(cfg, {}, R"(,"annotations":{"x":")" + std::string(5 << 20, 'a') + "\"}");
  EXPECT_EQ(s_->put_manifest("app", "v1", "", big).error().status(), 413);
  std::string m = image_manifest(cfg, {});
  EXPECT_EQ(s_->put_manifest("app", digest_of("x").str(), "", m).error().code, Code::DigestInvalid);
  EXPECT_EQ(s_->put_manifest("app", "v1", "text/plain", m).error().code, Code::ManifestInvalid);
  EXPECT_EQ(s_->put_manifest("app", "v1", "text/plain", R"({"schemaVersion":2,"layers":[]})").error().status(), 415);
  EXPECT_EQ(s_->put_manifest("app", "bad/tag", "", m).error().code, Code::ManifestInvalid);
  // Nothing was stored by the failures.
  EXPECT_FALSE(s_->have_blob(digest_of(missing)));
  EXPECT_EQ(s_->list_tags("app")->size(), 0u);
}

TEST_F(StorageTest, IndexNeedsChildren) {
  Digest cfg = put("app", "{}");
  std::string child = image_manifest(cfg, {});
  Digest cd = digest_of(child);
  std::string idx = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
                    cd.str() + R"(","size":1}]})";
  EXPECT_EQ(s_->put_manifest("app", "multi", "", idx).error().code, Code::ManifestBlobUnknown);
  ASSERT_TRUE(s_->put_manifest("app", cd.str(), "", child));
  ASSERT_TRUE(s_->put_manifest("app", "multi", "", idx));
}

TEST_F(StorageTest, Referrers) {
  Digest cfg = put("app", "{}");
  std::string subj = image_manifest(cfg, {});
  auto sd = s_->put_manifest("app", "v1", "", subj)->digest;
  std::string sig = image_manifest(cfg, {}, R"(,"artifactType":"application/x-sig","subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
                                                sd.str() + R"(","size":1},"annotations":{"k":"v"})");
  auto p = s_->put_manifest("app", digest_of(sig).str(), "", sig);
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->subject);
  EXPECT_EQ(*p->subject, sd);
  auto idx = s_->referrers("app", sd, "");
  ASSERT_TRUE(idx);
  EXPECT_NE(idx->find(R"("artifactType":"application/x-sig")"), std::string::npos) << *idx;
  EXPECT_NE(idx->find(digest_of(sig).str()), std::string::npos);
  EXPECT_NE(idx->find(R"("k":"v")"), std::string::npos);
  EXPECT_EQ(s_->referrers("app", sd, "application/other")->find(digest_of(sig).str()), std::string::npos);
  ASSERT_TRUE(s_->delete_manifest("app", digest_of(sig).str()));
  EXPECT_EQ(s_->referrers("app", sd, "")->find(digest_of(sig).str()), std::string::npos);
}

TEST_F(StorageTest, MountAndDeleteDisabled) {
  Digest d = put("src", "layer");
  EXPECT_EQ(s_->mount_blob("dst", d, "other").error().code, Code::BlobUnknown);
  ASSERT_TRUE(s_->mount_blob("dst", d, "src"));
  ASSERT_TRUE(s_->stat_blob("dst", d));
  ASSERT_TRUE(s_->mount_blob("dst2", d, ""));
  ASSERT_TRUE(s_->delete_blob("dst", d));
  EXPECT_FALSE(s_->stat_blob("dst", d));
  StorageOptions o = s_->options();
  o.delete_enabled = false;
  s_ = std::move(*Storage::open(o));
  EXPECT_EQ(s_->delete_blob("src", d).error().code, Code::Unsupported);
  o.readonly = true;
  s_ = std::move(*Storage::open(o));
  EXPECT_EQ(s_->start_upload("x").error().code, Code::Unsupported);
  EXPECT_TRUE(s_->stat_blob("src", d));
}

TEST_F(StorageTest, GarbageCollection) {
  Digest cfg = put("app", "{}");
  Digest keep = put("app", "kept layer");
  Digest orphan = put("app", "orphan layer");
  Digest young = put("app", "young orphan");
  std::string m = image_manifest(cfg, {keep});
  ASSERT_TRUE(s_->put_manifest("app", "v1", "", m));
  std::string untagged = image_manifest(cfg, {orphan});
  ASSERT_TRUE(s_->put_manifest("app", digest_of(untagged).str(), "", untagged));
  // Age everything but `young`.
  for (const Digest& d : {cfg, keep, orphan, digest_of(m), digest_of(untagged)}) {
    struct utimbuf old{1000, 1000};
    ASSERT_EQ(::utime(s_->blob_path(d).c_str(), &old), 0);
  }
  GcOptions o;
  o.dry_run = true;
  o.delete_untagged = true;
  auto dry = s_->collect_garbage(o);
  ASSERT_TRUE(dry);
  EXPECT_EQ(dry->blobs_deleted, 2u);  // untagged manifest + its orphan layer
  EXPECT_TRUE(s_->have_blob(orphan));
  o.dry_run = false;
  auto rep = s_->collect_garbage(o);
  ASSERT_TRUE(rep) << rep.error().message;
  EXPECT_EQ(rep->manifests_deleted, 1u);
  EXPECT_FALSE(s_->have_blob(orphan));
  EXPECT_FALSE(s_->have_blob(digest_of(untagged)));
  EXPECT_TRUE(s_->have_blob(young));  // inside the grace period
  EXPECT_TRUE(s_->have_blob(keep));
  EXPECT_TRUE(s_->have_blob(cfg));
  EXPECT_TRUE(s_->get_manifest("app", "v1"));
  EXPECT_FALSE(s_->stat_blob("app", orphan));
}

// Online GC racing pushes (grace 0, the worst case): a manifest put either fails with
// MANIFEST_BLOB_UNKNOWN (its blob was swept first) or every blob it references survives.
TEST_F(StorageTest, OnlineGcNeverBreaksAcknowledgedManifests) {
  StorageOptions so = s_->options();
  so.fsync = false;  // speed only; the locking is what is under test
  s_ = std::move(*Storage::open(so));
  Digest cfg = put("app", "{}");
  ASSERT_TRUE(s_->put_manifest("app", "base", "", image_manifest(cfg, {})));
  std::atomic<bool> stop{false};
  std::thread gc([&] {
    GcOptions o;
    o.grace = std::chrono::seconds(0);  // everything unreferenced is eligible at once
    while (!stop) ASSERT_TRUE(s_->collect_garbage(o));
  });
  std::vector<std::pair<std::string, Digest>> acked;
  int refused = 0;
  for (int i = 0; i < 40; ++i) {
    std::string data = "layer " + std::to_string(i);
    Digest d = digest_of(data);
    if (!s_->put_blob("app", d, from_string(data))) continue;
    auto m = s_->put_manifest("app", "t" + std::to_string(i), "", image_manifest(cfg, {d}));
    if (m) acked.emplace_back("t" + std::to_string(i), d);
    else if (m.error().code == Code::ManifestBlobUnknown) ++refused;
    else ADD_FAILURE() << m.error().message;
  }
  stop = true;
  gc.join();
  GcOptions o;
  o.grace = std::chrono::seconds(0);
  ASSERT_TRUE(s_->collect_garbage(o));
  for (auto& [tag, d] : acked) {
    auto gm = s_->get_manifest("app", tag);
    ASSERT_TRUE(gm) << tag << ": " << gm.error().message;
    EXPECT_TRUE(s_->have_blob(d)) << tag;
    EXPECT_TRUE(s_->stat_blob("app", d)) << tag;
  }
  EXPECT_TRUE(s_->have_blob(cfg));
  EXPECT_GT(acked.size(), 0u);
  RecordProperty("refused", refused);
}

}  // namespace
}  // namespace berth::registry
