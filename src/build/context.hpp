// SPDX-License-Identifier: Apache-2.0
// A build context tar read once, without extracting it: every byte is copied to a spool file
// (extracted later only if a step needs the files), every entry is indexed (path, mode, symlink
// target, content sha256) for builder::DirContextHasher::from_index, and a few small files
// (the Dockerfile, .dockerignore) are kept in memory. A fully cached build then writes one
// file instead of the whole context.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "builder/cache_key.hpp"
#include "common/result.hpp"
#include "storage/reader.hpp"

namespace berth::build {

struct ContextIndex {
  std::vector<builder::ContextEntry> entries;  // cleaned names, implicit parents added (0755)
  std::map<std::string, std::string> files;    // wanted name -> content (regular files only)
  std::map<std::string, std::string> links;    // wanted name -> symlink target
  std::uint64_t bytes = 0;                     // tar bytes read
};

// Reads the (decompressed) tar `in` to its end, writing it to `spool_fd`. `wanted` are
// cleaned context-relative names whose content (up to max_file bytes) is kept.
Result<ContextIndex> index_context_tar(storage::Reader& in, int spool_fd, const std::vector<std::string>& wanted,
                                       std::size_t max_file = 16u << 20);

}  // namespace berth::build
