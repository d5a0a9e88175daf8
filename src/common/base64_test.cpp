// SPDX-License-Identifier: Apache-2.0
#include "common/base64.hpp"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(Base64, Rfc4648Vectors) {
  const char* plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
  const char* enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(base64_encode(plain[i]), enc[i]);
    EXPECT_EQ(base64_decode(enc[i]).value_or("?"), plain[i]);
  }
  EXPECT_EQ(base64_encode("fo", false, false), "Zm8");
}

TEST(Base64, UrlAlphabetAndErrors) {
  std::string bytes = "\xfb\xff\xfe";
  EXPECT_EQ(base64_encode(bytes), "+//+");
  EXPECT_EQ(base64_encode(bytes, true), "-__-");
  EXPECT_EQ(base64_decode("-__-").value_or("?"), bytes);
  EXPECT_EQ(base64_decode("+//+").value_or("?"), bytes);
  EXPECT_FALSE(base64_decode("ab$c"));
}

}  // namespace
}  // namespace berth
