// SPDX-License-Identifier: Apache-2.0
#include "storage/quota.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/dqblk_xfs.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/quota.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

#include "common/file.hpp"
#include "common/strings.hpp"
#include "common/unique_fd.hpp"

namespace berth::storage {
namespace {

Result<UniqueFd> open_dir(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return fail_errno("open", path);
  return fd;
}

int quotactl_fd(int fd, unsigned cmd, int id, void* addr) {
  return static_cast<int>(::syscall(SYS_quotactl_fd, fd, cmd, id, addr));
}

Result<std::uint32_t> project_id(int fd, const std::string& path) {
  fsxattr fa{};
  if (::ioctl(fd, FS_IOC_FSGETXATTR, &fa) != 0) return fail_errno("get project id of", path);
  return fa.fsx_projid;
}

}  // namespace

Result<std::uint64_t> parse_storage_opts(const std::map<std::string, std::string>& opts) {
  std::uint64_t size = 0;
  for (const auto& [k, v] : opts) {
    if (to_lower(k) != "size") return fail(Errc::InvalidArgument, fmt::format("Unknown option {}", k));
    auto b = parse_bytes(v);
    if (!b) return fail(Errc::InvalidArgument, fmt::format("invalid size: '{}'", v));
    size = static_cast<std::uint64_t>(*b);
  }
  return size;
}

Result<std::unique_ptr<ProjectQuota>> ProjectQuota::open(const std::string& home) {
  auto fd = TRY(open_dir(home));
  struct statfs fs{};
  if (::fstatfs(fd.get(), &fs) != 0) return fail_errno("statfs", home);
  if (static_cast<unsigned long>(fs.f_type) != XFS_SUPER_MAGIC)
    return fail(Errc::InvalidArgument, fmt::format("{} is not on xfs", home));
  fs_quota_stat qs{};
  if (quotactl_fd(fd.get(), QCMD(Q_XGETQSTAT, PRJQUOTA), 0, &qs) != 0)
    return fail_errno("quotactl Q_XGETQSTAT", home);
  if (!(qs.qs_flags & FS_QUOTA_PDQ_ENFD))
    return fail(Errc::InvalidArgument, fmt::format("project quotas are not enforced on {} (mount option pquota)", home));
  // Ids above the home's own and above every id already given to a directory under it (ids
  // of removed layers are reused: a new limit is always set with the id).
  std::uint32_t max = TRY(project_id(fd.get(), home));
  if (DIR* d = ::opendir(home.c_str())) {
    while (auto* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == ".." || e->d_type != DT_DIR) continue;
      UniqueFd sub(::openat(::dirfd(d), n.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
      if (!sub) continue;
      if (auto id = project_id(sub.get(), home + "/" + n)) max = std::max(max, *id);
    }
    ::closedir(d);
  }
  return std::unique_ptr<ProjectQuota>(new ProjectQuota(home, max + 1));
}

Status ProjectQuota::limit(const std::vector<std::string>& dirs, std::uint64_t bytes) {
  if (dirs.empty()) return ok();
  std::uint32_t id = next_.fetch_add(1);
  auto fd = TRY(open_dir(dirs.front()));
  fs_disk_quota d{};
  d.d_version = FS_DQUOT_VERSION;
  d.d_flags = FS_PROJ_QUOTA;
  d.d_id = id;
  d.d_fieldmask = FS_DQ_BSOFT | FS_DQ_BHARD;
  d.d_blk_hardlimit = d.d_blk_softlimit = (bytes + 511) / 512;  // in 512-byte basic blocks
  if (quotactl_fd(fd.get(), QCMD(Q_XSETQLIM, PRJQUOTA), static_cast<int>(id), &d) != 0)
    return fail_errno(fmt::format("set project quota {} on", id), dirs.front());
  for (const auto& dir : dirs) {
    auto f = TRY(open_dir(dir));
    fsxattr fa{};
    if (::ioctl(f.get(), FS_IOC_FSGETXATTR, &fa) != 0) return fail_errno("get project id of", dir);
    fa.fsx_projid = id;
    fa.fsx_xflags |= FS_XFLAG_PROJINHERIT;
    if (::ioctl(f.get(), FS_IOC_FSSETXATTR, &fa) != 0) return fail_errno("set project id of", dir);
  }
  return ok();
}

Status btrfs_limit_subvolume(const std::string& subvol, std::uint64_t bytes) {
  auto fd = TRY(open_dir(subvol));
  btrfs_ioctl_quota_ctl_args q{};
  q.cmd = BTRFS_QUOTA_CTL_ENABLE;  // no-op when already enabled
  if (::ioctl(fd.get(), BTRFS_IOC_QUOTA_CTL, &q) != 0) return fail_errno("enable btrfs quota on", subvol);
  // Enabling starts a rescan of existing extents; the limit is only meaningful after it.
  if (::ioctl(fd.get(), BTRFS_IOC_QUOTA_RESCAN_WAIT, 0) != 0 && errno != ENOTCONN)
    return fail_errno("wait for btrfs quota rescan on", subvol);
  btrfs_ioctl_qgroup_limit_args a{};
  a.qgroupid = 0;  // the subvolume's own qgroup
  a.lim.flags = BTRFS_QGROUP_LIMIT_MAX_RFER;
  a.lim.max_rfer = bytes;
  if (::ioctl(fd.get(), BTRFS_IOC_QGROUP_LIMIT, &a) != 0) return fail_errno("set btrfs qgroup limit on", subvol);
  return ok();
}

}  // namespace berth::storage
