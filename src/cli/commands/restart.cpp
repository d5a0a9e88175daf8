// SPDX-License-Identifier: Apache-2.0
// berth restart [-t N] [-s SIG] CONTAINER...
#include "cli/cli.hpp"
#include "cli/cmd_util.hpp"

namespace berth::cli {

static int run_restart(App& app, const ParsedFlags& f) {
  std::string q;
  if (f.has("time")) q += "t=" + std::to_string(f.integer("time", 10));
  if (f.has("signal")) q += (q.empty() ? "" : "&") + std::string("signal=") + url_escape(f.str("signal"));
  return for_each_arg(app, f.args, [&](const std::string& n) -> Status {
    TRY(app.call("POST", "/containers/" + url_escape(n) + "/restart" + (q.empty() ? "" : "?" + q)));
    return ok();
  });
}

const Command& cmd_restart() {
  static const Command c{"restart", {"container restart"}, "[OPTIONS] CONTAINER [CONTAINER...]",
                         "Restart one or more containers",
                         {{"signal", 's', FlagKind::String, "Signal to send to the container"},
                          {"time", 't', FlagKind::Int, "Seconds to wait before killing the container"}},
                         1, -1, true, run_restart};
  return c;
}

}  // namespace berth::cli
