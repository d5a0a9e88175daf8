// SPDX-License-Identifier: Apache-2.0
// Writing layer tars (PAX) from directories.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace berth::storage {

enum class WhiteoutSource {
  None,     // plain directory tree (export, import)
  Overlay,  // overlay upper dir: 0:0 char devices -> ".wh.x", opaque dirs -> ".wh..wh..opq"
};

struct TarWriteOptions {
  WhiteoutSource whiteouts = WhiteoutSource::None;
  // Exact paths (relative, no leading "/") to include; empty = everything. Parent directories
  // of included paths are emitted too; a listed directory does not imply its content.
  std::vector<std::string> only;
  // Relative paths written as ".wh." whiteout entries (deleted files of a vfs diff).
  std::vector<std::string> deleted;
};

// Writes the tree under `dir` as a tar to `out_fd`, names sorted, hardlinks preserved.
Status write_tar(const std::string& dir, int out_fd, const TarWriteOptions& opts = {});

// Writes the entry `name` of the directory `parent_fd` (never following it when it is a
// symlink; a directory is walked without following symlinks) as `as_name` and, for a
// directory, everything below it as `as_name/...` (docker cp's archive of one path).
Status write_tar_entry(int parent_fd, const std::string& name, const std::string& as_name, int out_fd);

// Writes the merged view of overlay layer dirs (top first: whiteouts and opaque dirs hide
// lower content) as one tar, without mounting.
Status write_merged_tar(const std::vector<std::string>& dirs, int out_fd);

}  // namespace berth::storage
