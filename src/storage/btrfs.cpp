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
#include "storage/copy_driver.hpp"
#include "storage/fs_util.hpp"
#include "storage/quota.hpp"

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

class Btrfs : public CopyLayerDriver {
 public:
  explicit Btrfs(std::string home) : CopyLayerDriver(std::move(home), "subvolumes") {}

  Status init() {
    // checked on the data root before creating anything, so a refused start leaves no btrfs/ dir
    std::string root = dirname(home_);
    struct statfs fs{};
    if (::statfs(root.c_str(), &fs) != 0) return fail_errno("statfs", root);
    if (static_cast<unsigned long>(fs.f_type) != BTRFS_SUPER_MAGIC)
      return fail(Errc::InvalidArgument,
                  fmt::format("prerequisites for driver not satisfied (wrong filesystem?): {} is not on btrfs", root));
    return open_layout();
  }

  std::string name() const override { return "btrfs"; }

  // qgroups: the limit counts the subvolume's referenced bytes (image files included), as dockerd.
  Status check_size_limit() const override { return ok(); }
  Status set_size_limit(const std::string& id, std::uint64_t bytes) override {
    return btrfs_limit_subvolume(diff_dir(id), bytes);
  }

 protected:
  // A base layer is a new subvolume, a child a writable snapshot of its parent (O(1)).
  Status make_tree(const std::string& tmp_dir, const std::string& name, const std::string& parent) override {
    if (!parent.empty()) return subvol_snapshot(diff_dir(parent), tmp_dir, name);
    TRY(subvol_create(tmp_dir, name));
    ::chmod(path_join(tmp_dir, name).c_str(), 0755);
    return ok();
  }
  Status destroy_tree(const std::string& dir, const std::string& name) override { return subvol_destroy(dir, name); }
};

}  // namespace

Result<std::unique_ptr<Driver>> open_btrfs(const std::string& home) {
  auto d = std::make_unique<Btrfs>(home);
  TRY(d->init());
  return std::unique_ptr<Driver>(std::move(d));
}

}  // namespace berth::storage
