// SPDX-License-Identifier: Apache-2.0
#include "storage/driver.hpp"

#include <linux/magic.h>
#include <sys/vfs.h>

#include <fmt/format.h>

#include "common/file.hpp"
#include "common/strings.hpp"

namespace berth::storage {

Result<std::unique_ptr<Driver>> open_overlay2(const std::string& home);
Result<std::unique_ptr<Driver>> open_vfs(const std::string& home);
Result<std::unique_ptr<Driver>> open_btrfs(const std::string& home);

namespace {
const char* const kDrivers[] = {"overlay2", "btrfs", "vfs"};
}

std::vector<std::string> prior_drivers(const std::string& home) {
  std::vector<std::string> out;
  for (const char* d : kDrivers)
    if (path_exists(home + "/" + d)) out.push_back(d);
  return out;
}

Result<std::unique_ptr<Driver>> open_driver(const std::string& name, const std::string& home) {
  std::string n = name == "overlay" ? "overlay2" : name;
  if (!n.empty() && n != "overlay2" && n != "vfs" && n != "btrfs") {
    if (n == "zfs" || n == "devicemapper" || n == "aufs" || n == "fuse-overlayfs")
      return fail(Errc::InvalidArgument, fmt::format("storage driver \"{}\" is not supported by berth "
                                                     "(supported: overlay2, btrfs, vfs)", name));
    return fail(Errc::InvalidArgument, fmt::format("unknown storage driver \"{}\"", name));
  }
  auto prior = prior_drivers(home);
  if (n.empty() && prior.size() > 1)
    return fail(Errc::InvalidArgument,
                fmt::format("{} contains data of several storage drivers ({}); choose one with --storage-driver",
                            home, join(prior, ", ")));
  if (n.empty() && prior.size() == 1) n = prior[0];
  for (const auto& p : prior)
    if (!n.empty() && p != n)
      return fail(Errc::InvalidArgument,
                  fmt::format("data-root {} was created by storage driver \"{}\"; refusing to use \"{}\" (its "
                              "images and containers would be hidden): use --storage-driver {} or another "
                              "--data-root", home, p, n, p));
  TRY(mkdir_all(home, 0711));
  if (n.empty()) n = overlay_supported(home) ? "overlay2" : "vfs";
  if (n == "overlay2") return open_overlay2(home + "/overlay2");
  if (n == "btrfs") return open_btrfs(home + "/btrfs");
  return open_vfs(home + "/vfs");
}

Status Driver::check_size_limit() const {
  return fail(Errc::InvalidArgument,
              fmt::format("--storage-opt size is not supported by the {} storage driver (use overlay2 over xfs "
                          "with 'pquota' mount option, or btrfs)", name()));
}

Status Driver::set_size_limit(const std::string&, std::uint64_t) { return check_size_limit(); }

std::string backing_filesystem(const std::string& dir) {
  struct statfs fs{};
  if (::statfs(dir.c_str(), &fs) != 0) return "unknown";
  switch (static_cast<unsigned long>(fs.f_type)) {
    case EXT4_SUPER_MAGIC: return "extfs";
    case BTRFS_SUPER_MAGIC: return "btrfs";
    case TMPFS_MAGIC: return "tmpfs";
    case XFS_SUPER_MAGIC: return "xfs";
    case OVERLAYFS_SUPER_MAGIC: return "overlayfs";
    case 0x2fc12fc1: return "zfs";
    default: return fmt::format("0x{:x}", static_cast<unsigned long>(fs.f_type));
  }
}

std::vector<std::pair<std::string, std::string>> driver_status(const std::string& name, const std::string& home) {
  if (name == "overlay2")
    return {{"Backing Filesystem", backing_filesystem(home)}, {"Supports d_type", "true"},
            {"Using metacopy", "false"}, {"Native Overlay Diff", "true"}, {"userxattr", "false"}};
  if (name == "btrfs") return {{"Btrfs", ""}};
  return {};  // vfs: like dockerd, nothing to report
}

}  // namespace berth::storage
