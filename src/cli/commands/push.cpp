// SPDX-License-Identifier: Apache-2.0
// berth push NAME[:TAG]
#include "cli/cli.hpp"
#include "cli/cmd_util.hpp"

namespace berth::cli {

static int run_push(App& app, const ParsedFlags& f) {
  std::string ref = f.args[0], tag;
  auto slash = ref.rfind('/');
  auto colon = ref.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    tag = ref.substr(colon + 1);
    ref = ref.substr(0, colon);
  }
  if (tag.empty() && !f.flag("all-tags")) {
    app.out("Using default tag: latest\n");
    tag = "latest";
  }
  std::string path = "/images/" + url_escape(ref) + "/push" + (tag.empty() ? "" : "?tag=" + url_escape(tag));
  Status st = run_progress(app, "POST", path, "", {{"X-Registry-Auth", registry_auth(app, registry_of(ref))}}, -1,
                           f.flag("quiet"));
  if (!st) return report(app, st.error());
  if (f.flag("quiet")) app.out(f.args[0] + "\n");
  return 0;
}

const Command& cmd_push() {
  static const Command c{"push", {"image push"}, "[OPTIONS] NAME[:TAG]", "Upload an image to a registry",
                         {{"all-tags", 'a', FlagKind::Bool, "Push all tags of an image to the repository"},
                          {"quiet", 'q', FlagKind::Bool, "Suppress verbose output"}},
                         1, 1, true, run_push};
  return c;
}

}  // namespace berth::cli
