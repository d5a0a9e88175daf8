// SPDX-License-Identifier: Apache-2.0
// berth inspect / container inspect / image inspect / volume inspect / network inspect:
// a JSON array indented like docker's (4 spaces), or one --format line per object.
#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "cli/template.hpp"

namespace berth::cli {

static Result<Json> fetch(App& app, const std::string& type, const std::string& name, bool size) {
  std::string n = url_escape(name);
  if (type == "container") return app.get_json("/containers/" + n + "/json" + (size ? "?size=1" : ""));
  if (type == "image") return app.get_json("/images/" + n + "/json");
  if (type == "volume") return app.get_json("/volumes/" + n);
  if (type == "network") return app.get_json("/networks/" + n);
  return fail(Errc::InvalidArgument, "\"" + type + "\" is not a valid value for --type");
}

// Docker's "No such object" wording per type.
static std::string not_found(const std::string& type, const std::string& name) {
  if (type.empty()) return "Error: No such object: " + name;
  if (type == "container") return "Error: No such container: " + name;
  return "Error: No such image: " + name;
}

int inspect_objects(App& app, const std::string& type, const ParsedFlags& f) {
  std::string format = f.str("format");
  Template tmpl;
  bool use_tmpl = !format.empty();
  if (format == "json") use_tmpl = false;
  if (use_tmpl) {
    auto t = Template::parse(format);
    if (!t) return report(app, Error(Errc::InvalidArgument, "template parsing error: " + t.error().message()));
    tmpl = std::move(*t);
  }
  Json all = Json::array();
  int rc = 0;
  std::string text;
  for (const auto& name : f.args) {
    Result<Json> obj = fail(Errc::NotFound, "");
    if (type.empty()) {
      for (const char* t : {"container", "image", "volume", "network"}) {
        obj = fetch(app, t, name, f.flag("size"));
        if (obj || !obj.error().is(Errc::NotFound)) break;
        if (obj.error().message().rfind("Cannot connect", 0) == 0) break;
      }
    } else {
      obj = fetch(app, type, name, f.flag("size"));
    }
    if (!obj) {
      const std::string& m = obj.error().message();
      // docker volume/network inspect print the daemon's own words ("get x: no such volume")
      if (obj.error().is(Errc::NotFound) && m.rfind("Cannot connect", 0) != 0 && type != "volume" && type != "network")
        app.err(not_found(type, name) + "\n");
      else
        app.err(m + "\n");
      rc = kExitError;
      continue;
    }
    if (use_tmpl) {
      auto out = tmpl.execute(*obj);
      if (!out) {
        app.err("template: " + out.error().message() + "\n");
        return kExitError;
      }
      text += *out + "\n";
    } else {
      all.push_back(std::move(*obj));
    }
  }
  if (use_tmpl)
    app.out(text);
  else
    app.out(all.empty() ? "[]\n" : all.dump(4) + "\n");
  return rc;
}

static int run_inspect(App& app, const ParsedFlags& f) { return inspect_objects(app, f.str("type"), f); }
static int run_c_inspect(App& app, const ParsedFlags& f) { return inspect_objects(app, "container", f); }
static int run_i_inspect(App& app, const ParsedFlags& f) { return inspect_objects(app, "image", f); }

static std::vector<FlagSpec> inspect_flags(bool with_type, bool with_size) {
  std::vector<FlagSpec> v = {{"format", 'f', FlagKind::String, "Format output using a custom template: 'json', 'TEMPLATE'"}};
  if (with_size) v.push_back({"size", 's', FlagKind::Bool, "Display total file sizes if the type is container"});
  if (with_type) v.push_back({"type", 0, FlagKind::String, "Return JSON for specified type"});
  return v;
}

const Command& cmd_inspect() {
  static const Command c{"inspect", {}, "[OPTIONS] NAME|ID [NAME|ID...]",
                         "Return low-level information on berth objects", inspect_flags(true, true),
                         1, -1, true, run_inspect};
  return c;
}
const Command& cmd_container_inspect() {
  static const Command c{"container inspect", {}, "[OPTIONS] CONTAINER [CONTAINER...]",
                         "Display detailed information on one or more containers",
                         inspect_flags(false, true), 1, -1, true, run_c_inspect};
  return c;
}
const Command& cmd_image_inspect() {
  static const Command c{"image inspect", {}, "[OPTIONS] IMAGE [IMAGE...]",
                         "Display detailed information on one or more images",
                         inspect_flags(false, false), 1, -1, true, run_i_inspect};
  return c;
}

}  // namespace berth::cli
