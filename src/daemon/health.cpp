// SPDX-License-Identifier: Apache-2.0
#include "daemon/health.hpp"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "common/file.hpp"
#include "common/log.hpp"
#include "daemon/daemon.hpp"
#include "daemon/lazy_sync.hpp"

namespace berth::daemon {

namespace {

constexpr std::int64_t kSecond = 1000000000LL;
constexpr std::int64_t kDefaultInterval = 30 * kSecond, kDefaultTimeout = 30 * kSecond, kDefaultStartInterval = 5 * kSecond;
constexpr int kDefaultRetries = 3;
constexpr std::size_t kMaxLog = 5;

struct HealthState {
  std::string status;  // starting healthy unhealthy
  int streak = 0;
  std::deque<json> log;
  std::uint64_t gen = 0;
};

std::mutex g_mu;
std::condition_variable g_cv;
std::map<std::string, HealthState> g_health;

std::int64_t num(const json& h, const char* k, std::int64_t def) {
  if (!h.contains(k) || !h[k].is_number_integer()) return def;
  std::int64_t v = h[k].get<std::int64_t>();
  return v > 0 ? v : def;
}

// Go's time.Duration text for whole milliseconds and up ("30s", "1.5s", "500ms", "1m30s").
std::string go_duration(std::int64_t ns) {
  std::int64_t ms = ns / 1000000;
  if (ms < 1000) return std::to_string(ms) + "ms";
  std::string out;
  std::int64_t m = ms / 60000;
  if (m >= 60) {
    out += std::to_string(m / 60) + "h";
    m %= 60;
    out += std::to_string(m) + "m";
  } else if (m > 0) {
    out += std::to_string(m) + "m";
  }
  std::int64_t s_ms = ms % 60000;
  std::string sec = std::to_string(s_ms / 1000);
  if (s_ms % 1000) {
    std::string frac = std::to_string(1000 + s_ms % 1000).substr(1);
    while (!frac.empty() && frac.back() == '0') frac.pop_back();
    sec += "." + frac;
  }
  return out + sec + "s";
}

json to_json(const HealthState& h) {
  json log = json::array();
  for (const auto& e : h.log) log.push_back(e);
  return json{{"Status", h.status}, {"FailingStreak", h.streak}, {"Log", log}};
}

std::string health_path(Daemon& d, const std::string& id) {
  return d.config().data_root + "/containers/" + id + "/health.json";
}

bool active(Daemon& d, const Container& c) {
  std::lock_guard lk(d.mu);
  return !c.removed && (c.state.status == "running" || c.state.status == "paused");
}

void monitor(Daemon* d, std::shared_ptr<Container> c, std::uint64_t gen, json hc) {
  std::vector<std::string> cmd;
  std::vector<std::string> test;
  for (const auto& t : hc["Test"]) test.push_back(t.is_string() ? t.get<std::string>() : "");
  if (test[0] == "CMD-SHELL") {
    cmd = {"/bin/sh", "-c", test.size() > 1 ? test[1] : ""};
  } else {
    cmd.assign(test.begin() + 1, test.end());
  }
  const std::int64_t interval = num(hc, "Interval", kDefaultInterval), timeout = num(hc, "Timeout", kDefaultTimeout);
  const std::int64_t start_period = num(hc, "StartPeriod", 0), start_interval = num(hc, "StartInterval", kDefaultStartInterval);
  const int retries = static_cast<int>(num(hc, "Retries", kDefaultRetries));
  const auto started = std::chrono::steady_clock::now();
  auto in_start_period = [&] {
    return std::chrono::steady_clock::now() - started < std::chrono::nanoseconds(start_period);
  };
  for (;;) {
    std::int64_t wait_ns = interval;
    {
      std::unique_lock lk(g_mu);
      auto& h = g_health[c->id];
      if (h.gen != gen) return;
      if (h.status == "starting" && start_period > 0 && in_start_period()) wait_ns = start_interval;
      g_cv.wait_for(lk, std::chrono::nanoseconds(wait_ns), [&] { return g_health[c->id].gen != gen; });
      if (g_health[c->id].gen != gen) return;
    }
    if (!active(*d, *c)) return;
    {
      std::lock_guard lk(d->mu);
      if (c->state.status == "paused") continue;
    }
    std::string start = rfc3339_now();
    int code;
    std::string output;
    if (cmd.empty() || cmd[0].empty()) {
      code = -1;
      output = "healthcheck has no command";
    } else {
      auto r = exec_probe(*d, c, cmd, static_cast<int>(timeout / 1000000));
      if (!r) {
        code = -1;
        output = r.error().message();
      } else if (r->first == -1) {
        code = -1;
        output = "Health check exceeded timeout (" + go_duration(timeout) + ")";
      } else {
        code = r->first;
        output = r->second;
      }
    }
    if (!active(*d, *c)) return;
    std::string changed;
    {
      std::lock_guard lk(g_mu);
      auto& h = g_health[c->id];
      if (h.gen != gen) return;
      std::string before = h.status;
      if (code == 0) {
        h.streak = 0;
        h.status = "healthy";
      } else if (!(h.status == "starting" && in_start_period())) {
        // failures during the start period do not count (until the first success)
        if (++h.streak >= retries) h.status = "unhealthy";
      }
      h.log.push_back(json{{"Start", start}, {"End", rfc3339_now()}, {"ExitCode", code}, {"Output", output}});
      while (h.log.size() > kMaxLog) h.log.pop_front();
      if (h.status != before) changed = h.status;
      (void)write_record(health_path(*d, c->id), to_json(h).dump(), 0600);
    }
    if (!changed.empty()) d->emit("container", "health_status: " + changed, c->id);
  }
}

}  // namespace

json merge_healthcheck(const json& container, const json& image) {
  if (!image.is_object()) return container;
  if (!container.is_object()) return image;
  json out = container;
  if (!out.contains("Test") || !out["Test"].is_array() || out["Test"].empty()) out["Test"] = image.value("Test", json::array());
  for (const char* k : {"Interval", "Timeout", "StartPeriod", "StartInterval", "Retries"})
    if ((!out.contains(k) || !out[k].is_number() || out[k].get<std::int64_t>() == 0) && image.contains(k)) out[k] = image[k];
  return out;
}

void health_load(const std::string& id, const std::string& path) {
  auto text = read_file(path);
  if (!text) return;
  try {
    auto j = json::parse(*text);
    HealthState h;
    h.status = j.value("Status", "starting");
    h.streak = j.value("FailingStreak", 0);
    for (const auto& e : j.value("Log", json::array())) h.log.push_back(e);
    std::lock_guard lk(g_mu);
    g_health[id] = std::move(h);
  } catch (const std::exception& e) {
    log::warn("container {}: health state: {}", id.substr(0, 12), e.what());
  }
}

void health_start(Daemon& d, const std::shared_ptr<Container>& c, bool restored) {
  json hc;
  {
    std::lock_guard lk(d.mu);
    hc = c->config.value("Healthcheck", json());
  }
  if (!hc.is_object() || !hc.contains("Test") || !hc["Test"].is_array() || hc["Test"].empty() ||
      !hc["Test"][0].is_string() || hc["Test"][0] == "NONE")
    return;
  std::string kind = hc["Test"][0].get<std::string>();
  if (kind != "CMD" && kind != "CMD-SHELL") {
    log::warn("container {}: unknown healthcheck type {}", c->id.substr(0, 12), kind);
    return;
  }
  std::uint64_t gen;
  {
    std::lock_guard lk(g_mu);
    auto& h = g_health[c->id];
    gen = ++h.gen;
    if (!restored || h.status.empty()) {
      h.status = "starting";
      h.streak = 0;
    }
  }
  g_cv.notify_all();
  std::thread(monitor, &d, c, gen, hc).detach();
}

void health_stop(const std::string& id) {
  {
    std::lock_guard lk(g_mu);
    auto it = g_health.find(id);
    if (it == g_health.end()) return;
    it->second.gen++;
  }
  g_cv.notify_all();
}

json health_json(const Container& c) {
  std::lock_guard lk(g_mu);
  auto it = g_health.find(c.id);
  if (it == g_health.end()) return nullptr;
  return to_json(it->second);
}

std::string health_status(const std::string& id) {
  std::lock_guard lk(g_mu);
  auto it = g_health.find(id);
  return it == g_health.end() ? "" : it->second.status;
}

}  // namespace berth::daemon
