// SPDX-License-Identifier: Apache-2.0
#include "registry/names.hpp"

namespace berth::registry {
namespace {

bool alnum_lower(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// One path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
bool valid_component(std::string_view s) {
  std::size_t i = 0, n = s.size();
  if (n == 0 || !alnum_lower(s[0])) return false;
  while (i < n) {
    while (i < n && alnum_lower(s[i])) ++i;
    if (i == n) return true;
    // separator
    if (s[i] == '.') {
      ++i;
    } else if (s[i] == '_') {
      ++i;
      if (i < n && s[i] == '_') ++i;
    } else if (s[i] == '-') {
      while (i < n && s[i] == '-') ++i;
    } else {
      return false;
    }
    if (i == n || !alnum_lower(s[i])) return false;
  }
  return true;
}

}  // namespace

bool valid_repo_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  std::size_t start = 0;
  while (true) {
    std::size_t slash = name.find('/', start);
    std::string_view comp = name.substr(start, slash == std::string_view::npos ? name.npos : slash - start);
    if (!valid_component(comp)) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

bool valid_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128) return false;
  auto ok = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  };
  if (tag[0] == '.' || tag[0] == '-') return false;
  for (char c : tag)
    if (!ok(c)) return false;
  return true;
}

bool looks_like_digest(std::string_view ref) { return ref.find(':') != std::string_view::npos; }

}  // namespace berth::registry
