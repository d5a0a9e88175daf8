// SPDX-License-Identifier: Apache-2.0
// berth images: GET /images/json.
#include <ctime>
#include <set>

#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "cli/format.hpp"
#include "cli/rows.hpp"

namespace berth::cli {

static int run_images(App& app, const ParsedFlags& f) {
  std::vector<std::string> filters = f.list("filter");
  if (!f.args.empty()) filters.push_back("reference=" + f.args[0]);
  std::string q = "?all=" + std::string(f.flag("all") ? "1" : "0");
  std::string fj = filters_json(filters);
  if (!fj.empty()) q += "&filters=" + url_escape(fj);
  auto list = app.get_json("/images/json" + q);
  if (!list) return report(app, list.error());
  bool trunc = !f.flag("no-trunc");
  auto now = static_cast<std::int64_t>(std::time(nullptr));
  std::vector<Json> rows;
  std::set<std::string> seen;
  if (list->is_array())
    for (const auto& img : *list)
      for (auto& r : image_rows(img, trunc, f.flag("all"), now)) {
        if (f.flag("quiet")) {
          std::string id = r["ID"].get<std::string>();
          if (!seen.insert(id).second) continue;
        }
        rows.push_back(std::move(r));
      }
  std::string format = f.str("format");
  if (f.flag("quiet")) format = "{{.ID}}";
  else if ((format.empty() || format == "table") && f.flag("digests"))
    format = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
  auto out = render_list(parse_list_format(format, kImagesTable), rows, image_headers());
  if (!out) return report(app, out.error());
  app.out(*out);
  return 0;
}

const Command& cmd_images() {
  static const Command c{
      "images",
      {"image ls", "image list"},
      "[OPTIONS] [REPOSITORY[:TAG]]",
      "List images",
      {{"all", 'a', FlagKind::Bool, "Show all images (default hides intermediate images)"},
       {"digests", 0, FlagKind::Bool, "Show digests"},
       {"filter", 'f', FlagKind::List, "Filter output based on conditions provided", "filter"},
       {"format", 0, FlagKind::String, "Format output using a custom template: 'table', 'table TEMPLATE', 'json', 'TEMPLATE'"},
       {"no-trunc", 0, FlagKind::Bool, "Don't truncate output"},
       {"quiet", 'q', FlagKind::Bool, "Only show image IDs"}},
      0, 1, true, run_images};
  return c;
}

}  // namespace berth::cli
