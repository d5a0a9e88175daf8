// SPDX-License-Identifier: Apache-2.0
// Hides the kernel's grace-period wait of the first cgroup migration behind other work.
//
// Moving a task into a cgroup (a write to cgroup.procs) takes the kernel's global
// cgroup_threadgroup_rwsem for writing. Unless a hierarchy is mounted with `favordynmods`, that
// semaphore is kept in reader-fast mode, and a writer first waits one RCU grace period to leave
// it (rcu_sync_enter: 10-15 ms on this 2-CPU guest, more than the rest of a container start).
// Writers that arrive while that grace period is under way wait only for what is left of it, and
// for about one more grace period after the last writer leaves none waits at all.
//
// AttachPrimer starts that grace period early: prime() makes a background thread write this
// process's pid to the cgroup.procs of the cgroup it already is in (a migration that moves
// nothing but takes the same lock). berthd primes when a container is created or started, so the
// runtime's migration of the container's init a few milliseconds later finds the semaphore in
// writer mode, or nearly. The thread then repeats the write every kRefresh for kWarm after the
// last prime (each costs microseconds once the semaphore is in writer mode), so bursts of starts
// (compose, CI loops) never wait for a grace period; meanwhile forks and exits on the host take
// the semaphore's slower shared path, which is the price favordynmods pays permanently. No host
// setting is changed. Disabled (prime() does nothing) when no cgroup.procs of this process is
// writable.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace berth::cgroups {

class AttachPrimer {
 public:
  static constexpr std::chrono::milliseconds kRefresh{8}, kWarm{2000};
  AttachPrimer();
  ~AttachPrimer();
  AttachPrimer(const AttachPrimer&) = delete;
  AttachPrimer& operator=(const AttachPrimer&) = delete;

  // Never blocks; primes already in flight absorb new requests.
  void prime();
  bool enabled() const { return !procs_.empty(); }
  // The cgroup.procs file used (for tests and logs).
  const std::string& procs_path() const { return procs_; }

 private:
  void loop();
  std::string procs_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false, stop_ = false;
  std::chrono::steady_clock::time_point last_prime_{};
  std::thread thread_;
};

// This process's own cgroup.procs (cgroup2 preferred, else the first mounted v1 controller's);
// empty when none is found or writable.
std::string own_cgroup_procs();

}  // namespace berth::cgroups
