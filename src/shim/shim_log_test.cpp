// SPDX-License-Identifier: Apache-2.0
#include "shim/shim_log.hpp"

#include <cstdio>
#include <ctime>

#include <gtest/gtest.h>

#include "common/file.hpp"

namespace berth::shim {
namespace {

TEST(ShimLog, JsonFileLinesAndRotation) {
  auto d = TempDir::create("/tmp", "berth-test-shimlog-");
  ASSERT_TRUE(d);
  std::string p = d->path() + "/c-json.log";
  {
    LogWriter w("json-file", p, 300, 3);
    w.open();
    w.write(1, "hel");
    w.write(1, "lo\nwor");
    w.write(2, "err \"q\"\n");
    w.flush_partial(1);
  }
  auto s = read_file(p);
  ASSERT_TRUE(s);
  EXPECT_NE(s->find(R"({"log":"hello\n","stream":"stdout","time":")"), std::string::npos);
  EXPECT_NE(s->find(R"({"log":"err \"q\"\n","stream":"stderr")"), std::string::npos);
  EXPECT_NE(s->find(R"({"log":"wor","stream":"stdout")"), std::string::npos);
  {
    LogWriter w("json-file", p, 300, 3);
    w.open();
    for (int i = 0; i < 20; ++i) w.write(1, "line " + std::to_string(i) + "\n");
  }
  EXPECT_TRUE(path_exists(p + ".1"));
  EXPECT_TRUE(path_exists(p + ".2"));
  EXPECT_FALSE(path_exists(p + ".3"));
  auto cur = read_file(p);
  ASSERT_TRUE(cur);
  EXPECT_LE(cur->size(), 300u);
  EXPECT_NE(cur->find("line 19"), std::string::npos);
}

TEST(ShimLog, NoneWritesNothing) {
  auto d = TempDir::create("/tmp", "berth-test-shimlog-");
  ASSERT_TRUE(d);
  {
    LogWriter w("none", d->path() + "/x.log", 0, 1);
    w.open();
    w.write(1, "x\n");
  }
  EXPECT_FALSE(path_exists(d->path() + "/x.log"));
}

}  // namespace
}  // namespace berth::shim

TEST(ShimLog, Rfc3339NanoAgreesWithGmtime) {
  EXPECT_EQ(berth::shim::rfc3339nano({0, 0}), "1970-01-01T00:00:00.000000000Z");
  EXPECT_EQ(berth::shim::rfc3339nano({1795423629, 123456789}), "2026-11-23T08:47:09.123456789Z");
  EXPECT_EQ(berth::shim::rfc3339nano({951782400, 5}), "2000-02-29T00:00:00.000000005Z");  // a leap day
  // 1900-2199 (both sides of 1970, the 2000 and 2100 century rules) in steps of 8 days less a
  // second, so every weekday and time of day comes round: against glibc
  for (long long t = -2208988800LL; t < 7258118400LL; t += 86400 * 7 + 86399) {
    time_t tt = static_cast<time_t>(t);
    struct tm tm{};
    ASSERT_NE(gmtime_r(&tt, &tm), nullptr);
    char want[64];
    std::snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.000000001Z", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    ASSERT_EQ(berth::shim::rfc3339nano({tt, 1}), want) << t;
  }
}
