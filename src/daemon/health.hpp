// SPDX-License-Identifier: Apache-2.0
// Healthchecks (Config.Healthcheck, or the image's HEALTHCHECK): one monitor thread per running
// container with a check; probes run through the runtime's exec; State.Health (Status,
// FailingStreak, Log of the last 5 probes) and `health_status: …` events as dockerd.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace berth::daemon {

class Daemon;
struct Container;

// Starts monitoring (after a start or a restore); a no-op without a healthcheck. After a
// restore (berthd restarted, the container kept running) the recorded state goes on.
void health_start(Daemon& d, const std::shared_ptr<Container>& c, bool restored = false);
// State.Health is recorded in <data-root>/containers/<id>/health.json after every probe;
// berthd's startup reads it back for every container.
void health_load(const std::string& id, const std::string& path);
// Stops the monitor of a container that ended (the status stays as it was, as dockerd).
void health_stop(const std::string& id);
// State.Health, or null when the container has no healthcheck.
nlohmann::json health_json(const Container& c);
// "healthy" / "unhealthy" / "starting" / "" (no healthcheck): for `ps` status and filters.
std::string health_status(const std::string& id);
// The effective healthcheck: the container's merged with the image's (missing fields from it).
nlohmann::json merge_healthcheck(const nlohmann::json& container, const nlohmann::json& image);

// exec_io.cpp: runs a probe inside the container; exit -1 on timeout.
Result<std::pair<int, std::string>> exec_probe(Daemon& d, const std::shared_ptr<Container>& c,
                                               const std::vector<std::string>& cmd, int timeout_ms);

}  // namespace berth::daemon
