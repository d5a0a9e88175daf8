// SPDX-License-Identifier: Apache-2.0
#include "common/strings.hpp"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(Strings, SplitAndJoin) {
  auto v = split("a,,b", ',');
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[1], "");
  EXPECT_EQ(join(v, "-"), "a--b");
  auto [k, val] = split_once("KEY=a=b", '=');
  EXPECT_EQ(k, "KEY");
  EXPECT_EQ(val, "a=b");
  EXPECT_EQ(trim("  x y \n"), "x y");
}

TEST(Strings, ChangeCase) {
  EXPECT_EQ(to_upper("tcp/Udp-1_x"), "TCP/UDP-1_X");
  EXPECT_EQ(to_lower("TCP/Udp-1_X"), "tcp/udp-1_x");
  EXPECT_EQ(to_upper(""), "");
  EXPECT_EQ(to_upper("\xc3\xa9"), "\xc3\xa9");  // bytes outside ASCII are left alone
}

TEST(Strings, ParseBytesLikeDocker) {
  EXPECT_EQ(parse_bytes("512k"), 512 * 1024);
  EXPECT_EQ(parse_bytes("1g"), 1024LL * 1024 * 1024);
  EXPECT_EQ(parse_bytes("100MB"), 100LL * 1024 * 1024);
  EXPECT_EQ(parse_bytes("1.5m"), 1536 * 1024);
  EXPECT_EQ(parse_bytes("42"), 42);
  EXPECT_FALSE(parse_bytes("x"));
  EXPECT_FALSE(parse_bytes("10q"));
  EXPECT_FALSE(parse_bytes(""));
}

TEST(Strings, HumanSize) {
  EXPECT_EQ(human_size(0), "0B");
  EXPECT_EQ(human_size(1536), "1.536kB");
  EXPECT_EQ(human_size(4.2e6), "4.2MB");
}

TEST(Strings, ParseInt) {
  EXPECT_EQ(parse_int("-5"), -5);
  EXPECT_FALSE(parse_int("5x"));
  EXPECT_FALSE(parse_uint("-1"));
}

TEST(Strings, JsonEscape) {
  EXPECT_EQ(json_escape("a\"b\\c\n\x01"), "a\\\"b\\\\c\\n\\u0001");
}

TEST(Strings, RandomHex) {
  auto a = random_hex(12), b = random_hex(12);
  EXPECT_EQ(a.size(), 12u);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace berth
