// SPDX-License-Identifier: Apache-2.0
// The image and container-filesystem route files (routes_images.cpp, routes_archive.cpp) and the
// body/stream plumbing they share. Internal to src/daemon.
#pragma once

#include <functional>
#include <string>

#include "daemon/api_util.hpp"
#include "daemon/daemon.hpp"

namespace berth::daemon {

// Runs consume(fd) on a socket fed with the request body by a helper thread (for consumers
// that read an fd: load, import, archive extraction).
Status with_body_fd(http::Request& q, http::ResponseWriter& w, const std::function<Status(int fd)>& consume);
// Runs produce(fd) in a thread and streams what it writes as the response body. An error before
// the first byte is returned (the caller answers it); later errors cut the stream short.
Status stream_from(http::ResponseWriter& w, const std::string& content_type,
                   const std::function<Status(int fd)>& produce);

// /images/*, /commit, /auth (routes_images.cpp)
void register_image_routes(Daemon& d, http::Router& r);
// The "Images" array of /system/df (SharedSize, Containers) and LayersSize (each layer once).
Result<nlohmann::json> images_df_json(Daemon& d, std::int64_t& layers_size);
// /containers/{id}/archive, /changes, /export (routes_archive.cpp)
void register_archive_routes(Daemon& d, http::Router& r);

// Unmounts and removes <exec-root>/tmp/rootfs-* left by archive requests of a daemon that died
// mid-request (called at startup).
void cleanup_rootfs_views(const std::string& exec_root);

}  // namespace berth::daemon
