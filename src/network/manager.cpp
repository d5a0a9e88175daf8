// SPDX-License-Identifier: Apache-2.0
#include "network/manager.hpp"

#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <cstring>
#include <ctime>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/defer.hpp"
#include "common/file.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "network/dns.hpp"
#include "network/netns.hpp"

namespace berth::net {

using json = nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Port specs

Result<PortSpec> parse_port_spec(std::string_view s) {
  PortSpec p;
  std::string str(s);
  if (auto slash = str.rfind('/'); slash != std::string::npos) {
    p.proto = TRY(parse_proto(str.substr(slash + 1)));
    str = str.substr(0, slash);
  }
  // Host IP: "[v6]:" or "a.b.c.d:" with two colons in total.
  std::string ip;
  if (!str.empty() && str[0] == '[') {
    auto close = str.find(']');
    if (close == std::string::npos) return fail(Errc::InvalidArgument, "invalid port spec " + std::string(s));
    ip = str.substr(1, close - 1);
    str = str.substr(close + 1);
    if (!str.empty() && str[0] == ':') str = str.substr(1);
  } else if (std::count(str.begin(), str.end(), ':') == 2) {
    auto c = str.find(':');
    ip = str.substr(0, c);
    str = str.substr(c + 1);
  }
  if (!ip.empty()) p.host_ip = TRY(IpAddr::parse(ip));
  auto range = [&](std::string_view r, std::uint16_t* a, std::uint16_t* b) -> Status {
    auto [x, y] = split_once(r, '-');
    auto xa = parse_uint(x);
    if (!xa || *xa > 65535) return fail(Errc::InvalidArgument, "invalid port \"" + std::string(r) + "\"");
    *a = static_cast<std::uint16_t>(*xa);
    *b = *a;
    if (!y.empty()) {
      auto yb = parse_uint(y);
      if (!yb || *yb > 65535 || *yb < *xa) return fail(Errc::InvalidArgument, "invalid port range \"" + std::string(r) + "\"");
      *b = static_cast<std::uint16_t>(*yb);
    }
    return ok();
  };
  auto colon = str.rfind(':');
  if (colon != std::string::npos) {
    std::string h = str.substr(0, colon);
    if (!h.empty()) TRY(range(h, &p.host_port_start, &p.host_port_end));
    str = str.substr(colon + 1);
  }
  TRY(range(str, &p.container_port_start, &p.container_port_end));
  if (p.container_port_start == 0) return fail(Errc::InvalidArgument, "container port must not be 0");
  return p;
}

// ---------------------------------------------------------------------------------------------
// JSON state

namespace {

json subnets_json(const std::vector<SubnetConfig>& v) {
  json a = json::array();
  for (const auto& s : v) {
    json o{{"subnet", s.subnet.str()}, {"gateway", s.gateway.str()}};
    if (s.ip_range) o["ip_range"] = s.ip_range->str();
    a.push_back(o);
  }
  return a;
}

Result<std::vector<SubnetConfig>> subnets_from(const json& a) {
  std::vector<SubnetConfig> out;
  for (const auto& o : a) {
    SubnetConfig s;
    s.subnet = TRY(IpPrefix::parse(o.at("subnet").get<std::string>()));
    s.gateway = TRY(IpAddr::parse(o.at("gateway").get<std::string>()));
    if (o.contains("ip_range")) s.ip_range = TRY(IpPrefix::parse(o["ip_range"].get<std::string>()));
    out.push_back(s);
  }
  return out;
}

json network_json(const Network& n) {
  return json{{"id", n.id},           {"name", n.name},         {"driver", n.driver},
              {"interface", n.interface}, {"subnets", subnets_json(n.subnets)},
              {"enable_ipv6", n.enable_ipv6}, {"internal", n.internal},
              {"masquerade", n.masquerade}, {"mtu", n.mtu},   {"options", n.options},
              {"labels", n.labels},   {"created", n.created}};
}

Result<Network> network_from(const json& j) {
  Network n;
  n.id = j.at("id");
  n.name = j.at("name");
  n.driver = j.at("driver");
  n.interface = j.value("interface", "");
  n.subnets = TRY(subnets_from(j.at("subnets")));
  n.enable_ipv6 = j.value("enable_ipv6", false);
  n.internal = j.value("internal", false);
  n.masquerade = j.value("masquerade", true);
  n.mtu = j.value("mtu", 1500);
  n.options = j.value("options", std::map<std::string, std::string>{});
  n.labels = j.value("labels", std::map<std::string, std::string>{});
  n.created = j.value("created", "");
  return n;
}

json mapping_json(const PortMapping& p) {
  return json{{"proto", proto_name(p.proto)}, {"host_ip", p.host_ip.str()}, {"host_port", p.host_port},
              {"container_ip", p.container_ip.str()}, {"container_port", p.container_port}};
}

Result<PortMapping> mapping_from(const json& j) {
  PortMapping p;
  p.proto = TRY(parse_proto(j.at("proto").get<std::string>()));
  std::string hip = j.value("host_ip", "");
  if (!hip.empty()) p.host_ip = TRY(IpAddr::parse(hip));
  p.host_port = j.at("host_port");
  p.container_ip = TRY(IpAddr::parse(j.at("container_ip").get<std::string>()));
  p.container_port = j.at("container_port");
  return p;
}

json endpoint_json(const Endpoint& e) {
  json ports = json::array();
  for (const auto& p : e.ports) ports.push_back(mapping_json(p));
  json j{{"network_id", e.network_id}, {"container_id", e.container_id},
         {"host_ifname", e.host_ifname}, {"ifname", e.ifname}, {"mac", mac_str(e.mac)},
         {"gateway4", e.gateway4.str()}, {"gateway6", e.gateway6.str()},
         {"aliases", e.aliases}, {"ports", ports}, {"netns_path", e.netns_path}, {"dns", e.dns}};
  if (!e.dns_servers.empty()) j["dns_servers"] = e.dns_servers;
  if (!e.links.empty()) j["links"] = e.links;
  if (e.ipv4) j["ipv4"] = e.ipv4->str();
  if (e.ipv6) j["ipv6"] = e.ipv6->str();
  return j;
}

Result<Endpoint> endpoint_from(const json& j) {
  Endpoint e;
  e.network_id = j.at("network_id");
  e.container_id = j.at("container_id");
  e.host_ifname = j.value("host_ifname", "");
  e.ifname = j.value("ifname", "eth0");
  e.mac = TRY(parse_mac(j.at("mac").get<std::string>()));
  if (j.contains("ipv4")) e.ipv4 = TRY(IpPrefix::parse(j["ipv4"].get<std::string>()));
  if (j.contains("ipv6")) e.ipv6 = TRY(IpPrefix::parse(j["ipv6"].get<std::string>()));
  if (auto g = j.value("gateway4", ""); !g.empty()) e.gateway4 = TRY(IpAddr::parse(g));
  if (auto g = j.value("gateway6", ""); !g.empty()) e.gateway6 = TRY(IpAddr::parse(g));
  e.aliases = j.value("aliases", std::vector<std::string>{});
  e.netns_path = j.value("netns_path", "");
  e.dns = j.value("dns", false);
  e.dns_servers = j.value("dns_servers", std::vector<std::string>{});
  e.links = j.value("links", std::map<std::string, std::string>{});
  for (const auto& p : j.value("ports", json::array())) e.ports.push_back(TRY(mapping_from(p)));
  return e;
}

std::string now_rfc3339() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool ports_clash(const PortMapping& a, const PortMapping& b) {
  if (a.proto != b.proto || a.host_port != b.host_port) return false;
  if (a.container_ip.family != b.container_ip.family) return false;
  return a.host_ip.is_unspecified() || b.host_ip.is_unspecified() || a.host_ip == b.host_ip;
}

// Whether the host port can be bound right now (nothing else listens there).
bool host_port_free(Proto proto, const IpAddr& ip, std::uint16_t port) {
  if (proto == Proto::Sctp) return true;
  bool v6 = ip.is_v6();
  int fd = ::socket(v6 ? AF_INET6 : AF_INET, (proto == Proto::Tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
  if (fd < 0) return true;
  auto close_fd = defer([&] { ::close(fd); });
  sockaddr_storage ss{};
  socklen_t len;
  if (v6) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    std::memcpy(&s6->sin6_addr, ip.bytes.data(), 16);
    len = sizeof(sockaddr_in6);
  } else {
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    s4->sin_family = AF_INET;
    s4->sin_port = htons(port);
    if (ip.valid()) std::memcpy(&s4->sin_addr, ip.bytes.data(), 4);
    len = sizeof(sockaddr_in);
  }
  return ::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

struct NetworkManager::Impl {
  ManagerConfig cfg;
  std::mutex mu;
  Netlink nl;
  Ipam ipam;
  std::map<std::string, Network> nets;  // by id
  std::map<std::string, Endpoint> eps;  // by "<network id>/<container id>"

  // Name table read by the DNS thread (own leaf mutex: lock order d.mu -> names_mu, and
  // DnsServer::mu_ -> names_mu; never the other way).
  std::mutex names_mu;
  std::map<std::string, std::vector<std::string>> nets_of;  // container -> user networks
  struct NameEntry {
    std::vector<std::string> names;  // lower case; the first is the PTR name
    std::vector<IpAddr> addrs;
  };
  std::map<std::string, std::vector<NameEntry>> names;  // network -> entries
  std::map<std::string, std::string> net_names;         // network id -> lower-case name
  // container -> network -> link alias -> target name (lower case)
  std::map<std::string, std::map<std::string, std::map<std::string, std::string>>> links_of;

  void rebuild_names() {
    std::map<std::string, std::vector<std::string>> no;
    std::map<std::string, std::vector<NameEntry>> nm;
    std::map<std::string, std::string> nn;
    std::map<std::string, std::map<std::string, std::map<std::string, std::string>>> lo;
    for (const auto& [k, e] : eps) {
      if (!e.dns) continue;
      no[e.container_id].push_back(e.network_id);
      NameEntry ne;
      for (const auto& a : e.aliases) ne.names.push_back(to_lower(a));
      if (e.ipv4) ne.addrs.push_back(e.ipv4->addr);
      if (e.ipv6) ne.addrs.push_back(e.ipv6->addr);
      nm[e.network_id].push_back(std::move(ne));
      if (auto n = nets.find(e.network_id); n != nets.end()) nn[e.network_id] = to_lower(n->second.name);
      for (const auto& [alias, target] : e.links) lo[e.container_id][e.network_id][to_lower(alias)] = to_lower(target);
    }
    std::lock_guard lk(names_mu);
    nets_of = std::move(no);
    names = std::move(nm);
    net_names = std::move(nn);
    links_of = std::move(lo);
  }

  // Addresses of `name` on network `net` (names_mu held).
  void lookup(const std::string& net, const std::string& name, std::vector<IpAddr>& out) const {
    auto nit = names.find(net);
    if (nit == names.end()) return;
    for (const auto& ne : nit->second)
      if (std::find(ne.names.begin(), ne.names.end(), name) != ne.names.end())
        for (const auto& a : ne.addrs)
          if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  }

  // As dockerd's sandbox: "a.b.c" is tried as a.b.c on every network of the asker, then as a.b on
  // network "c", then a on network "b.c"; for each, the asker's link aliases first (resolved to
  // their target on that network), then names (not on a network where it is a link alias).
  std::vector<IpAddr> resolve(const std::string& asker, const std::string& name) {
    std::lock_guard lk(names_mu);
    std::vector<IpAddr> out;
    auto it = nets_of.find(asker);
    if (it == nets_of.end()) return out;
    const std::map<std::string, std::map<std::string, std::string>>* links = nullptr;
    if (auto l = links_of.find(asker); l != links_of.end()) links = &l->second;
    auto alias_on = [&](const std::string& net, const std::string& n) -> const std::string* {
      if (!links) return nullptr;
      auto ln = links->find(net);
      if (ln == links->end()) return nullptr;
      auto a = ln->second.find(n);
      return a == ln->second.end() ? nullptr : &a->second;
    };
    std::vector<std::pair<std::string, std::string>> tries{{name, ""}};
    for (auto dot = name.rfind('.'); dot != std::string::npos && dot > 0; dot = name.rfind('.', dot - 1))
      tries.emplace_back(name.substr(0, dot), name.substr(dot + 1));
    for (const auto& [n, netname] : tries) {
      if (n.empty()) continue;
      auto on = [&](const std::string& net) {
        if (netname.empty()) return true;
        auto nn = net_names.find(net);
        return nn != net_names.end() && nn->second == netname;
      };
      for (const auto& net : it->second)
        if (const std::string* target = on(net) ? alias_on(net, n) : nullptr) {
          lookup(net, *target, out);
          if (!out.empty()) return out;
        }
      for (const auto& net : it->second)
        if (on(net) && !alias_on(net, n)) lookup(net, n, out);
      if (!out.empty()) return out;
    }
    return out;
  }

  // "<name>.<network>" of the endpoint holding `addr` on a network of the asker ("" if none).
  std::string reverse(const std::string& asker, const IpAddr& addr) {
    std::lock_guard lk(names_mu);
    auto it = nets_of.find(asker);
    if (it == nets_of.end()) return "";
    for (const auto& net : it->second) {
      auto nit = names.find(net);
      if (nit == names.end()) continue;
      for (const auto& ne : nit->second)
        if (!ne.names.empty() && std::find(ne.addrs.begin(), ne.addrs.end(), addr) != ne.addrs.end())
          return ne.names[0] + "." + net_names[net];
    }
    return "";
  }

  Impl(ManagerConfig c, Netlink n) : cfg(std::move(c)), nl(std::move(n)), ipam(cfg.state_dir + "/ipam") {}

  std::string net_path(const std::string& id) const { return cfg.state_dir + "/networks/" + id + ".json"; }
  std::string ep_path(const std::string& key) const {
    std::string k = key;
    std::replace(k.begin(), k.end(), '/', '_');
    return cfg.state_dir + "/endpoints/" + k + ".json";
  }
  Status save_net(const Network& n) { return atomic_write_file(net_path(n.id), network_json(n).dump(1), 0600); }
  Status save_ep(const Endpoint& e) {
    return write_state_file(ep_path(e.network_id + "/" + e.container_id), endpoint_json(e).dump(1), false);
  }

  Network* find(const std::string& id_or_name) {
    if (auto it = nets.find(id_or_name); it != nets.end()) return &it->second;
    for (auto& [id, n] : nets)
      if (n.name == id_or_name) return &n;
    Network* hit = nullptr;
    for (auto& [id, n] : nets) {
      if (id_or_name.size() >= 3 && id.rfind(id_or_name, 0) == 0) {
        if (hit) return nullptr;  // ambiguous
        hit = &n;
      }
    }
    return hit;
  }

  std::vector<FirewallNetwork> fw_nets() const {
    std::vector<FirewallNetwork> out;
    for (const auto& [id, n] : nets) {
      if (n.driver != "bridge") continue;
      FirewallNetwork f;
      f.bridge = n.interface;
      for (const auto& s : n.subnets) f.subnets.push_back(s.subnet);
      f.internal = n.internal;
      f.masquerade = n.masquerade;
      out.push_back(std::move(f));
    }
    return out;
  }

  // Subnets already used on this host: our networks and every address on host links.
  std::vector<IpPrefix> in_use() {
    std::vector<IpPrefix> out;
    for (const auto& [id, n] : nets)
      for (const auto& s : n.subnets) out.push_back(s.subnet);
    if (auto addrs = nl.addresses("")) {
      for (const auto& a : *addrs)
        if (!(a.addr.is_v4() && a.addr.bytes[0] == 127) && !(a.addr.is_v6() && a.addr.bytes[0] == 0xfe) &&
            !(a.addr.is_v6() && a.len == 128))
          out.push_back(a.network());
    }
    return out;
  }

  // Bridge exists, has the gateway addresses, is up; sysctls set.
  Status ensure_bridge(const Network& n) {
    if (!nl.link_exists(n.interface)) TRY(nl.create_bridge(n.interface, n.mtu));
    auto have = TRY(nl.addresses(n.interface));
    for (const auto& s : n.subnets) {
      IpPrefix gw{s.gateway, s.subnet.len};
      if (std::find(have.begin(), have.end(), gw) == have.end())
        TRY(nl.add_address(n.interface, gw));
    }
    TRY(nl.set_up(n.interface, true));
    // 127.0.0.1:PORT -> container needs routing of loopback sources out of the bridge.
    TRYC(write_sysctl("net/ipv4/conf/" + n.interface + "/route_localnet", "1"), "route_localnet");
    if (cfg.ip_forward) {
      TRYC(write_sysctl("net/ipv4/ip_forward", "1"), "ip_forward");
      if (n.enable_ipv6) (void)write_sysctl("net/ipv6/conf/all/forwarding", "1");
    }
    return ok();
  }

  Result<std::vector<PortMapping>> resolve_ports(const std::vector<PortSpec>& specs, const Endpoint& e) {
    std::vector<PortMapping> out;
    auto taken = [&](const PortMapping& m) {
      for (const auto& [k, ep] : eps)
        for (const auto& p : ep.ports)
          if (ports_clash(p, m)) return true;
      for (const auto& p : out)
        if (ports_clash(p, m)) return true;
      return false;
    };
    for (const auto& s : specs) {
      std::uint16_t cend = s.container_port_end ? s.container_port_end : s.container_port_start;
      std::uint16_t hend = s.host_port_end ? s.host_port_end : s.host_port_start;
      int ccount = cend - s.container_port_start + 1;
      int hcount = s.host_port_start ? hend - s.host_port_start + 1 : 0;
      if (hcount > 1 && ccount > 1 && hcount != ccount)
        return fail(Errc::InvalidArgument, "host and container port ranges differ in size");
      std::vector<IpAddr> targets;
      bool want_v4 = !s.host_ip.valid() || s.host_ip.is_v4();
      bool want_v6 = !s.host_ip.valid() || s.host_ip.is_v6();
      for (int c = 0; c < ccount; ++c) {
        std::uint16_t cport = static_cast<std::uint16_t>(s.container_port_start + c);
        // Candidate host ports for this container port.
        std::vector<std::uint16_t> cands;
        if (hcount == 0) {
          for (int p = cfg.ephemeral_first; p <= cfg.ephemeral_last; ++p) cands.push_back(static_cast<std::uint16_t>(p));
        } else if (hcount == ccount) {
          cands.push_back(static_cast<std::uint16_t>(s.host_port_start + c));
        } else {
          for (int p = s.host_port_start; p <= hend; ++p) cands.push_back(static_cast<std::uint16_t>(p));
        }
        bool done = false;
        for (auto hp : cands) {
          std::vector<PortMapping> ms;
          if (want_v4 && e.ipv4) ms.push_back({s.proto, s.host_ip.valid() ? s.host_ip : IpAddr{}, hp, e.ipv4->addr, cport});
          if (want_v6 && e.ipv6) ms.push_back({s.proto, s.host_ip.valid() ? s.host_ip : IpAddr{}, hp, e.ipv6->addr, cport});
          if (ms.empty()) return fail(Errc::InvalidArgument, "no container address of the host IP's family to publish to");
          bool ok_all = std::none_of(ms.begin(), ms.end(), taken);
          if (ok_all && !host_port_free(s.proto, ms[0].host_ip.valid() ? ms[0].host_ip : IpAddr::v4(0), hp)) ok_all = false;
          if (!ok_all) {
            if (cands.size() == 1)
              return fail(Errc::Conflict, "Bind for " + (s.host_ip.valid() ? s.host_ip.str() : "0.0.0.0") +
                                              ":" + std::to_string(hp) + " failed: port is already allocated");
            continue;
          }
          out.insert(out.end(), ms.begin(), ms.end());
          done = true;
          break;
        }
        if (!done) return fail(Errc::Unavailable, "no free host port for container port " + std::to_string(cport));
      }
    }
    return out;
  }
};

// Deletes host veth ends handed over by disconnect_all(…, true), on its own netlink socket.
struct NetworkManager::Reaper {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> queue;
  int busy = 0;
  bool stop = false;
  std::thread thread;

  Reaper() {
    thread = std::thread([this] { run(); });
  }
  ~Reaper() {
    {
      std::lock_guard lk(mu);
      stop = true;
    }
    cv.notify_all();
    thread.join();
  }
  void push(std::string name) {
    {
      std::lock_guard lk(mu);
      queue.push_back(std::move(name));
    }
    cv.notify_all();
  }
  void wait_idle() {
    std::unique_lock lk(mu);
    cv.wait(lk, [&] { return queue.empty() && busy == 0; });
  }
  void run() {
    std::optional<Netlink> nl;
    std::unique_lock lk(mu);
    for (;;) {
      cv.wait(lk, [&] { return stop || !queue.empty(); });
      if (queue.empty()) return;  // stop, and everything handed over is done
      std::string name = std::move(queue.front());
      queue.pop_front();
      ++busy;
      lk.unlock();
      if (!nl) {
        if (auto n = Netlink::open()) nl.emplace(std::move(*n));
      }
      if (nl) {
        // Already gone if the container's netns died first: fine.
        if (auto st = nl->delete_link(name); !st && !st.error().is(Errc::NotFound))
          log::warn("network: delete {}: {}", name, st.error().message());
      }
      lk.lock();
      --busy;
      cv.notify_all();
    }
  }
};

Result<std::unique_ptr<NetworkManager>> NetworkManager::open(ManagerConfig cfg) {
  if (cfg.state_dir.empty()) return fail(Errc::InvalidArgument, "network state dir not set");
  if (cfg.pools_v6.empty()) cfg.pools_v6 = default_pools_v6(cfg.state_dir);
  TRY(mkdir_all(cfg.state_dir + "/networks", 0700));
  TRY(mkdir_all(cfg.state_dir + "/endpoints", 0700));
  TRY(mkdir_all(cfg.state_dir + "/ipam", 0700));
  std::unique_ptr<NetworkManager> m(new NetworkManager());
  auto nl = TRY(Netlink::open());
  m->impl_ = std::make_unique<Impl>(cfg, std::move(nl));
  m->fw_ = TRY(Firewall::open(cfg.firewall));
  m->reaper_ = std::make_unique<Reaper>();
  Impl& d = *m->impl_;

  // Restore networks and endpoints.
  for (const char* kind : {"networks", "endpoints"}) {
    auto dir = cfg.state_dir + "/" + kind;
    std::vector<std::string> files;
    if (DIR* dp = ::opendir(dir.c_str())) {
      while (auto* de = ::readdir(dp)) {
        std::string f = de->d_name;
        if (f.size() > 5 && f.ends_with(".json")) files.push_back(dir + "/" + f);
      }
      ::closedir(dp);
    }
    for (const auto& f : files) {
      auto text = read_file(f);
      if (!text) continue;
      try {
        json j = json::parse(*text);
        if (std::string(kind) == "networks") {
          auto n = network_from(j);
          if (n) d.nets[n->id] = *n;
        } else {
          auto e = endpoint_from(j);
          if (e) d.eps[e->network_id + "/" + e->container_id] = *e;
        }
      } catch (const std::exception& ex) {
        log::warn("network: ignoring corrupt state file {}: {}", f, ex.what());
      }
    }
  }
  // IPAM state is written without fsync (write_state_file): after a power loss it may be
  // unreadable or hold owners whose endpoint file never reached the disk. Rebuild or prune it
  // from the networks and endpoints.
  for (auto& [id, n] : d.nets) {
    if (n.subnets.empty()) continue;
    auto st = d.ipam.load(n.id);
    if (!st) {
      log::warn("network: rebuilding IPAM state of {}: {}", n.name, st.error().message());
      (void)d.ipam.delete_network(n.id);
      TRYC(d.ipam.create_network(n.id, n.subnets), "rebuild IPAM state of " + n.name);
      for (const auto& [k, e] : d.eps) {
        if (e.network_id != n.id) continue;
        if (e.ipv4) (void)d.ipam.allocate(n.id, AF_INET, e.container_id, e.ipv4->addr);
        if (e.ipv6) (void)d.ipam.allocate(n.id, AF_INET6, e.container_id, e.ipv6->addr);
      }
      continue;
    }
    std::set<std::string> owners;
    for (const auto& s : *st)
      for (const auto& [a, owner] : s.allocated) owners.insert(owner);
    for (const auto& owner : owners)
      if (!d.eps.count(n.id + "/" + owner)) (void)d.ipam.release_owner(n.id, owner);
  }
  for (auto& [id, n] : d.nets)
    if (n.driver == "bridge") TRYC(d.ensure_bridge(n), "restore network " + n.name);
  TRY(m->fw_->sync_networks(d.fw_nets()));
  for (auto& [k, e] : d.eps) {
    // Live restore: re-assert the published ports (an existing element is fine).
    if (!e.ports.empty()) TRY(m->fw_->run(nft_port_elements(m->fw_->config(), "add", e.ports)));
  }
  if (cfg.embedded_dns) {
    std::vector<std::string> ups = cfg.dns_upstreams;
    if (ups.empty()) {
      if (auto text = read_file("/etc/resolv.conf")) {
        for (const auto& line : split(*text, '\n')) {
          auto t = trim(line);
          if (t.rfind("nameserver", 0) != 0) continue;
          auto v = std::string(trim(t.substr(10)));
          if (IpAddr::parse(v)) ups.push_back(v);
        }
      }
    }
    Impl* ip = &d;
    m->dns_ = TRY(DnsServer::start(
        [ip](const std::string& key, const std::string& name) { return ip->resolve(key, name); },
        [ip](const std::string& key, const IpAddr& addr) { return ip->reverse(key, addr); }, ups));
    d.rebuild_names();
    for (auto& [k, e] : d.eps) {
      if (!e.dns || e.netns_path.empty()) continue;
      if (auto ns = open_netns(e.netns_path)) (void)m->dns_->add(e.container_id, ns->get(), e.dns_servers);
    }
  }
  bool have_default = false;
  for (auto& [id, n] : d.nets) have_default |= n.name == "bridge";
  if (cfg.create_default_network && !have_default) {
    NetworkSpec s;
    s.name = "bridge";
    s.options["com.docker.network.bridge.name"] = cfg.default_bridge;
    s.options["com.docker.network.bridge.default_bridge"] = "true";
    if (cfg.default_bridge_ip) s.ipv4.push_back({cfg.default_bridge_ip->network(), cfg.default_bridge_ip->addr, {}});
    TRYC(m->create_network(std::move(s)), "create default bridge network");
  }
  return m;
}

NetworkManager::~NetworkManager() {
  dns_.reset();  // its thread calls into impl_
  reaper_.reset();
}

void NetworkManager::wait_deferred() {
  if (reaper_) reaper_->wait_idle();
}

Result<Network> NetworkManager::create_network(NetworkSpec spec) {
  std::lock_guard lk(impl_->mu);
  Impl& d = *impl_;
  if (spec.name.empty()) return fail(Errc::InvalidArgument, "network name is empty");
  for (const auto& [id, n] : d.nets)
    if (n.name == spec.name) return fail(Errc::Conflict, "network with name " + spec.name + " already exists");
  if (spec.driver != "bridge" && spec.driver != "macvlan" && spec.driver != "ipvlan")
    return fail(Errc::NotFound, "plugin \"" + spec.driver + "\" not found");

  Network n;
  n.id = random_hex(64);
  n.name = spec.name;
  n.driver = spec.driver;
  n.enable_ipv6 = spec.enable_ipv6 || !spec.ipv6.empty();
  n.internal = spec.internal;
  n.options = spec.options;
  n.labels = spec.labels;
  n.created = now_rfc3339();
  n.mtu = d.cfg.mtu;
  if (auto it = spec.options.find("com.docker.network.driver.mtu"); it != spec.options.end()) {
    auto v = parse_uint(it->second);
    if (!v || *v < 68 || *v > 65535) return fail(Errc::InvalidArgument, "invalid mtu " + it->second);
    n.mtu = static_cast<int>(*v);
  }
  if (auto it = spec.options.find("com.docker.network.bridge.enable_ip_masquerade"); it != spec.options.end())
    n.masquerade = it->second != "false";

  if (n.driver == "bridge") {
    auto it = spec.options.find("com.docker.network.bridge.name");
    n.interface = it != spec.options.end() ? it->second : d.cfg.bridge_prefix + n.id.substr(0, 12);
    if (n.interface.size() >= 16) return fail(Errc::InvalidArgument, "bridge name too long: " + n.interface);
    for (const auto& [id, o] : d.nets)
      if (o.driver == "bridge" && o.interface == n.interface)
        return fail(Errc::Conflict, "bridge " + n.interface + " is used by network " + o.name);
  } else {
    auto it = spec.options.find("parent");
    if (it == spec.options.end() || it->second.empty())
      return fail(Errc::InvalidArgument, n.driver + " networks need -o parent=<interface>");
    n.interface = it->second;
    if (!d.nl.link_exists(n.interface)) return fail(Errc::NotFound, "parent interface " + n.interface + " not found");
    if (n.driver == "ipvlan") {
      // Probe the kernel once, with a throwaway link.
      std::string probe = "ipvl" + random_hex(6);
      auto st = d.nl.create_ipvlan(probe, n.interface, IpvlanMode::L2);
      if (!st) return fail(std::move(st).error());
      (void)d.nl.delete_link(probe);
    }
  }

  // Subnets.
  auto used = d.in_use();
  std::vector<SubnetConfig> subnets = spec.ipv4;
  if (subnets.empty()) {
    IpPrefix sn = TRY(pick_subnet(d.cfg.pools_v4, used));
    subnets.push_back({sn, {}, {}});
  }
  if (n.enable_ipv6) {
    if (spec.ipv6.empty()) {
      IpPrefix sn = TRY(pick_subnet(d.cfg.pools_v6, used));
      subnets.push_back({sn, {}, {}});
    } else {
      subnets.insert(subnets.end(), spec.ipv6.begin(), spec.ipv6.end());
    }
  }
  for (const auto& s : subnets) {
    for (const auto& [id, o] : d.nets)
      for (const auto& os : o.subnets)
        if (os.subnet.overlaps(s.subnet) && n.driver == "bridge")
          return fail(Errc::Conflict, "Pool overlaps with other one on this address space");
  }
  n.subnets = TRY(d.ipam.create_network(n.id, subnets));
  auto undo_ipam = defer([&] { (void)d.ipam.delete_network(n.id); });

  std::optional<LinkGuard> bridge_guard;
  if (n.driver == "bridge") {
    bool existed = d.nl.link_exists(n.interface);
    TRYC(d.ensure_bridge(n), "network " + n.name);
    if (!existed) bridge_guard.emplace(&d.nl, n.interface);
  }
  d.nets[n.id] = n;
  auto undo_map = defer([&] { d.nets.erase(n.id); });
  if (n.driver == "bridge") TRY(fw_->sync_networks(d.fw_nets()));
  TRY(d.save_net(n));
  undo_map.cancel();
  undo_ipam.cancel();
  if (bridge_guard) bridge_guard->release();
  log::info("network: created {} ({} {})", n.name, n.driver, n.interface);
  return n;
}

Status NetworkManager::delete_network(const std::string& id_or_name) {
  return delete_network_impl(id_or_name, false);
}

Result<std::vector<std::string>> NetworkManager::prune() {
  std::vector<std::string> candidates;
  {
    std::lock_guard lk(impl_->mu);
    for (const auto& [id, n] : impl_->nets) {
      if (n.options.count("com.docker.network.bridge.default_bridge")) continue;
      bool used = false;
      for (const auto& [k, e] : impl_->eps) used |= e.network_id == id;
      if (!used) candidates.push_back(n.name);
    }
  }
  std::vector<std::string> out;
  for (const auto& name : candidates) {
    auto st = delete_network(name);
    if (st) out.push_back(name);
    else if (!st.error().is(Errc::Conflict) && !st.error().is(Errc::NotFound)) return fail(std::move(st).error());
  }
  return out;
}

Status NetworkManager::delete_network_impl(const std::string& id_or_name, bool allow_predefined) {
  wait_deferred();  // ports of the bridge still being deleted
  std::lock_guard lk(impl_->mu);
  Impl& d = *impl_;
  Network* n = d.find(id_or_name);
  if (!n) return fail(Errc::NotFound, "network " + id_or_name + " not found");
  if (!allow_predefined && n->options.count("com.docker.network.bridge.default_bridge"))
    return fail(Errc::PermissionDenied, n->name + " is a pre-defined network and cannot be removed");
  for (const auto& [k, e] : d.eps)
    if (e.network_id == n->id)
      return fail(Errc::Conflict, "error while removing network: network " + n->name + " id " + n->id +
                                      " has active endpoints");
  Network copy = *n;
  d.nets.erase(copy.id);
  if (copy.driver == "bridge") {
    TRY(fw_->sync_networks(d.fw_nets()));
    auto st = d.nl.delete_link(copy.interface);
    if (!st && !st.error().is(Errc::NotFound)) return st;
  }
  TRY(d.ipam.delete_network(copy.id));
  if (::unlink(d.net_path(copy.id).c_str()) != 0 && errno != ENOENT) return fail_errno("unlink", d.net_path(copy.id));
  log::info("network: deleted {}", copy.name);
  return ok();
}

Result<Network> NetworkManager::network(const std::string& id_or_name) {
  std::lock_guard lk(impl_->mu);
  Network* n = impl_->find(id_or_name);
  if (!n) return fail(Errc::NotFound, "network " + id_or_name + " not found");
  return *n;
}

std::vector<Network> NetworkManager::networks() {
  std::lock_guard lk(impl_->mu);
  std::vector<Network> out;
  for (const auto& [id, n] : impl_->nets) out.push_back(n);
  return out;
}

std::vector<Endpoint> NetworkManager::endpoints(const std::string& network_id) {
  std::lock_guard lk(impl_->mu);
  std::vector<Endpoint> out;
  for (const auto& [k, e] : impl_->eps)
    if (network_id.empty() || e.network_id == network_id) out.push_back(e);
  return out;
}

Result<Endpoint> NetworkManager::connect(const std::string& network, EndpointSpec spec) {
  std::lock_guard lk(impl_->mu);
  Impl& d = *impl_;
  Network* np = d.find(network);
  if (!np) return fail(Errc::NotFound, "network " + network + " not found");
  const Network n = *np;
  if (spec.container_id.empty()) return fail(Errc::InvalidArgument, "container id is empty");
  std::string key = n.id + "/" + spec.container_id;
  if (d.eps.count(key))
    return fail(Errc::Conflict, "endpoint with name " + spec.container_id + " already exists in network " + n.name);
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  auto ms_since = [](Clock::time_point t) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
  };
  UniqueFd ns = TRY(open_netns(spec.netns_path, spec.pid));
  if (spec.ifname.empty()) spec.ifname = "eth0";

  Endpoint e;
  e.network_id = n.id;
  e.container_id = spec.container_id;
  e.ifname = spec.ifname;
  e.aliases = spec.aliases;
  e.dns_servers = spec.dns_servers;
  e.links = spec.links;
  e.netns_path = spec.netns_path.empty() ? "/proc/" + std::to_string(spec.pid) + "/ns/net" : spec.netns_path;
  bool is_default = n.options.count("com.docker.network.bridge.default_bridge") > 0;
  e.dns = dns_ && n.driver == "bridge" && !is_default;

  // Addresses (released again on any failure below).
  auto release = defer([&] { (void)d.ipam.release_owner(n.id, spec.container_id); });
  for (const auto& s : n.subnets) {
    bool v4 = s.subnet.addr.is_v4();
    if (v4 && e.ipv4) continue;
    if (!v4 && e.ipv6) continue;
    const IpAddr& want = v4 ? spec.ipv4 : spec.ipv6;
    if (want.valid() && !s.subnet.contains(want)) continue;
    auto addr = d.ipam.allocate(n.id, s.subnet.addr.family, spec.container_id, want);
    if (!addr) {
      if (addr.error().is(Errc::Unavailable) || addr.error().is(Errc::NotFound)) continue;
      return fail(std::move(addr).error());
    }
    IpPrefix p{*addr, s.subnet.len};
    if (v4) {
      e.ipv4 = p;
      e.gateway4 = s.gateway;
    } else {
      e.ipv6 = p;
      e.gateway6 = s.gateway;
    }
  }
  if (spec.ipv4.valid() && (!e.ipv4 || e.ipv4->addr != spec.ipv4))
    return fail(Errc::InvalidArgument, "requested address " + spec.ipv4.str() + " is not in the network's subnets");
  if (spec.ipv6.valid() && (!e.ipv6 || e.ipv6->addr != spec.ipv6))
    return fail(Errc::InvalidArgument, "requested address " + spec.ipv6.str() + " is not in the network's subnets");
  e.mac = spec.mac ? *spec.mac : (e.ipv4 ? mac_from_ip(e.ipv4->addr) : mac_from_ip(IpAddr::v4(std::rand())));
  if (!spec.mac && n.driver != "bridge") {
    // macvlan/ipvlan share the parent's segment: avoid Docker's predictable MACs colliding with
    // another host's containers by randomising the low bytes.
    auto rnd = random_hex(8);
    for (int i = 0; i < 4; ++i) e.mac[2 + i] = static_cast<std::uint8_t>(std::stoi(rnd.substr(2 * i, 2), nullptr, 16));
  }

  const double t_ipam = ms_since(t0);
  // Links.
  std::string tmp = d.cfg.veth_prefix + random_hex(7);
  std::optional<LinkGuard> host_guard;
  if (n.driver == "bridge") {
    e.host_ifname = tmp;
    std::string peer = d.cfg.veth_prefix + "p" + random_hex(6);
    TRYC(d.nl.create_veth(e.host_ifname, peer, n.mtu, ns.get()), "connect to " + n.name);
    host_guard.emplace(&d.nl, e.host_ifname);
    TRY(d.nl.set_master(e.host_ifname, n.interface));
    (void)d.nl.set_hairpin(e.host_ifname, true);
    TRY(d.nl.set_up(e.host_ifname, true));
    tmp = peer;
  } else if (n.driver == "macvlan") {
    MacvlanMode mode = MacvlanMode::Bridge;
    if (auto it = n.options.find("macvlan_mode"); it != n.options.end()) {
      if (it->second == "private") mode = MacvlanMode::Private;
      else if (it->second == "vepa") mode = MacvlanMode::Vepa;
      else if (it->second == "passthru") mode = MacvlanMode::Passthru;
    }
    TRYC(d.nl.create_macvlan(tmp, n.interface, mode, ns.get()), "connect to " + n.name);
  } else {
    IpvlanMode mode = IpvlanMode::L2;
    if (auto it = n.options.find("ipvlan_mode"); it != n.options.end() && it->second == "l3") mode = IpvlanMode::L3;
    TRYC(d.nl.create_ipvlan(tmp, n.interface, mode, ns.get()), "connect to " + n.name);
  }

  const double t_host = ms_since(t0);
  // Inside the container's netns.
  {
    auto cnl = TRY(Netlink::open_in(ns.get()));
    bool renamed = false;  // never delete an existing interface of that name (e.g. eth0 on a clash)
    auto drop_inner = defer([&] { (void)cnl.delete_link(renamed ? spec.ifname : tmp); });
    TRY(cnl.rename(tmp, spec.ifname));
    renamed = true;
    if (n.driver != "ipvlan") TRY(cnl.set_mac(spec.ifname, e.mac));
    if (n.mtu > 0) (void)cnl.set_mtu(spec.ifname, n.mtu);
    if (e.ipv4) TRY(cnl.add_address(spec.ifname, *e.ipv4));
    if (e.ipv6) TRY(cnl.add_address(spec.ifname, *e.ipv6));
    TRY(cnl.set_up(spec.ifname, true));
    (void)cnl.set_up("lo", true);
    if (!n.internal) {
      // The first network with a gateway provides the default route; later ones find it taken.
      if (e.ipv4) {
        auto st = cnl.add_route(IpPrefix{IpAddr::v4(0), 0}, e.gateway4, spec.ifname);
        if (!st && !st.error().is(Errc::AlreadyExists)) return fail(std::move(st).error());
      }
      if (e.ipv6) {
        IpAddr any6;
        any6.family = AF_INET6;
        auto st = cnl.add_route(IpPrefix{any6, 0}, e.gateway6, spec.ifname);
        if (!st && !st.error().is(Errc::AlreadyExists)) return fail(std::move(st).error());
      }
    }
    drop_inner.cancel();
  }

  const double t_inner = ms_since(t0);
  // Published ports.
  std::optional<PortMappingGuard> port_guard;
  if (!spec.ports.empty()) {
    if (n.driver != "bridge") return fail(Errc::InvalidArgument, "ports can only be published on bridge networks");
    if (n.internal) return fail(Errc::InvalidArgument, "ports cannot be published on internal network " + n.name);
    e.ports = TRY(d.resolve_ports(spec.ports, e));
    TRY(fw_->add_ports(e.ports));
    port_guard.emplace(fw_.get(), e.ports);
  }

  if (e.dns) TRYC(dns_->add(e.container_id, ns.get(), e.dns_servers), "embedded DNS");
  TRY(d.save_ep(e));
  d.eps[key] = e;
  d.rebuild_names();
  if (port_guard) port_guard->release();
  if (host_guard) host_guard->release();
  release.cancel();
  log::info("network: connected {} to {} ({}) in {:.1f} ms (ipam {:.1f}, host link {:.1f}, netns {:.1f})",
            spec.container_id.substr(0, 12), n.name, e.ipv4 ? e.ipv4->str() : std::string("-"),
            ms_since(t0), t_ipam, t_host, t_inner);
  return e;
}

Status NetworkManager::disconnect(const std::string& network, const std::string& container_id,
                                  const std::string& netns_path) {
  return disconnect_impl(network, container_id, netns_path, false);
}

Status NetworkManager::disconnect_impl(const std::string& network, const std::string& container_id,
                                       const std::string& netns_path, bool defer_links) {
  std::lock_guard lk(impl_->mu);
  Impl& d = *impl_;
  Network* n = d.find(network);
  if (!n) return fail(Errc::NotFound, "network " + network + " not found");
  std::string key = n->id + "/" + container_id;
  auto it = d.eps.find(key);
  if (it == d.eps.end())
    return fail(Errc::NotFound, "container " + container_id + " is not connected to network " + n->name);
  Endpoint e = it->second;
  TRY(fw_->remove_ports(e.ports));
  if (!e.host_ifname.empty() && defer_links && reaper_) {
    reaper_->push(e.host_ifname);
  } else if (!e.host_ifname.empty()) {
    // Deleting the host end removes the pair; it is already gone if the netns died.
    auto st = d.nl.delete_link(e.host_ifname);
    if (!st && !st.error().is(Errc::NotFound)) return st;
  }
  if (e.host_ifname.empty() && !netns_path.empty()) {
    if (auto ns = open_netns(netns_path)) {
      if (auto cnl = Netlink::open_in(ns->get())) {
        auto st = cnl->delete_link(e.ifname);
        if (!st && !st.error().is(Errc::NotFound)) return st;
      }
    }
  }
  TRY(d.ipam.release_owner(n->id, container_id));
  if (::unlink(d.ep_path(key).c_str()) != 0 && errno != ENOENT) return fail_errno("unlink", d.ep_path(key));
  d.eps.erase(key);
  d.rebuild_names();
  if (dns_) {
    bool still = false;
    for (const auto& [k, o] : d.eps) still |= o.container_id == container_id && o.dns;
    if (!still) dns_->remove(container_id);
  }
  return ok();
}

Status NetworkManager::disconnect_all(const std::string& container_id, bool defer_links) {
  std::vector<std::string> nets;
  {
    std::lock_guard lk(impl_->mu);
    for (const auto& [k, e] : impl_->eps)
      if (e.container_id == container_id) nets.push_back(e.network_id);
  }
  Status first = ok();
  for (const auto& n : nets) {
    auto st = disconnect_impl(n, container_id, {}, defer_links);
    if (!st && first) first = st;
  }
  return first;
}

bool NetworkManager::uses_embedded_dns(const std::string& container_id) {
  std::lock_guard lk(impl_->mu);
  for (const auto& [k, e] : impl_->eps)
    if (e.container_id == container_id && e.dns) return true;
  return false;
}

Status NetworkManager::destroy_all() {
  std::vector<std::pair<std::string, std::string>> eps;
  std::vector<std::string> nets;
  {
    std::lock_guard lk(impl_->mu);
    for (const auto& [k, e] : impl_->eps) eps.emplace_back(e.network_id, e.container_id);
    for (const auto& [id, n] : impl_->nets) nets.push_back(id);
  }
  Status first = ok();
  auto keep = [&](Status st) {
    if (!st && first) first = st;
  };
  for (const auto& [n, c] : eps) keep(disconnect(n, c));
  wait_deferred();
  for (const auto& n : nets) keep(delete_network_impl(n, true));
  keep(fw_->destroy());
  return first;
}

}  // namespace berth::net
