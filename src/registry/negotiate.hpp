// SPDX-License-Identifier: Apache-2.0
// Content negotiation for manifest GET/HEAD (the `Accept` request header).
//
// Rules (distribution's, except that a request without Accept gets what is stored):
//  - no Accept, or one listing */*, application/* or the stored media type: serve as stored;
//  - the stored manifest is a list/index, the reference is a tag, and the client accepts no
//    index type but does accept image manifests: serve the linux/amd64 child (distribution's
//    "default platform" rewrite for clients without manifest-list support), if that child's
//    media type is acceptable;
//  - otherwise 404 MANIFEST_UNKNOWN ("manifest of type X found, but Accept does not list it").
// There is no conversion between Docker and OCI formats (distribution has none either; it
// converted only to the long-gone schema 1).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/digest.hpp"

namespace berth::registry {

class AcceptSet {
 public:
  // Every Accept header value of a request (repeated headers and comma lists both work);
  // parameters are ignored except q=0, which excludes a type.
  static AcceptSet parse(const std::vector<std::string_view>& header_values);
  // True when the client listed nothing or a wildcard.
  bool any() const { return any_; }
  bool accepts(std::string_view media_type) const;
  std::string describe() const;  // for error messages

 private:
  bool any_ = true;
  std::vector<std::string> types_;
};

// The digest of the child of an index/list (JSON) for os/arch whose media type `accept`
// accepts; nullopt when there is none.
std::optional<Digest> platform_child(std::string_view index_json, const AcceptSet& accept, std::string_view os,
                                     std::string_view arch);

}  // namespace berth::registry
