// SPDX-License-Identifier: Apache-2.0
// berth version: client block without a round-trip, then one GET /version.
#include <sys/utsname.h>

#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "cli/template.hpp"

namespace berth::cli {

static std::string row(const std::string& indent, const std::string& key, const std::string& v,
                       std::size_t width) {
  std::string k = key + ":";
  return indent + k + std::string(width > k.size() ? width - k.size() : 1, ' ') + v + "\n";
}

static int run_version(App& app, const ParsedFlags& f) {
  Json client = {{"Platform", {{"Name", "berth"}}},
                 {"Version", BERTH_VERSION_STRING},
                 {"ApiVersion", kApiVersion},
                 {"DefaultAPIVersion", kApiVersion},
                 {"GitCommit", BERTH_GIT_COMMIT},
                 {"GoVersion", "C++20 (gcc " __VERSION__ ")"},
                 {"Os", "linux"},
                 {"Arch", "amd64"},
                 {"BuildTime", __DATE__ " " __TIME__},
                 {"Context", app.context_name()}};
  auto server = app.get_json("/version");
  std::string format = f.str("format");
  if (!format.empty()) {
    Json all = {{"Client", client}, {"Server", server ? *server : Json()}};
    if (format == "json") format = "{{json .}}";
    auto t = Template::parse(format);
    if (!t) return report(app, Error(Errc::InvalidArgument, "template parsing error: " + t.error().message()), 64);
    auto out = t->execute(all);
    if (!out) return report(app, out.error());
    app.out(*out + "\n");
    if (!server) return report(app, server.error());
    return 0;
  }
  std::string s = "Client:\n";
  const std::size_t w = 19;
  s += row(" ", "Version", BERTH_VERSION_STRING, w);
  s += row(" ", "API version", kApiVersion, w);
  s += row(" ", "C++ compiler", "gcc " __VERSION__, w);
  s += row(" ", "Git commit", BERTH_GIT_COMMIT, w);
  s += row(" ", "Built", __DATE__ " " __TIME__, w);
  s += row(" ", "OS/Arch", "linux/amd64", w);
  s += row(" ", "Context", app.context_name(), w);
  app.out(s);
  if (!server) {
    app.out("\n");
    return report(app, server.error());
  }
  const Json& v = *server;
  std::string platform = v.contains("Platform") && v["Platform"].is_object() ? v["Platform"].value("Name", "") : "";
  s = "\nServer:" + (platform.empty() ? std::string() : " " + platform) + "\n";
  s += " Engine:\n";
  s += row("  ", "Version", v.value("Version", ""), w - 1);
  s += row("  ", "API version", v.value("ApiVersion", "") + " (minimum version " + v.value("MinAPIVersion", "") + ")", w - 1);
  s += row("  ", "Go version", v.value("GoVersion", ""), w - 1);
  s += row("  ", "Git commit", v.value("GitCommit", ""), w - 1);
  s += row("  ", "Built", v.value("BuildTime", ""), w - 1);
  s += row("  ", "OS/Arch", v.value("Os", "") + "/" + v.value("Arch", ""), w - 1);
  s += row("  ", "Experimental", v.value("Experimental", false) ? "true" : "false", w - 1);
  if (v.contains("Components") && v["Components"].is_array()) {
    for (const auto& c : v["Components"]) {
      std::string name = c.value("Name", "");
      if (name == "Engine") continue;
      s += " " + name + ":\n";
      s += row("  ", "Version", c.value("Version", ""), w - 1);
      if (c.contains("Details") && c["Details"].is_object())
        for (auto it = c["Details"].begin(); it != c["Details"].end(); ++it)
          s += row("  ", it.key(), go_print(it.value()), w - 1);
    }
  }
  app.out(s);
  return 0;
}

const Command& cmd_version() {
  static const Command c{
      "version", {}, "[OPTIONS]", "Show the berth version information",
      {{"format", 'f', FlagKind::String, "Format output using a custom template"}},
      0, 0, true, run_version};
  return c;
}

}  // namespace berth::cli
