// SPDX-License-Identifier: Apache-2.0
// Validation of repository names, tags and digests per the OCI distribution spec:
//   name      [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*
//   reference [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
// Hand-written matchers (no std::regex on the hot path). A valid name can never contain "..",
// a leading "/" or a component starting with "_", so it is safe to use as a relative path under
// the storage root, and it never collides with the storage's own "_layers" etc. directories.
#pragma once

#include <string_view>

namespace berth::registry {

inline constexpr std::size_t kMaxNameLength = 255;

bool valid_repo_name(std::string_view name);
bool valid_tag(std::string_view tag);
// "algo:hex" with algo sha256/sha512 (lowercase hex, exact length).
bool looks_like_digest(std::string_view ref);

}  // namespace berth::registry
