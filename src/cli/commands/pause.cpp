// SPDX-License-Identifier: Apache-2.0
// berth pause CONTAINER...
#include "cli/cli.hpp"
#include "cli/cmd_util.hpp"

namespace berth::cli {

static int run_pause(App& app, const ParsedFlags& f) {
  return for_each_arg(app, f.args, [&](const std::string& n) -> Status {
    TRY(app.call("POST", "/containers/" + url_escape(n) + "/pause"));
    return ok();
  });
}

const Command& cmd_pause() {
  static const Command c{"pause", {"container pause"}, "CONTAINER [CONTAINER...]",
                         "Pause all processes within one or more containers", {}, 1, -1, true, run_pause};
  return c;
}

}  // namespace berth::cli
