// SPDX-License-Identifier: Apache-2.0
// Grammar (from distribution/reference/regexp.go):
//   reference  := name [ ":" tag ] [ "@" digest ]
//   name       := [domain '/'] remote-name
//   domain     := host [':' port-number]
//   path-component := alpha-numeric (separator alpha-numeric)*,  separator := [_.]|__|[-]+
#include "oci/reference.hpp"

#include <regex>

#include "common/strings.hpp"

namespace berth::oci {
namespace {

constexpr std::size_t kNameTotalLengthMax = 255;

const std::regex& path_component_re() {
  static const std::regex re("[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*");
  return re;
}
const std::regex& domain_re() {
  static const std::regex re(
      "(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
      "(?:\\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*"
      "|\\[(?:[a-fA-F0-9:]+)\\])(?::[0-9]+)?");
  return re;
}
const std::regex& tag_re() {
  static const std::regex re("[\\w][\\w.-]{0,127}");
  return re;
}
const std::regex& digest_re() {
  static const std::regex re("[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}");
  return re;
}

tl::unexpected<Error> bad(std::string msg = "invalid reference format") {
  return fail(Errc::InvalidArgument, std::move(msg));
}

bool valid_path(std::string_view p) {
  if (p.empty()) return false;
  for (auto& c : split(p, '/')) {
    if (!std::regex_match(c, path_component_re())) return false;
  }
  return true;
}

// Splits "name[:tag][@digest]" into its three parts without validating them.
void split_parts(std::string_view s, std::string_view* name, std::string_view* tag,
                 std::string_view* digest) {
  *digest = {};
  *tag = {};
  if (auto at = s.find('@'); at != std::string_view::npos) {
    *digest = s.substr(at + 1);
    s = s.substr(0, at);
  }
  auto slash = s.rfind('/');
  auto colon = s.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    *tag = s.substr(colon + 1);
    s = s.substr(0, colon);
  }
  *name = s;
}

Result<Reference> parse_impl(std::string_view s, bool normalize) {
  if (s.empty()) return bad();
  std::string_view name, tag, digest;
  split_parts(s, &name, &tag, &digest);
  if (s.find('@') != std::string_view::npos && digest.empty()) return bad();
  if (name.empty()) return bad();
  if (!tag.empty() && !valid_tag(tag)) return bad();
  if (s.find('@') == std::string_view::npos && s.back() == ':') return bad();
  if (!digest.empty() && !std::regex_match(digest.begin(), digest.end(), digest_re()))
    return bad();

  Reference r;
  std::string remainder;
  auto slash = name.find('/');
  std::string_view first = slash == std::string_view::npos ? std::string_view{} : name.substr(0, slash);
  if (normalize) {
    if (slash == std::string_view::npos ||
        (first.find_first_of(".:") == std::string_view::npos && first != "localhost" &&
         to_lower(first) == first)) {
      r.domain = "docker.io";
      remainder = std::string(name);
    } else {
      r.domain = std::string(first);
      remainder = std::string(name.substr(slash + 1));
    }
    if (r.domain == "index.docker.io") r.domain = "docker.io";
    if (r.domain == "docker.io" && remainder.find('/') == std::string::npos)
      remainder = "library/" + remainder;
    if (to_lower(remainder) != remainder)
      return bad("invalid reference format: repository name (" + remainder +
                 ") must be lowercase");
  } else {
    if (slash == std::string_view::npos) return bad("repository name must be canonical");
    r.domain = std::string(first);
    remainder = std::string(name.substr(slash + 1));
  }
  if (!std::regex_match(r.domain, domain_re())) return bad();
  if (!valid_path(remainder)) {
    if (to_lower(std::string(name)) != name)
      return bad("invalid reference format: repository name (" + std::string(name) +
                 ") must be lowercase");
    return bad();
  }
  r.path = std::move(remainder);
  if (r.name().size() > kNameTotalLengthMax)
    return bad("invalid reference format: repository name must not be more than 255 characters");
  r.tag = std::string(tag);
  r.digest = std::string(digest);
  return r;
}

}  // namespace

bool valid_tag(std::string_view tag) {
  return std::regex_match(tag.begin(), tag.end(), tag_re());
}

bool is_full_hex_id(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string Reference::str() const {
  std::string s = name();
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

std::string Reference::familiar_name() const {
  if (domain == "docker.io") {
    if (path.starts_with("library/") && path.find('/', 8) == std::string::npos)
      return path.substr(8);
    return path;
  }
  return name();
}

std::string Reference::familiar() const {
  std::string s = familiar_name();
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

Result<Reference> parse_reference(std::string_view s) {
  if (is_full_hex_id(s))
    return bad("invalid repository name (" + std::string(s) +
               "), cannot specify 64-byte hexadecimal strings");
  return parse_impl(s, true);
}

Result<Reference> parse_canonical(std::string_view s) { return parse_impl(s, false); }

Reference with_default_tag(Reference r) {
  if (r.is_name_only()) r.tag = "latest";
  return r;
}

}  // namespace berth::oci
