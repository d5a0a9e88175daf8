// SPDX-License-Identifier: Apache-2.0
// Records that must survive a berthd crash at once and a host crash soon after, without the
// API path waiting for the disk: write() replaces the file atomically (temp file + rename: a
// killed berthd leaves the old or the new content) and queues it; a background thread fsyncs
// queued files and their directories within about a second (flush() at shutdown). An fsync
// costs 5–40 ms on the machines here, several per `docker run` before this.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include "common/result.hpp"

namespace berth::daemon {

class LazySync {
 public:
  explicit LazySync(int delay_ms = 1000);
  ~LazySync();  // flushes
  LazySync(const LazySync&) = delete;
  LazySync& operator=(const LazySync&) = delete;

  Status write(const std::string& path, std::string_view data, mode_t mode = 0644);
  // fsyncs everything queued so far, now.
  void flush();
  // Files written and not fsynced yet.
  std::size_t pending();

 private:
  void loop();
  void sync(std::set<std::string> files);
  int delay_ms_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::string> dirty_;
  bool stop_ = false;
  std::thread thread_;
};

// The process-wide instance (started on first use) for berthd's records:
// write_record() = LazySync::write, flush_records() at shutdown.
Status write_record(const std::string& path, std::string_view data, mode_t mode = 0644);
void flush_records();

}  // namespace berth::daemon
