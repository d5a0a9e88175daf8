// SPDX-License-Identifier: Apache-2.0
#include "common/digest.hpp"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(Digest, KnownVectors) {
  EXPECT_EQ(digest_of("").str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(digest_of("abc", DigestAlgo::Sha512).hex().substr(0, 16), "ddaf35a193617aba");
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
