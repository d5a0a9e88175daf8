// SPDX-License-Identifier: Apache-2.0
// Secure extraction of a (decompressed) layer tar into a directory.
//
// Every entry is confined to the root: names are cleaned, a name that climbs out ("..") is
// rejected, a leading "/" is stripped (as tar and Docker do); parent directories are resolved
// with openat2(RESOLVE_IN_ROOT) so symlinks extracted earlier can never lead outside; the final
// component is never followed (an existing symlink there is replaced, not written through);
// hardlink targets are resolved inside the root too. Ownership, modes, xattrs (except
// trusted.overlay.*), device nodes and mtimes are preserved.
//
// Whiteouts: Overlay mode turns ".wh.x" into a 0:0 character device and ".wh..wh..opq" into
// trusted.overlay.opaque=y on the directory (overlayfs' format); Delete mode removes the
// target / the directory's earlier content (for drivers that apply onto a full copy, vfs).
#pragma once

#include <cstdint>
#include <string>

#include "common/result.hpp"
#include "storage/reader.hpp"

namespace berth::storage {

enum class WhiteoutMode { Overlay, Delete };

struct ApplyOptions {
  WhiteoutMode whiteouts = WhiteoutMode::Overlay;
  std::uint64_t max_bytes = 0;   // total regular file bytes allowed, 0 = unlimited
  std::uint64_t max_entries = 0; // 0 = unlimited
  bool preserve_owner = true;    // chown entries (needs CAP_CHOWN; ignored when not root)
  // Owner given to every entry instead of the tar's (docker cp -a into a container with a
  // User); -1 = the tar's.
  long long chown_uid = -1, chown_gid = -1;
  // docker cp's noOverwriteDirNonDir: refuse to replace a directory by a non-directory and
  // the other way round.
  bool no_overwrite_dir_nondir = false;
};

struct ApplyStats {
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;  // regular file content written
};

// Extracts the tar stream `in` into the existing directory `dir`.
Result<ApplyStats> apply_tar(Reader& in, const std::string& dir, const ApplyOptions& opts);

// Recursively removes `name` below dirfd without following symlinks.
Status remove_at(int dirfd, const std::string& name);

}  // namespace berth::storage
