// SPDX-License-Identifier: Apache-2.0
// berthd's implementation of build::Backend: images through image::ImageService, snapshots as
// rw layers mounted under <exec-root>/build/<id>/rootfs, RUN steps executed with the container
// runtime directly (`<runtime> run --bundle`, a config.json from generate_spec with the same
// default capabilities/seccomp/masked paths as containers), no container records.
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "build/backend.hpp"
#include "build/cache.hpp"

namespace berth::image {
class ImageService;
}

namespace berth::daemon {

class Daemon;

// One per build: owns its scratch directories (removed with the object).
Result<std::unique_ptr<build::Backend>> make_build_backend(Daemon& d);

// The daemon's build cache index (<data-root>/build/cache.json), opened once.
Result<build::CacheStore*> build_cache(Daemon& d);

// Default build cache size limit for GC after every build (BERTH_BUILD_CACHE_MAX_BYTES overrides).
std::int64_t build_cache_limit();

// Sizes of cache entries' own layers (image size - parent size) and whether an image is used
// as a tagged image or by a container (then GC keeps the image but may drop the entry).
std::int64_t build_cache_entry_size(image::ImageService& svc, const build::CacheEntry& e);

}  // namespace berth::daemon

namespace berth::http {
class Router;
}
namespace berth::daemon {
// routes_build.cpp: POST /build, POST /build/prune.
void register_build_routes(Daemon& d, http::Router& r);
// Untagged images made by build steps (hidden from GET /images/json unless all); empty if all.
std::set<std::string> build_intermediate_ids(Daemon& d, bool all);
// The BuildCache array of GET /system/df (JSON text).
std::string build_cache_df_json(Daemon& d);
}  // namespace berth::daemon
