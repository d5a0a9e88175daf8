// SPDX-License-Identifier: Apache-2.0
// The spare rootfs and the spare container. `docker run` starts what it creates within
// milliseconds, and making the container's rootfs (a writable layer: directories and a record
// on the data root; its overlay mount, whose work dir overlayfs checks at every mount) took
// ≈ 2 ms of that here, on the same two vCPUs as the CLI. So one rootfs is made ahead, on the
// image of the container started last, under a container id not used yet and mounted where that
// container's bundle has it; a create of that image takes it (its id becomes the container's).
// There is at most one.
//
// When the container started last was created from a draft (its create's Config and HostConfig,
// checked and completed: Daemon::Draft) that nothing but the API can make stale (speculative():
// no binds, volumes, devices or network), the container of that same draft is made too, on the
// spare rootfs, up to its start: bundle, etc files, netns, and the runtime's create through a
// shim in --create-only mode (a PreparedTask, as a create's own). A create whose draft is equal
// takes it whole: its start is then one message to the shim, and nothing of the runtime's
// create is left between the client's create and start. A create of the same image with another
// draft takes the rootfs alone: the made-ahead runtime container is let go (its shim deletes it;
// the create's own start waits for that, wait_previous_shim), and spares stay rootfs only until
// a create matches its template again (spare_speculate_), so that a workload that changes its
// command every time does not pay for containers it never uses. Its resolv.conf, the one file
// taken from the host, is checked when it is taken (spare_etc_current).
//
// The janitor makes the spare when the machine is quiet: right after it has removed a
// container, else kSpareRootfsDelay (containers.cpp) after the last start. Nothing else sees it:
// no container record (the API does not know it), and image removals hold it off
// (SpareRootfsHold drops it: the layer's record would keep its image in use). A spare container
// goes back to a spare rootfs shortly before its shim's TTL (kSpareContainerTtlMs), and when the
// daemon's configuration is reloaded. The spare is dropped at shutdown; after a crash its shim
// deletes the runtime's container (its ready socket closed) and the next start's
// collect_garbage removes the rest as it does any bundle without a container record.
#include <sys/mount.h>

#include <cerrno>
#include <chrono>
#include <utility>

#include "common/file.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "daemon/daemon.hpp"
#include "daemon/networking.hpp"
#include "daemon/phase_log.hpp"

namespace berth::daemon {

namespace {

// The spare container's shim drops it by itself this long after it was made; the janitor lets
// it go kSpareExpiryMargin before that (a start racing the shim's TTL would fail).
constexpr int kSpareContainerTtlMs = 60000;
constexpr auto kSpareExpiryMargin = std::chrono::seconds(5);
// A create waits this long at most for the spare of its image under way (take_spare): making it
// takes 5-10 ms here.
constexpr auto kSpareWaitMax = std::chrono::milliseconds(100);

bool same_draft(const Daemon::Draft& a, const Daemon::Draft& b) {
  return a.image_id == b.image_id && a.runtime == b.runtime && a.cfg == b.cfg && a.hc == b.hc;
}

std::string str_of(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool non_empty(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return false;
  if (it->is_string()) return !it->get_ref<const std::string&>().empty();
  if (it->is_boolean()) return it->get<bool>();
  return !it->empty();  // an array or object with something in it (a number is never empty)
}

}  // namespace

bool Daemon::speculative(const Draft& d) {
  const json& hc = d.hc;
  if (str_of(hc, "NetworkMode") != "none") return false;
  for (const char* k : {"Binds", "VolumesFrom", "Links", "Devices", "DeviceRequests", "DeviceCgroupRules", "StorageOpt",
                        "Privileged", "VolumeDriver"})
    if (non_empty(hc, k)) return false;
  for (const char* k : {"IpcMode", "PidMode", "UTSMode", "UsernsMode", "CgroupnsMode"})
    if (str_of(hc, k).rfind("container:", 0) == 0) return false;
  if (auto m = hc.find("Mounts"); m != hc.end() && !m->is_null()) {
    if (!m->is_array()) return false;
    for (const auto& x : *m)
      if (!x.is_object() || str_of(x, "Type") != "tmpfs") return false;
  }
  if (non_empty(d.cfg, "Volumes")) return false;
  json ic = json::parse(d.image_config, nullptr, false);
  if (ic.is_discarded() || !ic.is_object()) return false;
  auto icc = ic.find("config");
  return icc == ic.end() || !icc->is_object() || !non_empty(*icc, "Volumes");
}

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

Daemon::SpareTaken Daemon::take_spare(const Draft& d) {
  // While the janitor makes the spare of this image (the image of the container started last)
  // the create waits for it: what is left of its making is less than making the container
  // again on the way of the start (a client's next `run` can come before the janitor is done:
  // it waits for the last one's client to go first, janitor_loop). Otherwise not while one is
  // being made or dropped.
  bool ours;
  {
    std::lock_guard lk(mu);
    ours = spare_rootfs_image_ == d.image_id;
  }
  std::unique_lock sl(spare_rootfs_mu_, std::defer_lock);
  if (!(ours ? sl.try_lock_for(kSpareWaitMax) : sl.try_lock())) return {};
  if (!spare_rootfs_ || spare_rootfs_->image_id != d.image_id) return {};
  SpareRootfs s = std::move(*spare_rootfs_);
  spare_rootfs_.reset();
  bool same = s.tmpl && same_draft(s.tmpl->d, d);
  SpareTaken t{s.id, nullptr};
  if (s.container) {
    if (same) {
      t.container = std::move(s.container);
    } else {
      release_spare_container(*s.container);
      spare_speculate_ = false;
    }
  } else if (same) {
    spare_speculate_ = true;
  }
  return t;
}

void Daemon::make_spare_rootfs() {
  std::string image_id;
  std::optional<SpareTemplate> tmpl;
  {
    std::lock_guard lk(mu);
    image_id = spare_rootfs_image_;
    if (image_id.empty() || stopping_) return;
    if (spare_template_ && spare_template_->d.image_id == image_id) tmpl = spare_template_;
  }
  std::lock_guard sl(spare_rootfs_mu_);
  if (spare_rootfs_holds_ > 0) return;
  if (spare_rootfs_ && spare_rootfs_->image_id != image_id) drop_spare_rootfs_locked();  // of an image no longer started
  if (!spare_rootfs_) {
    std::string id = random_hex(64);
    std::string rootfs = bundle_dir(id) + "/rootfs";
    Status st = [&]() -> Status {
      auto mounts = TRY(images_->prepare_rootfs(image_id, id));
      TRY(mkdir_all(rootfs, 0755));
      return mount_rootfs(mounts, rootfs);
    }();
    if (!st) {
      log::debug("no spare rootfs for {}: {}", image_id, st.error().message());
      remove_garbage(id);  // what was made of it
      return;
    }
    spare_rootfs_ = SpareRootfs{id, image_id, std::nullopt, nullptr};
  }
  SpareRootfs& s = *spare_rootfs_;
  if (s.container) return;  // made from an earlier template: it may still be asked for
  s.tmpl = std::move(tmpl);
  if (!s.tmpl || !spare_speculate_ || !speculative(s.tmpl->d)) return;

  // the spare container, on the spare rootfs
  auto c = container_of(s.tmpl->d, s.id);
  c->rootfs_mounted = true;  // (its created time is the create's that takes it)
  std::lock_guard op(c->op);
  if (auto st = setup_volumes(*c, s.tmpl->d.image_config); !st || !may_prepare(*c)) {
    if (!st) log::debug("no spare container: {}", st.error().message());
    return;
  }
  PhaseLog plog("spare container " + s.id.substr(0, 12));
  ++prepared_n_;
  auto r = launch(c, true, plog, kSpareContainerTtlMs);
  if (!r) {
    --prepared_n_;
    log::debug("no spare container: {}", r.error().message());
    // launch undid what it set up, the rootfs's mount too: the spare is gone
    std::string id = s.id;
    spare_rootfs_.reset();
    remove_garbage(id);
    return;
  }
  auto expires = std::chrono::steady_clock::now() + std::chrono::milliseconds(kSpareContainerTtlMs);
  c->prepared = PreparedTask{std::move(r->ready), r->shim_pid, expires};
  s.container = std::move(c);
  {
    std::lock_guard lk(mu);
    spare_expiry_ = expires - kSpareExpiryMargin;
  }
  janitor_cv_.notify_one();
}

void Daemon::release_spare_container(Container& c) {
  if (c.prepared) {
    PreparedTask p = take_prepared(c);
    p.ready.reset();  // EOF: the shim deletes the runtime's container (state, cgroup) and exits
  }
  stop_volumes(c);
  net_->teardown(c.id);
}

void Daemon::expire_spare_container(bool now) {
  std::lock_guard sl(spare_rootfs_mu_);
  if (!spare_rootfs_ || !spare_rootfs_->container) return;
  Container& c = *spare_rootfs_->container;
  // (the janitor's timer may be of an earlier spare container)
  if (!now && c.prepared && std::chrono::steady_clock::now() < c.prepared->expires - kSpareExpiryMargin) {
    std::lock_guard lk(mu);
    spare_expiry_ = c.prepared->expires - kSpareExpiryMargin;
    return;
  }
  release_spare_container(c);
  spare_rootfs_->container.reset();
}

void Daemon::drop_spare_rootfs_locked() {
  if (!spare_rootfs_) return;
  SpareRootfs s = std::move(*spare_rootfs_);
  spare_rootfs_.reset();
  if (s.container && s.container->prepared) {
    std::lock_guard op(s.container->op);
    discard_prepared(*s.container, take_prepared(*s.container));  // waits for its shim, unmounts
  }
  remove_garbage(s.id);  // unmount, layer and its record, bundle
}

Daemon::SpareRootfsHold::SpareRootfsHold(Daemon& d) : d_(d) {
  d_.remove_pending_garbage();  // removed containers' layers would keep their images in use too
  std::lock_guard sl(d_.spare_rootfs_mu_);
  ++d_.spare_rootfs_holds_;
  d_.drop_spare_rootfs_locked();
}

Daemon::SpareRootfsHold::~SpareRootfsHold() {
  std::lock_guard sl(d_.spare_rootfs_mu_);
  --d_.spare_rootfs_holds_;
}

}  // namespace berth::daemon
