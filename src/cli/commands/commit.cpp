// SPDX-License-Identifier: Apache-2.0
// berth commit [-a A] [-m M] [-c CHANGE] [-p] CONTAINER [REPOSITORY[:TAG]]
#include <nlohmann/json.hpp>

#include "cli/cli.hpp"

namespace berth::cli {

static int run_commit(App& app, const ParsedFlags& f) {
  std::string q = "?container=" + url_escape(f.args[0]);
  if (f.args.size() > 1) {
    std::string repo = f.args[1], tag;
    auto slash = repo.rfind('/');
    auto colon = repo.rfind(':');
    if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
      tag = repo.substr(colon + 1);
      repo = repo.substr(0, colon);
    }
    q += "&repo=" + url_escape(repo) + "&tag=" + url_escape(tag);
  }
  if (f.has("author")) q += "&author=" + url_escape(f.str("author"));
  if (f.has("message")) q += "&comment=" + url_escape(f.str("message"));
  q += std::string("&pause=") + (f.flag("pause") ? "1" : "0");
  for (const auto& c : f.list("change")) q += "&changes=" + url_escape(c);
  auto r = app.call_json("POST", "/commit" + q, Json::object());
  if (!r) return report(app, r.error());
  app.out(r->value("Id", "") + "\n");
  return 0;
}

const Command& cmd_commit() {
  static const Command c{"commit", {"container commit"}, "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
                         "Create a new image from a container's changes",
                         {{"author", 'a', FlagKind::String, "Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")"},
                          {"change", 'c', FlagKind::List, "Apply Dockerfile instruction to the created image"},
                          {"message", 'm', FlagKind::String, "Commit message"},
                          {"pause", 'p', FlagKind::Bool, "Pause container during commit", "", "true"}},
                         1, 2, true, run_commit};
  return c;
}

}  // namespace berth::cli
