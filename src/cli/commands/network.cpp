// SPDX-License-Identifier: Apache-2.0
// berth network create|ls|inspect|rm|prune|connect|disconnect
#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "cli/cmd_util.hpp"
#include "cli/format.hpp"
#include "common/strings.hpp"

namespace berth::cli {

int inspect_objects(App& app, const std::string& type, const ParsedFlags& f);

static int run_create(App& app, const ParsedFlags& f) {
  Json b = {{"Name", f.args[0]}, {"Driver", f.str("driver")}, {"Internal", f.flag("internal")},
            {"Attachable", f.flag("attachable")}, {"EnableIPv6", f.flag("ipv6")},
            {"Options", Json::object()}, {"Labels", Json::object()}};
  for (const auto& o : f.list("opt")) {
    auto [k, v] = split_once(o, '=');
    b["Options"][std::string(k)] = std::string(v);
  }
  for (const auto& o : f.list("label")) {
    auto [k, v] = split_once(o, '=');
    b["Labels"][std::string(k)] = std::string(v);
  }
  if (!f.list("subnet").empty()) {
    Json cfg = Json::array();
    const auto& subnets = f.list("subnet");
    const auto& gws = f.list("gateway");
    const auto& ranges = f.list("ip-range");
    for (std::size_t i = 0; i < subnets.size(); ++i) {
      Json c = {{"Subnet", subnets[i]}};
      if (i < gws.size()) c["Gateway"] = gws[i];
      if (i < ranges.size()) c["IPRange"] = ranges[i];
      cfg.push_back(c);
    }
    b["IPAM"] = {{"Driver", "default"}, {"Config", cfg}, {"Options", Json::object()}};
  }
  auto r = app.call_json("POST", "/networks/create", b);
  if (!r) return report(app, r.error());
  app.out(r->value("Id", "") + "\n");
  return 0;
}

static int run_ls(App& app, const ParsedFlags& f) {
  std::string fj = filters_json(f.list("filter"));
  auto r = app.get_json("/networks" + (fj.empty() ? "" : "?filters=" + url_escape(fj)));
  if (!r) return report(app, r.error());
  bool trunc = !f.flag("no-trunc");
  std::vector<Json> rows;
  if (r->is_array())
    for (const auto& n : *r) {
      std::string id = n.value("Id", "");
      rows.push_back({{"CreatedAt", n.value("Created", "")}, {"Driver", n.value("Driver", "")},
                      {"ID", trunc ? short_id(id) : id}, {"IPv4", "true"},
                      {"IPv6", n.value("EnableIPv6", false) ? "true" : "false"},
                      {"Internal", n.value("Internal", false) ? "true" : "false"}, {"Labels", ""},
                      {"Name", n.value("Name", "")}, {"Scope", n.value("Scope", "")}});
    }
  Json headers = {{"CreatedAt", "CREATED"}, {"Driver", "DRIVER"}, {"ID", "NETWORK ID"}, {"IPv4", "IPV4"},
                  {"IPv6", "IPV6"}, {"Internal", "INTERNAL"}, {"Labels", "LABELS"}, {"Name", "NAME"},
                  {"Scope", "SCOPE"}};
  std::string format = f.flag("quiet") ? "{{.ID}}" : f.str("format");
  auto out = render_list(parse_list_format(format, "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"), rows, headers);
  if (!out) return report(app, out.error());
  app.out(*out);
  return 0;
}

static int run_inspect(App& app, const ParsedFlags& f) { return inspect_objects(app, "network", f); }

static int run_rm(App& app, const ParsedFlags& f) {
  return for_each_arg(app, f.args, [&](const std::string& n) -> Status {
    TRY(app.call("DELETE", "/networks/" + url_escape(n)));
    return ok();
  });
}

static int run_prune(App& app, const ParsedFlags& f) {
  if (!confirm(app, "WARNING! This will remove all custom networks not used by at least one container.", f.flag("force")))
    return 0;
  std::string fj = filters_json(f.list("filter"));
  auto r = app.call_json("POST", "/networks/prune" + (fj.empty() ? "" : "?filters=" + url_escape(fj)), Json());
  if (!r) return report(app, r.error());
  if ((*r)["NetworksDeleted"].is_array() && !(*r)["NetworksDeleted"].empty()) {
    std::string out = "Deleted Networks:\n";
    for (const auto& v : (*r)["NetworksDeleted"]) out += go_print(v) + "\n";
    app.out(out + "\n");
  }
  return 0;
}

static int run_connect(App& app, const ParsedFlags& f) {
  Json ep = Json::object();
  if (f.has("ip") || f.has("ip6")) ep["IPAMConfig"] = {{"IPv4Address", f.str("ip")}, {"IPv6Address", f.str("ip6")}};
  if (!f.list("alias").empty()) ep["Aliases"] = f.list("alias");
  Json b = {{"Container", f.args[1]}, {"EndpointConfig", ep}};
  auto r = app.call("POST", "/networks/" + url_escape(f.args[0]) + "/connect", b.dump());
  if (!r) return report(app, r.error());
  return 0;
}

static int run_disconnect(App& app, const ParsedFlags& f) {
  Json b = {{"Container", f.args[1]}, {"Force", f.flag("force")}};
  auto r = app.call("POST", "/networks/" + url_escape(f.args[0]) + "/disconnect", b.dump());
  if (!r) return report(app, r.error());
  return 0;
}

const Command& cmd_network_create() {
  static const Command c{"network create", {}, "[OPTIONS] NETWORK", "Create a network",
                         {{"attachable", 0, FlagKind::Bool, "Enable manual container attachment"},
                          {"driver", 'd', FlagKind::String, "Driver to manage the Network", "string", "bridge"},
                          {"gateway", 0, FlagKind::List, "IPv4 or IPv6 Gateway for the master subnet", "strings"},
                          {"internal", 0, FlagKind::Bool, "Restrict external access to the network"},
                          {"ip-range", 0, FlagKind::List, "Allocate container ip from a sub-range", "strings"},
                          {"ipv6", 0, FlagKind::Bool, "Enable or disable IPv6 networking"},
                          {"label", 0, FlagKind::List, "Set metadata on a network"},
                          {"opt", 'o', FlagKind::List, "Set driver specific options", "map"},
                          {"subnet", 0, FlagKind::List, "Subnet in CIDR format that represents a network segment", "strings"}},
                         1, 1, true, run_create};
  return c;
}
const Command& cmd_network_ls() {
  static const Command c{"network ls", {"network list"}, "[OPTIONS]", "List networks",
                         {{"filter", 'f', FlagKind::List, "Provide filter values (e.g. \"driver=bridge\")", "filter"},
                          {"format", 0, FlagKind::String, "Format output using a custom template"},
                          {"no-trunc", 0, FlagKind::Bool, "Do not truncate the output"},
                          {"quiet", 'q', FlagKind::Bool, "Only display network IDs"}},
                         0, 0, true, run_ls};
  return c;
}
const Command& cmd_network_inspect() {
  static const Command c{"network inspect", {}, "[OPTIONS] NETWORK [NETWORK...]", "Display detailed information on one or more networks",
                         {{"format", 'f', FlagKind::String, "Format output using a custom template"}}, 1, -1, true, run_inspect};
  return c;
}
const Command& cmd_network_rm() {
  static const Command c{"network rm", {"network remove"}, "NETWORK [NETWORK...]", "Remove one or more networks", {}, 1, -1, true, run_rm};
  return c;
}
const Command& cmd_network_prune() {
  static const Command c{"network prune", {}, "[OPTIONS]", "Remove all unused networks",
                         {{"filter", 0, FlagKind::List, "Provide filter values (e.g. \"until=<timestamp>\")", "filter"},
                          {"force", 'f', FlagKind::Bool, "Do not prompt for confirmation"}},
                         0, 0, true, run_prune};
  return c;
}
const Command& cmd_network_connect() {
  static const Command c{"network connect", {}, "[OPTIONS] NETWORK CONTAINER", "Connect a container to a network",
                         {{"alias", 0, FlagKind::List, "Add network-scoped alias for the container", "strings"},
                          {"ip", 0, FlagKind::String, "IPv4 address (e.g., \"172.30.100.104\")"},
                          {"ip6", 0, FlagKind::String, "IPv6 address (e.g., \"2001:db8::33\")"}},
                         2, 2, true, run_connect};
  return c;
}
const Command& cmd_network_disconnect() {
  static const Command c{"network disconnect", {}, "[OPTIONS] NETWORK CONTAINER", "Disconnect a container from a network",
                         {{"force", 'f', FlagKind::Bool, "Force the container to disconnect from a network"}},
                         2, 2, true, run_disconnect};
  return c;
}

}  // namespace berth::cli
