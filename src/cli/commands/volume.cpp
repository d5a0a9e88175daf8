// SPDX-License-Identifier: Apache-2.0
// berth volume create|ls|inspect|rm|prune
#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "cli/rows.hpp"
#include "cli/cmd_util.hpp"
#include "cli/format.hpp"
#include "common/strings.hpp"

namespace berth::cli {

int inspect_objects(App& app, const std::string& type, const ParsedFlags& f);

static int run_create(App& app, const ParsedFlags& f) {
  Json b = {{"Driver", f.str("driver")}, {"DriverOpts", Json::object()}, {"Labels", Json::object()}};
  if (!f.args.empty()) b["Name"] = f.args[0];
  else if (f.has("name")) b["Name"] = f.str("name");
  for (const auto& o : f.list("opt")) {
    auto [k, v] = split_once(o, '=');
    b["DriverOpts"][std::string(k)] = std::string(v);
  }
  for (const auto& o : f.list("label")) {
    auto [k, v] = split_once(o, '=');
    b["Labels"][std::string(k)] = std::string(v);
  }
  auto r = app.call_json("POST", "/volumes/create", b);
  if (!r) return report(app, r.error());
  app.out(r->value("Name", "") + "\n");
  return 0;
}

static int run_ls(App& app, const ParsedFlags& f) {
  std::string q;
  std::string fj = filters_json(f.list("filter"));
  if (!fj.empty()) q = "?filters=" + url_escape(fj);
  auto r = app.get_json("/volumes" + q);
  if (!r) return report(app, r.error());
  std::vector<Json> rows;
  if ((*r)["Volumes"].is_array())
    for (const auto& v : (*r)["Volumes"]) rows.push_back(volume_row(v));
  Json headers = {{"Availability", "AVAILABILITY"}, {"Driver", "DRIVER"}, {"Group", "GROUP"}, {"Labels", "LABELS"},
                  {"Links", "LINKS"}, {"Mountpoint", "MOUNTPOINT"}, {"Name", "VOLUME NAME"}, {"Scope", "SCOPE"},
                  {"Size", "SIZE"}, {"Status", "STATUS"}};
  std::string format = f.flag("quiet") ? "{{.Name}}" : f.str("format");
  auto out = render_list(parse_list_format(format, "table {{.Driver}}\t{{.Name}}"), rows, headers);
  if (!out) return report(app, out.error());
  app.out(*out);
  return 0;
}

static int run_inspect(App& app, const ParsedFlags& f) { return inspect_objects(app, "volume", f); }

static int run_rm(App& app, const ParsedFlags& f) {
  return for_each_arg(app, f.args, [&](const std::string& n) -> Status {
    TRY(app.call("DELETE", "/volumes/" + url_escape(n) + (f.flag("force") ? "?force=1" : "")));
    return ok();
  });
}

static int run_prune(App& app, const ParsedFlags& f) {
  if (!confirm(app, f.flag("all") ? "WARNING! This will remove all local volumes not used by at least one container."
                                  : "WARNING! This will remove anonymous local volumes not used by at least one container.",
               f.flag("force"))) {
    app.err("Total reclaimed space: 0B\n");
    return 0;
  }
  std::vector<std::string> filters = f.list("filter");
  if (f.flag("all")) filters.push_back("all=true");
  std::string fj = filters_json(filters);
  auto r = app.call_json("POST", "/volumes/prune" + (fj.empty() ? "" : "?filters=" + url_escape(fj)), Json());
  if (!r) return report(app, r.error());
  std::string out;
  if ((*r)["VolumesDeleted"].is_array() && !(*r)["VolumesDeleted"].empty()) {
    out += "Deleted Volumes:\n";
    for (const auto& v : (*r)["VolumesDeleted"]) out += go_print(v) + "\n";
    out += "\n";
  }
  double space = (*r)["SpaceReclaimed"].is_number() ? (*r)["SpaceReclaimed"].get<double>() : 0;
  out += "Total reclaimed space: " + human_size_prec(space, 4) + "\n";
  app.out(out);
  return 0;
}

const Command& cmd_volume_create() {
  static const Command c{"volume create", {}, "[OPTIONS] [VOLUME]", "Create a volume",
                         {{"driver", 'd', FlagKind::String, "Specify volume driver name", "string", "local"},
                          {"label", 0, FlagKind::List, "Set metadata for a volume"},
                          {"name", 0, FlagKind::String, "Specify volume name", "", "", true},
                          {"opt", 'o', FlagKind::List, "Set driver specific options", "map"}},
                         0, 1, true, run_create};
  return c;
}
const Command& cmd_volume_ls() {
  static const Command c{"volume ls", {"volume list"}, "[OPTIONS]", "List volumes",
                         {{"filter", 'f', FlagKind::List, "Provide filter values (e.g. \"dangling=true\")", "filter"},
                          {"format", 0, FlagKind::String, "Format output using a custom template"},
                          {"quiet", 'q', FlagKind::Bool, "Only display volume names"}},
                         0, 0, true, run_ls};
  return c;
}
const Command& cmd_volume_inspect() {
  static const Command c{"volume inspect", {}, "[OPTIONS] VOLUME [VOLUME...]", "Display detailed information on one or more volumes",
                         {{"format", 'f', FlagKind::String, "Format output using a custom template"}}, 1, -1, true, run_inspect};
  return c;
}
const Command& cmd_volume_rm() {
  static const Command c{"volume rm", {"volume remove"}, "[OPTIONS] VOLUME [VOLUME...]", "Remove one or more volumes",
                         {{"force", 'f', FlagKind::Bool, "Force the removal of one or more volumes"}}, 1, -1, true, run_rm};
  return c;
}
const Command& cmd_volume_prune() {
  static const Command c{"volume prune", {}, "[OPTIONS]", "Remove unused local volumes",
                         {{"all", 'a', FlagKind::Bool, "Remove all unused volumes, not just anonymous ones"},
                          {"filter", 0, FlagKind::List, "Provide filter values (e.g. \"label=<label>\")", "filter"},
                          {"force", 'f', FlagKind::Bool, "Do not prompt for confirmation"}},
                         0, 0, true, run_prune};
  return c;
}

}  // namespace berth::cli
