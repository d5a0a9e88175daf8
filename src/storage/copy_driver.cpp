// SPDX-License-Identifier: Apache-2.0
#include "storage/copy_driver.hpp"

#include <cerrno>
#include <cstdio>

#include <fmt/format.h>

#include "common/file.hpp"
#include "common/strings.hpp"
#include "storage/fs_util.hpp"

namespace berth::storage {

Status CopyLayerDriver::open_layout() {
  TRY(mkdir_all(home_, 0700));
  TRY(mkdir_all(layers_, 0700));
  TRY(mkdir_all(home_ + "/meta", 0700));
  TRY(mkdir_all(home_ + "/tmp", 0700));
  for (auto& n : list_dir(home_ + "/tmp")) TRY(destroy_tree(home_ + "/tmp", n));
  // A crash between the rename into place and the meta write leaves a tree nothing lists.
  for (auto& id : list_dir(layers_))
    if (!exists(id)) TRY(destroy_tree(layers_, id));
  return ok();
}

std::vector<std::string> CopyLayerDriver::check() {
  std::vector<std::string> out;
  std::string n = name();
  for (auto& t : list_dir(home_ + "/tmp")) out.push_back(n + ": staging leftover tmp/" + t);
  for (auto& id : list_dir(layers_))
    if (!exists(id)) out.push_back(n + ": layer dir without meta " + id);
  for (auto& id : list_dir(home_ + "/meta"))
    if (!path_exists(diff_dir(id))) out.push_back(n + ": meta without layer dir " + id);
  return out;
}

Result<std::string> CopyLayerDriver::stage(const std::string& id, const std::string& parent) {
  if (!valid_layer_id(id)) return fail(Errc::InvalidArgument, fmt::format("invalid layer id {}", id));
  if (exists(id)) return fail(Errc::AlreadyExists, fmt::format("layer {} already exists", id));
  TRY(destroy_tree(layers_, id));  // leftover of a crash before meta was written
  if (!parent.empty() && !exists(parent))
    return fail(Errc::NotFound, fmt::format("parent layer {} does not exist", parent));
  std::string staged = id + "-" + random_hex(8);
  if (auto st = make_tree(home_ + "/tmp", staged, parent); !st) {
    (void)destroy_tree(home_ + "/tmp", staged);
    return fail(std::move(st.error()).context(parent.empty() ? "create layer tree" : "copy parent layer"));
  }
  return staged;
}

Status CopyLayerDriver::finish(const std::string& id, const std::string& parent, const std::string& staged) {
  std::string dir = diff_dir(id);
  if (std::rename((home_ + "/tmp/" + staged).c_str(), dir.c_str()) != 0) {
    int e = errno;
    (void)destroy_tree(home_ + "/tmp", staged);
    return fail(Error::from_errno(e, "rename", dir));
  }
  return atomic_write_file(home_ + "/meta/" + id, parent, 0600);
}

Result<LayerStats> CopyLayerDriver::create_from_tar(const std::string& id, const std::string& parent, Reader& tar,
                                                    const ApplyOptions& opts) {
  std::string staged = TRY(stage(id, parent));
  ApplyOptions o = opts;
  o.whiteouts = WhiteoutMode::Delete;  // the parent's files are in the tree: delete, not mark
  auto st = apply_tar(tar, home_ + "/tmp/" + staged, o);
  if (!st) {
    (void)destroy_tree(home_ + "/tmp", staged);
    return fail(std::move(st.error()).context(fmt::format("apply layer {}", id)));
  }
  TRY(finish(id, parent, staged));
  return LayerStats{st->entries, st->bytes};
}

Status CopyLayerDriver::create_rw(const std::string& id, const std::string& parent) {
  std::string staged = TRY(stage(id, parent));
  return finish(id, parent, staged);
}

bool CopyLayerDriver::exists(const std::string& id) const {
  return valid_layer_id(id) && path_exists(home_ + "/meta/" + id);
}

Status CopyLayerDriver::remove(const std::string& id) {
  if (!valid_layer_id(id)) return fail(Errc::InvalidArgument, "invalid layer id");
  ::unlink((home_ + "/meta/" + id).c_str());
  // Renamed out of place first: a crash mid-removal never leaves half a layer under its name.
  std::string gone = "rm-" + id + "-" + random_hex(4);
  std::string dir = diff_dir(id);
  if (std::rename(dir.c_str(), (home_ + "/tmp/" + gone).c_str()) != 0) {
    if (errno == ENOENT) return ok();
    return fail_errno("rename", dir);
  }
  return destroy_tree(home_ + "/tmp", gone);
}

Result<std::vector<Mount>> CopyLayerDriver::mounts(const std::string& id) {
  if (!exists(id)) return fail(Errc::NotFound, fmt::format("layer {} does not exist", id));
  return std::vector<Mount>{{"bind", diff_dir(id), {"rbind", "rw"}}};
}

Result<std::vector<Change>> CopyLayerDriver::changes(const std::string& id) {
  std::string parent = TRY(read_file(home_ + "/meta/" + id));
  return compare_trees(diff_dir(id), parent.empty() ? "" : diff_dir(parent));
}

Status CopyLayerDriver::diff_tar(const std::string& id, int out_fd) {
  return write_changes_tar(diff_dir(id), TRY(changes(id)), out_fd);
}

Result<std::int64_t> CopyLayerDriver::usage(const std::string& id) { return tree_usage(diff_dir(id)); }

Result<std::vector<std::string>> CopyLayerDriver::list() { return list_dir(home_ + "/meta"); }

}  // namespace berth::storage
