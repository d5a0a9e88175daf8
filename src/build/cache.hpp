// SPDX-License-Identifier: Apache-2.0
// The build cache index: step cache key (src/builder/cache_key) -> the image that step
// produced, persisted as <dir>/cache.json (atomic rewrite), so it survives daemon restarts.
// Entries whose image is gone are dropped on lookup. Size accounting and garbage collection
// (least recently used first) need image sizes and removal, which the caller supplies.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace berth::build {

struct CacheEntry {
  std::string key;
  std::string image_id;
  std::string parent_id;    // image the step ran on ("" for FROM / scratch)
  std::string description;  // "RUN echo hi" (for df)
  std::int64_t created = 0, last_used = 0;  // unix seconds
  int usage_count = 0;
  bool in_use = false;  // set by the caller for df
};

class CacheStore {
 public:
  // Loads <dir>/cache.json (missing: empty; unreadable: empty and a fresh file).
  static Result<std::unique_ptr<CacheStore>> open(const std::string& dir);
  std::optional<CacheEntry> lookup(const std::string& key);
  void record(const std::string& key, const std::string& image_id, const std::string& parent_id,
              const std::string& description);
  void touch(const std::string& key);
  void forget(const std::string& key);
  std::vector<CacheEntry> entries();
  Status flush();
  // Removes entries (LRU first) until the total size is <= keep_bytes (all when keep_bytes < 0).
  // size(entry) gives an entry's own bytes; remove(image id) deletes the image (it may fail
  // when the image is tagged or used: then only the cache entry goes). Returns bytes reclaimed
  // and the removed entries.
  Result<std::pair<std::int64_t, std::vector<CacheEntry>>> gc(
      std::int64_t keep_bytes, const std::function<std::int64_t(const CacheEntry&)>& size,
      const std::function<bool(const std::string&)>& remove);

 private:
  std::string dir_;
  std::mutex mu_;
  std::map<std::string, CacheEntry> by_key_;
  bool dirty_ = false;
};

}  // namespace berth::build
