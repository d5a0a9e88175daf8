// SPDX-License-Identifier: Apache-2.0
// Engine API /volumes: list, create, inspect, remove, prune (moby's volume router).
#include <nlohmann/json.hpp>

#include "daemon/api_util.hpp"
#include "daemon/daemon.hpp"
#include "volume/volume.hpp"

namespace berth::daemon {

namespace {

json volume_json(const volume::Volume& v) { return json::parse(volume::to_docker_json(v)); }

std::map<std::string, std::string> string_map(const json& j, const char* what, Error* err) {
  std::map<std::string, std::string> out;
  if (j.is_null()) return out;
  if (!j.is_object()) {
    *err = Error(Errc::InvalidArgument, std::string("invalid ") + what + ": expected an object");
    return out;
  }
  for (auto& [k, v] : j.items()) {
    if (!v.is_string()) {
      *err = Error(Errc::InvalidArgument, std::string("invalid ") + what + " value for " + k + ": expected a string");
      return out;
    }
    out[k] = v.get<std::string>();
  }
  return out;
}

}  // namespace

json volumes_df_json(Daemon& d) {
  json out = json::array();
  std::lock_guard lk(d.volume_mu);
  auto vs = d.volumes().list({}, true);
  if (!vs) return out;
  for (auto& v : *vs) out.push_back(volume_json(v));
  return out;
}

void register_volume_routes(Daemon& d, http::Router& r) {
  r.add("GET", "/volumes", [&d](http::Request& q, http::ResponseWriter& w) {
    Error ferr;
    auto f = parse_filters(q, &ferr);
    if (!ferr.message().empty()) return send_error(w, ferr);
    std::lock_guard lk(d.volume_mu);
    auto vs = d.volumes().list(f, false);
    if (!vs) return send_error(w, vs.error());
    json arr = json::array();
    for (auto& v : *vs) arr.push_back(volume_json(v));
    send_json(w, 200, json{{"Volumes", arr}, {"Warnings", json::array()}});
  });

  r.add("POST", "/volumes/create", [&d](http::Request& q, http::ResponseWriter& w) {
    auto body = read_json(q);
    if (!body) return send_error(w, body.error());
    json b = body->is_null() ? json::object() : *body;
    if (!b.is_object()) return send_error(w, 400, "invalid JSON: expected an object");
    std::string name = b.value("Name", ""), driver = b.value("Driver", "");
    Error err;
    auto opts = string_map(b.value("DriverOpts", json(nullptr)), "DriverOpts", &err);
    auto labels = string_map(b.value("Labels", json(nullptr)), "Labels", &err);
    if (!err.message().empty()) return send_error(w, err);
    Result<volume::Volume> v = [&]() -> Result<volume::Volume> {
      std::lock_guard lk(d.volume_mu);
      if (name.empty()) labels.emplace("com.docker.volume.anonymous", "");
      return d.volumes().create(name, driver, opts, labels);
    }();
    if (!v) {
      Error e = v.error();
      if (e.is(Errc::InvalidArgument) && e.message().rfind("create ", 0) != 0)
        return send_error(w, 400, "create " + name + ": " + e.message());
      return send_error(w, e);
    }
    d.emit("volume", "create", v->name, {{"driver", v->driver}});
    send_json(w, 201, volume_json(*v));
  });

  r.add("GET", "/volumes/{name}", [&d](http::Request& q, http::ResponseWriter& w) {
    std::lock_guard lk(d.volume_mu);
    auto v = d.volumes().inspect(q.param("name"), false);
    if (!v) return send_error(w, v.error());
    send_json(w, 200, volume_json(*v));
  });

  r.add("DELETE", "/volumes/{name}", [&d](http::Request& q, http::ResponseWriter& w) {
    std::string name = q.param("name");
    Status st = [&] {
      std::lock_guard lk(d.volume_mu);
      return d.volumes().remove(name, q.query_bool("force"));
    }();
    if (!st) return send_error(w, st.error());
    d.emit("volume", "destroy", name, {{"driver", "local"}});
    (void)w.send(204);
  });

  r.add("POST", "/volumes/prune", [&d](http::Request& q, http::ResponseWriter& w) {
    Error ferr;
    auto f = parse_filters(q, &ferr);
    if (!ferr.message().empty()) return send_error(w, ferr);
    for (auto& [k, v] : f)
      if (k != "label" && k != "label!" && k != "all")
        return send_error(w, 400, "invalid filter '" + k + "'");
    auto rep = [&] {
      std::lock_guard lk(d.volume_mu);
      return d.volumes().prune(f);
    }();
    if (!rep) return send_error(w, rep.error());
    for (auto& n : rep->deleted) d.emit("volume", "destroy", n, {{"driver", "local"}});
    d.emit("volume", "prune", "", {{"reclaimed", std::to_string(rep->reclaimed)}});
    send_json(w, 200, json{{"VolumesDeleted", rep->deleted.empty() ? json(nullptr) : json(rep->deleted)},
                           {"SpaceReclaimed", rep->reclaimed}});
  });
}

}  // namespace berth::daemon
