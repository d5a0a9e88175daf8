// SPDX-License-Identifier: Apache-2.0
// berth history IMAGE
#include <ctime>

#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "cli/format.hpp"

namespace berth::cli {

static int run_history(App& app, const ParsedFlags& f) {
  auto r = app.get_json("/images/" + url_escape(f.args[0]) + "/history");
  if (!r) return report(app, r.error());
  bool trunc = !f.flag("no-trunc"), human = f.flag("human");
  auto now = static_cast<std::int64_t>(std::time(nullptr));
  std::vector<Json> rows;
  for (const auto& h : *r) {
    std::string id = h.value("Id", "");
    std::int64_t created = h.value("Created", std::int64_t{0});
    std::string by = h.value("CreatedBy", "");
    if (trunc) by = ellipsis(by, 45);
    double size = h.value("Size", 0.0);
    rows.push_back({{"Comment", h.value("Comment", "")},
                    {"CreatedAt", human ? go_time_string(created) : std::to_string(created)},
                    {"CreatedBy", by},
                    {"CreatedSince", human ? time_ago(created, now) : go_time_string(created)},
                    {"ID", id == "<missing>" ? id : (trunc ? short_id(id) : id)},
                    {"Size", human ? human_size_prec(size, 3) : std::to_string(static_cast<long long>(size))}});
  }
  Json headers = {{"Comment", "COMMENT"}, {"CreatedAt", "CREATED AT"}, {"CreatedBy", "CREATED BY"},
                  {"CreatedSince", "CREATED"}, {"ID", "IMAGE"}, {"Size", "SIZE"}};
  std::string format = f.flag("quiet") ? "{{.ID}}" : f.str("format");
  auto out = render_list(parse_list_format(format, "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"), rows, headers);
  if (!out) return report(app, out.error());
  app.out(*out);
  return 0;
}

const Command& cmd_history() {
  static const Command c{"history", {"image history"}, "[OPTIONS] IMAGE", "Show the history of an image",
                         {{"format", 0, FlagKind::String, "Format output using a custom template"},
                          {"human", 'H', FlagKind::Bool, "Print sizes and dates in human readable format", "", "true"},
                          {"no-trunc", 0, FlagKind::Bool, "Don't truncate output"},
                          {"quiet", 'q', FlagKind::Bool, "Only show image IDs"}},
                         1, 1, true, run_history};
  return c;
}

}  // namespace berth::cli
