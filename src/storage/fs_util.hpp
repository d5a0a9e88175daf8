// SPDX-License-Identifier: Apache-2.0
// Tree helpers shared by the drivers (internal to storage).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "storage/driver.hpp"

namespace berth::storage {

// cp -a: copies the tree (owners, modes, xattrs, devices, hardlinks, times) into existing dst.
Status copy_tree(const std::string& src, const std::string& dst);
// Bytes of regular files below dir (each inode once).
Result<std::int64_t> tree_usage(const std::string& dir);
// Compares `upper` (new) with `lower` (old, may be "" = empty): Docker's ChangesDirs.
Result<std::vector<Change>> compare_trees(const std::string& upper, const std::string& lower);
// A layer's diff as a tar for the drivers that keep full copies (vfs, btrfs): the files
// compare_trees found added or modified, whiteouts for the deleted ones.
Status write_changes_tar(const std::string& dir, const std::vector<Change>& changes, int out_fd);
// Layer ids with a usable name (no '/', not "." or "..", not empty).
bool valid_layer_id(const std::string& id);

}  // namespace berth::storage
