// SPDX-License-Identifier: Apache-2.0
#include "daemon/lazy_sync.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>

#include "common/file.hpp"
#include "common/unique_fd.hpp"

namespace berth::daemon {

LazySync::LazySync(int delay_ms) : delay_ms_(delay_ms), thread_([this] { loop(); }) {}

LazySync::~LazySync() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  flush();
}

Status LazySync::write(const std::string& path, std::string_view data, mode_t mode) {
  TRY(atomic_write_file(path, data, mode, Durability::Deferred));  // fsynced by loop() or flush()
  bool first;
  {
    std::lock_guard lk(mu_);
    first = dirty_.empty();
    dirty_.insert(path);
  }
  // only the first of a batch wakes the thread (the others join the batch it waits for): no
  // thread switch on the way of every create and start
  if (first) cv_.notify_all();
  return ok();
}

void LazySync::sync(std::set<std::string> files) {
  std::set<std::string> dirs;
  for (const auto& f : files) {
    // gone (removed, or replaced again: then it is queued again) is fine
    UniqueFd fd(::open(f.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) continue;
    (void)::fsync(fd.get());
    dirs.insert(dirname(f));
  }
  for (const auto& d : dirs) (void)fsync_dir(d);
}

void LazySync::flush() {
  std::set<std::string> files;
  {
    std::lock_guard lk(mu_);
    files.swap(dirty_);
  }
  sync(std::move(files));
}

std::size_t LazySync::pending() {
  std::lock_guard lk(mu_);
  return dirty_.size();
}

void LazySync::loop() {
  std::unique_lock lk(mu_);
  for (;;) {
    cv_.wait(lk, [&] { return stop_ || !dirty_.empty(); });
    if (stop_) return;
    // batch what comes in during the delay
    cv_.wait_for(lk, std::chrono::milliseconds(delay_ms_), [&] { return stop_; });
    std::set<std::string> files;
    files.swap(dirty_);
    lk.unlock();
    sync(std::move(files));
    lk.lock();
  }
}

namespace {
LazySync& records() {
  static LazySync s;
  return s;
}
}  // namespace

Status write_record(const std::string& path, std::string_view data, mode_t mode) {
  return records().write(path, data, mode);
}
void flush_records() { records().flush(); }

}  // namespace berth::daemon
