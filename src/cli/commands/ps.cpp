// SPDX-License-Identifier: Apache-2.0
// berth ps: GET /containers/json, docker's columns and --format.
#include <ctime>

#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "cli/format.hpp"
#include "cli/rows.hpp"

namespace berth::cli {

static int run_ps(App& app, const ParsedFlags& f) {
  std::string q = "?all=" + std::string(f.flag("all") || f.flag("latest") || f.integer("last", -1) > 0 ? "1" : "0");
  if (f.flag("size")) q += "&size=1";
  if (f.flag("latest")) q += "&limit=1";
  else if (auto n = f.integer("last", -1); n > 0) q += "&limit=" + std::to_string(n);
  std::string filters = filters_json(f.list("filter"));
  if (!filters.empty()) q += "&filters=" + url_escape(filters);
  auto list = app.get_json("/containers/json" + q);
  if (!list) return report(app, list.error());
  bool trunc = !f.flag("no-trunc");
  std::string format = f.str("format");
  if (f.flag("quiet")) format = "{{.ID}}";
  else if (format.empty() || format == "table")
    format = f.flag("size") ? std::string(kPsTable) + "\t{{.Size}}" : std::string(kPsTable);
  auto now = static_cast<std::int64_t>(std::time(nullptr));
  std::vector<Json> rows;
  if (list->is_array())
    for (const auto& c : *list) rows.push_back(container_row(c, trunc, now));
  auto out = render_list(parse_list_format(format, kPsTable), rows, container_headers());
  if (!out) return report(app, out.error());
  app.out(*out);
  return 0;
}

const Command& cmd_ps() {
  static const Command c{
      "ps",
      {"container ls", "container list", "container ps"},
      "[OPTIONS]",
      "List containers",
      {{"all", 'a', FlagKind::Bool, "Show all containers (default shows just running)"},
       {"filter", 'f', FlagKind::List, "Filter output based on conditions provided", "filter"},
       {"format", 0, FlagKind::String, "Format output using a custom template: 'table', 'table TEMPLATE', 'json', 'TEMPLATE'"},
       {"last", 'n', FlagKind::Int, "Show n last created containers (includes all states)", "int", "-1"},
       {"latest", 'l', FlagKind::Bool, "Show the latest created container (includes all states)"},
       {"no-trunc", 0, FlagKind::Bool, "Don't truncate output"},
       {"quiet", 'q', FlagKind::Bool, "Only display container IDs"},
       {"size", 's', FlagKind::Bool, "Display total file sizes"}},
      0, 0, true, run_ps};
  return c;
}

}  // namespace berth::cli
