// SPDX-License-Identifier: Apache-2.0
// berth login [-u USER] [-p PASS | --password-stdin] [SERVER] / berth logout [SERVER]
// Credentials are kept in <config>/config.json "auths" like docker's config.json.
#include <termios.h>
#include <unistd.h>


#include <nlohmann/json.hpp>

#include "common/base64.hpp"
#include "cli/cli.hpp"
#include "cli/cmd_util.hpp"
#include "common/file.hpp"
#include "common/strings.hpp"

namespace berth::cli {

static Json load_config(App& app) {
  auto txt = read_file(config_dir(app) + "/config.json");
  if (!txt) return Json::object();
  try {
    return Json::parse(*txt);
  } catch (...) {
    return Json::object();
  }
}

static Status save_config(App& app, const Json& j) {
  TRY(mkdir_all(config_dir(app), 0700));
  return atomic_write_file(config_dir(app) + "/config.json", j.dump(1, '\t') + "\n", 0600);
}

static std::string read_line(bool echo) {
  struct termios old{}, t{};
  bool tty = ::isatty(STDIN_FILENO) == 1;
  if (!echo && tty) {
    ::tcgetattr(STDIN_FILENO, &old);
    t = old;
    t.c_lflag &= static_cast<tcflag_t>(~ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &t);
  }
  std::string line;
  char c;
  while (::read(STDIN_FILENO, &c, 1) == 1 && c != '\n') line += c;
  if (!echo && tty) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
    ::write(STDOUT_FILENO, "\n", 1);
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

static int run_login(App& app, const ParsedFlags& f) {
  std::string server = f.args.empty() ? "https://index.docker.io/v1/" : f.args[0];
  std::string user = f.str("username"), pass = f.str("password");
  if (f.flag("password-stdin")) {
    if (f.has("password")) return report(app, Error(Errc::InvalidArgument, "--password and --password-stdin are mutually exclusive"));
    if (user.empty()) return report(app, Error(Errc::InvalidArgument, "Must provide --username with --password-stdin"));
    auto all = read_fd(STDIN_FILENO, 1 << 20);
    pass = all ? std::string(trim(*all)) : "";
  }
  if (user.empty()) {
    app.out("Username: ");
    user = read_line(true);
  }
  if (pass.empty()) {
    app.out("Password: ");
    pass = read_line(false);
  }
  if (f.has("password")) app.err("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
  Json body = {{"username", user}, {"password", pass}, {"serveraddress", server}};
  auto r = app.call_json("POST", "/auth", body);
  if (!r) return report(app, r.error());
  Json cfg = load_config(app);
  cfg["auths"][server] = {{"auth", base64_encode(user + ":" + pass)}};
  if (auto st = save_config(app, cfg); !st) return report(app, st.error());
  app.out(r->value("Status", "Login Succeeded") + "\n");
  return 0;
}

static int run_logout(App& app, const ParsedFlags& f) {
  std::string server = f.args.empty() ? "https://index.docker.io/v1/" : f.args[0];
  Json cfg = load_config(app);
  if (!cfg.contains("auths") || !cfg["auths"].contains(server)) {
    app.out("Not logged in to " + server + "\n");
    return 0;
  }
  app.out("Removing login credentials for " + server + "\n");
  cfg["auths"].erase(server);
  if (auto st = save_config(app, cfg); !st) return report(app, st.error());
  return 0;
}

const Command& cmd_login() {
  static const Command c{"login", {}, "[OPTIONS] [SERVER]", "Authenticate to a registry",
                         {{"password", 'p', FlagKind::String, "Password or Personal Access Token (PAT)"},
                          {"password-stdin", 0, FlagKind::Bool, "Take the Password or Personal Access Token (PAT) from stdin"},
                          {"username", 'u', FlagKind::String, "Username"}},
                         0, 1, true, run_login};
  return c;
}

const Command& cmd_logout() {
  static const Command c{"logout", {}, "[SERVER]", "Log out from a registry", {}, 0, 1, true, run_logout};
  return c;
}

}  // namespace berth::cli
