// SPDX-License-Identifier: Apache-2.0
#include "daemon/config.hpp"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/file.hpp"
#include "common/strings.hpp"

namespace berth::daemon {

std::string usage() {
  return "Usage: berthd [OPTIONS]\n\n"
         "A self-sufficient runtime for containers (Docker Engine API)\n\n"
         "Options:\n"
         "  -H, --host list            Daemon socket(s) to connect to (default unix:///run/berth.sock)\n"
         "      --data-root string     Root directory of persistent state (default \"/var/lib/berth\")\n"
         "      --exec-root string     Root directory for execution state files (default \"/run/berth\")\n"
         "  -p, --pidfile string       Path to use for daemon PID file\n"
         "      --config-file string   Daemon configuration file (default \"/etc/berth/daemon.json\")\n"
         "  -l, --log-level string     Set the logging level (debug|info|warn|error)\n"
         "  -D, --debug                Enable debug mode\n"
         "  -G, --group string         Group for the unix socket (default \"berth\")\n"
         "      --default-runtime string  Default OCI runtime (default \"berth-runtime\")\n"
         "      --add-runtime name=path   Register an OCI runtime\n"
         "      --log-driver string    Default driver for container logs (default \"json-file\")\n"
         "      --log-opt map          Default log driver options\n"
         "      --live-restore         Keep containers alive during daemon downtime (default true)\n"
         "      --storage-driver string  Storage driver to use\n"
         "      --tls, --tlsverify, --tlscacert, --tlscert, --tlskey   TLS for tcp:// hosts\n"
         "      --insecure-tcp         Allow tcp:// without TLS (dangerous)\n"
         "      --shim string          Path of berth-shim\n"
         "  -b, --bridge string        Default bridge interface (default \"berth0\"; \"none\": no default network)\n"
         "      --bip string           Default bridge address and subnet (e.g. 172.17.0.1/16)\n"
         "      --default-address-pool base=CIDR,size=N   Pools for new networks (repeatable)\n"
         "      --nft-table string     nftables table (inet family) for berth's rules (default \"berth\")\n"
         "      --ip-forward           Enable net.ipv4.ip_forward (default true)\n"
         "      --default-cgroupns-mode string  Default mode for containers cgroup namespace (\"host\" | \"private\")\n"
         "                             (default \"host\" with cgroup v1, \"private\" with v2)\n";
}

namespace {
Status check_cgroupns_mode(const std::string& m) {
  if (m.empty() || m == "host" || m == "private") return ok();
  return fail(Errc::InvalidArgument, "invalid default cgroup namespace mode: " + m + " (must be \"host\" or \"private\")");
}
}  // namespace

std::string Config::runtime_path(const std::string& name) const {
  std::string n = name.empty() ? default_runtime : name;
  auto it = runtimes.find(n);
  if (it != runtimes.end()) return it->second;
  if (n == "berth-runtime") {
    // prefer the berth-runtime installed next to berthd (build/bin, /usr/local/bin)
    char self[4096] = {0};
    ssize_t k = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (k > 0) {
      std::string next = dirname(std::string(self, static_cast<std::size_t>(k))) + "/berth-runtime";
      if (::access(next.c_str(), X_OK) == 0) return next;
    }
  }
  return n;  // runc, crun: looked up in PATH
}

Result<Config> parse_flags(int argc, char** argv) {
  Config c;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    std::string val;
    bool has_val = false;
    if (a.rfind("--", 0) == 0) {
      auto eq = a.find('=');
      if (eq != std::string::npos) {
        val = a.substr(eq + 1);
        a = a.substr(0, eq);
        has_val = true;
      }
    }
    auto need = [&]() -> Result<std::string> {
      if (has_val) return val;
      if (i + 1 >= argc) return fail(Errc::InvalidArgument, "flag needs an argument: " + a);
      return std::string(argv[++i]);
    };
    auto boolean = [&]() -> bool {
      if (!has_val) return true;
      return !(val == "false" || val == "0");
    };
    if (a == "-h" || a == "--help") return fail(Errc::Cancelled, usage());
    if (a == "-H" || a == "--host") {
      c.hosts.push_back(TRY(need()));
      c.flags_given.insert("hosts");
    } else if (a == "--data-root" || a == "-g" || a == "--graph") {
      c.data_root = TRY(need());
      c.flags_given.insert("data-root");
    } else if (a == "--exec-root") {
      c.exec_root = TRY(need());
      c.flags_given.insert("exec-root");
    } else if (a == "-p" || a == "--pidfile") {
      c.pidfile = TRY(need());
      c.flags_given.insert("pidfile");
    } else if (a == "--config-file") {
      c.config_file = TRY(need());
      c.config_file_given = true;
    } else if (a == "-l" || a == "--log-level") {
      c.log_level = TRY(need());
      c.flags_given.insert("log-level");
    } else if (a == "-D" || a == "--debug") {
      c.debug = boolean();
      c.flags_given.insert("debug");
    } else if (a == "-G" || a == "--group") {
      c.group = TRY(need());
      c.flags_given.insert("group");
    } else if (a == "--default-runtime") {
      c.default_runtime = TRY(need());
      c.flags_given.insert("default-runtime");
    } else if (a == "--add-runtime") {
      auto v = TRY(need());
      auto [n, p] = split_once(v, '=');
      if (n.empty() || p.empty()) return fail(Errc::InvalidArgument, "invalid --add-runtime " + v);
      c.runtimes[std::string(n)] = std::string(p);
    } else if (a == "--log-driver") {
      c.log_driver = TRY(need());
      c.flags_given.insert("log-driver");
    } else if (a == "--log-opt") {
      auto v = TRY(need());
      auto [k, x] = split_once(v, '=');
      c.log_opts[std::string(k)] = std::string(x);
    } else if (a == "--default-cgroupns-mode") {
      c.default_cgroupns_mode = TRY(need());
      TRY(check_cgroupns_mode(c.default_cgroupns_mode));
      c.flags_given.insert("default-cgroupns-mode");
    } else if (a == "--live-restore") {
      c.live_restore = boolean();
      c.flags_given.insert("live-restore");
    } else if (a == "-s" || a == "--storage-driver") {
      c.storage_driver = TRY(need());
      c.flags_given.insert("storage-driver");
    } else if (a == "--insecure-registry") {
      c.insecure_registries.push_back(TRY(need()));
    } else if (a == "--registry-mirror") {
      c.registry_mirrors.push_back(TRY(need()));
    } else if (a == "--default-ulimit") {
      c.default_ulimits.push_back(TRY(need()));
    } else if (a == "--tls") {
      c.tls = boolean();
    } else if (a == "--tlsverify") {
      c.tlsverify = boolean();
      if (c.tlsverify) c.tls = true;
    } else if (a == "--tlscacert") {
      c.tlscacert = TRY(need());
    } else if (a == "--tlscert") {
      c.tlscert = TRY(need());
    } else if (a == "--tlskey") {
      c.tlskey = TRY(need());
    } else if (a == "--insecure-tcp") {
      c.allow_insecure_tcp = boolean();
    } else if (a == "--shim") {
      c.shim_path = TRY(need());
    } else if (a == "-b" || a == "--bridge") {
      c.bridge = TRY(need());
      c.flags_given.insert("bridge");
    } else if (a == "--bip") {
      c.bip = TRY(need());
      c.flags_given.insert("bip");
    } else if (a == "--default-address-pool") {
      c.default_address_pools.push_back(TRY(need()));
      c.flags_given.insert("default-address-pools");
    } else if (a == "--nft-table") {
      c.nft_table = TRY(need());
      c.flags_given.insert("nft-table");
    } else if (a == "--ip-forward") {
      c.ip_forward = boolean();
      c.flags_given.insert("ip-forward");
    } else {
      return fail(Errc::InvalidArgument, "unknown flag: " + a);
    }
  }
  return c;
}

Status apply_config_json(Config& c, const std::string& text, bool reload) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    return fail(Errc::InvalidArgument, std::string("invalid daemon.json: ") + e.what());
  }
  if (!j.is_object()) return fail(Errc::InvalidArgument, "invalid daemon.json: not an object");
  std::vector<std::string> both;
  auto str = [&](const char* key, std::string& dst, bool reloadable) -> Status {
    if (!j.contains(key)) return ok();
    if (reload && !reloadable) return ok();
    if (!j[key].is_string()) return fail(Errc::InvalidArgument, std::string("daemon.json: ") + key + " must be a string");
    if (c.flags_given.count(key) && !reload) {
      both.push_back(key);
      return ok();
    }
    dst = j[key].get<std::string>();
    return ok();
  };
  auto strlist = [&](const char* key, std::vector<std::string>& dst, bool reloadable) -> Status {
    if (!j.contains(key) || (reload && !reloadable)) return ok();
    if (!j[key].is_array()) return fail(Errc::InvalidArgument, std::string("daemon.json: ") + key + " must be a list");
    dst.clear();
    for (const auto& v : j[key])
      if (v.is_string()) dst.push_back(v.get<std::string>());
    return ok();
  };
  try {
    TRY(str("data-root", c.data_root, false));
    TRY(str("exec-root", c.exec_root, false));
    TRY(str("pidfile", c.pidfile, false));
    TRY(str("log-level", c.log_level, true));
    TRY(str("group", c.group, false));
    TRY(str("default-runtime", c.default_runtime, true));
    TRY(str("log-driver", c.log_driver, true));
    TRY(str("storage-driver", c.storage_driver, false));
    TRY(str("detach-keys", c.detach_keys, true));
    TRY(str("default-cgroupns-mode", c.default_cgroupns_mode, false));
    TRYC(check_cgroupns_mode(c.default_cgroupns_mode), "daemon.json");
    TRY(strlist("insecure-registries", c.insecure_registries, true));
    TRY(strlist("registry-mirrors", c.registry_mirrors, true));
    if (j.contains("hosts") && !reload) {
      if (c.flags_given.count("hosts")) both.push_back("hosts");
      else TRY(strlist("hosts", c.hosts, false));
    }
    if (!reload) {
      TRY(str("bridge", c.bridge, false));
      TRY(str("bip", c.bip, false));
      TRY(str("nft-table", c.nft_table, false));
      if (j.contains("ip-forward") && j["ip-forward"].is_boolean()) c.ip_forward = j["ip-forward"].get<bool>();
      if (j.contains("default-address-pools")) {
        if (c.flags_given.count("default-address-pools")) both.push_back("default-address-pools");
        else if (!j["default-address-pools"].is_array())
          return fail(Errc::InvalidArgument, "daemon.json: default-address-pools must be a list");
        else {
          c.default_address_pools.clear();
          for (const auto& p : j["default-address-pools"]) {
            if (!p.is_object() || !p.contains("base") || !p["base"].is_string() || !p.contains("size") ||
                !p["size"].is_number_integer())
              return fail(Errc::InvalidArgument,
                          "daemon.json: default-address-pools entries need \"base\" (string) and \"size\" (number)");
            c.default_address_pools.push_back("base=" + p["base"].get<std::string>() +
                                              ",size=" + std::to_string(p["size"].get<int>()));
          }
        }
      }
    }
    if (j.contains("debug") && j["debug"].is_boolean()) c.debug = j["debug"].get<bool>();
    if (j.contains("live-restore") && j["live-restore"].is_boolean()) c.live_restore = j["live-restore"].get<bool>();
    if (j.contains("tls") && j["tls"].is_boolean() && !reload) c.tls = j["tls"].get<bool>();
    if (j.contains("tlsverify") && j["tlsverify"].is_boolean() && !reload) {
      c.tlsverify = j["tlsverify"].get<bool>();
      if (c.tlsverify) c.tls = true;
    }
    if (!reload) {
      TRY(str("tlscacert", c.tlscacert, false));
      TRY(str("tlscert", c.tlscert, false));
      TRY(str("tlskey", c.tlskey, false));
    }
    if (j.contains("log-opts") && j["log-opts"].is_object()) {
      c.log_opts.clear();
      for (auto& [k, v] : j["log-opts"].items())
        if (v.is_string()) c.log_opts[k] = v.get<std::string>();
    }
    if (j.contains("runtimes") && j["runtimes"].is_object()) {
      for (auto& [k, v] : j["runtimes"].items()) {
        if (v.is_object() && v.contains("path") && v["path"].is_string()) c.runtimes[k] = v["path"].get<std::string>();
        else if (v.is_object() && v.contains("runtimeType")) continue;
        else return fail(Errc::InvalidArgument, "daemon.json: runtime " + k + " needs a path");
      }
    }
    if (j.contains("default-ulimits") && j["default-ulimits"].is_object()) {
      c.default_ulimits.clear();
      for (auto& [k, v] : j["default-ulimits"].items()) {
        if (!v.is_object()) continue;
        c.default_ulimits.push_back(k + "=" + std::to_string(v.value("Soft", 0LL)) + ":" +
                                    std::to_string(v.value("Hard", 0LL)));
      }
    }
  } catch (const std::exception& e) {
    return fail(Errc::InvalidArgument, std::string("invalid daemon.json: ") + e.what());
  }
  if (!both.empty())
    return fail(Errc::InvalidArgument,
                "the following directives are specified both as a flag and in the configuration file: " +
                    join(both, ", "));
  return ok();
}

Status load_config_file(Config& c, bool reload) {
  if (!path_exists(c.config_file)) {
    if (c.config_file_given) return fail(Errc::NotFound, "config file not found: " + c.config_file);
    return ok();
  }
  auto text = TRY(read_file(c.config_file, 1 << 20));
  return apply_config_json(c, text, reload);
}

}  // namespace berth::daemon
