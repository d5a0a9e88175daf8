// SPDX-License-Identifier: Apache-2.0
// Engine API handlers. Every handler answers errors as {"message": …} with dockerd's status.
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <ctime>
#include <set>
#include <thread>

#include "common/file.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "daemon/build_backend.hpp"
#include "daemon/api_util.hpp"
#include "daemon/api_version.hpp"
#include "daemon/attach.hpp"
#include "daemon/daemon.hpp"
#include "daemon/health.hpp"
#include "daemon/inspect_render.hpp"
#include "daemon/phase_log.hpp"
#include "daemon/routes.hpp"
#include "storage/driver.hpp"
#include "daemon/networking.hpp"

namespace berth::daemon {

namespace {

constexpr const char* kServerVersion = "28.2.2-berth";
struct LogRecord {
  int stream = 1;
  std::string log;
  std::string time;
  std::int64_t nanos = 0;
};

bool parse_log_line(std::string_view line, LogRecord* r) {
  try {
    auto j = json::parse(line);
    r->log = j.value("log", "");
    r->stream = j.value("stream", "stdout") == "stderr" ? 2 : 1;
    r->time = j.value("time", "");
    r->nanos = parse_rfc3339_nanos(r->time);
    return true;
  } catch (...) {
    return false;
  }
}

// h= and w= of the resize endpoints (dockerd: 400 on a non-number).
Result<std::pair<unsigned, unsigned>> parse_resize(const http::Request& q) {
  auto num = [&](const char* k) -> Result<unsigned> {
    std::string v = q.query_value(k).value_or("0");
    auto n = parse_int(v.empty() ? "0" : v);
    if (!n || *n < 0 || *n > 65535) return fail(Errc::InvalidArgument, std::string("invalid resize parameter ") + k + ": " + v);
    return static_cast<unsigned>(*n);
  };
  unsigned h = TRY(num("h")), wd = TRY(num("w"));
  return std::make_pair(h, wd);
}

struct LogOpts {
  bool want_out = true, want_err = true, follow = false, timestamps = false;
  std::optional<std::int64_t> since, until;
  std::optional<std::size_t> tail;
  bool from_end = false;  // attach without logs: only new output
};

// Streams a container's json log through `out` (false = stop). With follow, waits for new
// output until the container stops after having run.
void stream_log(Daemon& d, const std::shared_ptr<Container>& c, const LogOpts& o, bool raw,
                const std::function<bool(std::string_view)>& out, const std::function<bool()>& gone) {
  std::string path = d.log_path(*c);
  std::uint64_t exit_gen0;
  {
    std::lock_guard lk(d.mu);
    exit_gen0 = c->exit_gen;
  }
  off_t offset = 0;
  if (o.from_end) {
    struct stat st{};
    if (::stat(path.c_str(), &st) == 0) offset = st.st_size;
  }
  auto emit_rec = [&](const LogRecord& r) -> bool {
    if ((r.stream == 1 && !o.want_out) || (r.stream == 2 && !o.want_err)) return true;
    if (o.since && r.nanos < *o.since) return true;
    if (o.until && r.nanos > *o.until) return true;
    std::string data = o.timestamps ? r.time + " " + r.log : r.log;
    return out(frame(r.stream, data, raw));
  };
  // initial content
  std::string pending;
  {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd) {
      ::lseek(fd.get(), offset, SEEK_SET);
      auto text = read_fd(fd.get(), 1u << 30);
      if (text) {
        offset += static_cast<off_t>(text->size());
        std::vector<LogRecord> recs;
        std::size_t pos = 0;
        while (pos < text->size()) {
          auto nl = text->find('\n', pos);
          if (nl == std::string::npos) {
            pending = text->substr(pos);
            break;
          }
          LogRecord r;
          if (parse_log_line(std::string_view(*text).substr(pos, nl - pos), &r)) {
            if ((r.stream == 1 && o.want_out) || (r.stream == 2 && o.want_err)) recs.push_back(std::move(r));
          }
          pos = nl + 1;
        }
        std::size_t first = 0;
        if (o.tail && *o.tail < recs.size()) first = recs.size() - *o.tail;
        for (std::size_t i = first; i < recs.size(); ++i)
          if (!emit_rec(recs[i])) return;
      }
    }
  }
  if (!o.follow) return;
  UniqueFd ino(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  int wd = -1;
  // the container's end wakes us at once (no polling); the timeout only checks for a gone client
  UniqueFd state = subscribe_state_change();
  struct Unsub {
    int fd;
    ~Unsub() { unsubscribe_state_change(fd); }
  } unsub{state.get()};
  auto finished = [&] {
    std::lock_guard lk(d.mu);
    if (c->removed) return true;
    bool active = c->state.status == "running" || c->state.status == "paused" || c->state.status == "restarting";
    if (active) return false;
    if (c->exit_gen != exit_gen0) return true;        // exited (or failed to start) since we attached
    return c->state.status != "created";              // attached before start: wait for it
  };
  for (;;) {
    bool fin = finished();
    if (wd < 0 && ino) wd = ::inotify_add_watch(ino.get(), path.c_str(), IN_MODIFY | IN_CLOSE_WRITE);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd) {
      struct stat st{};
      ::fstat(fd.get(), &st);
      if (st.st_size < offset) offset = 0;  // rotated or truncated
      ::lseek(fd.get(), offset, SEEK_SET);
      char buf[65536];
      for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n <= 0) break;
        offset += n;
        pending.append(buf, static_cast<std::size_t>(n));
      }
      std::size_t pos = 0;
      for (;;) {
        auto nl = pending.find('\n', pos);
        if (nl == std::string::npos) break;
        LogRecord r;
        if (parse_log_line(std::string_view(pending).substr(pos, nl - pos), &r) && !emit_rec(r)) return;
        pos = nl + 1;
      }
      pending.erase(0, pos);
    }
    if (fin) return;
    if (gone && gone()) return;
    pollfd p[2] = {{ino ? ino.get() : -1, POLLIN, 0}, {state.get(), POLLIN, 0}};
    ::poll(p, 2, wd >= 0 && state ? 500 : 50);
    if (ino && (p[0].revents & POLLIN)) {
      char ebuf[4096];
      while (::read(ino.get(), ebuf, sizeof ebuf) > 0) {}
    }
    if (p[1].revents & POLLIN) {
      std::uint64_t v;
      (void)!::read(state.get(), &v, sizeof v);
    }
  }
}

std::string container_status_text(const Container& c) {
  auto now = std::time(nullptr);
  if (c.state.status == "running" || c.state.status == "paused") {
    std::int64_t started = parse_rfc3339_nanos(c.state.started_at) / 1000000000;
    std::string s = "Up " + human_duration(now - started);
    if (c.state.status == "paused") s += " (Paused)";
    else if (auto h = health_status(c.id); !h.empty()) s += h == "starting" ? " (health: starting)" : " (" + h + ")";
    return s;
  }
  if (c.state.status == "restarting") return "Restarting (" + std::to_string(c.state.exit_code) + ") Less than a second ago";
  if (c.state.status == "exited") {
    std::int64_t fin = parse_rfc3339_nanos(c.state.finished_at) / 1000000000;
    return "Exited (" + std::to_string(c.state.exit_code) + ") " + human_duration(now - fin) + " ago";
  }
  if (c.state.status == "removing") return "Removal In Progress";
  return "Created";
}

std::string command_line(const Container& c) {
  std::vector<std::string> parts;
  for (const auto& k : {"Entrypoint", "Cmd"})
    if (c.config.contains(k) && c.config[k].is_array())
      for (auto& a : c.config[k]) parts.push_back(a.get<std::string>());
  return join(parts, " ");
}

int test_run(const std::vector<std::string>& argv) { return run_capture(argv).status; }

Result<std::string> capture(const std::vector<std::string>& argv) {
  auto p = run_capture(argv);
  if (p.status != 0) return fail(Errc::Internal, std::string(trim(p.err)));
  return p.out;
}

}  // namespace

json Daemon::inspect_json(const Container& c, bool /*size*/) {
  json j;
  j["Id"] = c.id;
  j["Created"] = c.created;
  std::vector<std::string> args;
  std::string path;
  for (const auto& k : {"Entrypoint", "Cmd"})
    if (c.config.contains(k) && c.config[k].is_array())
      for (auto& a : c.config[k]) {
        if (path.empty() && args.empty() && std::string(k) == "Entrypoint") {
          path = a.get<std::string>();
          continue;
        }
        if (path.empty()) path = a.get<std::string>();
        else args.push_back(a.get<std::string>());
      }
  j["Path"] = path;
  j["Args"] = args;
  const auto& s = c.state;
  j["State"] = {{"Status", s.status == "removing" ? "removing" : s.status},
                {"Running", s.status == "running" || s.status == "paused"},
                {"Paused", s.status == "paused"},
                {"Restarting", s.status == "restarting"},
                {"OOMKilled", s.oom_killed},
                {"Dead", s.status == "dead"},
                {"Pid", s.pid},
                {"ExitCode", s.exit_code},
                {"Error", s.error},
                {"StartedAt", s.started_at},
                {"FinishedAt", s.finished_at}};
  if (auto h = health_json(c); !h.is_null()) j["State"]["Health"] = h;
  j["Image"] = c.image_id;
  std::string dd = cfg_.data_root + "/containers/" + c.id;
  // --network container:<x> uses x's files (as dockerd's inspect shows); mu is held.
  if (std::string m = c.host_config.value("NetworkMode", ""); m.rfind("container:", 0) == 0)
    for (const auto& [id, x] : containers_)
      if (id == m.substr(10) || x->name == m.substr(10)) dd = cfg_.data_root + "/containers/" + id;
  j["ResolvConfPath"] = dd + "/resolv.conf";
  j["HostnamePath"] = dd + "/hostname";
  j["HostsPath"] = dd + "/hosts";
  j["LogPath"] = log_path(c);
  j["Name"] = "/" + c.name;
  j["RestartCount"] = c.restart_count;
  j["Driver"] = images_->driver_name();
  j["Platform"] = "linux";
  j["MountLabel"] = "";
  j["ProcessLabel"] = "";
  j["AppArmorProfile"] = "";
  j["ExecIDs"] = c.exec_ids.empty() ? json(nullptr) : json(c.exec_ids);
  j["HostConfig"] = inspect_host_config(c.host_config, c.runtime);
  j["HostConfig"]["Links"] = net_->links_view(c, [this](const std::string& ref) {  // mu is held
    for (const auto& [id, x] : containers_)
      if (x->name == (ref.rfind('/', 0) == 0 ? ref.substr(1) : ref) || id == ref) return x->name;
    return std::string();
  });
  j["GraphDriver"] = graph_driver_json(*images_, c.id, bundle_dir(c.id) + "/rootfs");
  j["Mounts"] = mounts_json(c);
  j["Config"] = inspect_config(c.config, c.image);
  j["NetworkSettings"] = net_->settings(c);
  return j;
}

json Daemon::summary_json(const Container& c) {
  json j;
  j["Id"] = c.id;
  j["Names"] = {"/" + c.name};
  j["Image"] = c.image;
  j["ImageID"] = c.image_id;
  j["Command"] = command_line(c);
  j["Created"] = parse_rfc3339_nanos(c.created) / 1000000000;
  j["Ports"] = net_->summary_ports(c);
  j["Labels"] = c.config.value("Labels", json::object());
  j["State"] = c.state.status;
  j["Status"] = container_status_text(c);
  j["HostConfig"] = {{"NetworkMode", c.host_config.value("NetworkMode", "none")}};
  j["NetworkSettings"] = {{"Networks", net_->summary_networks(c)}};
  j["Mounts"] = mounts_json(c);
  return j;
}

void register_routes(Daemon& d, http::Router& r) {
  auto ping = [](http::Request& q, http::ResponseWriter& w) {
    w.set_header("Cache-Control", "no-cache, no-store, must-revalidate");
    w.set_header("Pragma", "no-cache");
    w.set_header("Builder-Version", "1");
    w.set_header("Swarm", "inactive");
    (void)q;
    (void)w.send(200, "OK", "text/plain; charset=utf-8");
  };
  register_build_routes(d, r);
  register_volume_routes(d, r);
  r.add("GET", "/_ping", ping);
  r.add("HEAD", "/_ping", ping);

  r.add("GET", "/version", [](http::Request&, http::ResponseWriter& w) {
    utsname u{};
    ::uname(&u);
    json comp = json::array({{{"Name", "Engine"},
                              {"Version", kServerVersion},
                              {"Details",
                               {{"ApiVersion", kMaxApiVersion}, {"MinAPIVersion", kMinApiVersion},
                                {"Os", "linux"}, {"Arch", "amd64"}, {"KernelVersion", u.release},
                                {"GitCommit", "berth"}, {"GoVersion", "n/a (C++20)"}, {"Experimental", "false"},
                                {"BuildTime", __DATE__}}}}});
    send_json(w, 200, json{{"Platform", {{"Name", "berth Engine"}}}, {"Components", comp},
                           {"Version", kServerVersion}, {"ApiVersion", kMaxApiVersion},
                           {"MinAPIVersion", kMinApiVersion}, {"GitCommit", "berth"}, {"GoVersion", "n/a (C++20)"},
                           {"Os", "linux"}, {"Arch", "amd64"}, {"KernelVersion", u.release},
                           {"BuildTime", __DATE__}});
  });

  r.add("GET", "/info", [&d](http::Request&, http::ResponseWriter& w) {
    utsname u{};
    ::uname(&u);
    struct sysinfo si{};
    ::sysinfo(&si);
    int running = 0, paused = 0, stopped = 0;
    auto cs = d.all();
    for (auto& c : cs) {
      if (c->state.status == "running") ++running;
      else if (c->state.status == "paused") ++paused;
      else ++stopped;
    }
    char host[256] = {0};
    ::gethostname(host, sizeof host - 1);
    std::string os = "Linux";
    if (auto osr = read_file("/etc/os-release")) {
      for (auto& line : split(*osr, '\n'))
        if (line.rfind("PRETTY_NAME=", 0) == 0) {
          os = line.substr(12);
          if (os.size() >= 2 && os.front() == '"') os = os.substr(1, os.size() - 2);
        }
    }
    bool v2 = path_exists("/sys/fs/cgroup/cgroup.controllers");
    const auto& cfg = d.config();
    json runtimes = json::object();
    runtimes[cfg.default_runtime] = {{"path", cfg.runtime_path(cfg.default_runtime)}};
    runtimes["runc"] = {{"path", cfg.runtime_path("runc")}};
    for (auto& [k, v] : cfg.runtimes) runtimes[k] = {{"path", v}};
    json j{{"ID", "berth"},
           {"Containers", cs.size()},
           {"ContainersRunning", running},
           {"ContainersPaused", paused},
           {"ContainersStopped", stopped},
           {"Images", d.images().list(image::ListFilters{}).value_or(std::vector<image::ImageSummary>{}).size()},
           {"Driver", d.images().driver_name()},
           {"DriverStatus", [&] {
              json st = json::array();
              for (auto& [k, v] : storage::driver_status(d.images().driver_name(), cfg.data_root))
                st.push_back(json::array({k, v}));
              return st;
            }()},
           {"Plugins", {{"Volume", {"local"}}, {"Network", {"bridge", "host", "ipvlan", "macvlan", "null"}}, {"Authorization", nullptr},
                        {"Log", {"json-file", "local", "none"}}}},
           {"MemoryLimit", true},
           {"SwapLimit", true},
           {"CpuCfsPeriod", true},
           {"CpuCfsQuota", true},
           {"CPUShares", true},
           {"CPUSet", true},
           {"PidsLimit", true},
           {"IPv4Forwarding", false},
           {"BridgeNfIptables", false},
           {"BridgeNfIp6tables", false},
           {"Debug", cfg.debug},
           {"NFd", 0},
           {"OomKillDisable", false},
           {"NGoroutines", 0},
           {"SystemTime", rfc3339_now()},
           {"LoggingDriver", cfg.log_driver},
           {"CgroupDriver", "cgroupfs"},
           {"CgroupVersion", v2 ? "2" : "1"},
           {"NEventsListener", 0},
           {"KernelVersion", u.release},
           {"OperatingSystem", os},
           {"OSVersion", ""},
           {"OSType", "linux"},
           {"Architecture", u.machine},
           {"IndexServerAddress", "https://index.docker.io/v1/"},
           {"RegistryConfig", {{"InsecureRegistryCIDRs", json::array({"127.0.0.0/8"})},
                               {"IndexConfigs", json::object()}, {"Mirrors", cfg.registry_mirrors}}},
           {"NCPU", std::thread::hardware_concurrency()},
           {"MemTotal", static_cast<std::int64_t>(si.totalram) * si.mem_unit},
           {"GenericResources", nullptr},
           {"DockerRootDir", cfg.data_root},
           {"HttpProxy", ""},
           {"HttpsProxy", ""},
           {"NoProxy", ""},
           {"Name", host},
           {"Labels", json::array()},
           {"ExperimentalBuild", false},
           {"ServerVersion", kServerVersion},
           {"Runtimes", runtimes},
           {"DefaultRuntime", cfg.default_runtime},
           {"Swarm", {{"NodeID", ""}, {"NodeAddr", ""}, {"LocalNodeState", "inactive"}, {"ControlAvailable", false},
                      {"Error", ""}, {"RemoteManagers", nullptr}}},
           {"LiveRestoreEnabled", cfg.live_restore},
           {"Isolation", ""},
           {"InitBinary", ""},
           {"ContainerdCommit", {{"ID", ""}}},
           {"RuncCommit", {{"ID", ""}}},
           {"InitCommit", {{"ID", ""}}},
           {"SecurityOptions", json::array({"name=seccomp,profile=builtin"})},
           {"CDISpecDirs", json::array()},
           {"Warnings", json::array()}};
    send_json(w, 200, j);
  });

  // ---------------- containers ----------------
  r.add("POST", "/containers/create", [&d](http::Request& q, http::ResponseWriter& w) {
    auto body = read_json(q);
    if (!body) return send_error(w, body.error());
    if (body->is_null()) return send_error(w, 400, "config cannot be empty in order to create a container");
    auto res = d.create(q.query_value("name").value_or(""), std::move(*body));
    if (!res) return send_error(w, res.error());
    send_json(w, 201, json{{"Id", res->first}, {"Warnings", res->second}});
  });

  r.add("GET", "/containers/json", [&d](http::Request& q, http::ResponseWriter& w) {
    Error ferr;
    auto filters = parse_filters(q, &ferr);
    if (!ferr.message().empty()) return send_error(w, ferr);
    bool all = q.query_bool("all");
    long limit = parse_int(q.query_value("limit").value_or("-1")).value_or(-1);
    json out = json::array();
    for (auto& c : d.all()) {
      std::lock_guard lk(d.mu);
      bool running = c->state.status == "running" || c->state.status == "paused" || c->state.status == "restarting";
      if (!all && !running && filters.empty() && limit <= 0) continue;
      bool keep = true;
      for (auto& [k, vals] : filters) {
        if (k == "label") {  // every label filter must match (dockerd); other keys: any value
          auto labels = c->config.value("Labels", json::object());
          for (auto& v : vals) {
            auto [lk2, lv] = split_once(v, '=');
            auto it = labels.find(std::string(lk2));
            bool match = it != labels.end() && (v.find('=') == std::string::npos ||
                                                (it->is_string() && it->get<std::string>() == lv));
            keep = keep && match;
          }
          continue;
        }
        bool any = false;
        for (auto& v : vals) {
          if (k == "status") any |= c->state.status == v;
          else if (k == "name") any |= c->name.find(v[0] == '/' ? v.substr(1) : v) != std::string::npos;
          else if (k == "id") any |= c->id.rfind(v, 0) == 0;
          else if (k == "ancestor") any |= c->image == v || c->image_id == v || normalize_ref(c->image) == normalize_ref(v);
          else if (k == "exited") any |= c->state.status == "exited" && std::to_string(c->state.exit_code) == v;
          else any = true;
        }
        keep = keep && any;
      }
      if (!keep) continue;
      if (!all && !running && !filters.count("status") && !filters.count("exited")) continue;
      out.push_back(d.summary_json(*c));
      if (limit > 0 && static_cast<long>(out.size()) >= limit) break;
    }
    send_json(w, 200, out);
  });

  r.add("GET", "/containers/{id}/json", [&d](http::Request& q, http::ResponseWriter& w) {
    auto c = d.find(q.param("id"));
    if (!c) return send_error(w, c.error());
    json j;
    {
      std::lock_guard lk(d.mu);
      j = d.inspect_json(**c, q.query_bool("size"));
    }
    send_json(w, 200, j);
  });

  r.add("POST", "/containers/{id}/start", [&d](http::Request& q, http::ResponseWriter& w) {
    auto st = d.start(q.param("id"));
    if (!st) {
      if (st.error().is(Errc::AlreadyExists)) return (void)w.send(304);
      return send_error(w, st.error());
    }
    (void)w.send(204);
  });

  auto opt_int = [](const http::Request& q, const char* k) -> std::optional<int> {
    auto v = q.query_value(k);
    if (!v || v->empty()) return std::nullopt;
    auto n = parse_int(*v);
    if (!n) return std::nullopt;
    return static_cast<int>(*n);
  };

  r.add("POST", "/containers/{id}/stop", [&d, opt_int](http::Request& q, http::ResponseWriter& w) {
    auto st = d.stop(q.param("id"), opt_int(q, "t"), q.query_value("signal").value_or(""));
    if (!st) {
      if (st.error().is(Errc::AlreadyExists)) return (void)w.send(304);
      return send_error(w, st.error());
    }
    (void)w.send(204);
  });

  r.add("POST", "/containers/{id}/restart", [&d, opt_int](http::Request& q, http::ResponseWriter& w) {
    auto st = d.restart(q.param("id"), opt_int(q, "t"));
    if (!st) return send_error(w, st.error());
    (void)w.send(204);
  });

  r.add("POST", "/containers/{id}/kill", [&d](http::Request& q, http::ResponseWriter& w) {
    auto st = d.kill(q.param("id"), q.query_value("signal").value_or("SIGKILL"));
    if (!st) return send_error(w, st.error());
    (void)w.send(204);
  });

  for (const char* verb : {"pause", "unpause"}) {
    bool p = std::string(verb) == "pause";
    r.add("POST", std::string("/containers/{id}/") + verb, [&d, p](http::Request& q, http::ResponseWriter& w) {
      auto st = d.pause(q.param("id"), p);
      if (!st) return send_error(w, st.error());
      (void)w.send(204);
    });
  }

  r.add("POST", "/containers/{id}/rename", [&d](http::Request& q, http::ResponseWriter& w) {
    auto st = d.rename(q.param("id"), q.query_value("name").value_or(""));
    if (!st) return send_error(w, st.error());
    (void)w.send(204);
  });

  r.add("POST", "/containers/{id}/resize", [&d](http::Request& q, http::ResponseWriter& w) {
    auto hw = parse_resize(q);
    if (!hw) return send_error(w, hw.error());
    auto st = resize_container(d, q.param("id"), hw->first, hw->second);
    if (!st) return send_error(w, st.error());
    (void)w.send(200);
  });

  r.add("POST", "/containers/{id}/wait", [&d](http::Request& q, http::ResponseWriter& w) {
    auto c = d.find(q.param("id"));
    if (!c) return send_error(w, c.error());
    std::string cond = q.query_value("condition").value_or("");
    if (!cond.empty() && cond != "not-running" && cond != "next-exit" && cond != "removed")
      return send_error(w, 400, "invalid condition: \"" + cond + "\"");
    // headers at once (the docker CLI waits for them before starting the container)
    if (!w.begin_stream(200, "application/json")) return;
    auto code = d.wait(q.param("id"), cond, [&w] { return w.peer_closed(); });
    if (!code) {
      if (code.error().is(Errc::Cancelled)) return;
      (void)w.write(json{{"StatusCode", 0}, {"Error", {{"Message", code.error().message()}}}}.dump() + "\n");
    } else {
      (void)w.write(json{{"StatusCode", *code}, {"Error", nullptr}}.dump() + "\n");
    }
    (void)w.end_stream();
  });

  r.add("POST", "/containers/{id}/attach", [&d](http::Request& q, http::ResponseWriter& w) {
    auto c = d.find(q.param("id"));
    if (!c) return send_error(w, c.error());
    if (auto st = attach_allowed(d, **c, q.param("id")); !st) return send_error(w, st.error());
    bool tty = (*c)->config.value("Tty", false);
    AttachOptions ao;
    ao.in = q.query_bool("stdin") && (*c)->config.value("OpenStdin", false);
    ao.out = q.query_bool("stdout");
    ao.err = q.query_bool("stderr");
    ao.tty = tty;
    ao.close_stdin_on_eof = (*c)->config.value("StdinOnce", false) && !tty;
    auto keys = parse_detach_keys(q.query_value("detachKeys").value_or("").empty() ? d.config().detach_keys
                                                                               : *q.query_value("detachKeys"));
    if (!keys) return send_error(w, keys.error());
    ao.detach_keys = *keys;
    bool upgrade = q.wants_upgrade();
    std::string ct = tty ? "application/vnd.docker.raw-stream"
                         : (req_version(q).at_least(1, 42) ? "application/vnd.docker.multiplexed-stream"
                                                           : "application/vnd.docker.raw-stream");
    auto h = w.hijack_raw();
    if (!h) return send_error(w, h.error());
    int fd = h->fd.get();
    // dockerd's head, written by hand on the hijacked connection (no other headers), and only
    // once the session is subscribed to the container's output (a client that starts the
    // container as soon as it has the head loses nothing)
    std::string head = upgrade ? "HTTP/1.1 101 UPGRADED\r\nContent-Type: " + ct + "\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
                               : "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n";
    bool headed = false;
    auto send_head = [&]() -> bool {
      if (!headed) headed = static_cast<bool>(write_all(fd, head));
      return headed;
    };
    ao.subscribed = send_head;
    LogOpts o;
    o.want_out = ao.out;
    o.want_err = ao.err;
    o.follow = q.query_bool("stream");
    if (q.query_bool("logs")) {
      // with stream=1 attach_live replays once subscribed to live output (none lost in between)
      ao.replay = [&] {
        LogOpts past = o;
        past.follow = false;
        bool alive = true;
        stream_log(d, *c, past, tty, [&](std::string_view data) { return alive = static_cast<bool>(write_all(fd, data)); }, {});
        return alive;
      };
      if (!o.follow && send_head()) (void)ao.replay();
    }
    if (!o.follow) {
      (void)send_head();
      return;
    }
    bool detached = false;
    auto st = attach_live(d, *c, fd, std::move(h->pending), ao, &detached);
    if (!send_head()) return;  // (the session ended before it was subscribed: the container went away)
    if (st || !st.error().is(Errc::Unavailable)) {
      ::shutdown(fd, SHUT_WR);
      return;
    }
    // A shim without an attach socket (started by an older berthd): follow the log, drop stdin.
    o.from_end = true;
    std::atomic<bool> closed{false};
    auto alive = [&]() {
      pollfd p{fd, POLLIN, 0};
      while (::poll(&p, 1, 0) > 0) {
        if (p.revents & (POLLHUP | POLLERR)) return false;
        char buf[4096];
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) return n == 0 ? true : errno == EAGAIN;
      }
      return true;
    };
    stream_log(d, *c, o, tty,
               [&](std::string_view data) { return static_cast<bool>(write_all(fd, data)); },
               [&] {
                 if (closed) return true;
                 if (!alive()) closed = true;
                 return closed.load();
               });
    ::shutdown(fd, SHUT_WR);
  });

  r.add("GET", "/containers/{id}/attach/ws", [&d](http::Request& q, http::ResponseWriter& w) {
    serve_attach_ws(d, q, w, [&d](const std::shared_ptr<Container>& c, bool out, bool err,
                                  const std::function<bool(std::string_view)>& sink) {
      LogOpts o;
      o.want_out = out;
      o.want_err = err;
      stream_log(d, c, o, /*raw=*/true, sink, {});
    });
  });

  r.add("GET", "/containers/{id}/logs", [&d](http::Request& q, http::ResponseWriter& w) {
    auto c = d.find(q.param("id"));
    if (!c) return send_error(w, c.error());
    LogOpts o;
    o.want_out = q.query_bool("stdout");
    o.want_err = q.query_bool("stderr");
    if (!o.want_out && !o.want_err) return send_error(w, 400, "Bad parameters: you must choose at least one stream");
    std::string driver = (*c)->host_config.value("LogConfig", json::object()).value("Type", "json-file");
    if (driver == "none")
      return send_error(w, 501, "configured logging driver does not support reading");
    o.follow = q.query_bool("follow");
    o.timestamps = q.query_bool("timestamps");
    o.since = parse_time_param(q.query_value("since").value_or(""));
    if (o.since && *o.since == 0) o.since.reset();
    o.until = parse_time_param(q.query_value("until").value_or(""));
    if (o.until && *o.until == 0) o.until.reset();
    std::string tail = q.query_value("tail").value_or("all");
    if (tail != "all" && !tail.empty()) {
      auto n = parse_int(tail);
      if (n && *n >= 0) o.tail = static_cast<std::size_t>(*n);
    }
    bool tty = (*c)->config.value("Tty", false);
    std::string ct = tty ? "application/vnd.docker.raw-stream"
                         : (req_version(q).at_least(1, 42) ? "application/vnd.docker.multiplexed-stream"
                                                           : "application/vnd.docker.raw-stream");
    if (!w.begin_stream(200, ct)) return;
    stream_log(d, *c, o, tty, [&](std::string_view data) { return static_cast<bool>(w.write(data)); },
               [&w] { return w.peer_closed(); });
    (void)w.end_stream();
  });

  r.add("DELETE", "/containers/{id}", [&d](http::Request& q, http::ResponseWriter& w) {
    auto st = d.remove(q.param("id"), q.query_bool("force"), q.query_bool("v"));
    if (!st) return send_error(w, st.error());
    (void)w.send(204);
  });

  r.add("POST", "/containers/prune", [&d](http::Request&, http::ResponseWriter& w) {
    json deleted = json::array();
    for (auto& c : d.all()) {
      std::string st;
      {
        std::lock_guard lk(d.mu);
        st = c->state.status;
      }
      if (st != "exited" && st != "created" && st != "dead") continue;
      if (d.remove(c->id, false, false)) deleted.push_back(c->id);
    }
    d.emit("container", "prune", "", {{"reclaimed", "0"}});
    send_json(w, 200, json{{"ContainersDeleted", deleted}, {"SpaceReclaimed", 0}});
  });

  r.add("POST", "/containers/{id}/update", [&d](http::Request& q, http::ResponseWriter& w) {
    auto c = d.find(q.param("id"));
    if (!c) return send_error(w, c.error());
    auto body = read_json(q);
    if (!body) return send_error(w, body.error());
    if (!body->is_object()) return send_error(w, 400, "invalid update");
    std::vector<std::string> args;
    auto num = [&](const char* k, const char* flag, std::int64_t mul = 1) {
      if (body->contains(k) && (*body)[k].is_number() && (*body)[k].get<std::int64_t>() != 0)
        args.insert(args.end(), {flag, std::to_string((*body)[k].get<std::int64_t>() * mul)});
    };
    num("Memory", "--memory");
    num("MemorySwap", "--memory-swap");
    num("MemoryReservation", "--memory-reservation");
    num("CpuShares", "--cpu-share");
    num("CpuQuota", "--cpu-quota");
    num("CpuPeriod", "--cpu-period");
    num("PidsLimit", "--pids-limit");
    if (body->contains("NanoCpus") && (*body)["NanoCpus"].is_number() && (*body)["NanoCpus"].get<std::int64_t>() > 0)
      args.insert(args.end(), {"--cpu-period", "100000", "--cpu-quota",
                               std::to_string((*body)["NanoCpus"].get<std::int64_t>() / 10000)});
    if (body->contains("CpusetCpus") && (*body)["CpusetCpus"].is_string() && !(*body)["CpusetCpus"].get<std::string>().empty())
      args.insert(args.end(), {"--cpuset-cpus", (*body)["CpusetCpus"].get<std::string>()});
    d.drop_prepared(*c);  // a container made ahead of its start has the old limits
    bool running;
    {
      std::lock_guard lk(d.mu);
      running = (*c)->state.status == "running" || (*c)->state.status == "paused";
      for (auto& [k, v] : body->items())
        if (!v.is_null() && !(v.is_number() && v.get<double>() == 0)) (*c)->host_config[k] = v;
    }
    if (running && !args.empty()) {
      auto a = d.runtime_base(**c);
      a.push_back("update");
      a.insert(a.end(), args.begin(), args.end());
      a.push_back((*c)->id);
      auto rr = test_run(a);
      if (rr != 0) return send_error(w, 500, "Cannot update container " + (*c)->id + ": runtime update failed");
    }
    d.emit("container", "update", (*c)->id);
    send_json(w, 200, json{{"Warnings", json::array()}});
  });

  r.add("GET", "/containers/{id}/top", [&d](http::Request& q, http::ResponseWriter& w) {
    auto c = d.find(q.param("id"));
    if (!c) return send_error(w, c.error());
    {
      std::lock_guard lk(d.mu);
      if ((*c)->state.status != "running" && (*c)->state.status != "paused")
        return send_error(w, 409, "Container " + (*c)->id + " is not running");
    }
    // pids of the container: its cgroup's procs (any hierarchy)
    std::set<std::string> pids;
    for (const char* base : {"/sys/fs/cgroup/berth/", "/sys/fs/cgroup/pids/berth/", "/sys/fs/cgroup/memory/berth/",
                             "/sys/fs/cgroup/cpu/berth/", "/sys/fs/cgroup/systemd/berth/"}) {
      auto procs = read_file(std::string(base) + (*c)->id + "/cgroup.procs");
      if (!procs) continue;
      for (auto& p : split(*procs, '\n'))
        if (!p.empty()) pids.insert(p);
      if (!pids.empty()) break;
    }
    if (pids.empty()) pids.insert(std::to_string((*c)->state.pid));
    std::string ps_args = q.query_value("ps_args").value_or("-ef");
    std::vector<std::string> argv{"ps"};
    for (auto& a : split(ps_args, ' '))
      if (!a.empty()) argv.push_back(a);
    auto out = capture(argv);
    if (!out) return send_error(w, 500, "Error running top: " + out.error().message());
    auto lines = split(*out, '\n');
    if (lines.empty()) return send_error(w, 500, "ps produced no output");
    std::vector<std::string> titles;
    for (auto& t : split(lines[0], ' '))
      if (!t.empty()) titles.push_back(t);
    std::size_t pid_col = 0;
    for (std::size_t i = 0; i < titles.size(); ++i)
      if (titles[i] == "PID") pid_col = i;
    json procs = json::array();
    for (std::size_t li = 1; li < lines.size(); ++li) {
      std::vector<std::string> f;
      std::string_view rest = lines[li];
      for (std::size_t i = 0; i < titles.size(); ++i) {
        rest = trim(rest);
        if (rest.empty()) break;
        if (i + 1 == titles.size()) {
          f.emplace_back(rest);
          break;
        }
        auto sp = rest.find(' ');
        f.emplace_back(rest.substr(0, sp));
        rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp);
      }
      if (f.size() <= pid_col || !pids.count(f[pid_col])) continue;
      procs.push_back(f);
    }
    send_json(w, 200, json{{"Titles", titles}, {"Processes", procs}});
  });

  register_stats_routes(d, r);

  // ---------------- exec ----------------
  r.add("POST", "/containers/{id}/exec", [&d](http::Request& q, http::ResponseWriter& w) {
    auto body = read_json(q);
    if (!body) return send_error(w, body.error());
    auto id = d.exec_create(q.param("id"), std::move(*body));
    if (!id) return send_error(w, id.error());
    send_json(w, 201, json{{"Id", *id}});
  });

  r.add("POST", "/exec/{id}/start", [&d](http::Request& q, http::ResponseWriter& w) {
    auto s = d.find_exec(q.param("id"));
    if (!s) return send_error(w, s.error());
    auto body = read_json(q);
    if (!body) return send_error(w, body.error());
    bool detach = body->is_object() && body->value("Detach", false);
    bool tty = body->is_object() && body->value("Tty", false);
    {
      std::lock_guard lk(d.mu);
      if ((*s)->running || (*s)->has_exit) return send_error(w, 409, "Error: Exec command " + (*s)->id + " is already running");
    }
    if (detach) {
      // as dockerd: answered once the process runs (or failed to start); the monitor waits for it
      auto st = d.exec_run(*s, -1, {}, tty);
      if (!st) return send_error(w, st.error());
      return (void)w.send(200);
    }
    auto keys = parse_detach_keys((*s)->config.value("DetachKeys", "").empty() ? d.config().detach_keys
                                                                            : (*s)->config.value("DetachKeys", ""));
    if (!keys) return send_error(w, keys.error());
    w.set_header("Content-Type", tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream");
    auto h = w.hijack(q.wants_upgrade() ? 101 : 200);
    if (!h) return;
    auto st = d.exec_run(*s, h->fd.get(), std::move(h->pending), tty, *keys);
    if (!st) {
      std::string msg = st.error().message() + "\r\n";
      (void)write_all(h->fd.get(), frame(2, msg, tty));
    }
  });

  r.add("POST", "/exec/{id}/resize", [&d](http::Request& q, http::ResponseWriter& w) {
    auto hw = parse_resize(q);
    if (!hw) return send_error(w, hw.error());
    auto st = d.exec_resize(q.param("id"), hw->first, hw->second);
    if (!st) return send_error(w, st.error());
    (void)w.send(200);
  });

  r.add("GET", "/exec/{id}/json", [&d](http::Request& q, http::ResponseWriter& w) {
    auto s = d.find_exec(q.param("id"));
    if (!s) return send_error(w, s.error());
    json j;
    {
      std::lock_guard lk(d.mu);
      j = d.exec_inspect_json(**s);
    }
    send_json(w, 200, j);
  });

  // ---------------- images, archives (routes_images.cpp, routes_archive.cpp) ----------------
  register_image_routes(d, r);
  register_archive_routes(d, r);

  // ---------------- system ----------------
  r.add("GET", "/events", [&d](http::Request& q, http::ResponseWriter& w) {
    Error ferr;
    auto filters = parse_filters(q, &ferr);
    if (!ferr.message().empty()) return send_error(w, ferr);
    auto since = parse_time_param(q.query_value("since").value_or(""));
    auto until = parse_time_param(q.query_value("until").value_or(""));
    auto match = [&](const Event& e) {
      for (auto& [k, vals] : filters) {
        bool any = false;
        for (auto& v : vals) {
          if (k == "type") any |= e.type == v;
          else if (k == "event") any |= e.action == v || e.action.rfind(v + ":", 0) == 0;
          else if (k == "container") any |= e.type == "container" && (e.id.rfind(v, 0) == 0 || (e.attrs.count("name") && e.attrs.at("name") == v));
          else if (k == "image") any |= e.from == v || (e.attrs.count("image") && e.attrs.at("image") == v);
          else if (k == "label") {  // every label filter must match (dockerd's MatchKVList)
            auto [lk, lv] = split_once(v, '=');
            auto it = e.attrs.find(std::string(lk));
            if (it == e.attrs.end() || (v.find('=') != std::string::npos && it->second != lv)) return false;
            any = true;
          } else any = true;
        }
        if (!any) return false;
      }
      if (until && e.time_nano > *until) return false;
      return true;
    };
    if (!w.begin_stream(200, "application/json")) return;
    std::uint64_t cursor = d.event_cursor();
    if (since) {
      for (auto& e : d.events_since(*since, &cursor))
        if (match(e) && !w.write(e.json_line())) return;
    }
    while (!w.peer_closed()) {
      if (until) {
        timespec ts{};
        clock_gettime(CLOCK_REALTIME, &ts);
        if (static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec > *until) break;
      }
      for (auto& e : d.events_wait(&cursor, 500))
        if (match(e) && !w.write(e.json_line())) return;
    }
    (void)w.end_stream();
  });

  r.add("GET", "/system/df", [&d](http::Request&, http::ResponseWriter& w) {
    json ctrs = json::array();
    std::int64_t layers = 0;
    auto images = images_df_json(d, layers);
    if (!images) return send_error(w, images.error());
    auto all = d.all();
    for (auto& c : all) {
      std::int64_t rw = d.images().rootfs_usage(c->id).value_or(0);
      std::lock_guard lk(d.mu);
      json s = d.summary_json(*c);
      s["SizeRw"] = rw;
      s["SizeRootFs"] = rw;
      ctrs.push_back(s);
    }
    send_json(w, 200, json{{"LayersSize", layers}, {"Images", *images}, {"Containers", ctrs},
                           {"Volumes", volumes_df_json(d)}, {"BuildCache", json::parse(build_cache_df_json(d))}});
  });

  register_network_routes(d, r);
}

// ---------------- server ----------------

http::Handler Daemon::handler() {
  if (!router_) {
    router_ = std::make_unique<http::Router>();
    register_routes(*this, *router_);
    router_->set_not_found([](http::Request&, http::ResponseWriter& w) { send_error(w, 404, "page not found"); });
    router_->set_method_not_allowed(
        [](http::Request&, http::ResponseWriter& w) { send_error(w, 404, "page not found"); });
  }
  return [this](http::Request& q, http::ResponseWriter& w) {
    w.set_header("Api-Version", kMaxApiVersion);
    w.set_header("Docker-Experimental", "false");
    w.set_header("Ostype", "linux");
    w.set_header("Server", std::string("Docker/") + kServerVersion + " (linux)");
    auto vp = split_version(q.path);
    if (vp.malformed) return send_error(w, 404, "page not found");
    if (vp.version) {
      std::string msg = check_api_version(*vp.version);
      if (!msg.empty()) return send_error(w, 400, msg);
      q.params["_api"] = vp.version->str();
    } else {
      q.params["_api"] = kMaxApiVersion;
    }
    q.path = vp.path;
    log::debug("{} {}", q.method, q.target);
    PhaseLog plog(q.method + " " + q.path);
    try {
      router_->dispatch(q, w);
      plog.mark("handled");
    } catch (const nlohmann::json::exception& e) {
      // wrong JSON types in a request ({"Image": 5})
      send_error(w, 400, std::string("invalid parameter: ") + e.what());
    } catch (const std::exception& e) {
      log::error("handler {} {}: {}", q.method, q.path, e.what());
      send_error(w, 500, e.what());
    }
  };
}

Status Daemon::listen() {
  server_ = std::make_unique<http::Server>(handler());
  std::vector<std::string> hosts = cfg_.hosts;
  if (hosts.empty()) hosts.push_back("unix:///run/berth.sock");
  for (const auto& h : hosts) {
    if (h.rfind("unix://", 0) == 0) {
      std::string path = h.substr(7);
      TRY(mkdir_all(dirname(path), 0755));
      gid_t gid = static_cast<gid_t>(-1);
      if (!cfg_.group.empty()) {
        if (struct group* g = ::getgrnam(cfg_.group.c_str())) gid = g->gr_gid;
      }
      TRYC(server_->listen_unix(path, 0660, gid), "listen on " + h);
      log::info("API listen on {}", path);
    } else if (h.rfind("tcp://", 0) == 0) {
      std::string hp = h.substr(6);
      auto c = hp.rfind(':');
      std::string host = c == std::string::npos ? hp : hp.substr(0, c);
      int port = c == std::string::npos ? (cfg_.tls ? 2376 : 2375) : static_cast<int>(parse_int(hp.substr(c + 1)).value_or(-1));
      if (port < 0 || port > 65535) return fail(Errc::InvalidArgument, "invalid host " + h);
      if (!host.empty() && host.front() == '[') host = host.substr(1, host.size() - 2);
      if (cfg_.tls || cfg_.tlsverify) {
        if (cfg_.tlscert.empty() || cfg_.tlskey.empty())
          return fail(Errc::InvalidArgument, "--tlscert and --tlskey are required for a TLS tcp:// host");
        http::TlsServerConfig tc{cfg_.tlscert, cfg_.tlskey, cfg_.tlsverify ? cfg_.tlscacert : "", cfg_.tlsverify};
        auto p = TRYC(server_->listen_tcp(host, static_cast<std::uint16_t>(port), &tc), "listen on " + h);
        log::info("API listen on {}:{} (TLS{})", host, p, cfg_.tlsverify ? ", client certificates verified" : "");
      } else if (cfg_.allow_insecure_tcp) {
        log::warn("API is accessible on http://{}:{} without encryption: anyone reaching it is root on this host", host, port);
        auto p = TRYC(server_->listen_tcp(host, static_cast<std::uint16_t>(port), nullptr), "listen on " + h);
        log::info("API listen on {}:{}", host, p);
      } else {
        return fail(Errc::InvalidArgument,
                    "refusing to listen on " + h + " without TLS: use --tlsverify --tlscacert --tlscert --tlskey "
                    "(or --insecure-tcp to force plain TCP)");
      }
    } else {
      return fail(Errc::InvalidArgument, "invalid host " + h + ": use unix:// or tcp://");
    }
  }
  return server_->start();
}

}  // namespace berth::daemon
