// SPDX-License-Identifier: Apache-2.0
// berth export [-o FILE] CONTAINER
#include "cli/cli.hpp"
#include "cli/cmd_util.hpp"

namespace berth::cli {

static int run_export(App& app, const ParsedFlags& f) {
  return download_to(app, "/containers/" + url_escape(f.args[0]) + "/export", f.str("output"), "export container");
}

const Command& cmd_export() {
  static const Command c{"export", {"container export"}, "[OPTIONS] CONTAINER",
                         "Export a container's filesystem as a tar archive",
                         {{"output", 'o', FlagKind::String, "Write to a file, instead of STDOUT"}}, 1, 1, true, run_export};
  return c;
}

}  // namespace berth::cli
