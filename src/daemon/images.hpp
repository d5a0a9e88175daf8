// SPDX-License-Identifier: Apache-2.0
// The daemon's image backend. Until src/image's ImageService implementation lands this is a
// small built-in store: docker-archive / OCI-in-tar loading (layers unpacked in order into one
// directory per image; whiteouts honoured), tags, inspect, and per-container overlay (or copy)
// root filesystems. Layout under <data-root>/images-builtin/.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace berth::daemon {

struct ImageRecord {
  std::string id;  // sha256:<hex> of the config blob
  std::vector<std::string> tags;
  std::string config_json;  // the image config blob
  std::int64_t created = 0;
  std::int64_t size = 0;
};

struct RootfsMount {
  std::string type, source;
  std::vector<std::string> options;
};

class ImageStore {
 public:
  // data_root: berthd's --data-root. With src/image available (BERTH_HAVE_IMAGE_SERVICE) the
  // store delegates to image::ImageService rooted there; otherwise it uses the built-in store
  // under <data_root>/images-builtin.
  static Result<std::unique_ptr<ImageStore>> open(const std::string& data_root,
                                                  const std::string& driver = {});
  ~ImageStore();
  // "image-service" or "builtin"
  std::string backend() const;
  // Loads a docker-archive from fd; returns "busybox:latest" style refs (or ids when untagged).
  Result<std::vector<std::string>> load(int fd);
  // Same, pulling the archive bytes from a reader (0 = end).
  Result<std::vector<std::string>> load_from(const std::function<Result<std::size_t>(char*, std::size_t)>& rd);
  std::vector<ImageRecord> list();
  // name[:tag], full or short id, "sha256:" id.
  Result<ImageRecord> resolve(const std::string& name);
  // Docker image inspect JSON.
  Result<std::string> inspect(const std::string& name);
  Result<std::vector<std::string>> remove(const std::string& name, bool force);
  // Rootfs of a container on top of the image: overlay lower=image dir.
  Result<std::vector<RootfsMount>> prepare_rootfs(const std::string& image_id, const std::string& container_id);
  Status remove_rootfs(const std::string& container_id);

 private:
  Status save_repos();
  struct Service;
  std::unique_ptr<Service> svc_;
  std::string root_;
  std::mutex mu_;
  std::map<std::string, std::string> repos_;  // "busybox:latest" -> id
};

// "busybox" -> "busybox:latest"; "docker.io/library/busybox:1" -> "busybox:1".
std::string normalize_ref(const std::string& ref);

}  // namespace berth::daemon
