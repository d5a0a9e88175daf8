// SPDX-License-Identifier: Apache-2.0
// One-off scope cleanups: `auto d = defer([&] { ... });`. Give a repeated cleanup a named type.
#pragma once

#include <utility>

namespace berth {

template <class F>
class [[nodiscard]] Deferred {
 public:
  explicit Deferred(F f) : f_(std::move(f)) {}
  Deferred(const Deferred&) = delete;
  Deferred& operator=(const Deferred&) = delete;
  ~Deferred() {
    if (armed_) f_();
  }
  void cancel() { armed_ = false; }

 private:
  F f_;
  bool armed_ = true;
};

template <class F>
Deferred<F> defer(F f) {
  return Deferred<F>(std::move(f));
}

}  // namespace berth
