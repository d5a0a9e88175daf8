// SPDX-License-Identifier: Apache-2.0
// berth exec [-d] [-i] [-t] [-e K=V] [-u USER] [-w DIR] CONTAINER COMMAND [ARG...]
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "cli/cmd_util.hpp"
#include "common/strings.hpp"

namespace berth::cli {

static int run_exec(App& app, const ParsedFlags& f) {
  const std::string& ctr = f.args[0];
  std::vector<std::string> cmd(f.args.begin() + 1, f.args.end());
  bool tty = f.flag("tty"), interactive = f.flag("interactive"), detach = f.flag("detach");
  if (tty && interactive && !detach && ::isatty(STDIN_FILENO) != 1) {
    app.err("the input device is not a TTY\n");
    return kExitError;
  }
  std::vector<std::string> env;
  for (const auto& file : f.list("env-file")) {
    FILE* fp = std::fopen(file.c_str(), "r");
    if (!fp) return report(app, Error(Errc::NotFound, "open " + file + ": no such file or directory"));
    char line[8192];
    while (std::fgets(line, sizeof line, fp)) {
      std::string l(trim(line));
      if (!l.empty() && l[0] != '#') env.push_back(l);
    }
    std::fclose(fp);
  }
  for (const auto& e : f.list("env")) env.push_back(e);
  Json body = Json::object();
  body["User"] = f.str("user");
  body["Privileged"] = f.flag("privileged");
  body["Tty"] = tty;
  body["ConsoleSize"] = Json::array({0, 0});
  if (tty) {
    auto [h, w] = terminal_size();
    body["ConsoleSize"] = Json::array({h, w});
  }
  body["AttachStdin"] = interactive && !detach;
  body["AttachStderr"] = !detach;
  body["AttachStdout"] = !detach;
  if (f.has("detach-keys")) body["DetachKeys"] = f.str("detach-keys");
  body["Env"] = env.empty() ? Json() : Json(env);
  body["WorkingDir"] = f.str("workdir");
  body["Cmd"] = cmd;
  auto created = app.call_json("POST", "/containers/" + url_escape(ctr) + "/exec", body);
  if (!created) return report(app, created.error());
  std::string id = created->value("Id", "");
  if (id.empty()) return report(app, Error(Errc::Internal, "exec ID empty"));
  Json start = {{"Detach", detach}, {"Tty", tty}, {"ConsoleSize", body["ConsoleSize"]}};
  if (detach) {
    auto r = app.call_json("POST", "/exec/" + id + "/start", start);
    if (!r) return report(app, r.error());
    return 0;
  }
  Client* c = nullptr;
  if (auto cl = app.client()) c = *cl;
  else return report(app, cl.error());
  auto conn = c->hijack("POST", "/exec/" + id + "/start", start.dump(), {{"Content-Type", "application/json"}});
  if (!conn) {
    const std::string& m = conn.error().message();
    if (m.find("executable file not found") != std::string::npos || m.find("no such file") != std::string::npos) {
      app.err(m + "\n");
      return kExitNotFound;
    }
    return report(app, conn.error());
  }
  AttachOptions o;
  o.tty = tty;
  o.stdin = interactive;
  o.detach_keys = f.str("detach-keys");
  o.resize_path = "/exec/" + id + "/resize";
  auto det = pump_attach(app, *conn, o);
  if (!det) return report(app, det.error());
  if (*det) return 0;
  auto info = app.get_json("/exec/" + id + "/json");
  if (!info) return report(app, info.error());
  if ((*info)["ExitCode"].is_number()) return (*info)["ExitCode"].get<int>();
  return 0;
}

const Command& cmd_exec() {
  static const Command c{"exec", {"container exec"}, "[OPTIONS] CONTAINER COMMAND [ARG...]",
                         "Execute a command in a running container",
                         {{"detach", 'd', FlagKind::Bool, "Detached mode: run command in the background"},
                          {"detach-keys", 0, FlagKind::String, "Override the key sequence for detaching a container"},
                          {"env", 'e', FlagKind::List, "Set environment variables"},
                          {"env-file", 0, FlagKind::List, "Read in a file of environment variables"},
                          {"interactive", 'i', FlagKind::Bool, "Keep STDIN open even if not attached"},
                          {"privileged", 0, FlagKind::Bool, "Give extended privileges to the command"},
                          {"tty", 't', FlagKind::Bool, "Allocate a pseudo-TTY"},
                          {"user", 'u', FlagKind::String, "Username or UID (format: \"<name|uid>[:<group|gid>]\")"},
                          {"workdir", 'w', FlagKind::String, "Working directory inside the container"}},
                         2, -1, false, run_exec};
  return c;
}

}  // namespace berth::cli
