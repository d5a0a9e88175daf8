// SPDX-License-Identifier: Apache-2.0
#include "shim/shim_log.hpp"

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
