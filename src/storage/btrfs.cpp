// SPDX-License-Identifier: Apache-2.0
// btrfs driver: every layer is a subvolume <home>/subvolumes/<id>; a child layer starts as a
// writable snapshot of its parent (copy-on-write, O(1)), then the layer's diff is applied.
// <home>/meta/<id> holds the parent id. Layers are staged as subvolumes under <home>/tmp and
// renamed into place, so a crash leaves only tmp/ debris, destroyed at open.
#include <dirent.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

#include "common/file.hpp"
#include "common/strings.hpp"
#include "common/unique_fd.hpp"
#include "storage/driver.hpp"
#include "storage/fs_util.hpp"
#include "storage/quota.hpp"
#include "storage/tar_write.hpp"

namespace berth::storage {
namespace {

Result<UniqueFd> open_dir(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail_errno("open", path);
  return UniqueFd(fd);
}

void copy_name(char* dst, std::size_t cap, const std::string& name) {
  std::memset(dst, 0, cap);
  std::memcpy(dst, name.data(), std::min(name.size(), cap - 1));
}

// Creates an empty subvolume dir/name.
Status subvol_create(const std::string& dir, const std::string& name) {
  auto d = TRY(open_dir(dir));
  btrfs_ioctl_vol_args a{};
  copy_name(a.name, sizeof a.name, name);
  if (::ioctl(d.get(), BTRFS_IOC_SUBVOL_CREATE, &a) != 0) return fail_errno("btrfs subvolume create", path_join(dir, name));
  return ok();
}

// Creates dir/name as a writable snapshot of the subvolume src.
Status subvol_snapshot(const std::string& src, const std::string& dir, const std::string& name) {
  auto s = TRY(open_dir(src));
  auto d = TRY(open_dir(dir));
  btrfs_ioctl_vol_args_v2 a{};
  a.fd = s.get();
  copy_name(a.name, sizeof a.name, name);
  if (::ioctl(d.get(), BTRFS_IOC_SNAP_CREATE_V2, &a) != 0)
    return fail_errno("btrfs subvolume snapshot " + src + " to", path_join(dir, name));
  return ok();
}

// Destroys the subvolume dir/name; a plain directory is removed recursively.
Status subvol_destroy(const std::string& dir, const std::string& name) {
  std::string path = path_join(dir, name);
  struct stat st{};
  if (::lstat(path.c_str(), &st) != 0) return errno == ENOENT ? ok() : fail_errno("stat", path);
  // The root directory of a subvolume has inode 256.
  if (st.st_ino != 256 || !S_ISDIR(st.st_mode)) return remove_all(path);
  auto d = TRY(open_dir(dir));
  btrfs_ioctl_vol_args a{};
  copy_name(a.name, sizeof a.name, name);
  if (::ioctl(d.get(), BTRFS_IOC_SNAP_DESTROY, &a) != 0) return fail_errno("btrfs subvolume delete", path);
  return ok();
}

class Btrfs : public Driver {
 public:
  explicit Btrfs(std::string home) : home_(std::move(home)) {}

  Status init() {
    // checked on the data root before creating anything, so a refused start leaves no btrfs/ dir
    std::string root = dirname(home_);
    struct statfs fs{};
    if (::statfs(root.c_str(), &fs) != 0) return fail_errno("statfs", root);
    if (static_cast<unsigned long>(fs.f_type) != BTRFS_SUPER_MAGIC)
      return fail(Errc::InvalidArgument,
                  fmt::format("prerequisites for driver not satisfied (wrong filesystem?): {} is not on btrfs", root));
    TRY(mkdir_all(home_, 0700));
    TRY(mkdir_all(home_ + "/subvolumes", 0700));
    TRY(mkdir_all(home_ + "/meta", 0700));
    TRY(mkdir_all(home_ + "/tmp", 0700));
    for (auto& n : list_dir(home_ + "/tmp")) TRY(subvol_destroy(home_ + "/tmp", n));
    // a subvolume without meta is the leftover of a crash between rename and meta write
    for (auto& n : list_dir(home_ + "/subvolumes"))
      if (!path_exists(home_ + "/meta/" + n)) TRY(subvol_destroy(home_ + "/subvolumes", n));
    return ok();
  }

  std::string name() const override { return "btrfs"; }
  bool independent_layers() const override { return false; }

  Result<LayerStats> create_from_tar(const std::string& id, const std::string& parent, Reader& tar,
                                     const ApplyOptions& opts) override {
    std::string tmp = TRY(stage(id, parent));
    ApplyOptions o = opts;
    o.whiteouts = WhiteoutMode::Delete;
    auto st = apply_tar(tar, home_ + "/tmp/" + tmp, o);
    if (!st) {
      (void)subvol_destroy(home_ + "/tmp", tmp);
      return fail(std::move(st.error()).context(fmt::format("apply layer {}", id)));
    }
    TRY(finish(id, parent, tmp));
    return LayerStats{st->entries, st->bytes};
  }

  Status create_rw(const std::string& id, const std::string& parent) override {
    std::string tmp = TRY(stage(id, parent));
    return finish(id, parent, tmp);
  }

  bool exists(const std::string& id) const override {
    return valid_layer_id(id) && path_exists(home_ + "/meta/" + id);
  }

  Status remove(const std::string& id) override {
    if (!valid_layer_id(id)) return fail(Errc::InvalidArgument, "invalid layer id");
    ::unlink((home_ + "/meta/" + id).c_str());
    std::string gone = "rm-" + id + "-" + random_hex(4);
    std::string dir = diff_dir(id);
    if (::rename(dir.c_str(), (home_ + "/tmp/" + gone).c_str()) != 0) {
      if (errno == ENOENT) return ok();
      return fail_errno("rename", dir);
    }
    return subvol_destroy(home_ + "/tmp", gone);
  }

  Result<std::vector<Mount>> mounts(const std::string& id) override {
    if (!exists(id)) return fail(Errc::NotFound, fmt::format("layer {} does not exist", id));
    return std::vector<Mount>{{"bind", diff_dir(id), {"rbind", "rw"}}};
  }

  std::string diff_dir(const std::string& id) const override { return home_ + "/subvolumes/" + id; }

  Result<std::vector<Change>> changes(const std::string& id) override {
    std::string parent = TRY(read_file(home_ + "/meta/" + id));
    return compare_trees(diff_dir(id), parent.empty() ? "" : diff_dir(parent));
  }

  Status diff_tar(const std::string& id, int out_fd) override {
    return write_changes_tar(diff_dir(id), TRY(changes(id)), out_fd);
  }

  // Bytes of the whole subvolume (shared extents with the parent counted, as `du` would).
  Result<std::int64_t> usage(const std::string& id) override { return tree_usage(diff_dir(id)); }

  Result<std::vector<std::string>> list() override { return list_dir(home_ + "/meta"); }

  // qgroups: the limit counts the subvolume's referenced bytes (image files included), as dockerd.
  Status check_size_limit() const override { return ok(); }
  Status set_size_limit(const std::string& id, std::uint64_t bytes) override {
    return btrfs_limit_subvolume(diff_dir(id), bytes);
  }

 private:

  // Returns the name of the staged subvolume under tmp/.
  Result<std::string> stage(const std::string& id, const std::string& parent) {
    if (!valid_layer_id(id)) return fail(Errc::InvalidArgument, fmt::format("invalid layer id {}", id));
    if (exists(id)) return fail(Errc::AlreadyExists, fmt::format("layer {} already exists", id));
    TRY(subvol_destroy(home_ + "/subvolumes", id));  // leftover of a crash before meta was written
    std::string tmp = id + "-" + random_hex(8);
    if (parent.empty()) {
      TRY(subvol_create(home_ + "/tmp", tmp));
    } else {
      if (!exists(parent)) return fail(Errc::NotFound, fmt::format("parent layer {} does not exist", parent));
      TRY(subvol_snapshot(diff_dir(parent), home_ + "/tmp", tmp));
    }
    if (parent.empty()) ::chmod((home_ + "/tmp/" + tmp).c_str(), 0755);
    return tmp;
  }

  Status finish(const std::string& id, const std::string& parent, const std::string& tmp) {
    std::string dir = diff_dir(id);
    if (::rename((home_ + "/tmp/" + tmp).c_str(), dir.c_str()) != 0) {
      int e = errno;
      (void)subvol_destroy(home_ + "/tmp", tmp);
      return fail(Error::from_errno(e, "rename", dir));
    }
    return atomic_write_file(home_ + "/meta/" + id, parent, 0600);
  }

  std::string home_;
};

}  // namespace

Result<std::unique_ptr<Driver>> open_btrfs(const std::string& home) {
  auto d = std::make_unique<Btrfs>(home);
  TRY(d->init());
  return std::unique_ptr<Driver>(std::move(d));
}

}  // namespace berth::storage
