// SPDX-License-Identifier: Apache-2.0
// berth context create|ls|use|rm|inspect|show
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "cli/cmd_util.hpp"
#include "cli/context_store.hpp"
#include "cli/format.hpp"
#include "common/strings.hpp"

namespace berth::cli {

static ContextStore store(App& app) { return ContextStore(config_dir(app)); }

static std::string current_name(App& app) {
  if (!app.g.context.empty()) return app.g.context;
  for (const char* e : {"BERTH_CONTEXT", "DOCKER_CONTEXT"})
    if (const char* v = std::getenv(e); v && *v) return v;
  std::string c = store(app).current();
  return c.empty() ? "default" : c;
}

static std::string default_host() {
  for (const char* e : {"BERTH_HOST", "DOCKER_HOST"})
    if (const char* v = std::getenv(e); v && *v) return v;
  return kDefaultHost;
}

static int run_create(App& app, const ParsedFlags& f) {
  ContextInfo c;
  c.name = f.args[0];
  c.description = f.str("description");
  if (auto st = ContextStore::validate_name(c.name); !st) return report(app, st.error());
  if (store(app).get(c.name)) return report(app, Error(Errc::AlreadyExists, "context \"" + c.name + "\" already exists"));
  std::string docker = f.str("docker");
  for (const auto& kv : split(docker, ',')) {
    auto [k, v] = split_once(kv, '=');
    if (k == "host") c.host = std::string(v);
    else if (k == "ca") c.ca_cert = std::string(v);
    else if (k == "cert") c.cert = std::string(v);
    else if (k == "key") c.key = std::string(v);
    else if (k == "skip-tls-verify") c.skip_tls_verify = v == "true";
    else if (!k.empty()) return report(app, Error(Errc::InvalidArgument, "unable to parse docker host `" + std::string(k) + "`"));
  }
  if (f.has("host")) c.host = f.str("host");
  if (f.has("from")) {
    auto from = store(app).get(f.str("from"));
    if (!from) return report(app, from.error());
    if (c.host.empty()) c.host = from->host;
  }
  if (c.host.empty()) c.host = default_host();
  if (auto ep = parse_endpoint(c.host); !ep) return report(app, ep.error());
  if (auto st = store(app).save(c); !st) return report(app, st.error());
  app.out(c.name + "\n");
  app.err("Successfully created context \"" + c.name + "\"\n");
  return 0;
}

static int run_ls(App& app, const ParsedFlags& f) {
  auto list = store(app).list();
  if (!list) return report(app, list.error());
  std::string cur = current_name(app);
  std::vector<Json> rows;
  auto add = [&](const std::string& name, const std::string& desc, const std::string& host) {
    rows.push_back({{"Current", name == cur}, {"Description", desc}, {"DockerEndpoint", host}, {"Error", ""},
                    {"Name", name == cur && !f.flag("quiet") && f.str("format").empty() ? name + " *" : name}});
  };
  add("default", "Current BERTH_HOST based configuration", default_host());
  for (const auto& c : *list) add(c.name, c.description, c.host);
  Json headers = {{"Current", "CURRENT"}, {"Description", "DESCRIPTION"}, {"DockerEndpoint", "DOCKER ENDPOINT"},
                  {"Error", "ERROR"}, {"Name", "NAME"}};
  std::string format = f.flag("quiet") ? "{{.Name}}" : f.str("format");
  auto out = render_list(parse_list_format(format, "table {{.Name}}\t{{.Description}}\t{{.DockerEndpoint}}\t{{.Error}}"), rows, headers);
  if (!out) return report(app, out.error());
  app.out(*out);
  return 0;
}

static int run_use(App& app, const ParsedFlags& f) {
  const std::string& n = f.args[0];
  if (n != "default" && !store(app).get(n)) return report(app, Error(Errc::NotFound, "context \"" + n + "\" does not exist"));
  if (auto st = store(app).set_current(n); !st) return report(app, st.error());
  app.out(n + "\n");
  app.err("Current context is now \"" + n + "\"\n");
  for (const char* e : {"BERTH_HOST", "DOCKER_HOST"})
    if (const char* v = std::getenv(e); v && *v && n != "default")
      app.err(std::string("Warning: ") + e + " environment variable overrides the active context. To use \"" + n +
              "\", either set the global --context flag, or unset " + e + " environment variable.\n");
  return 0;
}

static int run_rm(App& app, const ParsedFlags& f) {
  int rc = 0;
  std::string cur = store(app).current();
  for (const auto& n : f.args) {
    if (n == "default") {
      app.err("default: context \"default\" cannot be removed\n");
      rc = kExitError;
      continue;
    }
    if (n == cur && !f.flag("force")) {
      app.err(n + ": context is in use, set -f flag to force remove\n");
      rc = kExitError;
      continue;
    }
    if (auto st = store(app).remove(n); !st) {
      app.err(st.error().message() + "\n");
      rc = kExitError;
      continue;
    }
    app.out(n + "\n");
  }
  return rc;
}

static Json context_json(const std::string& name, const std::string& desc, const std::string& host, const ContextInfo* c) {
  Json tls = Json::object();
  if (c && !c->ca_cert.empty()) tls = {{"docker", {{"CA", c->ca_cert}, {"Cert", c->cert}, {"Key", c->key}}}};
  return {{"Name", name},
          {"Metadata", desc.empty() ? Json::object() : Json{{"Description", desc}}},
          {"Endpoints", {{"docker", {{"Host", host}, {"SkipTLSVerify", c ? c->skip_tls_verify : false}}}}},
          {"TLSMaterial", tls},
          {"Storage", {{"MetadataPath", c ? "<config>/contexts/" + name + ".json" : "<IN MEMORY>"}, {"TLSPath", "<IN MEMORY>"}}}};
}

static int run_inspect(App& app, const ParsedFlags& f) {
  std::vector<std::string> names = f.args;
  if (names.empty()) names.push_back(current_name(app));
  Json all = Json::array();
  int rc = 0;
  for (const auto& n : names) {
    if (n == "default") {
      all.push_back(context_json("default", "Current BERTH_HOST based configuration", default_host(), nullptr));
      continue;
    }
    auto c = store(app).get(n);
    if (!c) {
      app.err(c.error().message() + "\n");
      rc = kExitError;
      continue;
    }
    all.push_back(context_json(c->name, c->description, c->host, &*c));
  }
  if (f.has("format")) {
    auto t = Template::parse(f.str("format"));
    if (!t) return report(app, t.error());
    for (const auto& o : all)
      if (auto s = t->execute(o)) app.out(*s + "\n");
    return rc;
  }
  app.out(all.dump(4) + "\n");
  return rc;
}

static int run_show(App& app, const ParsedFlags&) {
  app.out(current_name(app) + "\n");
  return 0;
}

const Command& cmd_context_create() {
  static const Command c{"context create", {}, "[OPTIONS] CONTEXT", "Create a context",
                         {{"description", 0, FlagKind::String, "Description of the context"},
                          {"docker", 0, FlagKind::String, "set the docker endpoint (host=unix:///...,ca=,cert=,key=,skip-tls-verify=)", "stringToString"},
                          {"from", 0, FlagKind::String, "create context from a named context"},
                          {"host", 'H', FlagKind::String, "daemon address (shortcut for --docker host=...)"}},
                         1, 1, true, run_create};
  return c;
}
const Command& cmd_context_ls() {
  static const Command c{"context ls", {"context list"}, "[OPTIONS]", "List contexts",
                         {{"format", 0, FlagKind::String, "Format output using a custom template"},
                          {"quiet", 'q', FlagKind::Bool, "Only show context names"}},
                         0, 0, true, run_ls};
  return c;
}
const Command& cmd_context_use() {
  static const Command c{"context use", {}, "CONTEXT", "Set the current berth context", {}, 1, 1, true, run_use};
  return c;
}
const Command& cmd_context_rm() {
  static const Command c{"context rm", {"context remove"}, "CONTEXT [CONTEXT...]", "Remove one or more contexts",
                         {{"force", 'f', FlagKind::Bool, "Force the removal of a context in use"}}, 1, -1, true, run_rm};
  return c;
}
const Command& cmd_context_inspect() {
  static const Command c{"context inspect", {}, "[OPTIONS] [CONTEXT] [CONTEXT...]", "Display detailed information on one or more contexts",
                         {{"format", 'f', FlagKind::String, "Format output using a custom template"}}, 0, -1, true, run_inspect};
  return c;
}
const Command& cmd_context_show() {
  static const Command c{"context show", {}, "", "Print the name of the current context", {}, 0, 0, true, run_show};
  return c;
}

}  // namespace berth::cli
