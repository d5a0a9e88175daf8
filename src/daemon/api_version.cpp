// SPDX-License-Identifier: Apache-2.0
#include "daemon/api_version.hpp"

#include "common/strings.hpp"

namespace berth::daemon {

std::optional<ApiVersion> parse_api_version(std::string_view s) {
  auto [a, b] = split_once(s, '.');
  if (a.empty() || b.empty()) return std::nullopt;
  auto mj = parse_uint(a);
  auto mn = parse_uint(b);
  if (!mj || !mn || *mj > 1000 || *mn > 1000) return std::nullopt;
  return ApiVersion{static_cast<int>(*mj), static_cast<int>(*mn)};
}

VersionedPath split_version(std::string_view path) {
  VersionedPath out;
  if (path.size() > 2 && path[0] == '/' && path[1] == 'v' && path[2] >= '0' && path[2] <= '9') {
    auto slash = path.find('/', 1);
    std::string_view v = path.substr(2, slash == std::string_view::npos ? std::string_view::npos : slash - 2);
    out.version = parse_api_version(v);
    if (!out.version) {
      out.malformed = true;
      out.path = std::string(path);
      return out;
    }
    out.path = slash == std::string_view::npos ? "/" : std::string(path.substr(slash));
    return out;
  }
  out.path = std::string(path);
  return out;
}

std::string check_api_version(const ApiVersion& v) {
  ApiVersion min = *parse_api_version(kMinApiVersion), max = *parse_api_version(kMaxApiVersion);
  if (v < min)
    return "client version " + v.str() + " is too old. Minimum supported API version is " + min.str() +
           ", please upgrade your client to a newer version";
  if (max < v) return "client version " + v.str() + " is too new. Maximum supported API version is " + max.str();
  return {};
}

}  // namespace berth::daemon
