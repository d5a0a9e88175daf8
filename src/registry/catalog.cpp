// SPDX-License-Identifier: Apache-2.0
#include "registry/catalog.hpp"


namespace berth::registry {

void RepoIndex::reset(std::set<std::string> names) {
  std::lock_guard lk(mu_);
  names_ = std::move(names);
}

void RepoIndex::add(const std::string& name) {
  std::lock_guard lk(mu_);
  names_.insert(name);
}

bool RepoIndex::contains(const std::string& name) const {
  std::lock_guard lk(mu_);
  return names_.count(name) != 0;
}

std::vector<std::string> RepoIndex::page(const std::optional<std::string>& last, std::optional<std::size_t> n,
                                         bool* more) const {
  std::vector<std::string> out;
  std::lock_guard lk(mu_);
  auto it = last ? names_.upper_bound(*last) : names_.begin();
  for (; it != names_.end() && (!n || out.size() < *n); ++it) out.push_back(*it);
  if (more) *more = it != names_.end();
  return out;
}

std::vector<std::string> RepoIndex::all() const {
  std::lock_guard lk(mu_);
  return {names_.begin(), names_.end()};
}

}  // namespace berth::registry
