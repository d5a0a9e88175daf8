// SPDX-License-Identifier: Apache-2.0
// berth stats [--no-stream] [CONTAINER...]: docker's columns, refreshed every second (the
// screen is redrawn on a terminal); CPU % from two one-shot samples a second apart.
#include <algorithm>
#include <chrono>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "cli/format.hpp"
#include "common/strings.hpp"

namespace berth::cli {

static double num(const Json& j, std::initializer_list<const char*> path) {
  const Json* cur = &j;
  for (const char* k : path) {
    if (!cur->is_object() || !cur->contains(k)) return 0;
    cur = &(*cur)[k];
  }
  return cur->is_number() ? cur->get<double>() : 0;
}

Json stats_row(const Json& s, const std::string& name_hint) {
  double cpu_delta = num(s, {"cpu_stats", "cpu_usage", "total_usage"}) - num(s, {"precpu_stats", "cpu_usage", "total_usage"});
  double sys_delta = num(s, {"cpu_stats", "system_cpu_usage"}) - num(s, {"precpu_stats", "system_cpu_usage"});
  double ncpu = num(s, {"cpu_stats", "online_cpus"});
  if (ncpu == 0 && s.contains("cpu_stats") && s["cpu_stats"].contains("cpu_usage") &&
      s["cpu_stats"]["cpu_usage"].contains("percpu_usage") && s["cpu_stats"]["cpu_usage"]["percpu_usage"].is_array())
    ncpu = static_cast<double>(s["cpu_stats"]["cpu_usage"]["percpu_usage"].size());
  double cpu = (sys_delta > 0 && cpu_delta > 0) ? cpu_delta / sys_delta * ncpu * 100.0 : 0;
  double mem = num(s, {"memory_stats", "usage"});
  double inactive = num(s, {"memory_stats", "stats", "inactive_file"});
  if (inactive > 0 && inactive < mem) mem -= inactive;
  double limit = num(s, {"memory_stats", "limit"});
  double rx = 0, tx = 0;
  if (s.contains("networks") && s["networks"].is_object())
    for (auto it = s["networks"].begin(); it != s["networks"].end(); ++it) {
      rx += num(it.value(), {"rx_bytes"});
      tx += num(it.value(), {"tx_bytes"});
    }
  double br = 0, bw = 0;
  if (s.contains("blkio_stats") && s["blkio_stats"].contains("io_service_bytes_recursive") &&
      s["blkio_stats"]["io_service_bytes_recursive"].is_array())
    for (const auto& e : s["blkio_stats"]["io_service_bytes_recursive"]) {
      std::string op = berth::to_lower(e.value("op", ""));
      if (op == "read") br += num(e, {"value"});
      if (op == "write") bw += num(e, {"value"});
    }
  char pct[32], mpct[32];
  std::snprintf(pct, sizeof pct, "%.2f%%", cpu);
  std::snprintf(mpct, sizeof mpct, "%.2f%%", limit > 0 ? mem / limit * 100.0 : 0);
  std::string id = s.value("id", "");
  std::string name = s.value("name", name_hint);
  if (!name.empty() && name[0] == '/') name.erase(0, 1);
  return {{"BlockIO", human_size_prec(br, 3) + " / " + human_size_prec(bw, 3)},
          {"CPUPerc", pct},
          {"Container", name_hint},
          {"ID", short_id(id)},
          {"MemPerc", mpct},
          {"MemUsage", bytes_size(mem) + " / " + bytes_size(limit)},
          {"Name", name},
          {"NetIO", human_size_prec(rx, 3) + " / " + human_size_prec(tx, 3)},
          {"PIDs", std::to_string(static_cast<long long>(num(s, {"pids_stats", "current"})))}};
}

namespace {

// One-shot samples of every container; a container that vanished is dropped from the stream
// (docker does the same) unless it was named on the command line (then it is an error).
struct Sampler {
  App& app;
  std::map<std::string, Json> prev;  // by name as given

  Result<Json> take(const std::string& n) {
    Json s = TRY(app.get_json("/containers/" + url_escape(n) + "/stats?stream=0&one-shot=1"));
    if (auto it = prev.find(n); it != prev.end() && it->second.contains("cpu_stats")) {
      s["precpu_stats"] = it->second["cpu_stats"];
      s["preread"] = it->second.value("read", "");
    }
    prev[n] = s;
    return s;
  }
};

}  // namespace

static int run_stats(App& app, const ParsedFlags& f) {
  const bool named = !f.args.empty();
  auto list_names = [&]() -> Result<std::vector<std::string>> {
    if (named) return f.args;
    std::vector<std::string> out;
    Json list = TRY(app.get_json(std::string("/containers/json?all=") + (f.flag("all") ? "1" : "0")));
    for (const auto& c : list) out.push_back(c.value("Id", ""));
    return out;
  };
  Json headers = {{"BlockIO", "BLOCK I/O"}, {"CPUPerc", "CPU %"},  {"Container", "CONTAINER"},
                  {"ID", "CONTAINER ID"},   {"MemPerc", "MEM %"},  {"MemUsage", "MEM USAGE / LIMIT"},
                  {"Name", "NAME"},         {"NetIO", "NET I/O"},  {"PIDs", "PIDS"}};
  const char* def = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";
  auto fmt = parse_list_format(f.str("format"), def);
  Sampler sampler{app, {}};
  const bool stream = !f.flag("no-stream");
  const bool tty = app.stdout_tty();
  for (int tick = 0;; ++tick) {
    auto names = list_names();
    if (!names) return report(app, names.error());
    std::vector<Json> rows;
    int rc = 0;
    for (const auto& n : *names) {
      auto s = sampler.take(n);
      if (!s) {
        if (named) {
          app.err(s.error().message() + "\n");
          rc = kExitError;
        }
        continue;
      }
      rows.push_back(stats_row(*s, n));
    }
    if (!named) {  // forget containers that went away
      for (auto it = sampler.prev.begin(); it != sampler.prev.end();)
        it = std::find(names->begin(), names->end(), it->first) == names->end() ? sampler.prev.erase(it) : std::next(it);
    }
    // The first round has no previous CPU sample: like docker --no-stream, take a second one
    // a second later before printing.
    if (tick == 0 && !rows.empty()) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      rows.clear();
      for (const auto& n : *names)
        if (auto s = sampler.take(n)) rows.push_back(stats_row(*s, n));
    }
    auto out = render_list(fmt, rows, headers);
    if (!out) return report(app, out.error());
    if (stream && tty) app.out("\033[2J\033[H");
    app.out(*out);
    if (!stream) return rc;
    if (named && rows.empty()) return rc ? rc : kExitError;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

const Command& cmd_stats() {
  static const Command c{"stats", {"container stats"}, "[OPTIONS] [CONTAINER...]",
                         "Display a live stream of container(s) resource usage statistics",
                         {{"all", 'a', FlagKind::Bool, "Show all containers (default shows just running)"},
                          {"format", 0, FlagKind::String, "Format output using a custom template"},
                          {"no-stream", 0, FlagKind::Bool, "Disable streaming stats and only pull the first result"},
                          {"no-trunc", 0, FlagKind::Bool, "Do not truncate output"}},
                         0, -1, true, run_stats};
  return c;
}

}  // namespace berth::cli
