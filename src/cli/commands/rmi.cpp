// SPDX-License-Identifier: Apache-2.0
// berth rmi [-f] [--no-prune] IMAGE...: prints "Untagged: x" / "Deleted: sha256:..".
#include <nlohmann/json.hpp>

#include "cli/cli.hpp"

namespace berth::cli {

static int run_rmi(App& app, const ParsedFlags& f) {
  int rc = 0;
  std::string q = std::string("?force=") + (f.flag("force") ? "1" : "0") + "&noprune=" + (f.flag("no-prune") ? "1" : "0");
  for (const auto& n : f.args) {
    auto r = app.call("DELETE", "/images/" + url_escape(n) + q);
    if (!r) {
      app.err(r.error().message() + "\n");
      rc = kExitError;
      continue;
    }
    try {
      Json j = Json::parse(r->body);
      std::string out;
      for (const auto& e : j) {
        if (e.contains("Untagged")) out += "Untagged: " + e.value("Untagged", "") + "\n";
        if (e.contains("Deleted")) out += "Deleted: " + e.value("Deleted", "") + "\n";
      }
      app.out(out);
    } catch (...) {
    }
  }
  return rc;
}

const Command& cmd_rmi() {
  static const Command c{"rmi", {"image rm", "image remove"}, "[OPTIONS] IMAGE [IMAGE...]",
                         "Remove one or more images",
                         {{"force", 'f', FlagKind::Bool, "Force removal of the image"},
                          {"no-prune", 0, FlagKind::Bool, "Do not delete untagged parents"}},
                         1, -1, true, run_rmi};
  return c;
}

}  // namespace berth::cli
