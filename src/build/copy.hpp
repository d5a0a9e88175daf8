// SPDX-License-Identifier: Apache-2.0
// COPY/ADD file operations on a mounted root filesystem, with Docker's rules: sources are
// relative to a source root (the build context or another stage's/image's rootfs) and may hold
// Go filepath.Match wildcards; a directory source copies its content; several sources or a
// destination ending in "/" need a directory destination; missing parents are created
// (0755, root); copied entries are owned by 0:0 unless --chown, keep their mode unless --chmod,
// and keep their mtime. Destination paths are resolved inside the rootfs (symlinks cannot lead
// out). ADD extracts local tar archives (plain, gzip, zstd) into the destination.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace berth::build {

struct CopyOptions {
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  std::optional<mode_t> chmod;
  bool parents = false;           // --parents: keep the source's path below the destination
  bool extract_archives = false;  // ADD of local archives
  std::vector<std::string> exclude;  // --exclude patterns
};

// Expands `pattern` (relative to src_root) into existing relative paths, sorted. A pattern
// without wildcards yields itself if it exists; nothing matching a plain path is NotFound.
Result<std::vector<std::string>> expand_sources(const std::string& src_root, const std::string& pattern);

// Copies `sources` into `dest` (absolute in the image, or relative to `workdir`) of rootfs.
Status copy_into(const std::string& src_root, const std::vector<std::string>& sources, const std::string& dest,
                 const std::string& workdir, const std::string& rootfs, const CopyOptions& opts);

// Writes one file (ADD <url>, COPY <<heredoc) at dest (a directory destination gets `name`).
Status write_into(const std::string& content_path, const std::string& name, const std::string& dest,
                  const std::string& workdir, const std::string& rootfs, const CopyOptions& opts,
                  mode_t mode = 0644);

// "user", "uid", "user:group", "uid:gid" against rootfs /etc/passwd and /etc/group.
Result<std::pair<uid_t, gid_t>> resolve_chown(const std::string& rootfs, const std::string& spec);

// Parses --chmod (octal only, as the legacy builder).
Result<mode_t> parse_chmod(const std::string& s);

// mkdir -p of an absolute image path inside rootfs (WORKDIR); returns true if it created
// anything.
Result<bool> make_dir_in(const std::string& rootfs, const std::string& path, std::optional<uid_t> uid = {},
                         std::optional<gid_t> gid = {});

}  // namespace berth::build
