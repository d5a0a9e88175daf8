// SPDX-License-Identifier: Apache-2.0
// berth kill [-s SIG] CONTAINER...
#include "cli/cli.hpp"
#include "cli/cmd_util.hpp"

namespace berth::cli {

static int run_kill(App& app, const ParsedFlags& f) {
  std::string sig = f.str("signal");
  return for_each_arg(app, f.args, [&](const std::string& n) -> Status {
    TRY(app.call("POST", "/containers/" + url_escape(n) + "/kill" + (sig.empty() ? "" : "?signal=" + url_escape(sig))));
    return ok();
  });
}

const Command& cmd_kill() {
  static const Command c{"kill", {"container kill"}, "[OPTIONS] CONTAINER [CONTAINER...]",
                         "Kill one or more running containers",
                         {{"signal", 's', FlagKind::String, "Signal to send to the container"}},
                         1, -1, true, run_kill};
  return c;
}

}  // namespace berth::cli
