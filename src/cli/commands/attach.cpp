// SPDX-License-Identifier: Apache-2.0
// berth attach [--no-stdin] [--sig-proxy] [--detach-keys K] CONTAINER
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "cli/cmd_util.hpp"

namespace berth::cli {

static int run_attach(App& app, const ParsedFlags& f) {
  auto info = inspect_container(app, f.args[0]);
  if (!info) return report(app, info.error());
  std::string id = info->value("Id", f.args[0]);
  const Json& state = (*info)["State"];
  if (!state.value("Running", false))
    return report(app, Error(Errc::Conflict, "You cannot attach to a stopped container, start it first"));
  if (state.value("Paused", false))
    return report(app, Error(Errc::Conflict, "You cannot attach to a paused container, unpause it first"));
  bool tty = (*info)["Config"].value("Tty", false);
  bool use_stdin = !f.flag("no-stdin") && (*info)["Config"].value("OpenStdin", false);
  Client* c = nullptr;
  if (auto cl = app.client()) c = *cl;
  else return report(app, cl.error());
  std::string q = "?stream=1&stdout=1&stderr=1&stdin=" + std::string(use_stdin ? "1" : "0");
  if (f.has("detach-keys")) q += "&detachKeys=" + url_escape(f.str("detach-keys"));
  auto conn = c->hijack("POST", "/containers/" + id + "/attach" + q, "", {});
  if (!conn) return report(app, conn.error());
  AttachOptions o;
  o.tty = tty;
  o.stdin = use_stdin;
  o.detach_keys = f.str("detach-keys");
  o.resize_path = "/containers/" + id + "/resize";
  if (f.flag("sig-proxy") && !tty) o.signal_path = "/containers/" + id + "/kill";
  auto det = pump_attach(app, *conn, o);
  if (!det) return report(app, det.error());
  if (*det) {
    // as the docker CLI: the detach is reported as "read escape sequence", status 1
    std::fputs("read escape sequence\n", stderr);  // the terminal is restored by now
    return 1;
  }
  auto w = app.call_json("POST", "/containers/" + id + "/wait?condition=not-running", Json());
  if (!w) return 0;
  return w->value("StatusCode", 0);
}

const Command& cmd_attach() {
  static const Command c{"attach", {"container attach"}, "[OPTIONS] CONTAINER",
                         "Attach local standard input, output, and error streams to a running container",
                         {{"detach-keys", 0, FlagKind::String, "Override the key sequence for detaching a container"},
                          {"no-stdin", 0, FlagKind::Bool, "Do not attach STDIN"},
                          {"sig-proxy", 0, FlagKind::Bool, "Proxy all received signals to the process", "", "true"}},
                         1, 1, true, run_attach};
  return c;
}

}  // namespace berth::cli
