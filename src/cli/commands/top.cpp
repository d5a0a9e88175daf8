// SPDX-License-Identifier: Apache-2.0
// berth top CONTAINER [ps OPTIONS]
#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "cli/format.hpp"
#include "cli/template.hpp"

namespace berth::cli {

static int run_top(App& app, const ParsedFlags& f) {
  std::string q;
  if (f.args.size() > 1) {
    std::string a;
    for (std::size_t i = 1; i < f.args.size(); ++i) a += (i > 1 ? " " : "") + f.args[i];
    q = "?ps_args=" + url_escape(a);
  }
  auto r = app.get_json("/containers/" + url_escape(f.args[0]) + "/top" + q);
  if (!r) return report(app, r.error());
  std::string text;
  const Json& titles = (*r)["Titles"];
  for (std::size_t i = 0; titles.is_array() && i < titles.size(); ++i) text += go_print(titles[i]) + (i + 1 < titles.size() ? "\t" : "");
  text += "\n";
  if ((*r)["Processes"].is_array())
    for (const auto& p : (*r)["Processes"]) {
      for (std::size_t i = 0; i < p.size(); ++i) text += go_print(p[i]) + (i + 1 < p.size() ? "\t" : "");
      text += "\n";
    }
  app.out(tabwrite(text, 20, 1));
  return 0;
}

const Command& cmd_top() {
  static const Command c{"top", {"container top"}, "CONTAINER [ps OPTIONS]",
                         "Display the running processes of a container", {}, 1, -1, false, run_top};
  return c;
}

}  // namespace berth::cli
