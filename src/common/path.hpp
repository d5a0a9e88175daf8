// SPDX-License-Identifier: Apache-2.0
// Path confinement: resolving an untrusted path inside a root directory so that neither "..",
// absolute symlinks nor relative symlinks can lead outside it.
//
// Prefer the fd-based functions: they use openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), and
// on kernels without openat2 (< 5.6) they walk one component at a time with O_NOFOLLOW,
// resolving each symlink themselves with the root as "/". The string-based secure_join is
// for building paths that are later opened by code that cannot take an fd; it is racy against a
// concurrent attacker that swaps components, so use it only where the tree is not attacker-writable
// at the time.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace berth {

// Lexically cleans a path: collapses "//", ".", "..", keeps a leading "/" if present.
std::string clean_path(std::string_view p);

// Opens `path` (relative to root, leading "/" allowed) inside `root_fd`. flags as openat(2);
// O_CLOEXEC is added. The final component is followed if it is a symlink, but only inside root,
// unless flags contain O_NOFOLLOW.
Result<UniqueFd> open_in_root(BorrowedFd root_fd, std::string_view path, int flags,
                              mode_t mode = 0);

// Like open_in_root, but forces the userspace walk (exposed for tests of the fallback).
Result<UniqueFd> open_in_root_fallback(BorrowedFd root_fd, std::string_view path, int flags,
                                       mode_t mode = 0);

// mkdir -p of `path` inside root_fd; returns an O_PATH|O_DIRECTORY fd of the final directory.
Result<UniqueFd> mkdir_all_in_root(BorrowedFd root_fd, std::string_view path, mode_t mode = 0755);

// Resolves `unsafe` against the directory `root` following symlinks as if root were "/", and
// returns root + the resolved path. Never returns a path outside root.
Result<std::string> secure_join(const std::string& root, std::string_view unsafe);

// The path a descriptor refers to (readlink of /proc/self/fd/N).
Result<std::string> fd_path(int fd);

}  // namespace berth
