// SPDX-License-Identifier: Apache-2.0
// Global options, endpoint resolution, dispatch to the command table, help and errors.
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "cli/context_store.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"

namespace berth::cli {

// ---------------------------------------------------------------------------------------------
// App

std::string App::context_name() {
  if (!resolved_) (void)endpoint();
  return ctx_;
}

Result<Endpoint> App::endpoint() {
  if (resolved_) return ep_;
  std::string host = g.host;
  std::string ctx = "default";
  ContextStore store(g.config_dir.empty() ? ContextStore::default_dir() : g.config_dir);
  ContextInfo info;
  if (host.empty()) {
    std::string name = g.context;
    const char* env_host = std::getenv("BERTH_HOST");
    if (!env_host || !*env_host) env_host = std::getenv("DOCKER_HOST");
    if (name.empty() && env_host && *env_host) {
      host = env_host;
    } else {
      if (name.empty()) {
        const char* e = std::getenv("BERTH_CONTEXT");
        if (!e || !*e) e = std::getenv("DOCKER_CONTEXT");
        if (e && *e) name = e;
      }
      if (name.empty()) name = store.current();
      if (!name.empty() && name != "default") {
        info = TRY(store.get(name));
        host = info.host;
        ctx = name;
      }
    }
  }
  if (host.empty()) host = kDefaultHost;
  Endpoint ep = TRY(parse_endpoint(host));
  if (g.tls || g.tlsverify || !info.ca_cert.empty()) {
    ep.tls = ep.kind == Endpoint::Tcp;
    ep.ca_cert = g.tlscacert.empty() ? info.ca_cert : g.tlscacert;
    ep.cert = g.tlscert.empty() ? info.cert : g.tlscert;
    ep.key = g.tlskey.empty() ? info.key : g.tlskey;
  }
  ep_ = ep;
  ctx_ = ctx;
  resolved_ = true;
  return ep_;
}

Result<Client*> App::client() {
  if (client_) return client_.get();
  Endpoint ep = TRY(endpoint());
  client_ = make_client(ep);
  if (!client_) return fail(Errc::Unimplemented, "unsupported daemon address " + ep.original);
  return client_.get();
}

Result<Response> App::call(const std::string& method, const std::string& path,
                           const std::string& body, const Headers& headers) {
  Client* c = TRY(client());
  Headers h = headers;
  if (!body.empty()) {
    bool has_ct = false;
    for (auto& [k, v] : h)
      if (to_lower(k) == "content-type") has_ct = true;
    if (!has_ct) h.emplace_back("Content-Type", "application/json");
  }
  Response r = TRY(c->request(method, path, body, h));
  if (r.status >= 400) return fail(daemon_error(r));
  return r;
}

Result<Json> App::get_json(const std::string& path) {
  Response r = TRY(call("GET", path));
  try {
    return Json::parse(r.body);
  } catch (const std::exception& e) {
    return fail(Errc::DataLoss, std::string("invalid JSON from daemon: ") + e.what());
  }
}

Result<Json> App::call_json(const std::string& method, const std::string& path, const Json& body) {
  Response r = TRY(call(method, path, body.is_null() ? std::string() : body.dump()));
  if (r.body.empty()) return Json();
  try {
    return Json::parse(r.body);
  } catch (const std::exception& e) {
    return fail(Errc::DataLoss, std::string("invalid JSON from daemon: ") + e.what());
  }
}

void App::out(std::string_view s) { (void)write_fd_all(STDOUT_FILENO, s); }
void App::err(std::string_view s) { (void)write_fd_all(STDERR_FILENO, s); }
bool App::stdout_tty() const { return ::isatty(STDOUT_FILENO) == 1; }

Status write_fd_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("write");
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return ok();
}

std::size_t demux_stream(std::string& buf, int out_fd, int err_fd) {
  std::size_t pos = 0;
  while (buf.size() - pos >= 8) {
    auto* h = reinterpret_cast<const unsigned char*>(buf.data() + pos);
    std::size_t len = (std::size_t(h[4]) << 24) | (std::size_t(h[5]) << 16) |
                      (std::size_t(h[6]) << 8) | std::size_t(h[7]);
    if (buf.size() - pos - 8 < len) break;
    int fd = h[0] == 2 ? err_fd : out_fd;
    (void)write_fd_all(fd, std::string_view(buf).substr(pos + 8, len));
    pos += 8 + len;
  }
  buf.erase(0, pos);
  return buf.size();
}

int report(App& app, const Error& e, int code) {
  std::string m = e.message();
  if (m.rfind("Error", 0) != 0 && m.rfind("Cannot connect", 0) != 0 && m.rfind("berth:", 0) != 0)
    m = "Error: " + m;
  app.err(m + "\n");
  return code;
}

std::string url_escape(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string filters_json(const std::vector<std::string>& filters) {
  if (filters.empty()) return "";
  nlohmann::json j = nlohmann::json::object();
  for (const auto& f : filters) {
    auto [k, v] = split_once(f, '=');
    j[std::string(trim(k))][std::string(trim(v))] = true;
  }
  return j.dump();
}

// ---------------------------------------------------------------------------------------------
// Help

static const std::vector<std::pair<std::string, std::string>> kGroups = {
    {"container", "Manage containers"}, {"image", "Manage images"},
    {"volume", "Manage volumes"},       {"network", "Manage networks"},
    {"system", "Manage berth"},         {"context", "Manage contexts"},
    {"completion", "Generate shell completion scripts"}};

std::string command_help(const Command& c) {
  std::string s = "\nUsage:  berth " + c.name + (c.usage.empty() ? "" : " " + c.usage) + "\n\n" +
                  c.summary + "\n";
  if (!c.aliases.empty()) {
    s += "\nAliases:\n  ";
    for (std::size_t i = 0; i < c.aliases.size(); ++i) s += (i ? ", berth " : "berth ") + c.aliases[i];
    s += ", berth " + c.name + "\n";
  }
  auto flags = c.flags;
  flags.push_back({"help", 0, FlagKind::Bool, "Print usage", "", "", true});
  std::string opts = flag_usages(flags);
  if (!opts.empty()) s += "\nOptions:\n" + opts;
  return s;
}

std::string group_help(const std::string& group) {
  std::string summary;
  for (auto& [g, d] : kGroups)
    if (g == group) summary = d;
  std::string s = "\nUsage:  berth " + group + " COMMAND\n\n" + summary + "\n\nCommands:\n";
  std::vector<std::pair<std::string, std::string>> subs;
  std::size_t w = 0;
  for (const Command* c : commands()) {
    auto consider = [&](const std::string& n) {
      if (n.rfind(group + " ", 0) == 0) {
        std::string sub = n.substr(group.size() + 1);
        subs.emplace_back(sub, c->summary);
        w = std::max(w, sub.size());
      }
    };
    consider(c->name);
    for (auto& a : c->aliases) consider(a);
  }
  std::sort(subs.begin(), subs.end());
  subs.erase(std::unique(subs.begin(), subs.end(),
                         [](auto& a, auto& b) { return a.first == b.first; }),
             subs.end());
  for (auto& [n, d] : subs) s += "  " + n + std::string(w - n.size() + 3, ' ') + d + "\n";
  s += "\nRun 'berth " + group + " COMMAND --help' for more information on a command.\n";
  return s;
}

static std::vector<FlagSpec> global_flags() {
  return {
      {"config", 0, FlagKind::String, "Location of client config files", "string", "~/.config/berth"},
      {"context", 'c', FlagKind::String,
       "Name of the context to use to connect to the daemon (overrides BERTH_HOST env var and "
       "default context set with \"berth context use\")"},
      {"debug", 'D', FlagKind::Bool, "Enable debug mode"},
      {"host", 'H', FlagKind::List, "Daemon socket to connect to"},
      {"log-level", 'l', FlagKind::String,
       "Set the logging level (\"debug\", \"info\", \"warn\", \"error\", \"fatal\")", "string", "info"},
      {"tls", 0, FlagKind::Bool, "Use TLS; implied by --tlsverify"},
      {"tlscacert", 0, FlagKind::String, "Trust certs signed only by this CA"},
      {"tlscert", 0, FlagKind::String, "Path to TLS certificate file"},
      {"tlskey", 0, FlagKind::String, "Path to TLS key file"},
      {"tlsverify", 0, FlagKind::Bool, "Use TLS and verify the remote"},
      {"version", 'v', FlagKind::Bool, "Print version information and quit"},
      {"help", 'h', FlagKind::Bool, "Print usage", "", "", true},
  };
}

static std::string main_help() {
  std::string s =
      "\nUsage:  berth [OPTIONS] COMMAND\n\nA self-sufficient runtime for containers\n\n"
      "Common Commands:\n";
  std::vector<std::pair<std::string, std::string>> rows;
  std::size_t w = 0;
  for (const Command* c : commands()) {
    if (c->name.find(' ') != std::string::npos) continue;
    rows.emplace_back(c->name, c->summary);
    w = std::max(w, c->name.size());
  }
  for (auto& [g, d] : kGroups) {
    rows.emplace_back(g, d);
    w = std::max(w, g.size());
  }
  std::sort(rows.begin(), rows.end());
  for (auto& [n, d] : rows) s += "  " + n + std::string(w - n.size() + 3, ' ') + d + "\n";
  s += "\nGlobal Options:\n" + flag_usages(global_flags());
  s += "\nRun 'berth COMMAND --help' for more information on a command.\n";
  return s;
}

// ---------------------------------------------------------------------------------------------
// Dispatch

static const Command* find_command(const std::vector<std::string>& words, std::size_t& consumed) {
  if (words.size() >= 2) {
    std::string two = words[0] + " " + words[1];
    for (const Command* c : commands()) {
      if (c->name == two || std::find(c->aliases.begin(), c->aliases.end(), two) != c->aliases.end()) {
        consumed = 2;
        return c;
      }
    }
  }
  if (!words.empty()) {
    for (const Command* c : commands()) {
      if (c->name == words[0] ||
          std::find(c->aliases.begin(), c->aliases.end(), words[0]) != c->aliases.end()) {
        consumed = 1;
        return c;
      }
    }
  }
  return nullptr;
}

static bool is_group(const std::string& w) {
  for (auto& [g, d] : kGroups)
    if (g == w) return true;
  return false;
}

int run_cli(int argc, char** argv) {
  App app;
  std::vector<std::string> args(argv + 1, argv + argc);
  // Global flags come before the command name.
  ParseOptions po;
  po.interspersed = false;
  auto gp = parse_flags(global_flags(), args, po);
  if (!gp) {
    app.err(gp.error().message() + "\nSee 'berth --help'.\n");
    return kExitUsage;
  }
  if (gp->flag("help") || (gp->args.empty() && !gp->flag("version"))) {
    app.out(main_help());
    return 0;
  }
  if (gp->flag("version")) {
    app.out(std::string("berth version ") + BERTH_VERSION_STRING + "\n");
    return 0;
  }
  auto& g = app.g;
  if (!gp->list("host").empty()) g.host = gp->list("host").back();
  g.context = gp->str("context");
  g.config_dir = gp->opt("config").value_or("");
  g.debug = gp->flag("debug");
  g.log_level = gp->str("log-level");
  g.tls = gp->flag("tls");
  g.tlsverify = gp->flag("tlsverify");
  g.tlscacert = gp->str("tlscacert");
  g.tlscert = gp->str("tlscert");
  g.tlskey = gp->str("tlskey");
  if (!g.host.empty() && !g.context.empty()) {
    app.err("conflicting options: either specify --host or --context, not both\n");
    return kExitError;
  }
  log::set_tag("berth");
  log::Level lvl;
  if (g.debug) log::set_level(log::Level::Debug);
  else if (log::parse_level(g.log_level, &lvl)) log::set_level(lvl);

  const auto& words = gp->args;
  std::size_t consumed = 0;
  const Command* cmd = find_command(words, consumed);
  if (!cmd) {
    if (is_group(words[0])) {
      if (words.size() == 1 || words[1] == "--help" || words[1] == "-h") {
        app.out(group_help(words[0]));
        return 0;
      }
      app.err("berth: unknown command: berth " + words[0] + " " + words[1] +
              "\n\nRun 'berth " + words[0] + " --help' for more information\n");
      return kExitError;
    }
    app.err("berth: unknown command: berth " + words[0] +
            "\n\nRun 'berth --help' for more information\n");
    return kExitError;
  }
  std::vector<std::string> rest(words.begin() + static_cast<long>(consumed), words.end());
  auto specs = cmd->flags;
  specs.push_back({"help", 0, FlagKind::Bool, "Print usage", "", "", true});
  ParseOptions cpo;
  cpo.interspersed = cmd->interspersed;
  auto pf = parse_flags(specs, rest, cpo);
  if (!pf) {
    app.err(pf.error().message() + "\n\nUsage:  berth " + cmd->name + " " + cmd->usage +
            "\n\nRun 'berth " + cmd->name + " --help' for more information\n");
    return kExitUsage;
  }
  if (pf->flag("help")) {
    app.out(command_help(*cmd));
    return 0;
  }
  int n = static_cast<int>(pf->args.size());
  auto arity_error = [&](const std::string& what) {
    app.err("berth: 'berth " + cmd->name + "' " + what + "\n\nUsage:  berth " + cmd->name + " " +
            cmd->usage + "\n\nSee 'berth " + cmd->name + " --help' for more information\n");
    return kExitError;
  };
  auto plural = [](int k) { return std::to_string(k) + (k == 1 ? " argument" : " arguments"); };
  if (cmd->min_args == cmd->max_args && n != cmd->min_args)
    return arity_error("requires " + std::string(cmd->min_args == 0 ? "no arguments" : "exactly " + plural(cmd->min_args)));
  if (n < cmd->min_args) return arity_error("requires at least " + plural(cmd->min_args));
  if (cmd->max_args >= 0 && n > cmd->max_args)
    return arity_error(cmd->max_args == 0 ? "accepts no arguments" : "requires at most " + plural(cmd->max_args));
  try {
    return cmd->run(app, *pf);
  } catch (const std::exception& e) {
    app.err(std::string("Error: ") + e.what() + "\n");
    return kExitError;
  }
}

}  // namespace berth::cli
