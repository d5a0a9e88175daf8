// SPDX-License-Identifier: Apache-2.0
#include "storage/reader.hpp"

#include <gtest/gtest.h>

#include "storage/test_tar.hpp"

namespace berth::storage {
namespace {

std::string read_all(Reader& r) {
  std::string out;
  char buf[1000];
  for (;;) {
    auto k = r.read(buf, sizeof buf);
    EXPECT_TRUE(k) << k.error().message();
    if (!k || *k == 0) break;
    out.append(buf, *k);
  }
  return out;
}

std::string sample_tar(const std::string& filter) {
  std::string big;
  for (int i = 0; i < 20000; ++i) big += std::to_string(i * 7919) + "\n";
  return testing::TarBuilder(filter).file("a.txt", big).dir("d").finish();
}

TEST(Reader, DetectsAndDecompressesGzipAndZstd) {
  std::string plain = sample_tar("");
  for (auto [filter, want] : {std::pair{"gzip", Compression::Gzip}, {"zstd", Compression::Zstd},
                              {"", Compression::None}}) {
    Compression got;
    auto r = decompressed(string_reader(sample_tar(filter)), &got);
    ASSERT_TRUE(r);
    EXPECT_EQ(got, want) << filter;
    EXPECT_EQ(read_all(**r), plain) << filter;
  }
}

TEST(Reader, HashesWhatPassesThrough) {
  std::string plain = sample_tar("");
  auto r = *decompressed(string_reader(sample_tar("gzip")));
  HashingReader h(*r);
  char buf[10];
  ASSERT_TRUE(h.read(buf, sizeof buf));
  auto d = h.drain_and_finish();
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, digest_of(plain));
  EXPECT_EQ(h.total(), plain.size());
}

TEST(Reader, CorruptGzipIsDataLoss) {
  std::string gz = sample_tar("gzip");
  gz[gz.size() / 2] ^= 0x55;
  gz[gz.size() / 2 + 1] ^= 0x55;
  auto r = *decompressed(string_reader(gz));
  char buf[4096];
  bool failed = false;
  for (int i = 0; i < 10000; ++i) {
    auto k = r->read(buf, sizeof buf);
    if (!k) {
      failed = true;
      EXPECT_TRUE(k.error().is(Errc::DataLoss));
      break;
    }
    if (*k == 0) break;
  }
  EXPECT_TRUE(failed);
}

TEST(Reader, TruncatedGzipFails) {
  std::string gz = sample_tar("gzip");
  gz.resize(gz.size() / 2);
  auto r = *decompressed(string_reader(gz));
  char buf[4096];
  bool failed = false;
  for (int i = 0; i < 10000; ++i) {
    auto k = r->read(buf, sizeof buf);
    if (!k) {
      failed = true;
      break;
    }
    if (*k == 0) break;
  }
  EXPECT_TRUE(failed);
}

}  // namespace
}  // namespace berth::storage
