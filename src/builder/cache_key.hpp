// SPDX-License-Identifier: Apache-2.0
// Build cache keys. Every step's key is a digest of
//   parent key + normalized instruction (expanded args, flags, heredoc bodies, build args in
//   scope for RUN) + content hashes of what it reads (context files selected by COPY/ADD
//   sources: path + mode + content, never mtimes; the final key of a stage read with --from).
// So an unchanged context gives the same keys, and changing one COPY source changes the keys
// from that COPY on, and nothing before it.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "builder/plan.hpp"
#include "common/result.hpp"

namespace berth::builder {

// What a step reads from the build context, hashed.
class ContextHasher {
 public:
  virtual ~ContextHasher() = default;
  // A "sha256:<hex>" digest over the files selected by `sources` (context-relative, may contain
  // Go filepath.Match wildcards; a directory selects everything under it). A source without
  // wildcards that selects nothing is Errc::NotFound.
  virtual Result<std::string> hash_sources(const std::vector<std::string>& sources) = 0;
};

// One entry of a build context read without extracting it (e.g. from the context tar).
struct ContextEntry {
  std::string rel;         // context-relative, cleaned ("a/b.txt")
  unsigned mode = 0;       // st_mode: type + permission bits
  std::string link;        // symlink target
  std::string sha256_hex;  // content digest of a regular file
};

// ContextHasher over a directory on disk, honouring .dockerignore patterns.
class DirContextHasher final : public ContextHasher {
 public:
  // `ignore_patterns` as returned by read_dockerignore().
  static Result<std::unique_ptr<DirContextHasher>> open(std::string root, std::vector<std::string> ignore_patterns);
  // The same over an index of the context's entries (parents before or after their children,
  // in any order; .dockerignore is applied here), so a context need not be on disk to be hashed.
  static Result<std::unique_ptr<DirContextHasher>> from_index(std::vector<ContextEntry> entries,
                                                              std::vector<std::string> ignore_patterns);
  ~DirContextHasher() override;
  Result<std::string> hash_sources(const std::vector<std::string>& sources) override;
  // Context-relative paths of everything in the context (after .dockerignore), sorted.
  Result<std::vector<std::string>> files();

 private:
  DirContextHasher();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Returns an identity (e.g. the image's config digest) for a base/--from image; "" if unknown.
using ImageResolver = std::function<std::string(const std::string& ref, const std::string& platform)>;

struct CacheKeys {
  // For each stage (empty for stages the target does not need): the FROM key, then one key per
  // instruction in Stage::instructions order.
  std::vector<std::string> base;
  std::vector<std::vector<std::string>> steps;
  std::vector<std::string> final_key;  // key of the stage's last step (or base when empty)
};

Result<CacheKeys> compute_cache_keys(const Plan& plan, ContextHasher& ctx, const ImageResolver& resolve = {});

// Go filepath.Match (used for COPY/ADD source wildcards): '*' and '?' do not match '/'.
Result<bool> go_path_match(std::string_view pattern, std::string_view name);

}  // namespace berth::builder
