// SPDX-License-Identifier: Apache-2.0
// Engine API version negotiation, as dockerd does it: "/v1.47/containers/json" -> version
// "1.47" + path "/containers/json"; no prefix means the maximum version.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace berth::daemon {

inline constexpr const char* kMaxApiVersion = "1.47";
inline constexpr const char* kMinApiVersion = "1.24";

struct ApiVersion {
  int major = 1, minor = 47;
  std::string str() const { return std::to_string(major) + "." + std::to_string(minor); }
  bool operator<(const ApiVersion& o) const { return major != o.major ? major < o.major : minor < o.minor; }
  bool at_least(int mj, int mn) const { return !(*this < ApiVersion{mj, mn}); }
};

std::optional<ApiVersion> parse_api_version(std::string_view s);

struct VersionedPath {
  std::optional<ApiVersion> version;  // absent: no "/vX.Y" prefix
  std::string path;                   // path without the prefix
  bool malformed = false;             // "/vfoo/..." (dockerd answers 404 for these)
};
VersionedPath split_version(std::string_view path);

// "" when acceptable; otherwise dockerd's 400 message.
std::string check_api_version(const ApiVersion& v);

}  // namespace berth::daemon
