// SPDX-License-Identifier: Apache-2.0
// Size limits of container rw layers (`docker run --storage-opt size=20M`), as dockerd enforces
// them: xfs project quotas under overlay2 (the data-root on xfs mounted with pquota/prjquota) and
// btrfs qgroups under the btrfs driver. No tool is run: quotactl_fd(2) and ioctls only.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace berth::storage {

// HostConfig.StorageOpt -> bytes of the "size" key (0: no limit). Other keys are refused with
// dockerd's "Unknown option x"; sizes take docker's units ("20M", "1.5g", "4096").
Result<std::uint64_t> parse_storage_opts(const std::map<std::string, std::string>& opts);

// xfs project quotas for the directories of one driver home.
class ProjectQuota {
 public:
  // Ok when `home` is on xfs with project quota enforcement on; else the reason.
  static Result<std::unique_ptr<ProjectQuota>> open(const std::string& home);
  // Gives `dirs` (and everything later created under them) a fresh project id whose hard
  // limit is `bytes`.
  Status limit(const std::vector<std::string>& dirs, std::uint64_t bytes);

 private:
  explicit ProjectQuota(std::string home, std::uint32_t next) : home_(std::move(home)), next_(next) {}
  std::string home_;
  std::atomic<std::uint32_t> next_;
};

// btrfs: enables quotas on the filesystem of `subvol` (once; dockerd does the same) and limits
// the subvolume's referenced bytes (its qgroup 0/<id>), so the image's files count as in dockerd.
Status btrfs_limit_subvolume(const std::string& subvol, std::uint64_t bytes);

}  // namespace berth::storage
