// SPDX-License-Identifier: Apache-2.0
// Debug timing of multi-step operations, one line when done:
//   start 1a2b3c4d5e6f: rootfs 1.2 ms, spec 0.4 ms, shim-created 9.8 ms (total 12.1 ms)
// Costs nothing but a level check when debug logging is off.
#pragma once

#include <chrono>
#include <string>

#include "common/log.hpp"

namespace berth::daemon {

class PhaseLog {
 public:
  explicit PhaseLog(std::string what) : on_(log::level() <= log::Level::Debug) {
    if (on_) {
      what_ = std::move(what);
      t0_ = last_ = std::chrono::steady_clock::now();
    }
  }
  PhaseLog(const PhaseLog&) = delete;
  PhaseLog& operator=(const PhaseLog&) = delete;
  ~PhaseLog() {
    if (on_) log::debug("{}:{} (total {:.1f} ms)", what_, phases_, ms(t0_, std::chrono::steady_clock::now()));
  }
  // Time since the previous mark (or the start) is booked to `phase`.
  void mark(const char* phase) {
    if (!on_) return;
    auto now = std::chrono::steady_clock::now();
    phases_ += fmt::format(" {} {:.1f} ms", phase, ms(last_, now));
    last_ = now;
  }

 private:
  static double ms(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
  }
  bool on_;
  std::string what_, phases_;
  std::chrono::steady_clock::time_point t0_, last_;
};

}  // namespace berth::daemon
