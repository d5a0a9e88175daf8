// SPDX-License-Identifier: Apache-2.0
// berth info / berth system info: GET /info.
#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "cli/format.hpp"
#include "cli/template.hpp"

namespace berth::cli {

static std::string s_of(const Json& v, const char* k) {
  if (!v.contains(k)) return "";
  return v[k].is_string() ? v[k].get<std::string>() : go_print(v[k]);
}

static int run_info(App& app, const ParsedFlags& f) {
  auto info = app.get_json("/info");
  std::string format = f.str("format");
  if (!format.empty()) {
    if (!info) return report(app, info.error());
    if (format == "json") format = "{{json .}}";
    auto t = Template::parse(format);
    if (!t) return report(app, Error(Errc::InvalidArgument, "template parsing error: " + t.error().message()), 64);
    auto out = t->execute(*info);
    if (!out) return report(app, out.error());
    app.out(*out + "\n");
    return 0;
  }
  std::string s = "Client:\n Version:    " BERTH_VERSION_STRING "\n Context:    " + app.context_name() +
                  "\n Debug Mode: " + (app.g.debug ? "true" : "false") + "\n\nServer:\n";
  app.out(s);
  if (!info) {
    app.out("\n");
    return report(app, info.error());
  }
  const Json& v = *info;
  s = " Containers: " + s_of(v, "Containers") + "\n";
  s += "  Running: " + s_of(v, "ContainersRunning") + "\n";
  s += "  Paused: " + s_of(v, "ContainersPaused") + "\n";
  s += "  Stopped: " + s_of(v, "ContainersStopped") + "\n";
  s += " Images: " + s_of(v, "Images") + "\n";
  s += " Server Version: " + s_of(v, "ServerVersion") + "\n";
  s += " Storage Driver: " + s_of(v, "Driver") + "\n";
  if (v.contains("DriverStatus") && v["DriverStatus"].is_array())
    for (const auto& kv : v["DriverStatus"])
      if (kv.is_array() && kv.size() == 2) s += "  " + go_print(kv[0]) + ": " + go_print(kv[1]) + "\n";
  s += " Logging Driver: " + s_of(v, "LoggingDriver") + "\n";
  s += " Cgroup Driver: " + s_of(v, "CgroupDriver") + "\n";
  s += " Cgroup Version: " + s_of(v, "CgroupVersion") + "\n";
  if (v.contains("Plugins") && v["Plugins"].is_object()) {
    s += " Plugins:\n";
    for (const char* k : {"Volume", "Network", "Log"})
      if (v["Plugins"].contains(k) && v["Plugins"][k].is_array()) {
        std::string line;
        for (const auto& p : v["Plugins"][k]) line += (line.empty() ? "" : " ") + go_print(p);
        s += std::string("  ") + k + ": " + line + "\n";
      }
  }
  if (v.contains("Runtimes") && v["Runtimes"].is_object()) {
    std::string rt;
    for (auto it = v["Runtimes"].begin(); it != v["Runtimes"].end(); ++it) rt += (rt.empty() ? "" : " ") + it.key();
    s += " Runtimes: " + rt + "\n";
  }
  s += " Default Runtime: " + s_of(v, "DefaultRuntime") + "\n";
  if (v.contains("SecurityOptions") && v["SecurityOptions"].is_array()) {
    s += " Security Options:\n";
    for (const auto& o : v["SecurityOptions"]) {
      std::string opt = go_print(o);
      if (opt.rfind("name=", 0) == 0) opt = opt.substr(5);
      auto comma = opt.find(',');
      s += "  " + opt.substr(0, comma) + "\n";
      if (comma != std::string::npos) {
        for (auto& part : std::vector<std::string>{opt.substr(comma + 1)}) {
          auto [k, val] = std::pair(part.substr(0, part.find('=')), part.substr(part.find('=') + 1));
          if (!k.empty()) s += "   " + std::string(1, static_cast<char>(std::toupper(k[0]))) + k.substr(1) + ": " + val + "\n";
        }
      }
    }
  }
  s += " Kernel Version: " + s_of(v, "KernelVersion") + "\n";
  s += " Operating System: " + s_of(v, "OperatingSystem") + "\n";
  s += " OSType: " + s_of(v, "OSType") + "\n";
  s += " Architecture: " + s_of(v, "Architecture") + "\n";
  s += " CPUs: " + s_of(v, "NCPU") + "\n";
  s += " Total Memory: " + (v.contains("MemTotal") && v["MemTotal"].is_number() ? bytes_size(v["MemTotal"].get<double>()) : "") + "\n";
  s += " Name: " + s_of(v, "Name") + "\n";
  s += " ID: " + s_of(v, "ID") + "\n";
  s += " Docker Root Dir: " + s_of(v, "DockerRootDir") + "\n";
  s += " Debug Mode: " + std::string(v.value("Debug", false) ? "true" : "false") + "\n";
  s += " Experimental: " + std::string(v.value("ExperimentalBuild", false) ? "true" : "false") + "\n";
  if (v.contains("RegistryConfig") && v["RegistryConfig"].is_object() &&
      v["RegistryConfig"].contains("InsecureRegistryCIDRs")) {
    s += " Insecure Registries:\n";
    for (const auto& r : v["RegistryConfig"]["InsecureRegistryCIDRs"]) s += "  " + go_print(r) + "\n";
  }
  s += " Live Restore Enabled: " + std::string(v.value("LiveRestoreEnabled", false) ? "true" : "false") + "\n";
  if (v.contains("Warnings") && v["Warnings"].is_array()) {
    s += "\n";
    for (const auto& w : v["Warnings"]) s += go_print(w) + "\n";
  }
  app.out(s);
  return 0;
}

const Command& cmd_info() {
  static const Command c{"info", {"system info"}, "[OPTIONS]", "Display system-wide information",
                         {{"format", 'f', FlagKind::String, "Format output using a custom template"}},
                         0, 0, true, run_info};
  return c;
}

}  // namespace berth::cli
