// SPDX-License-Identifier: Apache-2.0
// Error codes of the OCI distribution spec (section "Error Codes") as values. Every fallible
// registry operation returns RResult<T>; the HTTP layer turns a RegError into
//   <status> {"errors":[{"code":"BLOB_UNKNOWN","message":"...","detail":...}]}
// A berth::Error converts implicitly (code Internal, status 500) so TRY works on common/ calls.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "common/result.hpp"

namespace berth::registry {

enum class Code : std::uint8_t {
  BlobUnknown,          // 404
  BlobUploadInvalid,    // 400 (416 for a bad range: see RangeInvalid)
  BlobUploadUnknown,    // 404
  DigestInvalid,        // 400
  ManifestBlobUnknown,  // 404
  ManifestInvalid,      // 400
  ManifestUnknown,      // 404
  NameInvalid,          // 400
  NameUnknown,          // 404
  SizeInvalid,          // 400
  Unauthorized,         // 401
  Denied,               // 403
  Unsupported,          // 405 (delete disabled, read-only, unsupported media type: 415)
  TooManyRequests,      // 429
  RangeInvalid,         // 416, code BLOB_UPLOAD_INVALID
  ManifestTooLarge,     // 413, code MANIFEST_INVALID
  UnsupportedMediaType, // 415, code MANIFEST_INVALID
  Unavailable,          // 503, code UNAVAILABLE (e.g. mirror upstream down)
  Internal,             // 500, code UNKNOWN
};

std::string_view code_name(Code c);
int code_status(Code c);

struct RegError {
  Code code = Code::Internal;
  std::string message;
  std::string detail_json;  // raw JSON value for "detail"; empty -> omitted

  RegError() = default;
  RegError(Code c, std::string m, std::string d = {})
      : code(c), message(std::move(m)), detail_json(std::move(d)) {}
  RegError(const Error& e);  // NOLINT: implicit so TRY() of common/ results works
  int status() const { return code_status(code); }
  // {"errors":[{"code":...,"message":...,"detail":...}]}
  std::string json() const;
};

template <class T>
using RResult = tl::expected<T, RegError>;

inline tl::unexpected<RegError> rfail(Code c, std::string message, std::string detail = {}) {
  return tl::unexpected(RegError(c, std::move(message), std::move(detail)));
}

namespace detail {
template <class T, class E>
T rtake(tl::expected<T, E>&& r) {
  return std::move(*r);
}
template <class E>
void rtake(tl::expected<void, E>&&) {}
}  // namespace detail

}  // namespace berth::registry

// RTRY(expr): TRY for functions returning RResult; expr may be a Result<T> or an RResult<T>.
#define RTRY(expr)                                                                       \
  ({                                                                                     \
    auto&& berth_rtry_r_ = (expr);                                                       \
    if (!berth_rtry_r_) [[unlikely]]                                                     \
      return ::tl::unexpected(::berth::registry::RegError(std::move(berth_rtry_r_).error())); \
    ::berth::registry::detail::rtake(std::move(berth_rtry_r_));                          \
  })
