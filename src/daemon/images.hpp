// SPDX-License-Identifier: Apache-2.0
// The daemon's image backend is src/image's ImageService, opened once per daemon with the
// registry settings of daemon.json (insecure-registries, registry-mirrors).
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "image/image_service.hpp"

namespace berth::daemon {

struct Config;
using ImageStore = image::ImageService;

// Opens the image service under cfg.data_root with cfg's storage driver and registries.
Result<std::unique_ptr<ImageStore>> open_image_store(const Config& cfg);

// "busybox" -> "busybox:latest"; "docker.io/library/busybox:1" -> "busybox:1".
std::string normalize_ref(const std::string& ref);

// Container inspect's GraphDriver ({"Name": driver, "Data": {LowerDir, UpperDir, WorkDir,
// MergedDir}}) from the container's prepared rootfs mounts.
nlohmann::json graph_driver_json(ImageStore& images, const std::string& container_id,
                                 const std::string& merged_dir);

}  // namespace berth::daemon
