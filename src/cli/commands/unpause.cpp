// SPDX-License-Identifier: Apache-2.0
// berth unpause CONTAINER...
#include "cli/cli.hpp"
#include "cli/cmd_util.hpp"

namespace berth::cli {

static int run_unpause(App& app, const ParsedFlags& f) {
  return for_each_arg(app, f.args, [&](const std::string& n) -> Status {
    TRY(app.call("POST", "/containers/" + url_escape(n) + "/unpause"));
    return ok();
  });
}

const Command& cmd_unpause() {
  static const Command c{"unpause", {"container unpause"}, "CONTAINER [CONTAINER...]",
                         "Unpause all processes within one or more containers", {}, 1, -1, true, run_unpause};
  return c;
}

}  // namespace berth::cli
