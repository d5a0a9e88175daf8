// SPDX-License-Identifier: Apache-2.0
// berth rename CONTAINER NEW_NAME
#include "cli/cli.hpp"

namespace berth::cli {

static int run_rename(App& app, const ParsedFlags& f) {
  if (f.args[1].empty()) return report(app, Error(Errc::InvalidArgument, "Error: neither old nor new names may be empty"));
  auto r = app.call("POST", "/containers/" + url_escape(f.args[0]) + "/rename?name=" + url_escape(f.args[1]));
  if (!r) return report(app, r.error());
  return 0;
}

const Command& cmd_rename() {
  static const Command c{"rename", {"container rename"}, "CONTAINER NEW_NAME", "Rename a container", {}, 2, 2, true, run_rename};
  return c;
}

}  // namespace berth::cli
