// SPDX-License-Identifier: Apache-2.0
// berth container prune / image prune
#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "cli/cmd_util.hpp"
#include "cli/format.hpp"
#include "cli/template.hpp"

namespace berth::cli {

static int run_container_prune(App& app, const ParsedFlags& f) {
  if (!confirm(app, "WARNING! This will remove all stopped containers.", f.flag("force"))) return 0;
  std::string fj = filters_json(f.list("filter"));
  auto r = app.call_json("POST", "/containers/prune" + (fj.empty() ? "" : "?filters=" + url_escape(fj)), Json());
  if (!r) return report(app, r.error());
  std::string out;
  if ((*r)["ContainersDeleted"].is_array() && !(*r)["ContainersDeleted"].empty()) {
    out += "Deleted Containers:\n";
    for (const auto& v : (*r)["ContainersDeleted"]) out += go_print(v) + "\n";
    out += "\n";
  }
  double space = (*r)["SpaceReclaimed"].is_number() ? (*r)["SpaceReclaimed"].get<double>() : 0;
  app.out(out + "Total reclaimed space: " + human_size_prec(space, 4) + "\n");
  return 0;
}

static int run_image_prune(App& app, const ParsedFlags& f) {
  if (!confirm(app, f.flag("all") ? "WARNING! This will remove all images without at least one container associated to them."
                                  : "WARNING! This will remove all dangling images.",
               f.flag("force")))
    return 0;
  std::vector<std::string> fl = f.list("filter");
  fl.push_back(std::string("dangling=") + (f.flag("all") ? "false" : "true"));
  auto r = app.call_json("POST", "/images/prune?filters=" + url_escape(filters_json(fl)), Json());
  if (!r) return report(app, r.error());
  std::string out;
  if ((*r)["ImagesDeleted"].is_array() && !(*r)["ImagesDeleted"].empty()) {
    out += "Deleted Images:\n";
    for (const auto& v : (*r)["ImagesDeleted"]) {
      if (v.contains("Untagged")) out += "untagged: " + v.value("Untagged", "") + "\n";
      if (v.contains("Deleted")) out += "deleted: " + v.value("Deleted", "") + "\n";
    }
    out += "\n";
  }
  double space = (*r)["SpaceReclaimed"].is_number() ? (*r)["SpaceReclaimed"].get<double>() : 0;
  app.out(out + "Total reclaimed space: " + human_size_prec(space, 4) + "\n");
  return 0;
}

const Command& cmd_container_prune() {
  static const Command c{"container prune", {}, "[OPTIONS]", "Remove all stopped containers",
                         {{"filter", 0, FlagKind::List, "Provide filter values (e.g. \"until=<timestamp>\")", "filter"},
                          {"force", 'f', FlagKind::Bool, "Do not prompt for confirmation"}},
                         0, 0, true, run_container_prune};
  return c;
}
const Command& cmd_image_prune() {
  static const Command c{"image prune", {}, "[OPTIONS]", "Remove unused images",
                         {{"all", 'a', FlagKind::Bool, "Remove all unused images, not just dangling ones"},
                          {"filter", 0, FlagKind::List, "Provide filter values (e.g. \"until=<timestamp>\")", "filter"},
                          {"force", 'f', FlagKind::Bool, "Do not prompt for confirmation"}},
                         0, 0, true, run_image_prune};
  return c;
}

}  // namespace berth::cli
