// SPDX-License-Identifier: Apache-2.0
// NetnsPool (src/daemon/netns_pool.hpp) on the real kernel: a taken netns is a bind mount of a
// netns with lo up; drop_later leaves it for kDropDelay, wait_dropped and drop_due end that at
// once, and the pool dropped leaves no mount or file behind, spares included.
#include "daemon/netns_pool.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "support/test_support.hpp"

namespace berth::daemon {
namespace {

using Clock = std::chrono::steady_clock;

// Mount points in this mount namespace at or below `prefix`.
int mounts_under(const std::string& prefix) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    // "<id> <parent> <maj:min> <root> <mount point> ..."
    std::size_t at = 0;
    for (int field = 0; field < 4 && at != std::string::npos; ++field) at = line.find(' ', at + 1);
    if (at == std::string::npos) continue;
    std::string point = line.substr(at + 1, line.find(' ', at + 1) - at - 1);
    if (point == prefix || point.rfind(prefix + "/", 0) == 0) ++n;
  }
  return n;
}

// `path` is a netns (an nsfs file) as seen through its bind mount.
bool is_netns(const std::string& path) {
  struct statfs fs {};
  return ::statfs(path.c_str(), &fs) == 0 && fs.f_type == NSFS_MAGIC;
}

// Waits up to `limit` for `path` to be gone (unmounted and unlinked).
bool gone_within(const std::string& path, std::chrono::milliseconds limit) {
  auto until = Clock::now() + limit;
  while (Clock::now() < until) {
    if (!std::filesystem::exists(path) && mounts_under(path) == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

TEST(NetnsPool, DropsLaterAtOnceOnDemandAndAllWhenGone) {
  REQUIRE_ROOT();
  test::Scratch dir("netnspool");
  const std::string spares = dir.sub("spare");
  const std::string a = dir.sub("ns/a"), b = dir.sub("ns/b"), c = dir.sub("ns/c"), d = dir.sub("ns/d");
  {
    NetnsPool pool(spares);
    ASSERT_TRUE(pool.take(a)) << "take a";
    ASSERT_TRUE(pool.take(b)) << "take b";
    EXPECT_TRUE(is_netns(a));
    EXPECT_TRUE(is_netns(b));
    EXPECT_EQ(mounts_under(a), 1);

    // A drop waits for its delay...
    auto t0 = Clock::now();
    pool.drop_later(a);
    bool mounted = mounts_under(a) == 1;
    if (Clock::now() - t0 < std::chrono::milliseconds(30)) {
      EXPECT_TRUE(mounted) << "dropped before its delay";
    }
    // ...unless someone wants the path back: then it is done before wait_dropped returns.
    pool.wait_dropped(a);
    EXPECT_EQ(mounts_under(a), 0);
    EXPECT_FALSE(std::filesystem::exists(a));
    pool.wait_dropped(a);  // nothing pending: returns at once

    // drop_due: the pending drops go now, not a delay later.
    pool.drop_later(b);
    pool.drop_due();
    EXPECT_TRUE(gone_within(b, std::chrono::milliseconds(2000)));

    // and without either, after the delay
    ASSERT_TRUE(pool.take(c)) << "take c";
    pool.drop_later(c);
    EXPECT_TRUE(gone_within(c, std::chrono::milliseconds(5000)));

    // the pool keeps spares made ahead once asked (a background thread)
    auto until = Clock::now() + std::chrono::seconds(5);
    while (mounts_under(spares) == 0 && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_GT(mounts_under(spares), 0) << "no spare netns made ahead";

    ASSERT_TRUE(pool.take(d)) << "take d";
    pool.drop_later(d);  // still pending when the pool goes
  }
  EXPECT_EQ(mounts_under(dir.path()), 0) << "the pool left netns mounts behind";
  EXPECT_FALSE(std::filesystem::exists(d));
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(spares, ec)) ADD_FAILURE() << "left behind: " << e.path();
}

}  // namespace
}  // namespace berth::daemon
