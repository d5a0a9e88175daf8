// SPDX-License-Identifier: Apache-2.0
#include "daemon/networking.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "common/defer.hpp"
#include "common/digest.hpp"
#include "common/file.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "daemon/daemon.hpp"
#include "daemon/lazy_sync.hpp"
#include "daemon/netns_pool.hpp"
#include "network/etc_files.hpp"
#include "network/manager.hpp"
#include "network/netlink.hpp"
#include "network/netns.hpp"

namespace berth::daemon {

namespace {

bool is_pseudo_mode(const std::string& m) {
  return m == "host" || m == "none" || m.rfind("container:", 0) == 0;
}

std::string str_of(const json& o, const char* k) {
  if (!o.is_object()) return {};
  auto it = o.find(k);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string> strs_of(const json& o, const char* k) {
  std::vector<std::string> out;
  if (!o.is_object()) return out;
  auto it = o.find(k);
  if (it == o.end() || !it->is_array()) return out;
  for (const auto& v : *it)
    if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

bool is_default_bridge(const net::Network& n) {
  return n.options.count("com.docker.network.bridge.default_bridge") > 0;
}

std::string endpoint_id(const std::string& net_id, const std::string& cid) {
  return digest_of(net_id + "/" + cid).hex();
}

// HostConfig.PortBindings + PublishAllPorts/ExposedPorts -> port specs.
Result<std::vector<net::PortSpec>> port_specs(const json& cfg, const json& hc) {
  std::vector<net::PortSpec> out;
  std::set<std::string> bound;
  auto key_parse = [](const std::string& key, net::PortSpec* p) -> Status {
    auto [port, proto] = split_once(key, '/');
    if (!proto.empty()) p->proto = TRY(net::parse_proto(proto));
    auto [a, b] = split_once(port, '-');
    auto pa = parse_uint(a);
    if (!pa || *pa == 0 || *pa > 65535) return fail(Errc::InvalidArgument, "invalid port \"" + key + "\"");
    p->container_port_start = static_cast<std::uint16_t>(*pa);
    if (!b.empty()) {
      auto pb = parse_uint(b);
      if (!pb || *pb < *pa || *pb > 65535) return fail(Errc::InvalidArgument, "invalid port range \"" + key + "\"");
      p->container_port_end = static_cast<std::uint16_t>(*pb);
    }
    return ok();
  };
  if (hc.contains("PortBindings") && hc["PortBindings"].is_object()) {
    for (auto& [key, list] : hc["PortBindings"].items()) {
      bound.insert(key);
      if (!list.is_array()) continue;
      for (const auto& b : list) {
        net::PortSpec p;
        TRY(key_parse(key, &p));
        std::string ip = str_of(b, "HostIp"), hp = str_of(b, "HostPort");
        if (!ip.empty()) {
          if (ip.size() > 2 && ip.front() == '[') ip = ip.substr(1, ip.size() - 2);
          p.host_ip = TRYC(net::IpAddr::parse(ip), "invalid host IP");
        }
        if (!hp.empty()) {
          auto [x, y] = split_once(hp, '-');
          auto xa = parse_uint(x);
          if (!xa || *xa > 65535) return fail(Errc::InvalidArgument, "invalid host port \"" + hp + "\"");
          p.host_port_start = static_cast<std::uint16_t>(*xa);
          if (!y.empty()) {
            auto yb = parse_uint(y);
            if (!yb || *yb < *xa || *yb > 65535) return fail(Errc::InvalidArgument, "invalid host port range \"" + hp + "\"");
            p.host_port_end = static_cast<std::uint16_t>(*yb);
          }
        }
        out.push_back(p);
      }
    }
  }
  bool all = hc.contains("PublishAllPorts") && hc["PublishAllPorts"].is_boolean() && hc["PublishAllPorts"].get<bool>();
  if (all && cfg.contains("ExposedPorts") && cfg["ExposedPorts"].is_object()) {
    for (auto& [key, v] : cfg["ExposedPorts"].items()) {
      if (bound.count(key)) continue;
      net::PortSpec p;
      TRY(key_parse(key, &p));
      out.push_back(p);
    }
  }
  return out;
}

std::string host_resolv_conf() {
  auto text = read_file("/etc/resolv.conf").value_or("");
  // systemd-resolved's stub (127.0.0.53) is unreachable from a container: use its upstream list.
  if (text.find("127.0.0.53") != std::string::npos)
    if (auto up = read_file("/run/systemd/resolve/resolv.conf")) return *up;
  return text;
}

}  // namespace

std::pair<std::string, std::string> parse_link(const std::string& v) {
  auto [name_v, alias_v] = split_once(v, ':');
  std::string name(name_v), alias(alias_v);
  if (!name.empty() && name[0] == '/') name = name.substr(1);
  if (alias.empty()) alias = name;
  if (auto slash = alias.rfind('/'); slash != std::string::npos) alias = alias.substr(slash + 1);
  return {name, alias};
}

std::string build_name(const std::string& id) { return "build-" + id.substr(0, 12); }

// ---------------------------------------------------------------------------------------------

std::unique_ptr<Networking> Networking::open(const Config& cfg) {
  std::unique_ptr<Networking> n(new Networking());
  n->cfg_ = cfg;
  n->pool_ = std::make_unique<NetnsPool>(cfg.exec_root + "/netns-spare");
  net::ManagerConfig mc;
  mc.state_dir = cfg.data_root + "/network";
  mc.default_bridge = cfg.bridge.empty() || cfg.bridge == "none" ? "berth0" : cfg.bridge;
  mc.create_default_network = cfg.bridge != "none";
  mc.ip_forward = cfg.ip_forward;
  mc.firewall.table = cfg.nft_table.empty() ? "berth" : cfg.nft_table;
  auto setup = [&]() -> Status {
    if (!cfg.bip.empty()) {
      auto p = TRYC(net::IpPrefix::parse(cfg.bip), "invalid --bip");
      if (!p.addr.is_v4()) return fail(Errc::InvalidArgument, "--bip must be an IPv4 address/prefix");
      mc.default_bridge_ip = p;
    }
    if (!cfg.default_address_pools.empty()) {
      std::vector<net::AddressPool> v4, v6;
      for (const auto& s : cfg.default_address_pools) {
        auto p = TRYC(net::parse_pool(s), "invalid default address pool");
        (p.base.addr.is_v4() ? v4 : v6).push_back(p);
      }
      if (!v4.empty()) mc.pools_v4 = v4;
      if (!v6.empty()) mc.pools_v6 = v6;
    }
    if (mc.default_bridge.size() > 15) return fail(Errc::InvalidArgument, "bridge name too long: " + mc.default_bridge);
    n->nm_ = TRY(net::NetworkManager::open(mc));
    return ok();
  };
  if (auto st = setup(); !st) {
    n->error_ = st.error().message();
    n->nm_.reset();
    log::warn("networking disabled: {} (containers get a loopback-only network namespace)", n->error_);
  } else {
    log::info("networking: bridge {}, nftables table inet {}",
              mc.create_default_network ? mc.default_bridge : std::string("none"), mc.firewall.table);
  }
  return n;
}

Networking::Networking() = default;
Networking::~Networking() = default;

std::string Networking::plan_path(const std::string& id) const {
  return cfg_.data_root + "/containers/" + id + "/networks.json";
}
std::string Networking::netns_path(const std::string& id) const { return cfg_.exec_root + "/netns/" + id; }
bool Networking::has_netns(const std::string& id) const { return path_exists(netns_path(id)); }

std::string Networking::pseudo_id(const std::string& name) const {
  return digest_of("berth-network:" + cfg_.data_root + ":" + name).hex();
}

Status Networking::save_plan(const std::string& id, const json& plan) {
  std::lock_guard lk(plan_mu_);
  // An empty plan (none, host, container:) is no file: load_plan reads its absence as one.
  if (plan.is_array() && plan.empty()) {
    if (::unlink(plan_path(id).c_str()) != 0 && errno != ENOENT) return fail_errno("remove", plan_path(id));
    return ok();
  }
  // Like the container record: atomic now, fsynced in the background (lazy_sync.hpp).
  return write_record(plan_path(id), plan.dump(), 0600);
}

json Networking::load_plan(const std::string& id) const {
  auto text = read_file(plan_path(id));
  if (!text) return json::array();
  try {
    auto j = json::parse(*text);
    return j.is_array() ? j : json::array();
  } catch (...) {
    return json::array();
  }
}

Result<json> Networking::plan_entry(const std::string& network, const json& ec_in) {
  json ec = ec_in.is_object() ? ec_in : json::object();
  auto n = TRY(nm_->network(network));
  auto ipam = ec.contains("IPAMConfig") && ec["IPAMConfig"].is_object() ? ec["IPAMConfig"] : json::object();
  std::string v4 = str_of(ipam, "IPv4Address"), v6 = str_of(ipam, "IPv6Address");
  if (!v4.empty()) {
    auto a = TRYC(net::IpAddr::parse(v4), "invalid IPv4 address");
    if (!a.is_v4()) return fail(Errc::InvalidArgument, "invalid IPv4 address: " + v4);
  }
  if (!v6.empty()) {
    auto a = TRYC(net::IpAddr::parse(v6), "invalid IPv6 address");
    if (!a.is_v6()) return fail(Errc::InvalidArgument, "invalid IPv6 address: " + v6);
  }
  if (is_default_bridge(n)) {
    if (!v4.empty() || !v6.empty())
      return fail(Errc::InvalidArgument, "user specified IP address is supported on user defined networks only");
    if (!strs_of(ec, "Aliases").empty())
      return fail(Errc::InvalidArgument, "network-scoped alias is supported only for containers in user defined networks");
  }
  if (auto mac = str_of(ec, "MacAddress"); !mac.empty()) TRYC(net::parse_mac(mac), "invalid MAC address");
  return json{{"NetworkID", n.id}, {"Name", n.name}, {"Config", ec}};
}

namespace {

// dockerd's conflicts between the network mode and other options (runconfig).
Status check_mode_conflicts(const std::string& mode, const json& hc, const json& cfg) {
  auto has = [&](const json& j, const char* k) {
    return j.is_object() && j.contains(k) && ((j[k].is_string() && !j[k].get<std::string>().empty()) ||
                                              ((j[k].is_array() || j[k].is_object()) && !j[k].empty()));
  };
  auto conflict = [](const std::string& m) { return fail(Errc::InvalidArgument, "conflicting options: " + m); };
  bool container = mode.rfind("container:", 0) == 0;
  if (container && has(cfg, "Hostname")) return conflict("hostname and the network mode");
  if (container && has(hc, "Links"))
    return conflict("container type network can't be used with links. This would result in undefined behavior");
  if (mode == "host" && has(hc, "Links"))
    return conflict("host type networking can't be used with links. This would result in undefined behavior");
  if (container && has(hc, "Dns")) return conflict("dns and the network mode");
  if (container && has(hc, "ExtraHosts")) return conflict("custom host-to-IP mapping and the network mode");
  if ((container || mode == "host") && has(cfg, "MacAddress")) return conflict("mac-address and the network mode");
  if (container && (has(hc, "PortBindings") || (hc.contains("PublishAllPorts") && hc["PublishAllPorts"] == true)))
    return conflict("port publishing and the container type network mode");
  if (container && has(cfg, "ExposedPorts")) return conflict("port exposing and the container type network mode");
  return ok();
}

}  // namespace

Result<json> Networking::validate_create(json& hc, const json& config, const json& ncfg,
                                         std::vector<std::string>* warnings) {
  std::string mode = hc.value("NetworkMode", "");
  std::string given = mode;
  if (mode.empty() || mode == "default") mode = "bridge";
  hc["NetworkMode"] = mode;
  json eps = ncfg.is_object() && ncfg.contains("EndpointsConfig") && ncfg["EndpointsConfig"].is_object()
                 ? ncfg["EndpointsConfig"]
                 : json::object();
  json plan = json::array();
  TRY(check_mode_conflicts(mode, hc, config));
  // Legacy links are checked on the default bridge only: on a user-defined network dockerd
  // does not register them (they become DNS aliases, resolved when asked).
  if (daemon_ && mode == "bridge")
    for (const auto& l : strs_of(hc, "Links")) {
      std::string name = parse_link(l).first;
      if (auto x = daemon_->find(name); !x)
        return fail(Errc::InvalidArgument, "could not get container for " + name + ": " + x.error().message());
    }
  if (is_pseudo_mode(mode)) {
    if (mode == "host" && hc.contains("PortBindings") && hc["PortBindings"].is_object() && !hc["PortBindings"].empty())
      warnings->push_back("Published ports are discarded when using host network mode");
    return plan;
  }
  // Unknown networks are 400 here, not 404: the docker CLI answers a 404 from create by pulling
  // the image (and then reports the pull error instead).
  auto fallback = [&]() -> Result<json> {
    warnings->push_back("bridge networking is not available (" +
                        (nm_ ? std::string("the daemon runs with --bridge none") : error_) +
                        "): the container gets a private network namespace with loopback only");
    return plan;
  };
  if (!nm_) {
    if (mode == "bridge") return fallback();
    return fail(Errc::InvalidArgument, "network " + mode + " not found");
  }
  auto primary = nm_->network(mode);
  if (!primary) {
    if (mode == "bridge") return fallback();
    return fail(Errc::InvalidArgument, "network " + mode + " not found");
  }
  // The primary network's EndpointSettings may be keyed by name or id.
  json pec = json::object();
  std::vector<std::pair<std::string, json>> others;
  for (auto& [k, v] : eps.items()) {
    auto n = nm_->network(k);
    if (k == mode || k == given || k == "default" || (n && n->id == primary->id)) pec = v;
    else if (k == "host" || k == "none") return fail(Errc::InvalidArgument, "container cannot be connected to network " + k + " and " + mode);
    else if (!n) return fail(Errc::InvalidArgument, "network " + k + " not found");
    else others.emplace_back(k, v);
  }
  // API < 1.44 put the MAC address into Config; the CLI 28 sends it per endpoint.
  plan.push_back(TRY(plan_entry(primary->id, pec)));
  for (auto& [k, v] : others) plan.push_back(TRY(plan_entry(k, v)));
  return plan;
}

Status Networking::connect_entry(const Container& c, const json& entry, bool primary, const std::string& ns_path) {
  const json& ec = entry.contains("Config") ? entry["Config"] : json::object();
  std::string net_ref = entry.value("NetworkID", "");
  auto n = nm_->network(net_ref);
  if (!n) n = nm_->network(entry.value("Name", ""));
  if (!n) return fail(Errc::NotFound, "network " + entry.value("Name", net_ref) + " not found");
  net::EndpointSpec s;
  s.container_id = c.id;
  s.netns_path = ns_path;
  // eth0, eth1, …: the lowest name no endpoint of this container uses.
  std::set<std::string> used;
  for (const auto& e : nm_->endpoints())
    if (e.container_id == c.id) used.insert(e.ifname);
  for (int i = 0; used.count(s.ifname = "eth" + std::to_string(i)); ++i) {}
  auto ipam = ec.contains("IPAMConfig") && ec["IPAMConfig"].is_object() ? ec["IPAMConfig"] : json::object();
  if (auto v = str_of(ipam, "IPv4Address"); !v.empty()) s.ipv4 = TRY(net::IpAddr::parse(v));
  if (auto v = str_of(ipam, "IPv6Address"); !v.empty()) s.ipv6 = TRY(net::IpAddr::parse(v));
  std::string mac = str_of(ec, "MacAddress");
  if (mac.empty() && primary) mac = str_of(c.config, "MacAddress");
  if (!mac.empty()) s.mac = TRY(net::parse_mac(mac));
  s.aliases.push_back(c.name);
  for (auto& a : strs_of(ec, "Aliases")) s.aliases.push_back(a);
  if (auto h = str_of(c.config, "Hostname"); !h.empty()) s.aliases.push_back(h);
  s.aliases.push_back(c.id.substr(0, 12));
  s.dns_servers = strs_of(c.host_config, "Dns");  // --dns: the embedded DNS forwards there
  // --link on a user network (the CLI sends it in the first network's EndpointSettings.Links):
  // a DNS alias for this container on this network, like dockerd's CreateOptionAlias.
  if (!is_default_bridge(*n))
    for (const auto& l : strs_of(ec, "Links")) {
      auto [name, alias] = parse_link(l);
      if (!name.empty()) s.links[alias] = name;
    }
  if (primary && n->driver == "bridge" && !n->internal) s.ports = TRY(port_specs(c.config, c.host_config));
  TRY(nm_->connect(n->id, std::move(s)));
  return ok();
}

std::string Networking::hosts_text(const Container& c, const std::string& hostname) {
  net::HostsConfig h;
  h.hostname = hostname;
  h.domainname = str_of(c.config, "Domainname");
  net::IpAddr gw4;
  if (nm_) {
    auto plan = load_plan(c.id);
    auto eps = nm_->endpoints();
    // The planned order (primary first).
    for (const auto& entry : plan)
      for (const auto& e : eps)
        if (e.container_id == c.id && e.network_id == entry.value("NetworkID", "")) {
          if (e.ipv4) h.addresses.push_back(e.ipv4->addr);
          if (e.ipv6) h.addresses.push_back(e.ipv6->addr);
          if (!gw4.valid() && e.gateway4.valid()) gw4 = e.gateway4;
        }
  }
  if (auto l = links(c, false))
    for (auto& [ip, names] : l->hosts) h.extra.push_back({ip, names});
  for (const auto& x : strs_of(c.host_config, "ExtraHosts")) {
    auto col = x.find(':');
    if (col == std::string::npos) continue;
    std::string ip = x.substr(col + 1);
    if (ip == "host-gateway") ip = gw4.valid() ? gw4.str() : "127.0.0.1";
    h.extra.push_back({ip, {x.substr(0, col)}});
  }
  return net::hosts_content(h);
}

std::string Networking::resolv_text(const Container& c) {
  net::ResolvConfig r;
  r.nameservers = strs_of(c.host_config, "Dns");
  r.search = strs_of(c.host_config, "DnsSearch");
  r.options = strs_of(c.host_config, "DnsOptions");
  if (nm_) {
    for (const auto& e : nm_->endpoints())
      if (e.container_id == c.id && e.ipv6) r.ipv6 = true;
    if (nm_->uses_embedded_dns(c.id)) r.embedded_dns = "127.0.0.11";
  }
  return net::resolv_content(host_resolv_conf(), r);
}

Result<NetSetup> Networking::setup(const Container& c, const std::string& hostname) {
  NetSetup out;
  if (!nm_) return out;
  std::string mode = c.host_config.value("NetworkMode", "bridge");
  if (mode == "host" || mode.rfind("container:", 0) == 0) return out;
  std::string path = netns_path(c.id);
  json plan = mode == "none" ? json() : load_plan(c.id);
  // none (or the default bridge when there is none): loopback only
  if (plan.empty()) return setup_loopback(c.id);
  teardown(c.id);  // leftovers of an earlier run
  pool_->wait_dropped(path);
  auto t0 = std::chrono::steady_clock::now();
  TRYC(make_netns(path), "create network namespace");
  log::info("network: netns for {} in {:.1f} ms", c.id.substr(0, 12),
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  bool done = false;
  auto undo = defer([&] {
    if (!done) teardown(c.id);
  });
  bool primary = true;
  for (const auto& entry : plan) {
    TRY(connect_entry(c, entry, primary, path));
    primary = false;
  }
  out.netns_path = path;
  out.env = TRY(links(c, true)).env;
  out.hosts = hosts_text(c, hostname);
  out.resolv = resolv_text(c);
  done = true;
  return out;
}

Result<NetSetup> Networking::setup_loopback(const std::string& id) {
  NetSetup out;
  if (!nm_) return out;
  // lo up, as dockerd's sandbox for none
  std::string path = netns_path(id);
  pool_->wait_dropped(path);                // the previous run's, if still going
  if (path_exists(path)) drop_netns(path);  // left by an earlier run
  TRYC(pool_->take(path), "create network namespace");
  out.netns_path = path;
  return out;
}

Result<Networking::Links> Networking::links(const Container& c, bool strict) {
  Links out;
  auto refs = strs_of(c.host_config, "Links");
  // Legacy links exist on the default bridge only (on user networks dockerd turns them into
  // DNS aliases: not done here, see docs/design/network.md).
  if (refs.empty() || !nm_ || !daemon_ || c.host_config.value("NetworkMode", "bridge") != "bridge") return out;
  auto bridge = nm_->network("bridge");
  for (const auto& ref : refs) {
    auto [name, alias] = parse_link(ref);
    auto skip = [&](Error e) -> Status { return strict ? fail(std::move(e)) : ok(); };
    auto child = daemon_->find(name);
    if (!child) {
      TRY(skip(Error(Errc::InvalidArgument, "could not get container for " + name + ": " + child.error().message())));
      continue;
    }
    std::string id, cname, hostname;
    std::vector<std::string> env, ports;
    bool running;
    {
      std::lock_guard lk(daemon_->mu);
      const Container& x = **child;
      id = x.id;
      cname = x.name;
      hostname = str_of(x.config, "Hostname");
      env = strs_of(x.config, "Env");
      if (x.config.contains("ExposedPorts") && x.config["ExposedPorts"].is_object())
        for (auto& [k, v] : x.config["ExposedPorts"].items()) ports.push_back(k);
      running = x.state.status == "running" || x.state.status == "paused";
    }
    std::string full = "/" + c.name + "/" + alias;
    if (!running) {
      TRY(skip(Error(Errc::InvalidArgument, "Cannot link to a non running container: /" + cname + " AS " + full)));
      continue;
    }
    std::string ip;
    if (bridge)
      for (const auto& e : nm_->endpoints(bridge->id))
        if (e.container_id == id && e.ipv4) ip = e.ipv4->addr.str();
    if (ip.empty()) {
      TRY(skip(Error(Errc::InvalidArgument, "Cannot link to /" + cname + ", as it does not belong to the default network")));
      continue;
    }
    // /etc/hosts: the alias, the target's hostname and (if different from the alias) its name.
    std::vector<std::string> names{alias};
    if (!hostname.empty() && hostname != alias) names.push_back(hostname);
    if (cname != alias && cname != hostname) names.push_back(cname);
    out.hosts.emplace_back(ip, names);
    // Variables as dockerd's links: <ALIAS>_PORT (lowest exposed port), per port
    // _PORT_<n>_<PROTO>{,_ADDR,_PORT,_PROTO}, <ALIAS>_NAME, <ALIAS>_ENV_<var> (not HOME/PATH).
    std::string pre = to_upper(alias);
    std::replace(pre.begin(), pre.end(), '-', '_');
    std::vector<std::pair<unsigned, std::string>> sorted;
    for (const auto& k : ports) {
      auto [num, proto_v] = split_once(k, '/');
      std::string proto = proto_v.empty() ? std::string("tcp") : std::string(proto_v);
      auto [lo_v, hi_v] = split_once(num, '-');  // "8000-8002/tcp" (API clients; the CLI expands)
      auto lo = parse_uint(lo_v), hi = hi_v.empty() ? lo : parse_uint(hi_v);
      if (lo && hi && *lo <= *hi && *hi <= 65535)
        for (auto n = *lo; n <= *hi; ++n) sorted.emplace_back(static_cast<unsigned>(n), proto);
    }
    using PortProto = std::pair<unsigned, std::string>;
    std::sort(sorted.begin(), sorted.end(), [](const PortProto& a, const PortProto& b) {
      if (a.first != b.first) return a.first < b.first;
      return a.second == "tcp" && b.second != "tcp";  // tcp first on equal numbers
    });
    if (!sorted.empty())
      out.env.push_back(pre + "_PORT=" + sorted[0].second + "://" + ip + ":" + std::to_string(sorted[0].first));
    // Runs of three or more consecutive port numbers also get dockerd's _START/_END variables
    // (its nextContiguous: numbers only, the protocols of the run's ends name the variables).
    for (std::size_t i = 0; i < sorted.size();) {
      std::size_t j = i;
      for (unsigned v = sorted[i].first; j + 1 < sorted.size() && sorted[j + 1].first <= v + 1; ++v) ++j;
      if (j <= i + 1) {
        ++i;
        continue;
      }
      const auto& [port, proto] = sorted[i];
      const auto& [last, last_proto] = sorted[j];
      std::string p = pre + "_PORT_" + std::to_string(port) + "_" + to_upper(proto);
      out.env.push_back(p + "_START=" + proto + "://" + ip + ":" + std::to_string(port));
      out.env.push_back(p + "_ADDR=" + ip);
      out.env.push_back(p + "_PROTO=" + proto);
      out.env.push_back(p + "_PORT_START=" + std::to_string(port));
      std::string q = pre + "_PORT_" + std::to_string(port) + "_" + to_upper(last_proto);
      out.env.push_back(q + "_END=" + last_proto + "://" + ip + ":" + std::to_string(last));
      out.env.push_back(q + "_PORT_END=" + std::to_string(last));
      i = j + 1;
    }
    for (const auto& [port, proto] : sorted) {
      std::string up = to_upper(proto);
      std::string p = pre + "_PORT_" + std::to_string(port) + "_" + up;
      out.env.push_back(p + "=" + proto + "://" + ip + ":" + std::to_string(port));
      out.env.push_back(p + "_ADDR=" + ip);
      out.env.push_back(p + "_PORT=" + std::to_string(port));
      out.env.push_back(p + "_PROTO=" + proto);
    }
    out.env.push_back(pre + "_NAME=" + full);
    for (const auto& v : env) {
      auto [k, val] = split_once(v, '=');
      if (k.empty() || k == "HOME" || k == "PATH" || v.find('=') == std::string::npos) continue;
      out.env.push_back(pre + "_ENV_" + std::string(k) + "=" + std::string(val));
    }
  }
  return out;
}

void Networking::teardown(const std::string& id) {
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  bool had = false;
  if (nm_) {
    for (const auto& e : nm_->endpoints()) had |= e.container_id == id;
    // The netns goes away below: its veth pairs are deleted in the background (~20-50 ms of
    // RCU wait each, off the stop / run --rm path).
    if (auto st = nm_->disconnect_all(id, true); !st) log::warn("network teardown of {}: {}", id.substr(0, 12), st.error().message());
  }
  auto t1 = Clock::now();
  std::string path = netns_path(id);
  if (path_exists(path)) pool_->drop_later(path);  // not on the way of an exit or a removal
  {
    std::lock_guard lk(build_mu_);
    build_names_.erase(id);
  }
  if (had) {
    auto ms = [](Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
    log::info("network: released {} in {:.1f} ms (endpoints {:.1f}, netns {:.1f})", id.substr(0, 12),
              ms(Clock::now() - t0), ms(t1 - t0), ms(Clock::now() - t1));
  }
}

void Networking::drop_pending_netns() { pool_->drop_due(); }

void Networking::reconcile(const std::set<std::string>& running) {
  std::set<std::string> dead;
  if (nm_)
    for (const auto& e : nm_->endpoints())
      if (!running.count(e.container_id)) dead.insert(e.container_id);
  std::string dir = cfg_.exec_root + "/netns";
  if (DIR* d = ::opendir(dir.c_str())) {
    while (auto* de = ::readdir(d)) {
      std::string n = de->d_name;
      if (n.size() == 64 && !running.count(n)) dead.insert(n);
    }
    ::closedir(d);
  }
  for (const auto& id : dead) {
    log::info("network: releasing endpoints of stopped container {}", id.substr(0, 12));
    teardown(id);
  }
}

Status Networking::rewrite_etc(const Container& c, const std::string& hostname) {
  // In place: the files are bind-mounted into the running container (a rename would not show).
  std::string dd = cfg_.data_root + "/containers/" + c.id;
  TRY(write_file(dd + "/hosts", hosts_text(c, hostname)));
  TRY(write_file(dd + "/resolv.conf", resolv_text(c)));
  return ok();
}

Status Networking::connect(const Container& c, const std::string& network, const json& ec, bool running,
                           const std::string& hostname) {
  if (!nm_) return fail(Errc::Unavailable, "networking is not available: " + error_);
  std::string mode = c.host_config.value("NetworkMode", "bridge");
  if (mode == "host" || mode.rfind("container:", 0) == 0)
    return fail(Errc::PermissionDenied,
                "container sharing network namespace with another container or host cannot be connected to any other network");
  if (mode == "none") return fail(Errc::PermissionDenied, "container cannot be connected to multiple networks with one of the networks in private (none) mode");
  json entry = TRY(plan_entry(network, ec));
  json plan = load_plan(c.id);
  for (const auto& p : plan)
    if (p.value("NetworkID", "") == entry["NetworkID"].get<std::string>())
      return fail(Errc::PermissionDenied, "endpoint with name " + c.name + " already exists in network " +
                                              entry["Name"].get<std::string>());
  if (running) {
    if (!has_netns(c.id))
      return fail(Errc::PermissionDenied, "container " + c.name + " runs without bridge networking and cannot be connected");
    TRY(connect_entry(c, entry, plan.empty(), netns_path(c.id)));
  }
  plan.push_back(entry);
  if (auto st = save_plan(c.id, plan); !st) {
    if (running) (void)nm_->disconnect(entry["NetworkID"].get<std::string>(), c.id);
    return st;
  }
  if (running) TRY(rewrite_etc(c, hostname));
  return ok();
}

Status Networking::disconnect(const Container& c, const std::string& network, bool running) {
  if (!nm_) return fail(Errc::Unavailable, "networking is not available: " + error_);
  auto n = TRY(nm_->network(network));
  json plan = load_plan(c.id);
  json next = json::array();
  bool found = false;
  for (const auto& p : plan) {
    if (p.value("NetworkID", "") == n.id) found = true;
    else next.push_back(p);
  }
  bool connected = false;
  for (const auto& e : nm_->endpoints(n.id)) connected |= e.container_id == c.id;
  if (!found && !connected)
    return fail(Errc::NotFound, "container " + c.id + " is not connected to network " + n.name);
  if (connected) TRY(nm_->disconnect(n.id, c.id, running ? netns_path(c.id) : std::string()));
  TRY(save_plan(c.id, next));
  if (running) TRY(rewrite_etc(c, c.config.value("Hostname", "")));
  return ok();
}

// ---------------------------------------------------------------------------------------------
// Engine API views

namespace {

json empty_endpoint_settings() {
  return json{{"IPAMConfig", nullptr}, {"Links", nullptr},     {"Aliases", nullptr},   {"MacAddress", ""},
              {"DriverOpts", nullptr}, {"GwPriority", 0},      {"NetworkID", ""},      {"EndpointID", ""},
              {"Gateway", ""},         {"IPAddress", ""},      {"IPPrefixLen", 0},     {"IPv6Gateway", ""},
              {"GlobalIPv6Address", ""}, {"GlobalIPv6PrefixLen", 0}, {"DNSNames", nullptr}};
}

}  // namespace

json Networking::settings(const Container& c) {
  std::string mode = c.host_config.value("NetworkMode", "none");
  json s{{"Bridge", ""},        {"SandboxID", ""},         {"SandboxKey", ""},        {"Ports", json::object()},
         {"HairpinMode", false}, {"LinkLocalIPv6Address", ""}, {"LinkLocalIPv6PrefixLen", 0},
         {"SecondaryIPAddresses", nullptr}, {"SecondaryIPv6Addresses", nullptr}, {"EndpointID", ""},
         {"Gateway", ""},       {"GlobalIPv6Address", ""}, {"GlobalIPv6PrefixLen", 0}, {"IPAddress", ""},
         {"IPPrefixLen", 0},    {"IPv6Gateway", ""},       {"MacAddress", ""},        {"Networks", json::object()}};
  json plan = nm_ ? load_plan(c.id) : json::array();
  if (plan.empty()) {
    if (has_netns(c.id)) s["SandboxKey"] = netns_path(c.id);  // none's loopback sandbox
    if (mode.rfind("container:", 0) != 0) {
      json e = empty_endpoint_settings();
      if (mode == "host" || mode == "none") e["NetworkID"] = pseudo_id(mode);
      s["Networks"][mode] = e;
    }
    return s;
  }
  if (has_netns(c.id)) {
    s["SandboxKey"] = netns_path(c.id);
    s["SandboxID"] = digest_of("sandbox:" + c.id).hex();
  }
  auto eps = nm_->endpoints();
  bool first = true;
  for (const auto& entry : plan) {
    std::string nid = entry.value("NetworkID", "");
    auto n = nm_->network(nid);
    std::string name = n ? n->name : entry.value("Name", nid);
    json ec = entry.contains("Config") && entry["Config"].is_object() ? entry["Config"] : json::object();
    json e = empty_endpoint_settings();
    e["NetworkID"] = nid;
    if (ec.contains("IPAMConfig") && ec["IPAMConfig"].is_object()) e["IPAMConfig"] = ec["IPAMConfig"];
    auto aliases = strs_of(ec, "Aliases");
    if (!aliases.empty()) e["Aliases"] = aliases;
    if (auto links = strs_of(ec, "Links"); !links.empty()) e["Links"] = links;
    if (auto m = str_of(ec, "MacAddress"); !m.empty()) e["MacAddress"] = m;
    if (ec.contains("DriverOpts") && ec["DriverOpts"].is_object()) e["DriverOpts"] = ec["DriverOpts"];
    for (const auto& ep : eps) {
      if (ep.container_id != c.id || ep.network_id != nid) continue;
      e["EndpointID"] = endpoint_id(nid, c.id);
      e["MacAddress"] = net::mac_str(ep.mac);
      if (ep.ipv4) {
        e["IPAddress"] = ep.ipv4->addr.str();
        e["IPPrefixLen"] = ep.ipv4->len;
        e["Gateway"] = ep.gateway4.valid() ? ep.gateway4.str() : "";
      }
      if (ep.ipv6) {
        e["GlobalIPv6Address"] = ep.ipv6->addr.str();
        e["GlobalIPv6PrefixLen"] = ep.ipv6->len;
        e["IPv6Gateway"] = ep.gateway6.valid() ? ep.gateway6.str() : "";
      }
      if (n && !is_default_bridge(*n)) {
        std::vector<std::string> dns{c.name};
        for (auto& a : aliases) dns.push_back(a);
        dns.push_back(c.id.substr(0, 12));
        e["DNSNames"] = dns;
      }
      if (first) {
        // Ports: published mappings of the primary endpoint; exposed but unpublished -> null.
        json ports = json::object();
        if (c.config.contains("ExposedPorts") && c.config["ExposedPorts"].is_object())
          for (auto& [k, v] : c.config["ExposedPorts"].items()) ports[k.find('/') == std::string::npos ? k + "/tcp" : k] = nullptr;
        for (const auto& p : ep.ports) {
          std::string key = std::to_string(p.container_port) + "/" + std::string(net::proto_name(p.proto));
          if (!ports.contains(key) || ports[key].is_null()) ports[key] = json::array();
          std::string hip = p.host_ip.valid() && !p.host_ip.is_unspecified() ? p.host_ip.str()
                            : p.container_ip.is_v6()                          ? "::"
                                                                              : "0.0.0.0";
          ports[key].push_back({{"HostIp", hip}, {"HostPort", std::to_string(p.host_port)}});
        }
        s["Ports"] = ports;
      }
      if (n && is_default_bridge(*n)) {
        s["Bridge"] = n->interface;
        for (const char* k : {"EndpointID", "Gateway", "GlobalIPv6Address", "GlobalIPv6PrefixLen", "IPAddress",
                              "IPPrefixLen", "IPv6Gateway", "MacAddress"})
          s[k] = e[k];
      }
    }
    first = false;
    s["Networks"][name] = e;
  }
  return s;
}

json Networking::summary_ports(const Container& c) {
  json out = json::array();
  if (!nm_) return out;
  auto plan = load_plan(c.id);
  if (plan.empty()) return out;
  std::string primary = plan[0].value("NetworkID", "");
  std::set<std::string> published;
  for (const auto& ep : nm_->endpoints(primary)) {
    if (ep.container_id != c.id) continue;
    for (const auto& p : ep.ports) {
      std::string hip = p.host_ip.valid() && !p.host_ip.is_unspecified() ? p.host_ip.str()
                        : p.container_ip.is_v6()                          ? "::"
                                                                          : "0.0.0.0";
      out.push_back({{"IP", hip}, {"PrivatePort", p.container_port}, {"PublicPort", p.host_port},
                     {"Type", std::string(net::proto_name(p.proto))}});
      published.insert(std::to_string(p.container_port) + "/" + std::string(net::proto_name(p.proto)));
    }
  }
  if (c.config.contains("ExposedPorts") && c.config["ExposedPorts"].is_object())
    for (auto& [k, v] : c.config["ExposedPorts"].items()) {
      std::string key = k.find('/') == std::string::npos ? k + "/tcp" : k;
      if (published.count(key)) continue;
      auto [port, proto] = split_once(key, '/');
      out.push_back({{"PrivatePort", parse_uint(port).value_or(0)}, {"Type", std::string(proto)}});
    }
  return out;
}

json Networking::summary_networks(const Container& c) {
  json s = settings(c);
  return s["Networks"];
}

json Networking::network_json(const net::Network& n, bool with_containers,
                              const std::function<std::string(const std::string&)>& name_of) {
  json cfgs = json::array();
  for (const auto& sn : n.subnets) {
    json o{{"Subnet", sn.subnet.str()}};
    if (sn.gateway.valid()) o["Gateway"] = sn.gateway.str();
    if (sn.ip_range) o["IPRange"] = sn.ip_range->str();
    cfgs.push_back(o);
  }
  json opts = json::object();
  for (const auto& [k, v] : n.options)
    if (k != "com.docker.network.bridge.default_bridge") opts[k] = v;
  if (is_default_bridge(n)) {
    opts["com.docker.network.bridge.default_bridge"] = "true";
    opts["com.docker.network.bridge.name"] = n.interface;
  }
  json containers = json::object();
  if (with_containers && nm_) {
    for (const auto& e : nm_->endpoints(n.id)) {
      std::string name = name_of ? name_of(e.container_id) : std::string();
      if (name.empty()) {  // a build step's sandbox (setup_build)
        std::lock_guard lk(build_mu_);
        if (auto it = build_names_.find(e.container_id); it != build_names_.end()) name = it->second;
      }
      containers[e.container_id] = {{"Name", name},
                                    {"EndpointID", endpoint_id(n.id, e.container_id)},
                                    {"MacAddress", net::mac_str(e.mac)},
                                    {"IPv4Address", e.ipv4 ? e.ipv4->str() : ""},
                                    {"IPv6Address", e.ipv6 ? e.ipv6->str() : ""}};
    }
  }
  return json{{"Name", n.name},
              {"Id", n.id},
              {"Created", n.created},
              {"Scope", "local"},
              {"Driver", n.driver},
              {"EnableIPv4", true},
              {"EnableIPv6", n.enable_ipv6},
              {"IPAM", {{"Driver", "default"}, {"Options", json::object()}, {"Config", cfgs}}},
              {"Internal", n.internal},
              {"Attachable", false},
              {"Ingress", false},
              {"ConfigFrom", {{"Network", ""}}},
              {"ConfigOnly", false},
              {"Containers", containers},
              {"Options", opts},
              {"Labels", n.labels}};
}

json Networking::links_view(const Container& c, const std::function<std::string(const std::string&)>& name_of) const {
  json out = nullptr;
  if (c.host_config.value("NetworkMode", "bridge") != "bridge") return out;
  for (const auto& l : strs_of(c.host_config, "Links")) {
    auto [name, alias] = parse_link(l);
    std::string target = name_of(name);
    if (target.empty()) continue;
    if (out.is_null()) out = json::array();
    out.push_back("/" + target + ":/" + c.name + "/" + alias);
  }
  return out;
}

json Networking::pseudo_networks() {
  json out = json::array();
  for (const auto& [name, driver] : std::vector<std::pair<std::string, std::string>>{{"host", "host"}, {"none", "null"}})
    out.push_back(json{{"Name", name},
                       {"Id", pseudo_id(name)},
                       {"Created", "0001-01-01T00:00:00Z"},
                       {"Scope", "local"},
                       {"Driver", driver},
                       {"EnableIPv4", true},
                       {"EnableIPv6", false},
                       {"IPAM", {{"Driver", "default"}, {"Options", nullptr}, {"Config", nullptr}}},
                       {"Internal", false},
                       {"Attachable", false},
                       {"Ingress", false},
                       {"ConfigFrom", {{"Network", ""}}},
                       {"ConfigOnly", false},
                       {"Containers", json::object()},
                       {"Options", json::object()},
                       {"Labels", json::object()}});
  return out;
}

Result<NetSetup> Networking::setup_build(const std::string& id, const std::string& network,
                                         const std::string& hostname, const std::vector<std::string>& extra_hosts) {
  NetSetup out;
  std::string mode = network.empty() || network == "default" ? "bridge" : network;
  if (!nm_) {
    if (mode == "bridge") return out;
    return fail(Errc::NotFound, "network " + mode + " not found");
  }
  auto n = nm_->network(mode);
  if (!n) {
    if (mode == "bridge") return setup_loopback(id);  // --bridge none: loopback only, as for containers
    return fail(Errc::NotFound, "network " + mode + " not found");
  }
  teardown(id);
  std::string path = netns_path(id);
  pool_->wait_dropped(path);
  TRYC(make_netns(path), "create network namespace");
  bool done = false;
  auto undo = defer([&] {
    if (!done) teardown(id);
  });
  net::EndpointSpec s;
  s.container_id = id;
  s.netns_path = path;
  s.ifname = "eth0";
  s.aliases = {hostname};
  {
    // named before the endpoint shows in network inspect (teardown forgets it)
    std::lock_guard lk(build_mu_);
    build_names_[id] = build_name(id);
  }
  auto ep = TRY(nm_->connect(n->id, std::move(s)));
  net::HostsConfig h;
  h.hostname = hostname;
  if (ep.ipv4) h.addresses.push_back(ep.ipv4->addr);
  if (ep.ipv6) h.addresses.push_back(ep.ipv6->addr);
  for (const auto& x : extra_hosts) {
    auto col = x.find(':');
    if (col == std::string::npos) continue;
    std::string ip = x.substr(col + 1);
    if (ip == "host-gateway") ip = ep.gateway4.valid() ? ep.gateway4.str() : "127.0.0.1";
    h.extra.push_back({ip, {x.substr(0, col)}});
  }
  net::ResolvConfig r;
  r.ipv6 = ep.ipv6.has_value();
  if (nm_->uses_embedded_dns(id)) r.embedded_dns = "127.0.0.11";
  out.netns_path = path;
  out.hosts = net::hosts_content(h);
  out.resolv = net::resolv_content(host_resolv_conf(), r);
  done = true;
  return out;
}

}  // namespace berth::daemon
