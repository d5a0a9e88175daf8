// SPDX-License-Identifier: Apache-2.0
// berth diff CONTAINER: "C /etc", "A /new", "D /gone".
#include <nlohmann/json.hpp>

#include "cli/cli.hpp"

namespace berth::cli {

static int run_diff(App& app, const ParsedFlags& f) {
  auto r = app.get_json("/containers/" + url_escape(f.args[0]) + "/changes");
  if (!r) return report(app, r.error());
  std::string out;
  if (r->is_array())
    for (const auto& c : *r) {
      int k = c.value("Kind", 0);
      out += std::string(k == 0 ? "C" : k == 1 ? "A" : "D") + " " + c.value("Path", "") + "\n";
    }
  app.out(out);
  return 0;
}

const Command& cmd_diff() {
  static const Command c{"diff", {"container diff"}, "CONTAINER",
                         "Inspect changes to files or directories on a container's filesystem", {}, 1, 1, true, run_diff};
  return c;
}

}  // namespace berth::cli
