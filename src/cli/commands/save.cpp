// SPDX-License-Identifier: Apache-2.0
// berth save [-o FILE] IMAGE...
#include "cli/cli.hpp"
#include "cli/cmd_util.hpp"

namespace berth::cli {

static int run_save(App& app, const ParsedFlags& f) {
  std::string q;
  for (const auto& n : f.args) q += (q.empty() ? "?" : "&") + std::string("names=") + url_escape(n);
  return download_to(app, "/images/get" + q, f.str("output"), "save image");
}

const Command& cmd_save() {
  static const Command c{"save", {"image save"}, "[OPTIONS] IMAGE [IMAGE...]",
                         "Save one or more images to a tar archive (streamed to STDOUT by default)",
                         {{"output", 'o', FlagKind::String, "Write to a file, instead of STDOUT"},
                          {"platform", 0, FlagKind::List, "Save only the given platform(s)"}},
                         1, -1, true, run_save};
  return c;
}

}  // namespace berth::cli
