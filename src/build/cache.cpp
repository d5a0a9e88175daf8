// SPDX-License-Identifier: Apache-2.0
#include "build/cache.hpp"

#include <algorithm>
#include <ctime>

#include <nlohmann/json.hpp>

#include "common/file.hpp"
#include "common/log.hpp"

namespace berth::build {

using json = nlohmann::json;

Result<std::unique_ptr<CacheStore>> CacheStore::open(const std::string& dir) {
  TRY(mkdir_all(dir, 0700));
  auto s = std::make_unique<CacheStore>();
  s->dir_ = dir;
  std::string path = dir + "/cache.json";
  if (!path_exists(path)) return s;
  auto text = read_file(path);
  if (!text) {
    log::warn("build cache: {} unreadable ({}); starting empty", path, text.error().message());
    return s;
  }
  try {
    auto j = json::parse(*text);
    for (auto& e : j.value("entries", json::array())) {
      CacheEntry c;
      c.key = e.value("key", "");
      c.image_id = e.value("image", "");
      c.parent_id = e.value("parent", "");
      c.description = e.value("description", "");
      c.created = e.value("created", std::int64_t{0});
      c.last_used = e.value("last_used", std::int64_t{0});
      c.usage_count = e.value("usage_count", 0);
      if (!c.key.empty() && !c.image_id.empty()) s->by_key_[c.key] = std::move(c);
    }
  } catch (const std::exception& e) {
    log::warn("build cache: {} is corrupt ({}); starting empty", path, e.what());
    s->by_key_.clear();
  }
  return s;
}

std::optional<CacheEntry> CacheStore::lookup(const std::string& key) {
  std::lock_guard lk(mu_);
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return std::nullopt;
  return it->second;
}

void CacheStore::record(const std::string& key, const std::string& image_id, const std::string& parent_id,
                        const std::string& description) {
  std::lock_guard lk(mu_);
  auto now = static_cast<std::int64_t>(std::time(nullptr));
  CacheEntry& e = by_key_[key];
  e.key = key;
  e.image_id = image_id;
  e.parent_id = parent_id;
  e.description = description;
  e.created = now;
  e.last_used = now;
  e.usage_count = 1;
  dirty_ = true;
}

void CacheStore::touch(const std::string& key) {
  std::lock_guard lk(mu_);
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return;
  it->second.last_used = static_cast<std::int64_t>(std::time(nullptr));
  it->second.usage_count++;
  // Not dirty: a fully cached build must not pay for an fsync'd rewrite; use times reach the
  // file with the next real change (GC order may then be slightly stale after a restart).
}

void CacheStore::forget(const std::string& key) {
  std::lock_guard lk(mu_);
  if (by_key_.erase(key)) dirty_ = true;
}

std::vector<CacheEntry> CacheStore::entries() {
  std::lock_guard lk(mu_);
  std::vector<CacheEntry> v;
  for (auto& [k, e] : by_key_) v.push_back(e);
  return v;
}

Status CacheStore::flush() {
  std::string data;
  {
    std::lock_guard lk(mu_);
    if (!dirty_) return ok();
    json arr = json::array();
    for (auto& [k, e] : by_key_)
      arr.push_back({{"key", e.key}, {"image", e.image_id}, {"parent", e.parent_id},
                     {"description", e.description}, {"created", e.created}, {"last_used", e.last_used},
                     {"usage_count", e.usage_count}});
    data = json{{"version", 1}, {"entries", arr}}.dump();
    dirty_ = false;
  }
  return atomic_write_file(dir_ + "/cache.json", data, 0600);
}

Result<std::pair<std::int64_t, std::vector<CacheEntry>>> CacheStore::gc(
    std::int64_t keep_bytes, const std::function<std::int64_t(const CacheEntry&)>& size,
    const std::function<bool(const std::string&)>& remove) {
  std::vector<CacheEntry> all = entries();
  std::vector<std::pair<CacheEntry, std::int64_t>> sized;
  std::int64_t total = 0;
  for (auto& e : all) {
    std::int64_t s = size(e);
    total += s;
    sized.emplace_back(e, s);
  }
  // Oldest use first; among equals, children (later created) before their parents.
  std::sort(sized.begin(), sized.end(), [](auto& a, auto& b) {
    if (a.first.last_used != b.first.last_used) return a.first.last_used < b.first.last_used;
    return a.first.created > b.first.created;
  });
  std::int64_t reclaimed = 0;
  std::vector<CacheEntry> removed;
  for (auto& [e, s] : sized) {
    if (keep_bytes >= 0 && total <= keep_bytes) break;
    if (e.in_use) continue;
    forget(e.key);
    if (remove(e.image_id)) reclaimed += s;
    total -= s;
    removed.push_back(e);
  }
  TRY(flush());
  return std::make_pair(reclaimed, std::move(removed));
}

}  // namespace berth::build
