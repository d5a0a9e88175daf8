// SPDX-License-Identifier: Apache-2.0
// berthd configuration: dockerd's main flags plus daemon.json (flags win over the file; a key
// given both ways is an error, as dockerd reports "the following directives are specified both
// as a flag and in the configuration file").
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace berth::daemon {

struct Config {
  std::vector<std::string> hosts;  // -H; default unix:///run/berth.sock
  std::string data_root = "/var/lib/berth";
  std::string exec_root = "/run/berth";
  std::string pidfile;  // default <exec-root>/berthd.pid
  std::string config_file = "/etc/berth/daemon.json";
  bool config_file_given = false;
  std::string log_level = "info";
  bool debug = false;
  std::string group = "berth";
  std::string default_runtime = "berth-runtime";
  std::map<std::string, std::string> runtimes;  // name -> path
  std::string log_driver = "json-file";
  std::map<std::string, std::string> log_opts;
  bool live_restore = true;
  std::string storage_driver;
  std::vector<std::string> insecure_registries, registry_mirrors;
  std::vector<std::string> default_ulimits;  // "nofile=1024:2048"
  bool tls = false, tlsverify = false;
  std::string tlscacert, tlscert, tlskey;
  bool allow_insecure_tcp = false;  // --insecure-tcp: plain TCP without TLS (warned)
  std::string shim_path;             // default: berth-shim next to berthd, else PATH
  std::string detach_keys;           // daemon.json "detach-keys" ("" = ctrl-p,ctrl-q)
  // --default-cgroupns-mode / "default-cgroupns-mode": a container's CgroupnsMode when it
  // names none: "host" or "private"; "" = dockerd's default (host with cgroup v1 or hybrid,
  // private with cgroup v2 alone).
  std::string default_cgroupns_mode;
  std::set<std::string> flags_given;  // long names of flags set on the command line
  // networking (dockerd's names; see docs/design/network.md)
  std::string bridge;                 // -b/--bridge: default bridge interface ("" = berth0, "none" = no default network)
  std::string bip;                    // --bip: default bridge address, e.g. 172.17.0.1/16
  std::vector<std::string> default_address_pools;  // "base=10.10.0.0/16,size=24"
  std::string nft_table = "berth";    // --nft-table / "nft-table": berth's nftables table (inet family)
  bool ip_forward = true;             // --ip-forward: set net.ipv4.ip_forward=1

  // Runtime executable for a runtime name ("" = default).
  std::string runtime_path(const std::string& name) const;
};

// Parses argv (without argv[0]). "--help" yields Errc::Cancelled with the usage text.
Result<Config> parse_flags(int argc, char** argv);
// Applies daemon.json text onto cfg. reload=true applies only the reloadable keys.
Status apply_config_json(Config& cfg, const std::string& text, bool reload = false);
// Reads cfg.config_file if it exists (required when given explicitly).
Status load_config_file(Config& cfg, bool reload = false);
std::string usage();

}  // namespace berth::daemon
