// SPDX-License-Identifier: Apache-2.0
// Errors as values. Project code does not throw: fallible functions return Result<T>, and
// errors carry a category, the errno (if any) and a context chain built with context():
//   "create container 3f2a: prepare rootfs: mount proc on /proc: Operation not permitted"
#pragma once

#include <cerrno>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace berth {

enum class Errc : std::uint8_t {
  Internal,
  NotFound,
  AlreadyExists,
  InvalidArgument,
  Conflict,
  PermissionDenied,
  Unavailable,
  Unimplemented,
  Cancelled,
  DataLoss,   // corrupted content, digest mismatch
};

std::string_view errc_name(Errc c);

// Maps an errno to the category callers branch on (ENOENT -> NotFound, ...).
Errc errc_from_errno(int err);

class [[nodiscard]] Error {
 public:
  Error() = default;
  Error(Errc code, std::string message, int sys_errno = 0)
      : code_(code), errno_(sys_errno), message_(std::move(message)) {}

  // "op subject: strerror(err)"; the category comes from errc_from_errno.
  static Error from_errno(int err, std::string_view op, std::string_view subject = {});
  static Error make(Errc code, std::string message) { return Error(code, std::move(message)); }

  // Prepends "what: " to the message. Chains like runc's %w.
  Error&& context(std::string_view what) &&;
  Error& context(std::string_view what) &;

  Errc code() const { return code_; }
  int sys_errno() const { return errno_; }
  const std::string& message() const { return message_; }
  bool is(Errc c) const { return code_ == c; }

 private:
  Errc code_ = Errc::Internal;
  int errno_ = 0;
  std::string message_;
};

template <class T>
using Result = tl::expected<T, Error>;
using Status = Result<void>;

inline tl::unexpected<Error> fail(Errc code, std::string message) {
  return tl::unexpected(Error(code, std::move(message)));
}
inline tl::unexpected<Error> fail(Error e) { return tl::unexpected(std::move(e)); }
// Uses the current errno.
inline tl::unexpected<Error> fail_errno(std::string_view op, std::string_view subject = {}) {
  return tl::unexpected(Error::from_errno(errno, op, subject));
}
inline Status ok() { return {}; }

namespace detail {
// Yields the value of a successful Result (nothing for Status); used by TRY.
template <class T>
T try_take(Result<T>&& r) {
  return std::move(*r);
}
inline void try_take(Status&&) {}
}  // namespace detail

}  // namespace berth

// TRY(expr): evaluates expr (a Result); on error returns it from the enclosing function,
// otherwise yields the value. Uses a GNU statement expression (gcc and clang).
#define TRY(expr)                                                           \
  ({                                                                        \
    auto&& berth_try_r_ = (expr);                                           \
    if (!berth_try_r_) [[unlikely]]                                         \
      return ::tl::unexpected(std::move(berth_try_r_).error());             \
    ::berth::detail::try_take(std::move(berth_try_r_));                     \
  })

// TRYC(expr, "what"): like TRY, adding context to the error.
#define TRYC(expr, what)                                                    \
  ({                                                                        \
    auto&& berth_try_r_ = (expr);                                           \
    if (!berth_try_r_) [[unlikely]]                                         \
      return ::tl::unexpected(std::move(berth_try_r_).error().context(what)); \
    ::berth::detail::try_take(std::move(berth_try_r_));                     \
  })
