// SPDX-License-Identifier: Apache-2.0
// Image references parsed and normalized exactly as Docker (distribution/reference) does:
//   "busybox"                -> docker.io/library/busybox (":latest" added by with_default_tag)
//   "localhost:5000/x/y@sha256:..." keeps its domain; "index.docker.io" becomes "docker.io".
// Errors carry Docker's messages ("invalid reference format", "... must be lowercase").
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace berth::oci {

struct Reference {
  std::string domain;  // "docker.io", "localhost:5000"
  std::string path;    // "library/busybox"
  std::string tag;     // empty when absent
  std::string digest;  // "sha256:..." or empty

  // domain/path, e.g. "docker.io/library/busybox".
  std::string name() const { return domain + "/" + path; }
  // Full canonical string: name[:tag][@digest].
  std::string str() const;
  // Docker's short form of the name: "busybox", "user/app", "localhost:5000/x".
  std::string familiar_name() const;
  // familiar_name()[:tag][@digest].
  std::string familiar() const;
  bool is_name_only() const { return tag.empty() && digest.empty(); }
  friend bool operator==(const Reference&, const Reference&) = default;
};

// Parses and normalizes a user-supplied reference (docker's ParseNormalizedNamed).
Result<Reference> parse_reference(std::string_view s);
// Adds tag "latest" when neither tag nor digest is present (docker's TagNameOnly).
Reference with_default_tag(Reference r);
// Parses an already-canonical reference without normalization (ParseNamed rules).
Result<Reference> parse_canonical(std::string_view s);
// Validates a tag alone ("[\w][\w.-]{0,127}").
bool valid_tag(std::string_view tag);
// 64 lowercase hex characters (an image id without "sha256:").
bool is_full_hex_id(std::string_view s);

}  // namespace berth::oci
