// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the Engine API route files (api.cpp, routes_*.cpp): JSON replies and
// errors in dockerd's shape, request version, JSON bodies, filters, time parameters, and the
// 8-byte stream frame header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "daemon/api_version.hpp"
#include "http/http.hpp"

namespace berth::daemon {

inline constexpr std::size_t kMaxJsonBody = 4 << 20;

void send_json(http::ResponseWriter& w, int status, const nlohmann::json& j);
// {"message": msg} unless the response has started.
void send_error(http::ResponseWriter& w, int status, const std::string& msg);
// Status from http_status(e).
void send_error(http::ResponseWriter& w, const Error& e);
// The request's /vX.Y/ version (the maximum when absent).
ApiVersion req_version(const http::Request& q);
// Reads a JSON body (≤ kMaxJsonBody); an empty body yields null. InvalidArgument with
// dockerd's wording on bad Content-Type or JSON.
Result<nlohmann::json> read_json(http::Request& q);
// filters={"status":["running"],"label":{"a=b":true}} (both map and list forms); a malformed
// value sets *err.
std::map<std::string, std::vector<std::string>> parse_filters(const http::Request& q, Error* err);
std::int64_t parse_rfc3339_nanos(const std::string& s);
// "1700000000", "1700000000.5", RFC3339, or durations like "10m" (relative to now), in ns.
std::optional<std::int64_t> parse_time_param(const std::string& s);
// "Up 3 minutes" style durations.
std::string human_duration(std::int64_t secs);
// Prefixes data with the 8-byte multiplexed-stream header (stream 0 stdin, 1 stdout, 2 stderr);
// raw returns data as is (Tty).
std::string frame(int stream, std::string_view data, bool raw);

class Daemon;
// /volumes/* (routes_volumes.cpp).
void register_volume_routes(Daemon& d, http::Router& r);
// The "Volumes" array of /system/df: Volume objects with UsageData {Size, RefCount}.
nlohmann::json volumes_df_json(Daemon& d);

}  // namespace berth::daemon
