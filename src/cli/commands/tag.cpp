// SPDX-License-Identifier: Apache-2.0
// berth tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]
#include "cli/cli.hpp"

namespace berth::cli {

static int run_tag(App& app, const ParsedFlags& f) {
  std::string repo = f.args[1], tag;
  auto slash = repo.rfind('/');
  auto colon = repo.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    tag = repo.substr(colon + 1);
    repo = repo.substr(0, colon);
  }
  auto r = app.call("POST", "/images/" + url_escape(f.args[0]) + "/tag?repo=" + url_escape(repo) +
                                (tag.empty() ? "" : "&tag=" + url_escape(tag)));
  if (!r) return report(app, r.error());
  return 0;
}

const Command& cmd_tag() {
  static const Command c{"tag", {"image tag"}, "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
                         "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE", {}, 2, 2, true, run_tag};
  return c;
}

}  // namespace berth::cli
