// SPDX-License-Identifier: Apache-2.0
// berth wait CONTAINER...: prints each exit code.
#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "cli/cmd_util.hpp"

namespace berth::cli {

static int run_wait(App& app, const ParsedFlags& f) {
  int rc = 0;
  for (const auto& n : f.args) {
    auto r = app.call_json("POST", "/containers/" + url_escape(n) + "/wait", Json());
    if (!r) {
      app.err(r.error().message() + "\n");
      rc = kExitError;
      continue;
    }
    app.out(std::to_string(r->value("StatusCode", 0)) + "\n");
  }
  return rc;
}

const Command& cmd_wait() {
  static const Command c{"wait", {"container wait"}, "CONTAINER [CONTAINER...]",
                         "Block until one or more containers stop, then print their exit codes", {}, 1, -1, true, run_wait};
  return c;
}

}  // namespace berth::cli
