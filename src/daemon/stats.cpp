// SPDX-License-Identifier: Apache-2.0
// GET /containers/{id}/stats: dockerd's stats JSON from the container's cgroup (v1, hybrid or
// v2 through src/cgroups) and its network namespace (/proc/<pid>/net/dev). Streams one sample
// per second; stream=false waits for a second sample so that precpu_stats is filled (as
// dockerd), one-shot=true answers at once.
#include <sys/sysinfo.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "cgroups/cgroups.hpp"
#include "common/file.hpp"
#include "common/strings.hpp"
#include "daemon/api_util.hpp"
#include "daemon/daemon.hpp"

namespace berth::daemon {

namespace {

std::uint64_t system_cpu_ns() {
  auto st = read_file("/proc/stat", 1 << 20);
  if (!st) return 0;
  auto line = split(split(*st, '\n')[0], ' ');
  std::uint64_t ticks = 0;
  for (std::size_t i = 1; i < line.size(); ++i) ticks += parse_uint(line[i]).value_or(0);
  return ticks * (1000000000ULL / static_cast<std::uint64_t>(::sysconf(_SC_CLK_TCK)));
}

// /proc/<pid>/net/dev of the container's netns: every interface but lo.
json network_stats(int pid) {
  json nets = json::object();
  if (pid <= 0) return nets;
  auto dev = read_file("/proc/" + std::to_string(pid) + "/net/dev", 1 << 20);
  if (!dev) return nets;
  auto lines = split(*dev, '\n');
  for (std::size_t i = 2; i < lines.size(); ++i) {
    auto [name, rest] = split_once(lines[i], ':');
    std::string ifname(trim(name));
    if (ifname.empty() || ifname == "lo") continue;
    std::vector<std::uint64_t> v;
    for (auto& f : split(rest, ' '))
      if (!f.empty()) v.push_back(parse_uint(f).value_or(0));
    if (v.size() < 12) continue;
    nets[ifname] = {{"rx_bytes", v[0]}, {"rx_packets", v[1]}, {"rx_errors", v[2]}, {"rx_dropped", v[3]},
                    {"tx_bytes", v[8]}, {"tx_packets", v[9]}, {"tx_errors", v[10]}, {"tx_dropped", v[11]}};
  }
  return nets;
}

json sample(const Container& c, int pid, bool running) {
  json j;
  j["read"] = rfc3339_now();
  j["name"] = "/" + c.name;
  j["id"] = c.id;
  cgroups::Stats s;
  if (running)
    if (auto m = cgroups::Manager::open("/berth/" + c.id))
      if (auto st = m->stats()) s = std::move(*st);
  struct sysinfo si{};
  ::sysinfo(&si);
  std::uint64_t total = static_cast<std::uint64_t>(si.totalram) * si.mem_unit;
  std::uint64_t limit = s.memory_limit == 0 || s.memory_limit > total ? total : s.memory_limit;
  unsigned ncpu = std::thread::hardware_concurrency();
  j["cpu_stats"] = {{"cpu_usage",
                     {{"total_usage", s.cpu_usage_ns},
                      {"usage_in_kernelmode", s.cpu_system_ns},
                      {"usage_in_usermode", s.cpu_user_ns}}},
                    {"system_cpu_usage", system_cpu_ns()},
                    {"online_cpus", ncpu},
                    {"throttling_data",
                     {{"periods", s.throttle_periods},
                      {"throttled_periods", s.throttled_periods},
                      {"throttled_time", s.throttled_time_ns}}}};
  json mem = {{"usage", s.memory_usage}, {"limit", limit}, {"stats", json::object()}};
  if (s.memory_max_usage) mem["max_usage"] = s.memory_max_usage;
  for (auto& [k, v] : s.memory_stat) mem["stats"][k] = v;
  j["memory_stats"] = running ? mem : json::object();
  json pids = {{"current", s.pids_current}};
  if (s.pids_limit) pids["limit"] = s.pids_limit;
  j["pids_stats"] = running ? pids : json::object();
  json io = json::array();
  for (auto& e : s.io_service_bytes) io.push_back({{"major", e.major}, {"minor", e.minor}, {"op", e.op}, {"value", e.value}});
  j["blkio_stats"] = {{"io_service_bytes_recursive", io.empty() ? json(nullptr) : io},
                      {"io_serviced_recursive", nullptr},
                      {"io_queue_recursive", nullptr},
                      {"io_service_time_recursive", nullptr},
                      {"io_wait_time_recursive", nullptr},
                      {"io_merged_recursive", nullptr},
                      {"io_time_recursive", nullptr},
                      {"sectors_recursive", nullptr}};
  j["storage_stats"] = json::object();
  j["num_procs"] = 0;
  auto nets = network_stats(running ? pid : 0);
  if (!nets.empty()) j["networks"] = nets;
  return j;
}

json empty_pre() {
  return {{"cpu_usage", {{"total_usage", 0}, {"usage_in_kernelmode", 0}, {"usage_in_usermode", 0}}},
          {"throttling_data", {{"periods", 0}, {"throttled_periods", 0}, {"throttled_time", 0}}}};
}

}  // namespace

void register_stats_routes(Daemon& d, http::Router& r) {
  r.add("GET", "/containers/{id}/stats", [&d](http::Request& q, http::ResponseWriter& w) {
    auto found = d.find(q.param("id"));
    if (!found) return send_error(w, found.error());
    std::shared_ptr<Container> c = *found;
    bool one_shot = q.query_bool("one-shot");
    bool stream = q.query_bool("stream", true) && !one_shot;
    auto take = [&](const json* prev) {
      int pid;
      bool running;
      {
        std::lock_guard lk(d.mu);
        pid = c->state.pid;
        running = c->state.status == "running" || c->state.status == "paused";
      }
      json j = sample(*c, pid, running);
      j["precpu_stats"] = prev ? (*prev)["cpu_stats"] : empty_pre();
      j["preread"] = prev ? (*prev)["read"] : json("0001-01-01T00:00:00Z");
      return j;
    };
    json cur = take(nullptr);
    if (!stream) {
      if (!one_shot) {
        std::this_thread::sleep_for(std::chrono::seconds(1));
        cur = take(&cur);
      }
      return send_json(w, 200, cur);
    }
    if (!w.begin_stream(200, "application/json")) return;
    if (!w.write(cur.dump() + "\n")) return;
    while (!w.peer_closed()) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      {
        std::lock_guard lk(d.mu);
        if (c->removed) break;
      }
      cur = take(&cur);
      if (!w.write(cur.dump() + "\n")) return;
    }
    (void)w.end_stream();
  });
}

}  // namespace berth::daemon
