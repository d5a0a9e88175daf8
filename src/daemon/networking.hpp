// SPDX-License-Identifier: Apache-2.0
// berthd's container networking: maps HostConfig.NetworkMode / NetworkingConfig / PortBindings
// onto net::NetworkManager (src/network). Internal to src/daemon.
//
//   create:  validate_create() normalises NetworkMode and returns the container's "plan" (the
//            networks it joins, with their EndpointSettings); save_plan() stores it in
//            <data-root>/containers/<id>/networks.json.
//   start:   setup() makes a netns bind-mounted at <exec-root>/netns/<id>, connects it to every
//            planned network (veth, IPAM, ports, DNS) and returns its path for the OCI spec and
//            the /etc/hosts and /etc/resolv.conf contents — all before the runtime runs.
//   exit / remove / failed start: teardown() disconnects everything and unmounts the netns.
//   daemon start: reconcile() tears down endpoints of containers that are not running.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "daemon/config.hpp"

namespace berth::net {
class NetworkManager;
struct Network;
}

namespace berth::daemon {

struct Container;
class Daemon;
class NetnsPool;

struct NetSetup {
  std::string netns_path;  // "" = the runtime's default for the mode (host/none/container:)
  std::string hosts;       // "" = the daemon's default content
  std::string resolv;
  std::vector<std::string> env;  // legacy --link variables (DB_PORT=tcp://…, DB_NAME=/web/db, …)
};

// A --link value as dockerd's opts.ParseLink reads it: "name:alias", "name" (alias = name) or the
// stored "/name:/parent/alias". Returns {name, alias}: the name without its leading '/', the alias
// without its "/parent/" path.
std::pair<std::string, std::string> parse_link(const std::string& v);

class Networking {
 public:
  // Never fails: without a usable network manager (no root, no nftables) bridge networking is
  // off and containers get a loopback-only netns (with a warning at create).
  static std::unique_ptr<Networking> open(const Config& cfg);
  ~Networking();

  // The daemon, for looking up --link targets (set once at init).
  void attach(Daemon* d) { daemon_ = d; }
  bool available() const { return nm_ != nullptr; }
  net::NetworkManager* manager() { return nm_.get(); }
  const std::string& error() const { return error_; }

  // Normalises hc["NetworkMode"] ("" -> "bridge") and checks networks exist and that the
  // request's Config (before the image's is merged) does not conflict with the mode. Returns the
  // plan: [{"NetworkID","Name","Config":EndpointSettings}], primary network first.
  Result<nlohmann::json> validate_create(nlohmann::json& hc, const nlohmann::json& config,
                                         const nlohmann::json& networking_config,
                                         std::vector<std::string>* warnings);
  Status save_plan(const std::string& container_id, const nlohmann::json& plan);
  nlohmann::json load_plan(const std::string& container_id) const;

  // Caller holds c.op. On error everything already done is undone.
  Result<NetSetup> setup(const Container& c, const std::string& hostname);
  // A netns with only lo (up) at netns_path(id), from the pool (netns_pool.hpp): NetworkMode
  // none, the default bridge under --bridge none, build steps without a network. Undo with
  // teardown(id). Empty without networking (the runtime's own netns then).
  Result<NetSetup> setup_loopback(const std::string& id);
  // Idempotent; safe for containers that never had networking. The netns itself goes a little
  // later (NetnsPool::drop_later), or at the next drop_pending_netns.
  void teardown(const std::string& container_id);
  // The netns of containers torn down are dropped now (the janitor, once a removed container's
  // other garbage is gone).
  void drop_pending_netns();
  void reconcile(const std::set<std::string>& running_ids);
  std::string netns_path(const std::string& container_id) const;
  bool has_netns(const std::string& container_id) const;

  // The sandbox of a build step (RUN on a network, as dockerd's classic builder runs its build
  // containers): a netns at netns_path(id) connected to `network` ("default"/"bridge": the
  // default bridge; or a user network's name or id), with the /etc/hosts and resolv.conf a
  // container on it gets. Without bridge networking the default is loopback only
  // (setup_loopback). Undo with teardown(id). Until then network inspect lists the step under `id`
  // with the name build_name(id) (dockerd lists its build containers, which have generated names).
  Result<NetSetup> setup_build(const std::string& id, const std::string& network, const std::string& hostname,
                               const std::vector<std::string>& extra_hosts);

  // Engine API views (caller may hold Daemon::mu: these take only the manager's lock).
  nlohmann::json settings(const Container& c);         // NetworkSettings
  nlohmann::json summary_ports(const Container& c);    // /containers/json "Ports"
  nlohmann::json summary_networks(const Container& c); // /containers/json NetworkSettings.Networks
  nlohmann::json network_json(const net::Network& n, bool with_containers,
                              const std::function<std::string(const std::string&)>& name_of);
  // HostConfig.Links as dockerd's inspect shows them: "/<target>:/<name>/<alias>" for each legacy
  // link (default bridge) whose target still exists (`name_of(ref)` gives its name, "" if gone);
  // null when there is none (always on user networks, where links are DNS aliases).
  nlohmann::json links_view(const Container& c, const std::function<std::string(const std::string&)>& name_of) const;
  // Predefined pseudo networks "host" and "none" (not in the manager).
  nlohmann::json pseudo_networks();
  std::string pseudo_id(const std::string& name) const;

  // Connect/disconnect (caller holds c.op; `running`: the container runs with our netns).
  Status connect(const Container& c, const std::string& network, const nlohmann::json& endpoint_config,
                 bool running, const std::string& hostname);
  Status disconnect(const Container& c, const std::string& network, bool running);

 private:
  Networking();
  Result<nlohmann::json> plan_entry(const std::string& network, const nlohmann::json& endpoint_config);
  Status connect_entry(const Container& c, const nlohmann::json& entry, bool primary, const std::string& ns_path);
  Status rewrite_etc(const Container& c, const std::string& hostname);
  std::string hosts_text(const Container& c, const std::string& hostname);
  std::string resolv_text(const Container& c);
  // Legacy links of a container on the default bridge: /etc/hosts entries and variables.
  // `strict`: a missing, stopped or non-bridge target is an error (start) instead of skipped.
  struct Links {
    std::vector<std::pair<std::string, std::vector<std::string>>> hosts;  // ip -> names
    std::vector<std::string> env;
  };
  Result<Links> links(const Container& c, bool strict);
  std::string plan_path(const std::string& id) const;

  Config cfg_;
  Daemon* daemon_ = nullptr;
  std::unique_ptr<net::NetworkManager> nm_;
  std::unique_ptr<NetnsPool> pool_;  // loopback-only netns for NetworkMode none
  std::string error_;
  std::mutex plan_mu_;
  std::mutex build_mu_;                            // guards build_names_ (a leaf lock)
  std::map<std::string, std::string> build_names_;  // build sandbox id -> its name in network inspect
};

// The name a build step's sandbox has in network inspect: "build-<first 12 of its id>", the id
// the build output prints ("Running in <12>") and the runtime runs it under ("build-<id>").
std::string build_name(const std::string& id);

}  // namespace berth::daemon
