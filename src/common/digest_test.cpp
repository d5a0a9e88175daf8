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

}  // namespace
}  // namespace berth
