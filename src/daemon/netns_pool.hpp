// SPDX-License-Identifier: Apache-2.0
// Network namespaces with only `lo` (up), held by bind mounts: what a container with
// NetworkMode none gets (dockerd's "none" sandbox has loopback up too), and a pool of them made
// ahead. Making a netns costs 0.4-1 ms (the kernel's per-netns set-up: sysctl tables, lo, the
// netfilter hooks); a container's start takes a ready one from the pool instead (a bind mount)
// and a background thread makes the next. The pool is filled once the first container asked for
// one (an idle berthd holds none), up to two, and emptied when the daemon stops. Spares live in
// their own directory (<exec-root>/netns-spare/spare-<n>); an earlier berthd's are dropped at start.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/result.hpp"

namespace berth::daemon {

// A netns held by a bind mount at `path` (a new file), with lo up.
Status make_netns(const std::string& path);
// Unmounts and removes what make_netns made (missing is fine).
void drop_netns(const std::string& path);

class NetnsPool {
 public:
  explicit NetnsPool(std::string dir);
  ~NetnsPool();  // finishes the pending drops, drops the spares
  NetnsPool(const NetnsPool&) = delete;
  NetnsPool& operator=(const NetnsPool&) = delete;

  // A loopback-only netns at `path`: a spare moved there, or a new one when none is ready.
  Status take(const std::string& path);
  // drop_netns(path) on the pool's thread, kDropDelay from now: the last reference to a netns
  // going starts the kernel's teardown of it (a worker thread, RCU grace periods and their IPIs
  // to every CPU), which a container's exit, `docker run --rm`'s wait for its removal and the
  // client's own exit right after need not share the CPUs with; several due at once are torn
  // down together. Done before the pool goes away.
  void drop_later(const std::string& path);
  // The pending drops are done now (in the background still).
  void drop_due();
  // Returns once no drop of `path` is pending (before a netns is made there again): a pending
  // one is done at once.
  void wait_dropped(const std::string& path);

 private:
  void loop();
  void start_locked();

  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t kSpares = 2;
  static constexpr auto kDropDelay = std::chrono::milliseconds(40);
  struct PendingDrop {
    std::string path;
    Clock::time_point due;
  };
  std::string dir_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> spares_;
  std::vector<PendingDrop> drops_;  // pending, the one being dropped first
  std::thread worker_;
  bool filling_ = false;  // a container asked for one: keep kSpares ready
  bool stop_ = false;
  unsigned seq_ = 0;
};

}  // namespace berth::daemon
