// SPDX-License-Identifier: Apache-2.0
// The spare rootfs. `docker run` starts what it creates within milliseconds, and making the
// container's rootfs (a writable layer: directories and a record on the data root; its overlay
// mount, whose work dir overlayfs checks at every mount) took ≈ 2 ms of that here, on the same
// two vCPUs as the CLI. So one rootfs is made ahead, on the image of the container started
// last, under a container id not used yet and mounted where that container's bundle has it; a
// create of that image takes it (its id becomes the container's). There is at most one.
//
// The janitor makes it when the machine is quiet: right after it has removed a container, else
// kSpareRootfsDelay (containers.cpp) after the last start. Nothing else sees it: no container record (the API does not
// know it), and image removals hold it off (SpareRootfsHold drops it: the layer's record would
// keep its image in use). It is dropped at shutdown; after a crash the next start's
// collect_garbage removes it as it does any bundle without a container record.
#include <sys/mount.h>

#include <cerrno>
#include <utility>

#include "common/file.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "daemon/daemon.hpp"

namespace berth::daemon {

Status Daemon::mount_rootfs(const std::vector<image::Mount>& mounts, const std::string& target) {
  for (const auto& m : mounts) {
    bool bind = m.type == "bind";
    std::string data = join(m.options, ",");
    if (::mount(m.source.c_str(), target.c_str(), m.type.c_str(), bind ? MS_BIND | MS_REC : 0,
                bind ? nullptr : data.c_str()) < 0)
      return fail(Error::from_errno(errno, "mount rootfs", target));
  }
  return ok();
}

std::string Daemon::take_spare_rootfs(const std::string& image_id) {
  // not while one is being made or dropped (a create does not wait for that)
  std::unique_lock sl(spare_rootfs_mu_, std::try_to_lock);
  if (!sl.owns_lock() || !spare_rootfs_ || spare_rootfs_->image_id != image_id) return {};
  std::string id = std::move(spare_rootfs_->id);
  spare_rootfs_.reset();
  return id;
}

void Daemon::make_spare_rootfs() {
  std::string image_id;
  {
    std::lock_guard lk(mu);
    image_id = spare_rootfs_image_;
    if (image_id.empty() || stopping_) return;
  }
  std::lock_guard sl(spare_rootfs_mu_);
  if (spare_rootfs_holds_ > 0) return;
  if (spare_rootfs_) {
    if (spare_rootfs_->image_id == image_id) return;
    drop_spare_rootfs_locked();  // of an image no longer started
  }
  std::string id = random_hex(64);
  std::string rootfs = bundle_dir(id) + "/rootfs";
  Status st = [&]() -> Status {
    auto mounts = TRY(images_->prepare_rootfs(image_id, id));
    TRY(mkdir_all(rootfs, 0755));
    return mount_rootfs(mounts, rootfs);
  }();
  if (st) {
    spare_rootfs_ = SpareRootfs{id, image_id};
    return;
  }
  log::debug("no spare rootfs for {}: {}", image_id, st.error().message());
  remove_garbage(id);  // what was made of it
}

void Daemon::drop_spare_rootfs_locked() {
  if (!spare_rootfs_) return;
  std::string id = std::move(spare_rootfs_->id);
  spare_rootfs_.reset();
  remove_garbage(id);  // unmount, layer and its record, bundle
}

Daemon::SpareRootfsHold::SpareRootfsHold(Daemon& d) : d_(d) {
  std::lock_guard sl(d_.spare_rootfs_mu_);
  ++d_.spare_rootfs_holds_;
  d_.drop_spare_rootfs_locked();
}

Daemon::SpareRootfsHold::~SpareRootfsHold() {
  std::lock_guard sl(d_.spare_rootfs_mu_);
  --d_.spare_rootfs_holds_;
}

}  // namespace berth::daemon
