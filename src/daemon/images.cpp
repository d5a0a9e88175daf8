// SPDX-License-Identifier: Apache-2.0
#include "daemon/images.hpp"

#include <cstring>

#include "common/file.hpp"
#include "daemon/config.hpp"

namespace berth::daemon {

std::string normalize_ref(const std::string& ref) {
  std::string r = ref;
  for (const char* p : {"docker.io/library/", "index.docker.io/library/", "docker.io/", "library/"})
    if (r.rfind(p, 0) == 0) r = r.substr(std::strlen(p));
  if (r.find('@') != std::string::npos) return r;
  auto slash = r.rfind('/');
  auto colon = r.rfind(':');
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) r += ":latest";
  return r;
}

Result<std::unique_ptr<ImageStore>> open_image_store(const Config& cfg) {
  image::ServiceOptions o;
  o.root = cfg.data_root;
  o.driver = cfg.storage_driver;
  o.insecure_registries = cfg.insecure_registries;
  // dockerd's registry-mirrors apply to Docker Hub.
  if (!cfg.registry_mirrors.empty()) o.mirrors["docker.io"] = cfg.registry_mirrors;
  TRY(mkdir_all(cfg.data_root + "/tmp", 0700));
  return TRYC(image::ImageService::open(o), "open image store");
}

nlohmann::json graph_driver_json(ImageStore& images, const std::string& container_id,
                                 const std::string& merged_dir) {
  nlohmann::json data = nlohmann::json::object();
  if (auto ms = images.rootfs_mounts(container_id)) {
    for (const auto& m : *ms) {
      if (m.type == "bind") {
        data["MergedDir"] = merged_dir;
        continue;
      }
      for (const auto& o : m.options) {
        auto eq = o.find('=');
        if (eq == std::string::npos) continue;
        std::string k = o.substr(0, eq), v = o.substr(eq + 1);
        if (k == "lowerdir") data["LowerDir"] = v;
        else if (k == "upperdir") data["UpperDir"] = v;
        else if (k == "workdir") data["WorkDir"] = v;
      }
      data["MergedDir"] = merged_dir;
    }
  }
  return {{"Name", images.driver_name()}, {"Data", data}};
}

}  // namespace berth::daemon
