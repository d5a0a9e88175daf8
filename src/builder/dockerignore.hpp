// SPDX-License-Identifier: Apache-2.0
// .dockerignore: reading the file and matching paths with the semantics of
// moby/patternmatcher (Go filepath.Match syntax plus "**", "!" exceptions, later lines win,
// a path is excluded when it or one of its parent directories matches).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace berth::builder {

// Go's path/filepath.Clean for '/'-separated paths.
std::string go_clean_path(std::string_view p);

// ignorefile.ReadAll: strips a UTF-8 BOM, skips '#' comment lines and blank lines, trims,
// cleans, removes a leading '/', keeps a leading '!'.
std::vector<std::string> read_dockerignore(std::string_view content);

class PatternMatcher {
 public:
  // Per-pattern parent match results, for walkers that visit parents before children.
  struct MatchInfo {
    std::vector<bool> parent_matched;
  };

  static Result<PatternMatcher> create(const std::vector<std::string>& patterns);

  PatternMatcher();
  ~PatternMatcher();
  PatternMatcher(PatternMatcher&&) noexcept;
  PatternMatcher& operator=(PatternMatcher&&) noexcept;

  // True if the slash-separated path `file` (relative to the context) or one of its parent
  // directories matches the patterns and is not re-included by a later '!' pattern.
  Result<bool> matches_or_parent_matches(std::string_view file) const;
  // Same result, using the parent directory's MatchInfo (empty info = compute parents).
  Result<bool> matches_using_parent_results(std::string_view file, const MatchInfo& parent,
                                            MatchInfo* out) const;
  // True if any pattern is an exclusion ('!'); then excluded directories must still be walked.
  bool exclusions() const;
  std::size_t size() const;
  bool empty() const { return size() == 0; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Convenience: patternmatcher.MatchesOrParentMatches(file, patterns) ("." never matches).
Result<bool> dockerignore_matches(std::string_view file, const std::vector<std::string>& patterns);

}  // namespace berth::builder
