// SPDX-License-Identifier: Apache-2.0
#include "content/store.hpp"

#include <gtest/gtest.h>

#include "common/file.hpp"

namespace berth::content {
namespace {

class ContentStore : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = *TempDir::create("/tmp", "berth-test-content-");
    store_ = std::move(*Store::open(tmp_.path()));
  }
  TempDir tmp_;
  std::unique_ptr<Store> store_;
};

TEST_F(ContentStore, PutVerifiesAndReads) {
  auto d = store_->put("hello");
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, digest_of("hello"));
  EXPECT_EQ(*store_->read(*d), "hello");
  EXPECT_EQ(*store_->size(*d), 5);
  auto bad = store_->put("x", digest_of("y"));
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().is(Errc::DataLoss));
  EXPECT_FALSE(store_->exists(digest_of("x")));
}

TEST_F(ContentStore, WriterRejectsWrongSizeOrDigest) {
  auto w = *store_->writer("ref1");
  ASSERT_TRUE(w->write("abc"));
  auto r = w->commit(digest_of("abc"), 4);
  ASSERT_FALSE(r);
  EXPECT_FALSE(store_->exists(digest_of("abc")));
  auto w2 = *store_->writer("ref2");
  ASSERT_TRUE(w2->write("abc"));
  EXPECT_FALSE(w2->commit(digest_of("abd")));
}

TEST_F(ContentStore, ResumesPartialIngest) {
  {
    auto w = *store_->writer("sha256:resume");
    ASSERT_TRUE(w->write("hello "));
    // dropped without commit: the partial data stays for resumption
  }
  auto w = *store_->writer("sha256:resume");
  EXPECT_EQ(w->offset(), 6);
  ASSERT_TRUE(w->write("world"));
  auto d = w->commit(digest_of("hello world"), 11);
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(*store_->read(*d), "hello world");
}

TEST_F(ContentStore, ConcurrentWriterOnSameRefRefused) {
  auto w = *store_->writer("same");
  auto w2 = store_->writer("same");
  EXPECT_FALSE(w2);
}

TEST_F(ContentStore, GcKeepsRootsAndLeases) {
  auto a = *store_->put("a"), b = *store_->put("b"), c = *store_->put("c");
  ASSERT_TRUE(store_->lease_add("pull-1", b));
  auto freed = store_->gc({a.str()});
  ASSERT_TRUE(freed);
  EXPECT_EQ(*freed, 1);
  EXPECT_TRUE(store_->exists(a));
  EXPECT_TRUE(store_->exists(b));
  EXPECT_FALSE(store_->exists(c));
  ASSERT_TRUE(store_->lease_drop("pull-1"));
  ASSERT_TRUE(store_->gc({a.str()}));
  EXPECT_FALSE(store_->exists(b));
}

TEST_F(ContentStore, ReopenAfterCrashDropsLeasesAndScratchIngestsKeepsResumable) {
  auto a = *store_->put("a");
  ASSERT_TRUE(store_->lease_add("pull-dead", a));
  std::string hex(64, 'a');
  {
    auto w1 = *store_->writer("sha256:" + hex);  // a download's ingest: resumable
    ASSERT_TRUE(w1->write("part"));
    auto w2 = *store_->writer("import-123");     // scratch ingest of a killed import
    ASSERT_TRUE(w2->write("part"));
  }
  store_ = std::move(*Store::open(tmp_.path()));  // as after kill -9
  EXPECT_TRUE(store_->leases().empty());
  ASSERT_TRUE(store_->gc({}));
  EXPECT_FALSE(store_->exists(a));
  EXPECT_EQ(store_->ingests(), std::vector<std::string>{"sha256-" + hex});
  EXPECT_TRUE(Store::resumable_ingest("sha256-" + hex));
  EXPECT_FALSE(Store::resumable_ingest("put-0123"));
  auto w = *store_->writer("sha256:" + hex);
  EXPECT_EQ(w->offset(), 4);
}

}  // namespace
}  // namespace berth::content
