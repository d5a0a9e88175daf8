// SPDX-License-Identifier: Apache-2.0
#include "common/digest.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace berth {
namespace {

TEST(Digest, KnownVectors) {
  EXPECT_EQ(digest_of("").str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(digest_of("abc", DigestAlgo::Sha512).hex().substr(0, 16), "ddaf35a193617aba");
}

// The portable rounds and the SHA-extension rounds (where the CPU has them) agree.
TEST(Digest, PortableSha256MatchesTheDefaultPath) {
  std::string data;
  for (int i = 0; i < 5000; ++i) data.push_back(static_cast<char>(i * 31 + 7));
  std::vector<Digest> fast;
  for (std::size_t n : {0, 3, 55, 56, 64, 65, 1000, 5000}) fast.push_back(digest_of(std::string_view(data).substr(0, n)));
  force_portable_sha256_for_tests(true);
  std::size_t k = 0;
  for (std::size_t n : {0, 3, 55, 56, 64, 65, 1000, 5000})
    EXPECT_EQ(digest_of(std::string_view(data).substr(0, n)), fast[k++]) << n;
  EXPECT_EQ(digest_of("abc").hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  force_portable_sha256_for_tests(false);
}

TEST(Digest, Fips180Vectors) {
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  const std::string million(1000000, 'a');
  EXPECT_EQ(digest_of("abc").hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(digest_of(two_blocks).hex(), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(digest_of(million).hex(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  EXPECT_EQ(digest_of("abc", DigestAlgo::Sha512).hex(),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
  EXPECT_EQ(digest_of(million, DigestAlgo::Sha512).hex(),
            "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb"
            "de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b");
}

// Every split of inputs around the block and padding boundaries hashes as the whole.
TEST(Digest, AnySplitEqualsOneShot) {
  std::string data;
  for (int i = 0; i < 300; ++i) data.push_back(static_cast<char>(i * 7 + 3));
  for (auto algo : {DigestAlgo::Sha256, DigestAlgo::Sha512}) {
    for (std::size_t n : {0, 1, 55, 56, 63, 64, 65, 111, 112, 127, 128, 129, 200, 300}) {
      std::string_view whole(data.data(), n);
      Digest want = digest_of(whole, algo);
      for (std::size_t cut = 0; cut <= n; cut += 13) {
        Hasher h(algo);
        h.update(whole.substr(0, cut));
        h.update(whole.substr(cut));
        EXPECT_EQ(h.finish(), want) << n << " split at " << cut;
      }
    }
  }
}

TEST(Digest, StreamingEqualsOneShot) {
  Hasher h;
  h.update("hello ");
  h.update("world");
  EXPECT_EQ(h.finish(), digest_of("hello world"));
}

TEST(Digest, ParseValidates) {
  auto d = digest_of("x");
  auto p = Digest::parse(d.str());
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, d);
  EXPECT_EQ(p->short_id().size(), 12u);
  EXPECT_FALSE(Digest::parse("sha256:abc"));
  EXPECT_FALSE(Digest::parse("md5:" + d.hex()));
  std::string upper = d.str();
  upper[8] = 'A';
  EXPECT_FALSE(Digest::parse(upper));
  EXPECT_FALSE(Digest::parse("sha256:../../etc/passwd"));
}

std::string sha1_hex(std::string_view s) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (std::uint8_t b : sha1(s)) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

TEST(Sha1, Fips180Vectors) {
  EXPECT_EQ(sha1_hex(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(sha1_hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(sha1_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  EXPECT_EQ(sha1_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqr"
                     "lmnopqrsmnopqrstnopqrstu"),
            "a49b2446a02c645bf419f995b67091253a04a259");
  EXPECT_EQ(sha1_hex(std::string(1000000, 'a')), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

// Lengths around the padding boundaries (one or two final blocks); values from Python's hashlib.
TEST(Sha1, PaddingBoundaries) {
  const std::pair<std::size_t, const char*> want[] = {
      {55, "749bbefb28edc4638b28b2b9a9e03ab9a4032b90"},  {56, "a5b6e9c29d201c774753ff8e7fb64931656f5e63"},
      {63, "d1a454409359fc372b4d22b3cea6488d6ba1be00"},  {64, "39a0d8b645ad85f1f976731ed112ac9455e28b78"},
      {65, "d0c96e18890114a14716e9686528d2e3fdba8d9e"},  {119, "562ecf8a430f8e1056e3619bae33628e9a1d0a4e"},
      {120, "353f6d2bf0e91aa91b74a2e0b3f297510f7d825f"}, {128, "0060f2a7e34b6e4d459f560197ef93243732a400"}};
  for (auto [n, hex] : want) {
    std::string d;
    for (std::size_t i = 0; i < n; ++i) d.push_back(static_cast<char>((i * 31 + 7) & 0xff));
    EXPECT_EQ(sha1_hex(d), hex) << n;
  }
}

}  // namespace
}  // namespace berth
