// SPDX-License-Identifier: Apache-2.0
// berth-runtime events [--stats] [--interval 5s] <container-id>: cgroup stats as JSON lines.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <cstdio>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/strings.hpp"
#include "runtime/cli/args.hpp"

namespace berth::runtime::cli {

int cmd_events(const Globals& g, const std::vector<std::string>& argv) {
  Args a({{{"stats"}, false}, {{"interval"}}});
  if (auto st = a.parse(argv); !st) return report(st.error());
  if (!need_args(a, 1, "events")) return 1;
  const std::string& id = a.positional()[0];
  std::string iv = a.value("interval", "5s");
  double secs = 5;
  try {
    secs = std::stod(iv);
    if (iv.find("ms") != std::string::npos) secs /= 1000;
    else if (iv.find('m') != std::string::npos) secs *= 60;
  } catch (...) {
    return report(Error(Errc::InvalidArgument, "invalid --interval " + iv));
  }
  if (secs <= 0) return report(Error(Errc::InvalidArgument, "duration interval must be greater than 0"));
  std::optional<std::uint64_t> ooms;
  for (;;) {
    auto s = stats(g, id);
    if (!s) return a.flag("stats") ? report(s.error()) : 0;
    ooms = s->oom_kills;
    nlohmann::json data = {
        {"cpu", {{"usage", {{"total", s->cpu_usage_ns}, {"user", s->cpu_user_ns}, {"kernel", s->cpu_system_ns}}}}},
        {"memory", {{"usage", {{"usage", s->memory_usage}, {"max", s->memory_max_usage}, {"limit", s->memory_limit}}}}},
        {"pids", {{"current", s->pids_current}, {"limit", s->pids_limit}}}};
    // runc's field order (type, id, data): consumers match the line's prefix.
    std::printf("{\"type\":\"stats\",\"id\":%s,\"data\":%s}\n", nlohmann::json(id).dump().c_str(), data.dump().c_str());
    std::fflush(stdout);
    if (a.flag("stats")) return 0;
    // Until the next stats line, watch for OOM kills (runc's {"type":"oom"} events) and for
    // the container going away (then events ends, like runc's).
    auto next = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<long>(secs * 1000));
    while (std::chrono::steady_clock::now() < next) {
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(std::chrono::milliseconds(100),
                                                                                  next - std::chrono::steady_clock::now()));
      auto cur = stats(g, id);
      if (!cur) return 0;
      if (cur->oom_kills > *ooms) {
        std::printf("{\"type\":\"oom\",\"id\":%s}\n", nlohmann::json(id).dump().c_str());
        std::fflush(stdout);
      }
      ooms = cur->oom_kills;
    }
  }
}

}  // namespace berth::runtime::cli
