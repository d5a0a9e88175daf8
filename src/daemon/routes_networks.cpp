// SPDX-License-Identifier: Apache-2.0
// Engine API /networks/* (list, inspect, create, delete, prune, connect, disconnect) over
// Networking / net::NetworkManager.
#include <regex>

#include "common/digest.hpp"
#include "common/strings.hpp"
#include "daemon/api_util.hpp"
#include "daemon/daemon.hpp"
#include "daemon/networking.hpp"
#include "network/manager.hpp"

namespace berth::daemon {

namespace {

Result<json> body_json(http::Request& q) { return read_json(q); }

Result<std::map<std::string, std::vector<std::string>>> filters_of(const http::Request& q) {
  Error err;
  auto f = parse_filters(q, &err);
  if (!err.message().empty()) return fail(std::move(err));
  return f;
}

bool labels_match(const json& labels, const std::vector<std::string>& want) {
  for (const auto& v : want) {
    auto [k, val] = split_once(v, '=');
    if (!labels.is_object() || !labels.contains(std::string(k))) return false;
    if (v.find('=') != std::string::npos && labels[std::string(k)] != std::string(val)) return false;
  }
  return true;
}

bool builtin(const json& n) {
  std::string name = n.value("Name", "");
  return name == "host" || name == "none" ||
         (n.contains("Options") && n["Options"].contains("com.docker.network.bridge.default_bridge"));
}

// Every network as API JSON (pseudo ones included).
std::vector<json> all_networks(Daemon& d, bool with_containers) {
  auto& nw = d.networking();
  std::vector<json> out;
  auto name_of = [&d](const std::string& id) {
    auto c = d.find(id);
    return c ? (*c)->name : std::string();
  };
  if (auto* nm = nw.manager())
    for (const auto& n : nm->networks()) out.push_back(nw.network_json(n, with_containers, name_of));
  for (auto& p : nw.pseudo_networks()) out.push_back(p);
  return out;
}

// `network inspect host|none`: the running containers in that mode, as dockerd lists their
// endpoints (no addresses).
json with_mode_containers(Daemon& d, json p) {
  std::string mode = p.value("Name", "");
  for (const auto& c : d.all()) {
    std::lock_guard lk(d.mu);
    if (c->host_config.value("NetworkMode", "") != mode) continue;
    if (c->state.status != "running" && c->state.status != "paused") continue;
    p["Containers"][c->id] = {{"Name", c->name},
                              {"EndpointID", digest_of(p.value("Id", "") + "/" + c->id).hex()},
                              {"MacAddress", ""},
                              {"IPv4Address", ""},
                              {"IPv6Address", ""}};
  }
  return p;
}

Result<json> find_network(Daemon& d, const std::string& ref, bool with_containers) {
  auto& nw = d.networking();
  for (auto& p : nw.pseudo_networks())
    if (p["Name"] == ref || p["Id"] == ref) return with_containers ? with_mode_containers(d, p) : p;
  if (auto* nm = nw.manager()) {
    auto n = nm->network(ref);
    if (n) {
      auto name_of = [&d](const std::string& id) {
        auto c = d.find(id);
        return c ? (*c)->name : std::string();
      };
      return nw.network_json(*n, with_containers, name_of);
    }
  }
  for (auto& p : nw.pseudo_networks())
    if (ref.size() >= 3 && p["Id"].get<std::string>().rfind(ref, 0) == 0)
      return with_containers ? with_mode_containers(d, p) : p;
  return fail(Errc::NotFound, "network " + ref + " not found");
}

Result<net::NetworkSpec> spec_from(const json& b) {
  net::NetworkSpec s;
  s.name = b.value("Name", "");
  if (s.name.empty()) return fail(Errc::InvalidArgument, "network name must not be empty");
  static const std::regex re("^[a-zA-Z0-9][a-zA-Z0-9_.-]*$");
  if (!std::regex_match(s.name, re))
    return fail(Errc::InvalidArgument, "invalid network name \"" + s.name + "\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  s.driver = b.value("Driver", "");
  if (s.driver.empty()) s.driver = "bridge";
  if (s.driver == "host" || s.driver == "null")
    return fail(Errc::PermissionDenied, "only one instance of \"" + s.driver + "\" network is allowed");
  if (s.driver == "overlay")
    return fail(Errc::Unavailable, "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" "
                                   "to connect this node to swarm and try again.");
  if (b.value("Ingress", false)) return fail(Errc::InvalidArgument, "ingress networks need swarm mode");
  if (b.value("ConfigOnly", false) || (b.contains("ConfigFrom") && b["ConfigFrom"].is_object() &&
                                       !b["ConfigFrom"].value("Network", "").empty()))
    return fail(Errc::Unimplemented, "config-only networks are not supported by berth");
  if (b.contains("EnableIPv4") && b["EnableIPv4"].is_boolean() && !b["EnableIPv4"].get<bool>())
    return fail(Errc::InvalidArgument, "IPv4 cannot be disabled on berth networks");
  s.internal = b.value("Internal", false);
  s.enable_ipv6 = b.contains("EnableIPv6") && b["EnableIPv6"].is_boolean() && b["EnableIPv6"].get<bool>();
  if (b.contains("Options") && b["Options"].is_object())
    for (auto& [k, v] : b["Options"].items())
      if (v.is_string()) s.options[k] = v.get<std::string>();
  if (b.contains("Labels") && b["Labels"].is_object())
    for (auto& [k, v] : b["Labels"].items())
      if (v.is_string()) s.labels[k] = v.get<std::string>();
  if (b.contains("IPAM") && b["IPAM"].is_object()) {
    const json& ipam = b["IPAM"];
    std::string drv = ipam.value("Driver", "");
    if (!drv.empty() && drv != "default") return fail(Errc::NotFound, "plugin \"" + drv + "\" not found");
    if (ipam.contains("Config") && ipam["Config"].is_array()) {
      for (const auto& c : ipam["Config"]) {
        std::string sub = c.value("Subnet", "");
        if (sub.empty()) return fail(Errc::InvalidArgument, "IPAM config needs a subnet");
        net::SubnetConfig sc;
        auto p = TRYC(net::IpPrefix::parse(sub), "invalid subnet");
        sc.subnet = p.network();
        if (!(p.addr == sc.subnet.addr))
          return fail(Errc::InvalidArgument, "invalid subnet " + sub + ": it should be " + sc.subnet.str());
        if (auto g = c.value("Gateway", ""); !g.empty()) {
          sc.gateway = TRYC(net::IpAddr::parse(g), "invalid gateway");
          if (!sc.subnet.contains(sc.gateway))
            return fail(Errc::InvalidArgument, "gateway " + g + " is not in subnet " + sub);
        }
        if (auto r = c.value("IPRange", ""); !r.empty()) {
          auto rp = TRYC(net::IpPrefix::parse(r), "invalid ip-range");
          if (!sc.subnet.contains(rp.addr) || rp.len < sc.subnet.len)
            return fail(Errc::InvalidArgument, "ip-range " + r + " is not within subnet " + sub);
          sc.ip_range = rp.network();
        }
        if (c.contains("AuxiliaryAddresses") && c["AuxiliaryAddresses"].is_object() && !c["AuxiliaryAddresses"].empty())
          return fail(Errc::Unimplemented, "auxiliary addresses are not supported by berth");
        (sc.subnet.addr.is_v4() ? s.ipv4 : s.ipv6).push_back(sc);
      }
    }
  }
  if (!s.ipv6.empty() && !s.enable_ipv6)
    return fail(Errc::InvalidArgument, "an IPv6 subnet was given but IPv6 is not enabled (--ipv6)");
  return s;
}

}  // namespace

Status Daemon::network_connect(const std::string& network, const std::string& ref, const json& ec) {
  auto c = TRY(find(ref));
  if (network == "host" || network == "none")
    return fail(Errc::PermissionDenied, "container cannot be disconnected from host network or connected to host network");
  std::lock_guard op(c->op);
  drop_prepared_locked(*c);
  bool running;
  {
    std::lock_guard lk(mu);
    if (c->removed) return fail(Errc::NotFound, "No such container: " + ref);
    running = c->state.status == "running" || c->state.status == "paused";
  }
  TRY(net_->connect(*c, network, ec, running, c->config.value("Hostname", "")));
  if (auto n = net_->manager()->network(network))
    emit("network", "connect", n->id, {{"container", c->id}, {"name", n->name}, {"type", n->driver}});
  return ok();
}

Status Daemon::network_disconnect(const std::string& network, const std::string& ref, bool force) {
  auto c = find(ref);
  if (!c) {
    // --force on a container that is gone: drop its endpoint anyway.
    if (force && net_->manager()) {
      for (const auto& e : net_->manager()->endpoints())
        if (e.container_id.rfind(ref, 0) == 0) return net_->manager()->disconnect(network, e.container_id);
    }
    return fail(std::move(c).error());
  }
  if (network == "host" || network == "none")
    return fail(Errc::PermissionDenied, "container cannot be disconnected from host network or connected to host network");
  std::lock_guard op((*c)->op);
  drop_prepared_locked(**c);
  bool running;
  {
    std::lock_guard lk(mu);
    running = (*c)->state.status == "running" || (*c)->state.status == "paused";
  }
  TRY(net_->disconnect(**c, network, running));
  if (auto n = net_->manager()->network(network))
    emit("network", "disconnect", n->id, {{"container", (*c)->id}, {"name", n->name}, {"type", n->driver}});
  return ok();
}

void register_network_routes(Daemon& d, http::Router& r) {
  r.add("GET", "/networks", [&d](http::Request& q, http::ResponseWriter& w) {
    auto filters = filters_of(q);
    if (!filters) return send_error(w, filters.error());
    for (auto& [k, v] : *filters)
      if (k != "driver" && k != "id" && k != "label" && k != "name" && k != "scope" && k != "type" && k != "dangling")
        return send_error(w, 400, "invalid filter '" + k + "'");
    bool need_containers = filters->count("dangling") > 0;
    json out = json::array();
    for (auto& n : all_networks(d, need_containers)) {
      bool keep = true;
      for (auto& [k, vals] : *filters) {
        if (k == "label") {
          keep = keep && labels_match(n["Labels"], vals);
          continue;
        }
        bool any = false;
        for (auto& v : vals) {
          if (k == "driver") any |= n["Driver"] == v;
          else if (k == "id") any |= n["Id"].get<std::string>().rfind(v, 0) == 0;
          else if (k == "name") any |= n["Name"].get<std::string>().find(v) != std::string::npos;
          else if (k == "scope") any |= v == "local";
          else if (k == "type") any |= (v == "builtin") == builtin(n) && (v == "builtin" || v == "custom");
          else if (k == "dangling") {
            bool dangling = n["Containers"].empty() && !builtin(n);
            any |= (v == "true" || v == "1") == dangling;
          }
        }
        keep = keep && any;
      }
      if (!keep) continue;
      n["Containers"] = json::object();
      out.push_back(n);
    }
    send_json(w, 200, out);
  });

  r.add("GET", "/networks/{id}", [&d](http::Request& q, http::ResponseWriter& w) {
    auto n = find_network(d, q.param("id"), true);
    if (!n) return send_error(w, n.error());
    send_json(w, 200, *n);
  });

  r.add("POST", "/networks/create", [&d](http::Request& q, http::ResponseWriter& w) {
    auto b = body_json(q);
    if (!b) return send_error(w, b.error());
    if (!b->is_object()) return send_error(w, 400, "network create: empty request body");
    auto spec = spec_from(*b);
    if (!spec) return send_error(w, spec.error());
    if (spec->name == "host" || spec->name == "none")
      return send_error(w, 409, "network with name " + spec->name + " already exists");
    auto* nm = d.networking().manager();
    if (!nm) return send_error(w, 503, "networking is not available: " + d.networking().error());
    auto n = nm->create_network(*spec);
    if (!n) return send_error(w, n.error());
    d.emit("network", "create", n->id, {{"name", n->name}, {"type", n->driver}});
    send_json(w, 201, json{{"Id", n->id}, {"Warning", ""}});
  });

  r.add("DELETE", "/networks/{id}", [&d](http::Request& q, http::ResponseWriter& w) {
    std::string ref = q.param("id");
    auto found = find_network(d, ref, false);
    if (!found) return send_error(w, found.error());
    std::string name = (*found)["Name"];
    if (name == "host" || name == "none" || builtin(*found))
      return send_error(w, 403, name + " is a pre-defined network and cannot be removed");
    auto st = d.networking().manager()->delete_network((*found)["Id"].get<std::string>());
    if (!st) {
      // dockerd: active endpoints are Forbidden (403)
      if (st.error().is(Errc::Conflict)) return send_error(w, 403, st.error().message());
      return send_error(w, st.error());
    }
    d.emit("network", "destroy", (*found)["Id"].get<std::string>(), {{"name", name}, {"type", (*found)["Driver"].get<std::string>()}});
    (void)w.send(204);
  });

  r.add("POST", "/networks/prune", [&d](http::Request& q, http::ResponseWriter& w) {
    auto filters = filters_of(q);
    if (!filters) return send_error(w, filters.error());
    json deleted = json::array();
    auto* nm = d.networking().manager();
    if (nm) {
      for (auto& n : all_networks(d, true)) {
        if (builtin(n) || !n["Containers"].empty()) continue;
        if (filters->count("label") && !labels_match(n["Labels"], (*filters)["label"])) continue;
        if (filters->count("label!") && labels_match(n["Labels"], (*filters)["label!"])) continue;
        std::string id = n["Id"];
        if (nm->delete_network(id)) {
          deleted.push_back(n["Name"]);
          d.emit("network", "destroy", id, {{"name", n["Name"].get<std::string>()}, {"type", n["Driver"].get<std::string>()}});
        }
      }
    }
    d.emit("network", "prune", "", {});
    send_json(w, 200, json{{"NetworksDeleted", deleted}});
  });

  r.add("POST", "/networks/{id}/connect", [&d](http::Request& q, http::ResponseWriter& w) {
    auto b = body_json(q);
    if (!b) return send_error(w, b.error());
    if (!b->is_object() || b->value("Container", "").empty()) return send_error(w, 400, "no container specified");
    auto found = find_network(d, q.param("id"), false);
    if (!found) return send_error(w, found.error());
    json ec = b->contains("EndpointConfig") && (*b)["EndpointConfig"].is_object() ? (*b)["EndpointConfig"] : json::object();
    auto st = d.network_connect((*found)["Name"].get<std::string>(), (*b)["Container"].get<std::string>(), ec);
    if (!st) return send_error(w, st.error());
    (void)w.send(200);
  });

  r.add("POST", "/networks/{id}/disconnect", [&d](http::Request& q, http::ResponseWriter& w) {
    auto b = body_json(q);
    if (!b) return send_error(w, b.error());
    if (!b->is_object() || b->value("Container", "").empty()) return send_error(w, 400, "no container specified");
    auto found = find_network(d, q.param("id"), false);
    if (!found) return send_error(w, found.error());
    auto st = d.network_disconnect((*found)["Name"].get<std::string>(), (*b)["Container"].get<std::string>(),
                                   b->value("Force", false));
    if (!st) return send_error(w, st.error());
    (void)w.send(200);
  });
}

}  // namespace berth::daemon
