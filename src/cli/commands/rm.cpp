// SPDX-License-Identifier: Apache-2.0
// berth rm [-f] [-v] [-l] CONTAINER...
#include "cli/cli.hpp"
#include "cli/cmd_util.hpp"

namespace berth::cli {

static int run_rm(App& app, const ParsedFlags& f) {
  std::string q = std::string("?force=") + (f.flag("force") ? "1" : "0") + "&v=" + (f.flag("volumes") ? "1" : "0") +
                  "&link=" + (f.flag("link") ? "1" : "0");
  return for_each_arg(app, f.args, [&](const std::string& n) -> Status {
    TRY(app.call("DELETE", "/containers/" + url_escape(n) + q));
    return ok();
  });
}

const Command& cmd_rm() {
  static const Command c{"rm", {"container rm", "container remove"}, "[OPTIONS] CONTAINER [CONTAINER...]",
                         "Remove one or more containers",
                         {{"force", 'f', FlagKind::Bool, "Force the removal of a running container (uses SIGKILL)"},
                          {"link", 'l', FlagKind::Bool, "Remove the specified link"},
                          {"volumes", 'v', FlagKind::Bool, "Remove anonymous volumes associated with the container"}},
                         1, -1, true, run_rm};
  return c;
}

}  // namespace berth::cli
