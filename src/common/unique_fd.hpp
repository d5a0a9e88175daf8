// SPDX-License-Identifier: Apache-2.0
// Owning and borrowed file descriptors. close() is never retried on EINTR: Linux has already
// released the descriptor, and a retry could close another thread's new fd.
#pragma once

#include <unistd.h>

#include <utility>

namespace berth {

class UniqueFd {
 public:
  UniqueFd() noexcept = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  ~UniqueFd() { reset(); }

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// A non-owning view of a descriptor; makes ownership visible in signatures.
class BorrowedFd {
 public:
  constexpr BorrowedFd(int fd) noexcept : fd_(fd) {}  // NOLINT: implicit on purpose
  BorrowedFd(const UniqueFd& fd) noexcept : fd_(fd.get()) {}  // NOLINT
  int get() const noexcept { return fd_; }

 private:
  int fd_;
};

}  // namespace berth
