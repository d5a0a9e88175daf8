// SPDX-License-Identifier: Apache-2.0
// Storage drivers (Docker's graph drivers / containerd's snapshotters): a layer is a directory
// tree identified by an opaque id, built on a parent layer. Drivers never mount anything for a
// container: they return mount descriptions that the runtime performs.
//
//   overlay2  <root>/<id>/{diff,work,link,lower}, <root>/l/<26-char link> -> ../<id>/diff
//             layers are independent directories, so layers of one image extract in parallel.
//   btrfs     <root>/subvolumes/<id>: a subvolume; children start as snapshots of the parent.
//   vfs       <root>/dir/<id>: a full copy of the parent plus the diff (works everywhere).
//
// Creation is crash-safe: a layer is built under "<root>/tmp/<id>" and renamed into place; open
// removes leftovers in tmp/. Removing a layer that others use as parent is the caller's problem
// (the image layer store reference-counts).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "storage/reader.hpp"
#include "storage/tar_apply.hpp"

namespace berth::storage {

struct Mount {
  std::string type;     // "overlay", "bind"
  std::string source;   // "overlay" or a directory
  std::vector<std::string> options;
};

enum class ChangeKind { Modified = 0, Added = 1, Deleted = 2 };
struct Change {
  std::string path;  // absolute inside the container, "/etc/x"
  ChangeKind kind;
};

struct LayerStats {
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;
};

class Driver {
 public:
  virtual ~Driver() = default;
  virtual std::string name() const = 0;
  // True when layers can be extracted before their parent exists (overlay2).
  virtual bool independent_layers() const = 0;

  // Creates read-only layer `id` on top of `parent` ("" = base) from a decompressed tar stream.
  // On error nothing is left behind.
  virtual Result<LayerStats> create_from_tar(const std::string& id, const std::string& parent,
                                             Reader& tar, const ApplyOptions& opts = {}) = 0;
  // Creates an empty rw layer (a container's) on top of `parent`.
  virtual Status create_rw(const std::string& id, const std::string& parent) = 0;
  virtual bool exists(const std::string& id) const = 0;
  virtual Status remove(const std::string& id) = 0;
  virtual Result<std::vector<Mount>> mounts(const std::string& id) = 0;
  // Directory holding this layer's own changes (overlay diff dir, vfs full copy).
  virtual std::string diff_dir(const std::string& id) const = 0;
  // Changes of `id` relative to its parent.
  virtual Result<std::vector<Change>> changes(const std::string& id) = 0;
  // Writes the changes of `id` relative to its parent as a layer tar (whiteouts as .wh. files).
  virtual Status diff_tar(const std::string& id, int out_fd) = 0;
  // Bytes used by the layer's own files.
  virtual Result<std::int64_t> usage(const std::string& id) = 0;
  // Ids present on disk (for garbage collection of unreferenced layers after a crash).
  virtual Result<std::vector<std::string>> list() = 0;
  // Problems in the driver's own bookkeeping (staging leftovers, dangling or missing links,
  // half-created layers). Opening a driver repairs what a crash can leave, so a freshly
  // opened store reports nothing.
  virtual std::vector<std::string> check() { return {}; }

  // `--storage-opt size=` (storage/quota.hpp): ok when rw layers can get a size limit here,
  // else InvalidArgument in dockerd's words. set_size_limit caps rw layer `id` right after
  // create_rw, before anything is written to it.
  virtual Status check_size_limit() const;
  virtual Status set_size_limit(const std::string& id, std::uint64_t bytes);
};

// name: "overlay2" | "btrfs" | "vfs" | "" (the driver that created `home`, else overlay2 if the
// kernel and filesystem support it, else vfs). Refuses a driver other than the one whose data
// is already under `home` (<home>/overlay2, /btrfs, /vfs), as its layers would be invisible.
// btrfs needs `home` on a btrfs filesystem.
Result<std::unique_ptr<Driver>> open_driver(const std::string& name, const std::string& home);
// Drivers with data under home.
std::vector<std::string> prior_drivers(const std::string& home);
// dockerd's DriverStatus pairs for `docker info` (Backing Filesystem, ...).
std::vector<std::pair<std::string, std::string>> driver_status(const std::string& name, const std::string& home);
// "extfs", "xfs", "btrfs", "tmpfs", ... of the filesystem holding dir.
std::string backing_filesystem(const std::string& dir);
// Probes whether overlayfs with trusted xattrs works under `dir` (needs root).
bool overlay_supported(const std::string& dir);

}  // namespace berth::storage
