// SPDX-License-Identifier: Apache-2.0
// Rows for `ps` and `images`: the daemon's list JSON turned into docker's formatted fields
// (what `{{json .}}` prints, keys sorted as docker's map-based subcontext marshals them).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/template.hpp"

namespace berth::cli {

// docker's DisplayablePorts: "0.0.0.0:8080->80/tcp, 53/udp"
std::string display_ports(const Json& ports);
Json container_row(const Json& c, bool trunc, std::int64_t now);
Json container_headers();
inline constexpr const char* kPsTable =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";

// `volume ls` fields; Links and Size come from UsageData when the daemon sent it (system df).
Json volume_row(const Json& v);

std::vector<Json> image_rows(const Json& img, bool trunc, bool all_tags, std::int64_t now);
Json image_headers();
inline constexpr const char* kImagesTable =
    "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";

}  // namespace berth::cli
