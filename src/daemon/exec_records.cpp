// SPDX-License-Identifier: Apache-2.0
// Exec instances: create, inspect, and their records, so that they survive a berthd restart as
// the execs themselves do (they run under the container's shim, exec_io.cpp).
//
// Record: <exec-root>/containers/<cid>/execs/<exec-id>.json = the inspect JSON + "Config" (the
// create request) + "Created". Written at create, start, exit and when the GC marks it, by an
// atomic replace (temp file + rename) without fsync: a killed berthd leaves the old or the new
// content; only a host crash could leave a torn or empty file, and a host crash ends the
// container and its execs, whose records then only await removal (an unreadable record is
// dropped at load). It lives in the shim's state dir, beside the exec statuses the shim writes
// (exec-<tag>.exit), and goes with the container.
//
// Lifetime, as dockerd (daemon/exec.go, monitor.go, start.go Cleanup): an exec is in its
// container's ExecIDs from create until it ends or fails to start; it stays inspectable after
// that until the exec GC (a sweep every 5 minutes marks execs no container lists as CanRemove,
// the next one drops them); when the container stops, the execs still listed (never started,
// or running without a status) are forgotten; when it is removed, all of its execs go.
//
// After a restart: a record that says Running takes the status the shim recorded if the exec
// ended meanwhile; otherwise berthd asks the shim to report its end (kExecWatch) and watches
// that connection on the monitor's epoll.
#include <dirent.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "common/base64.hpp"
#include "common/file.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "daemon/attach.hpp"
#include "daemon/daemon.hpp"
#include "shim/attach_proto.hpp"

namespace berth::daemon {

namespace {

std::int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::string cmd_line(const json& cmd) {
  std::vector<std::string> v;
  for (const auto& a : cmd)
    if (a.is_string()) v.push_back(a.get<std::string>());
  return join(v, " ");
}

// A field of the create request, or the default when absent or of another type (the record
// is written from it on every change: it must not throw).
std::string str_of(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}
bool bool_of(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

bool container_running(const Container& c) {
  return c.state.status == "running" || c.state.status == "paused";
}

}  // namespace

std::string Daemon::exec_record_dir(const std::string& container_id) const {
  return bundle_dir(container_id) + "/execs";
}

Result<std::string> Daemon::exec_create(const std::string& ref, json body) {
  auto c = TRY(find(ref));
  if (!body.is_object() || !body.contains("Cmd") || !body["Cmd"].is_array() || body["Cmd"].empty())
    return fail(Errc::InvalidArgument, "No exec command specified");
  for (const auto& a : body["Cmd"])
    if (!a.is_string()) return fail(Errc::InvalidArgument, "Cmd: strings expected");
  for (auto it = body.begin(); it != body.end();) it = it->is_null() ? body.erase(it) : std::next(it);  // docker-py's nulls
  if (auto k = str_of(body, "DetachKeys"); !k.empty() && !parse_detach_keys(k))
    return fail(Errc::InvalidArgument, "Invalid escape keys (" + k + ") provided");
  auto s = std::make_shared<ExecSession>();
  {
    std::lock_guard lk(mu);
    if (c->state.status == "paused") return fail(Errc::Conflict, "Container " + c->id + " is paused, unpause the container before exec");
    if (c->state.status != "running") return fail(Errc::Conflict, "Container " + c->id + " is not running");
    TRY(mkdir_all(exec_record_dir(c->id), 0700));
    s->id = random_hex(64);
    s->container_id = c->id;
    s->config = std::move(body);
    s->created_ns = now_ns();
    execs_[s->id] = s;
    c->exec_ids.push_back(s->id);
    save_exec(*s);
  }
  emit("container", "exec_create: " + cmd_line(s->config["Cmd"]), c->id, {{"execID", s->id}});
  return s->id;
}

Result<std::shared_ptr<ExecSession>> Daemon::find_exec(const std::string& id) {
  std::lock_guard lk(mu);
  auto it = execs_.find(id);
  if (it == execs_.end()) return fail(Errc::NotFound, "No such exec instance: " + id);
  return it->second;
}

json Daemon::exec_inspect_json(const ExecSession& e) const {
  const json& ec = e.config;
  const json& cmd = ec["Cmd"];
  std::string user = str_of(ec, "User");
  if (user.empty())
    if (auto it = containers_.find(e.container_id); it != containers_.end() && it->second->config.is_object())
      user = str_of(it->second->config, "User");
  // dockerd's DetachKeys is the []byte of the create request's keys: base64 in JSON
  std::string keys;
  if (auto k = str_of(ec, "DetachKeys"); !k.empty())
    if (auto b = parse_detach_keys(k)) keys = base64_encode(*b);
  json pc{{"tty", bool_of(ec, "Tty")},
          {"entrypoint", cmd[0]},
          {"arguments", json(std::vector<json>(cmd.begin() + 1, cmd.end()))},
          {"privileged", bool_of(ec, "Privileged")},
          {"user", user}};
  return json{{"ID", e.id},
              {"Running", e.running},
              {"ExitCode", e.has_exit ? json(e.exit_code) : json(nullptr)},
              {"ProcessConfig", pc},
              {"OpenStdin", bool_of(ec, "AttachStdin")},
              {"OpenStderr", bool_of(ec, "AttachStderr")},
              {"OpenStdout", bool_of(ec, "AttachStdout")},
              {"CanRemove", e.can_remove},
              {"ContainerID", e.container_id},
              {"DetachKeys", keys},
              {"Pid", e.pid}};
}

void Daemon::save_exec(const ExecSession& s) {
  if (s.forgotten) return;
  json j = exec_inspect_json(s);
  j["Config"] = s.config;
  j["Created"] = s.created_ns;
  // atomic, no fsync (see the top of the file)
  if (auto st = atomic_write_file(exec_record_dir(s.container_id) + "/" + s.id + ".json", j.dump(), 0600,
                                  Durability::Deferred);
      !st)
    log::warn("exec {}: record: {}", s.id.substr(0, 12), st.error().message());
}

std::optional<int> Daemon::shim_exec_status(const ExecSession& s) const {
  auto text = read_file(bundle_dir(s.container_id) + "/" + shim::proto::exec_exit_file(s.id.substr(0, 12)));
  if (!text) return std::nullopt;
  try {
    auto j = json::parse(*text);
    if (j.contains("ExitCode") && j["ExitCode"].is_number_integer()) return j["ExitCode"].get<int>();
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

void Daemon::record_exec_exit(ExecSession& s, int code) {
  s.running = false;
  s.has_exit = true;
  s.exit_code = code;
  s.pty_master = -1;
  if (auto it = containers_.find(s.container_id); it != containers_.end())
    std::erase(it->second->exec_ids, s.id);
  save_exec(s);
  // recorded here now: the shim's copy is not needed any more
  ::unlink((bundle_dir(s.container_id) + "/" + shim::proto::exec_exit_file(s.id.substr(0, 12))).c_str());
}

void Daemon::exec_ended(const std::shared_ptr<ExecSession>& s, int code) {
  {
    std::lock_guard lk(mu);
    s->pty_master = -1;
    if (s->has_exit) return;
    record_exec_exit(*s, code);
  }
  emit("container", "exec_die", s->container_id, {{"execID", s->id}, {"exitCode", std::to_string(code)}});
}

void Daemon::forget_exec(ExecSession& s) {
  if (auto it = containers_.find(s.container_id); it != containers_.end())
    std::erase(it->second->exec_ids, s.id);
  ::unlink((exec_record_dir(s.container_id) + "/" + s.id + ".json").c_str());
  s.forgotten = true;
  s.pty_master = -1;
  execs_.erase(s.id);
}

std::vector<std::pair<std::string, int>> Daemon::execs_container_stopped(Container& c) {
  std::vector<std::pair<std::string, int>> died;
  for (const auto& id : std::vector<std::string>(c.exec_ids)) {
    auto it = execs_.find(id);
    if (it == execs_.end()) continue;
    auto s = it->second;  // forget_exec erases the map's reference
    std::optional<int> code = shim_exec_status(*s);  // it may have run even if the record says created
    if (code) {
      record_exec_exit(*s, *code);
      died.emplace_back(s->id, *code);
    } else {
      forget_exec(*s);
    }
  }
  c.exec_ids.clear();
  return died;
}

void Daemon::exec_gc() {
  std::set<std::string> live;
  for (const auto& [id, c] : containers_) live.insert(c->exec_ids.begin(), c->exec_ids.end());
  std::vector<std::shared_ptr<ExecSession>> drop;
  for (auto& [id, s] : execs_) {
    if (live.count(id)) continue;
    if (s->can_remove) {
      drop.push_back(s);
    } else {
      s->can_remove = true;
      save_exec(*s);
    }
  }
  for (auto& s : drop) forget_exec(*s);
  if (!drop.empty()) log::debug("exec GC: dropped {} ended execs", drop.size());
}

void Daemon::load_execs() {
  for (auto& [cid, c] : containers_) {
    std::string dir = exec_record_dir(cid);
    DIR* d = ::opendir(dir.c_str());
    if (!d) continue;
    std::vector<std::string> names;
    while (auto* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n.size() == 64 + 5 && n.ends_with(".json")) names.push_back(n);
      else if (n.find(".tmp-") != std::string::npos) ::unlink((dir + "/" + n).c_str());  // a write cut short
    }
    ::closedir(d);
    std::vector<std::shared_ptr<ExecSession>> loaded;
    for (const auto& n : names) {
      auto s = std::make_shared<ExecSession>();
      try {
        auto j = json::parse(read_file(dir + "/" + n).value_or(""));
        s->id = j.at("ID").get<std::string>();
        s->container_id = cid;
        s->config = j.at("Config");
        if (s->id + ".json" != n || !s->config.is_object() || !s->config["Cmd"].is_array() || s->config["Cmd"].empty())
          throw std::runtime_error("malformed");
        s->running = j.value("Running", false);
        s->has_exit = j.contains("ExitCode") && j["ExitCode"].is_number_integer();
        s->exit_code = s->has_exit ? j["ExitCode"].get<int>() : -1;
        s->pid = j.value("Pid", 0);
        s->can_remove = j.value("CanRemove", false);
        s->created_ns = j.value("Created", std::int64_t{0});
      } catch (const std::exception& e) {
        log::warn("dropping exec record {}/{}: {}", cid.substr(0, 12), n, e.what());
        ::unlink((dir + "/" + n).c_str());
        continue;
      }
      loaded.push_back(std::move(s));
    }
    std::sort(loaded.begin(), loaded.end(), [](auto& a, auto& b) { return a->created_ns < b->created_ns; });
    for (auto& s : loaded) {
      execs_[s->id] = s;
      if (!s->has_exit) c->exec_ids.push_back(s->id);
    }
    std::vector<std::pair<std::string, int>> died;
    if (!container_running(*c) && c->state.status != "restarting") {
      // stopped for good before this start: as at its Cleanup
      died = execs_container_stopped(*c);
    } else {
      // Created ones too: berthd may have died after asking the shim to start one and before
      // recording that it runs. The shim knows.
      for (auto& s : loaded) {
        if (s->has_exit) continue;
        if (auto code = shim_exec_status(*s)) {
          record_exec_exit(*s, *code);
          died.emplace_back(s->id, *code);
        } else {
          // a shim that is gone leaves it to the container's exit (execs_container_stopped)
          watch_exec(s);
        }
      }
    }
    if (!loaded.empty()) log::info("restored {} exec(s) of container {}", loaded.size(), cid.substr(0, 12));
    // the exec_die events go out once the lock is released (emit takes mu)
    if (!died.empty())
      std::thread([this, cid, died] {
        for (auto& [id, code] : died) emit("container", "exec_die", cid, {{"execID", id}, {"exitCode", std::to_string(code)}});
      }).detach();
  }
}

}  // namespace berth::daemon
