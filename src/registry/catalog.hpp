// SPDX-License-Identifier: Apache-2.0
// In-memory index of repository names for /v2/_catalog: built by one walk of
// repositories/ when the storage opens, then kept current by Storage whenever a link is written
// into a repository (the only way a repository comes to exist). Pages are answered from a
// sorted set (n/last pagination), so a catalog request costs O(log N + n), not a tree walk.
// Repositories are never removed (as in distribution: deleting every tag and manifest leaves
// an empty repository listed).
#pragma once

#include <cstddef>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace berth::registry {

class RepoIndex {
 public:
  // Replaces the contents (Storage walks repositories/ once when it opens).
  void reset(std::set<std::string> names);
  void add(const std::string& name);
  bool contains(const std::string& name) const;
  // Up to n names (all when n is unset) sorted lexically, starting after `last`;
  // *more says whether names follow the page.
  std::vector<std::string> page(const std::optional<std::string>& last, std::optional<std::size_t> n,
                                bool* more) const;
  std::vector<std::string> all() const;

 private:
  mutable std::mutex mu_;
  std::set<std::string> names_;
};

}  // namespace berth::registry
