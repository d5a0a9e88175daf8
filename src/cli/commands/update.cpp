// SPDX-License-Identifier: Apache-2.0
// berth update [--memory M] [--cpus N] [--pids-limit N] [--restart P] CONTAINER...
#include <cmath>

#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "cli/cmd_util.hpp"
#include "common/strings.hpp"

namespace berth::cli {

static int run_update(App& app, const ParsedFlags& f) {
  Json b = Json::object();
  auto bytes = [&](const char* flag, const char* key) -> Status {
    if (!f.has(flag)) return ok();
    std::string v = f.str(flag);
    auto n = v == "-1" ? std::optional<std::int64_t>(-1) : parse_bytes(v);
    if (!n) return fail(Errc::InvalidArgument, "invalid size: '" + v + "'");
    b[key] = *n;
    return ok();
  };
  for (auto [fl, k] : {std::pair{"memory", "Memory"}, {"memory-reservation", "MemoryReservation"},
                       {"memory-swap", "MemorySwap"}}) {
    if (auto st = bytes(fl, k); !st) return report(app, st.error());
  }
  if (f.has("cpus")) b["NanoCpus"] = static_cast<std::int64_t>(std::llround(std::strtod(f.str("cpus").c_str(), nullptr) * 1e9));
  for (auto [fl, k] : {std::pair{"cpu-shares", "CpuShares"}, {"cpu-period", "CpuPeriod"},
                       {"cpu-quota", "CpuQuota"}, {"pids-limit", "PidsLimit"}, {"blkio-weight", "BlkioWeight"}})
    if (f.has(fl)) b[k] = f.integer(fl, 0);
  for (auto [fl, k] : {std::pair{"cpuset-cpus", "CpusetCpus"}, {"cpuset-mems", "CpusetMems"}})
    if (f.has(fl)) b[k] = f.str(fl);
  if (f.has("restart")) {
    const std::string policy = f.str("restart");
    auto [n, m] = split_once(policy, ':');
    b["RestartPolicy"] = {{"Name", std::string(n)}, {"MaximumRetryCount", m.empty() ? 0 : parse_int(m).value_or(0)}};
  }
  if (b.empty()) return report(app, Error(Errc::InvalidArgument, "you must provide one or more flags when using this command"));
  return for_each_arg(app, f.args, [&](const std::string& n) -> Status {
    auto r = TRY(app.call_json("POST", "/containers/" + url_escape(n) + "/update", b));
    if (r.is_object() && r.contains("Warnings") && r["Warnings"].is_array())
      for (const auto& w : r["Warnings"]) app.err(w.get<std::string>() + "\n");
    return ok();
  });
}

const Command& cmd_update() {
  static const Command c{"update", {"container update"}, "[OPTIONS] CONTAINER [CONTAINER...]",
                         "Update configuration of one or more containers",
                         {{"blkio-weight", 0, FlagKind::Int, "Block IO (relative weight), between 10 and 1000, or 0 to disable"},
                          {"cpu-period", 0, FlagKind::Int, "Limit CPU CFS (Completely Fair Scheduler) period"},
                          {"cpu-quota", 0, FlagKind::Int, "Limit CPU CFS (Completely Fair Scheduler) quota"},
                          {"cpu-shares", 'c', FlagKind::Int, "CPU shares (relative weight)"},
                          {"cpus", 0, FlagKind::String, "Number of CPUs", "decimal"},
                          {"cpuset-cpus", 0, FlagKind::String, "CPUs in which to allow execution (0-3, 0,1)"},
                          {"cpuset-mems", 0, FlagKind::String, "MEMs in which to allow execution (0-3, 0,1)"},
                          {"memory", 'm', FlagKind::String, "Memory limit", "bytes"},
                          {"memory-reservation", 0, FlagKind::String, "Memory soft limit", "bytes"},
                          {"memory-swap", 0, FlagKind::String, "Swap limit equal to memory plus swap: -1 to enable unlimited swap", "bytes"},
                          {"pids-limit", 0, FlagKind::Int, "Tune container pids limit (set -1 for unlimited)"},
                          {"restart", 0, FlagKind::String, "Restart policy to apply when a container exits"}},
                         1, -1, true, run_update};
  return c;
}

}  // namespace berth::cli
