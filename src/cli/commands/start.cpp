// SPDX-License-Identifier: Apache-2.0
// berth start [-a] [-i] CONTAINER...
#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "cli/cmd_util.hpp"
#include "common/strings.hpp"

namespace berth::cli {

static int run_start(App& app, const ParsedFlags& f) {
  bool attach = f.flag("attach"), interactive = f.flag("interactive");
  if (!attach && !interactive) {
    std::vector<std::string> failed;
    int rc = for_each_arg(app, f.args, [&](const std::string& n) -> Status {
      auto st = app.call("POST", "/containers/" + url_escape(n) + "/start");
      if (st) return ok();
      failed.push_back(n);
      return fail(std::move(st).error());
    });
    // docker: one summary line after the per-container errors
    if (!failed.empty()) app.err("Error: failed to start containers: " + join(failed, ", ") + "\n");
    return rc;
  }
  if (f.args.size() > 1) return report(app, Error(Errc::InvalidArgument, "you cannot start and attach multiple containers at once"));
  auto info = inspect_container(app, f.args[0]);
  if (!info) return report(app, info.error());
  std::string id = info->value("Id", f.args[0]);
  bool tty = (*info)["Config"].value("Tty", false);
  Client* c = nullptr;
  if (auto cl = app.client()) c = *cl;
  else return report(app, cl.error());
  auto conn = c->hijack("POST", "/containers/" + id + "/attach?stream=1&stdout=1&stderr=1&stdin=" +
                                    std::string(interactive ? "1" : "0"), "", {});
  if (!conn) return report(app, conn.error());
  auto st = app.call("POST", "/containers/" + id + "/start");
  if (!st) return report(app, st.error());
  AttachOptions o;
  o.tty = tty;
  o.stdin = interactive;
  o.detach_keys = f.str("detach-keys");
  o.resize_path = "/containers/" + id + "/resize";
  auto det = pump_attach(app, *conn, o);
  if (!det) return report(app, det.error());
  if (*det) return 0;
  auto w = app.call_json("POST", "/containers/" + id + "/wait?condition=not-running", Json());
  if (!w) return report(app, w.error());
  return w->value("StatusCode", 0);
}

const Command& cmd_start() {
  static const Command c{"start", {"container start"}, "[OPTIONS] CONTAINER [CONTAINER...]",
                         "Start one or more stopped containers",
                         {{"attach", 'a', FlagKind::Bool, "Attach STDOUT/STDERR and forward signals"},
                          {"detach-keys", 0, FlagKind::String, "Override the key sequence for detaching a container"},
                          {"interactive", 'i', FlagKind::Bool, "Attach container's STDIN"}},
                         1, -1, true, run_start};
  return c;
}

}  // namespace berth::cli
