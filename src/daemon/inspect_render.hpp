// SPDX-License-Identifier: Apache-2.0
// Config and HostConfig of GET /containers/{id}/json as dockerd marshals its container.Config
// and container.HostConfig structs (API v1.47): every field present, the ones the client left
// out with Go's empty value (null for slices, maps and pointers; "", false, 0), the `omitempty`
// ones dropped when empty, unknown keys dropped, and the defaults dockerd writes at create
// (RestartPolicy "no", ShmSize 64 MiB, IpcMode/CgroupnsMode "private", OomKillDisable false,
// the runtime, the default masked/read-only paths). Applied when rendering, so container
// records stored before (the create body as sent) render the same.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

namespace berth::daemon {

// `stored`: the container's Config (the create body merged with the image's config);
// `image`: the image as the client named it.
nlohmann::json inspect_config(const nlohmann::json& stored, const std::string& image);
// `stored`: the container's HostConfig as created (and updated); `runtime`: the runtime the
// container runs with.
nlohmann::json inspect_host_config(const nlohmann::json& stored, const std::string& runtime);

}  // namespace berth::daemon
