// SPDX-License-Identifier: Apache-2.0
// The build executor: runs a builder::Plan against a Backend, step by step, as dockerd's
// legacy builder does (one image per step, "Step i/N : …" progress), with a persistent cache
// keyed by builder::compute_cache_keys. Stages the target does not need are skipped; stages of
// one plan level run in parallel (their progress is printed stage by stage).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "build/backend.hpp"
#include "build/cache.hpp"
#include "common/result.hpp"

namespace berth::builder {
class ContextHasher;
}

namespace berth::build {

struct BuildRequest {
  std::string context_dir;  // extracted build context (.dockerignore already applied)
  std::string dockerfile;   // Dockerfile text
  std::vector<std::pair<std::string, std::string>> build_args;
  std::string target;
  std::map<std::string, std::string> labels;  // --label: a final LABEL step
  bool no_cache = false;
  bool pull = false;
  std::string network = "default";  // default | none | host | a network name or id (RUN steps join it)
  std::vector<std::string> extra_hosts;
  std::int64_t shm_size = 0;
  std::string platform;                 // "" = native
  std::vector<std::string> cache_from;  // images whose steps may serve as cache
  std::vector<std::string> ignore_patterns;
  // Optional: a hasher over the context prepared by the caller (e.g. from the context tar), and
  // what fills context_dir on first use (COPY/ADD from the context, RUN --mount=type=bind), so
  // a fully cached build never writes the context to disk. Without them context_dir must exist
  // and is walked.
  std::shared_ptr<builder::ContextHasher> context_hasher;
  std::function<Status()> prepare_context;
};

struct BuildResult {
  std::string image_id;
  int steps = 0;
  int cached = 0;
};

class Progress {
 public:
  virtual ~Progress() = default;
  virtual void stream(std::string_view text) = 0;  // {"stream": text}
  virtual void aux_id(const std::string& image_id) = 0;
};

class Executor {
 public:
  // cache may be null (no caching at all).
  Executor(Backend& backend, CacheStore* cache) : backend_(backend), cache_(cache) {}
  Result<BuildResult> build(const BuildRequest& req, Progress& out);
  // Exit code of the RUN step that failed the last build (0 if none).
  int last_exit_code() const { return last_exit_code_; }

 private:
  int last_exit_code_ = 0;
  Backend& backend_;
  CacheStore* cache_;
};

// "1m30s", "500ms", "10s" (Go time.ParseDuration) -> nanoseconds.
Result<std::int64_t> parse_go_duration(std::string_view s);

}  // namespace berth::build
