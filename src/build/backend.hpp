// SPDX-License-Identifier: Apache-2.0
// What the build executor needs from the daemon: images (resolve/pull, config), root
// filesystem snapshots it can write into, running a process in a snapshot, and committing a
// snapshot (or just a new config) as an image. berthd implements it over image::ImageService
// and berth-runtime (src/daemon/build_backend.cpp); tests implement it over plain directories.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "oci/image.hpp"

namespace berth::build {

struct ImageRef {
  std::string id;           // "sha256:<hex>"
  std::string config_json;  // raw image config blob
};

// A writable root filesystem on top of an image, mounted at rootfs() while the object lives.
// Destroying it without commit() discards the changes.
class Snapshot {
 public:
  virtual ~Snapshot() = default;
  virtual const std::string& rootfs() const = 0;
  virtual const std::string& id() const = 0;  // 64 hex: the "intermediate container" id
};

struct RunMount {
  std::string type;    // "bind" | "tmpfs"
  std::string source;  // host path (bind)
  std::string target;  // absolute path in the rootfs
  bool readonly = false;
  std::int64_t size = 0;  // tmpfs bytes, 0 = default
};

struct RunSpec {
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string user;     // Dockerfile USER (name, uid, name:group)
  std::string workdir;  // absolute, "" = "/"
  std::string network;  // "default" | "none" | "host" | a network name or id
  std::vector<RunMount> mounts;
  std::vector<std::string> extra_hosts;  // "host:ip"
  std::int64_t shm_size = 0;
  std::string stdin_data;  // fed to the process (RUN with a heredoc)
};

using OutputFn = std::function<void(std::string_view)>;

class Backend {
 public:
  virtual ~Backend() = default;
  // A base image by reference ("busybox", "busybox:1", "name@sha256:…", id). pull: always
  // pull; otherwise only when missing locally. platform "" = native.
  virtual Result<ImageRef> resolve_image(const std::string& ref, const std::string& platform, bool pull,
                                         const OutputFn& progress) = 0;
  // An image by id (or reference); Errc::NotFound when it is gone.
  virtual Result<ImageRef> image(const std::string& id) = 0;
  // A writable snapshot of image `id` ("" = empty filesystem).
  virtual Result<std::unique_ptr<Snapshot>> prepare(const std::string& image_id) = 0;
  // Runs a process in the snapshot; output (stdout+stderr) goes to `out`. Returns its exit code.
  virtual Result<int> run(Snapshot& s, const RunSpec& spec, const OutputFn& out) = 0;
  // The snapshot's changes as a new layer on `parent_id` with the given image config
  // (an oci::ImageConfig JSON whose rootfs/history the backend completes); returns the image id.
  virtual Result<std::string> commit(Snapshot& s, const std::string& parent_id, const oci::ContainerConfig& config,
                                     const std::string& created_by) = 0;
  // A new image with the layers of `parent_id` ("" = none) and a new config (no new layer).
  virtual Result<std::string> commit_config(const std::string& parent_id, const oci::ContainerConfig& config,
                                            const std::string& created_by) = 0;
  // A build cache restore (--cache-from): a new image on `parent_id` with `config` and the
  // history entry `h` verbatim; when layer_index >= 0, layer `layer_index` of image `source_id`
  // (whose layers start with the parent's) is its new layer. Errc::Unimplemented: not supported.
  virtual Result<std::string> restore(const std::string& parent_id, const oci::ContainerConfig& config,
                                      const oci::HistoryEntry& h, const std::string& source_id, int layer_index) {
    (void)parent_id, (void)config, (void)h, (void)source_id, (void)layer_index;
    return fail(Errc::Unimplemented, "cache restore is not supported by this backend");
  }
  // A persistent host directory for RUN --mount=type=cache,id=<id>.
  virtual Result<std::string> cache_mount_dir(const std::string& id) = 0;
  // A scratch directory for this build (removed by the caller's owner).
  virtual Result<std::string> temp_dir() = 0;
  // Downloads `url` into the file `dest`; returns the final file name from the URL or
  // Content-Disposition (for ADD <url> <dir>/).
  virtual Result<std::string> fetch_url(const std::string& url, const std::string& dest) = 0;
};

}  // namespace berth::build
