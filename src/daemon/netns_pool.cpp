// SPDX-License-Identifier: Apache-2.0
#include "daemon/netns_pool.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/file.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "network/netlink.hpp"
#include "network/netns.hpp"

namespace berth::daemon {

namespace {
constexpr const char* kSparePrefix = "spare-";
}

Status make_netns(const std::string& path) {
  TRY(mkdir_all(dirname(path), 0711));
  {
    int fd = ::open(path.c_str(), O_CREAT | O_RDONLY | O_CLOEXEC, 0444);
    if (fd < 0) return fail_errno("create", path);
    ::close(fd);
  }
  auto st = net::run_in_netns(-1, [&]() -> Status {
    if (::unshare(CLONE_NEWNET) != 0) return fail_errno("unshare", "CLONE_NEWNET");
    if (::mount("/proc/thread-self/ns/net", path.c_str(), "none", MS_BIND, nullptr) != 0)
      return fail_errno("bind-mount netns", path);
    auto nl = TRY(net::Netlink::open());
    return nl.set_up("lo", true);
  });
  if (!st) drop_netns(path);
  return st;
}

void drop_netns(const std::string& path) {
  if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
    log::warn("unmount netns {}: {}", path, std::strerror(errno));
  ::unlink(path.c_str());
}

NetnsPool::NetnsPool(std::string dir) : dir_(std::move(dir)) {
  // spares of a berthd that did not stop cleanly
  if (DIR* d = ::opendir(dir_.c_str())) {
    std::vector<std::string> stale;
    while (auto* e = ::readdir(d))
      if (std::string(e->d_name).rfind(kSparePrefix, 0) == 0) stale.push_back(dir_ + "/" + e->d_name);
    ::closedir(d);
    for (const auto& p : stale) drop_netns(p);
  }
}

NetnsPool::~NetnsPool() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();  // (a drop under way ends first)
  for (const auto& d : drops_) drop_netns(d.path);
  for (const auto& p : spares_) drop_netns(p);
}

void NetnsPool::start_locked() {
  if (!worker_.joinable() && !stop_) worker_ = std::thread([this] { loop(); });
}

Status NetnsPool::take(const std::string& path) {
  std::string spare;
  {
    std::lock_guard lk(mu_);
    if (!spares_.empty()) {
      spare = std::move(spares_.back());
      spares_.pop_back();
    }
    filling_ = true;
    start_locked();
  }
  cv_.notify_all();
  if (!spare.empty()) {
    // The spare's netns stays alive through the new bind mount; the spare's own goes.
    int fd = ::open(path.c_str(), O_CREAT | O_RDONLY | O_CLOEXEC, 0444);
    bool moved = fd >= 0 && ::mount(spare.c_str(), path.c_str(), nullptr, MS_BIND, nullptr) == 0;
    int err = errno;
    if (fd >= 0) ::close(fd);
    drop_later(spare);
    if (moved) return ok();
    log::warn("netns pool: bind {} to {}: {}", spare, path, std::strerror(err));
    ::unlink(path.c_str());
  }
  return make_netns(path);
}

void NetnsPool::drop_later(const std::string& path) {
  {
    std::lock_guard lk(mu_);
    if (stop_) {
      drop_netns(path);
      return;
    }
    drops_.push_back({path, Clock::now() + kDropDelay});
    start_locked();
  }
  cv_.notify_all();
}

void NetnsPool::drop_due() {
  {
    std::lock_guard lk(mu_);
    if (drops_.empty()) return;
    for (auto& d : drops_) d.due = Clock::time_point{};
  }
  cv_.notify_all();
}

void NetnsPool::wait_dropped(const std::string& path) {
  std::unique_lock lk(mu_);
  auto pending = [&] { return std::any_of(drops_.begin(), drops_.end(), [&](const PendingDrop& d) { return d.path == path; }); };
  if (!pending()) return;
  for (auto& d : drops_)
    if (d.path == path) d.due = Clock::time_point{};
  cv_.notify_all();
  cv_.wait(lk, [&] { return !pending(); });
}

void NetnsPool::loop() {
  std::unique_lock lk(mu_);
  bool making = true;  // until making one fails: take() makes its own from then on
  for (;;) {
    if (stop_) return;  // the destructor drops what is pending
    // the first drop due (wait_dropped may have made a later one due at once)
    auto due = std::min_element(drops_.begin(), drops_.end(), [](const PendingDrop& a, const PendingDrop& b) { return a.due < b.due; });
    if (due != drops_.end() && due->due <= Clock::now()) {
      std::rotate(drops_.begin(), due, due + 1);  // the one being dropped goes first
      std::string p = drops_.front().path;
      lk.unlock();
      drop_netns(p);
      lk.lock();
      drops_.erase(drops_.begin());
      cv_.notify_all();
      continue;
    }
    if (!(filling_ && making && spares_.size() < kSpares)) {
      if (due == drops_.end()) cv_.wait(lk);
      else cv_.wait_until(lk, due->due);
      continue;
    }
    std::string p = dir_ + "/" + kSparePrefix + std::to_string(seq_++);
    lk.unlock();
    auto st = make_netns(p);
    lk.lock();
    if (!st) {
      log::warn("netns pool: {}", st.error().message());
      making = false;
      continue;
    }
    spares_.push_back(std::move(p));
  }
}

}  // namespace berth::daemon
