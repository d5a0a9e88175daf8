// SPDX-License-Identifier: Apache-2.0
// berth run: create (pulling a missing image), attach, wait, start, pump I/O, exit with the
// container's status. Exit codes as docker: 125 daemon/usage error, 126 cannot invoke,
// 127 command not found, else the container's.
#include <unistd.h>

#include <future>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "cli/cmd_util.hpp"
#include "cli/create_opts.hpp"
#include "common/file.hpp"

namespace berth::cli {

int run_error(App& app, const std::string& verb, const std::string& msg, int code) {
  app.err("berth: " + msg + "\n\nRun 'berth " + verb + " --help' for more information\n");
  return code;
}

static int start_error_code(const std::string& m) {
  if (m.find("executable file not found") != std::string::npos ||
      m.find("no such file or directory") != std::string::npos)
    return kExitNotFound;
  if (m.find("permission denied") != std::string::npos || m.find("not a directory") != std::string::npos)
    return kExitCannotInvoke;
  return kExitUsage;
}

Status pull_image(App& app, const std::string& image, const std::string& platform, bool to_stderr);

// Shared by run and create: POST /containers/create, pulling the image when missing.
Result<std::string> create_container(App& app, const CreateRequest& req) {
  std::string path = "/containers/create";
  std::string q;
  if (!req.name.empty()) q += "name=" + url_escape(req.name);
  if (!req.platform.empty()) q += (q.empty() ? "" : "&") + std::string("platform=") + url_escape(req.platform);
  if (!q.empty()) path += "?" + q;
  if (req.pull == "always") TRY(pull_image(app, req.image, req.platform, true));
  auto r = app.call("POST", path, req.body.dump());
  if (!r && r.error().is(Errc::NotFound) && req.pull == "missing" &&
      r.error().message().find("No such image") != std::string::npos) {
    std::string ref = req.image;
    auto slash = ref.rfind('/');
    if (ref.find('@') == std::string::npos && ref.find(':', slash == std::string::npos ? 0 : slash) == std::string::npos)
      ref += ":latest";
    app.err("Unable to find image '" + ref + "' locally\n");
    TRY(pull_image(app, req.image, req.platform, true));
    r = app.call("POST", path, req.body.dump());
  }
  if (!r) return fail(std::move(r).error());
  Json j;
  try {
    j = Json::parse(r->body);
  } catch (const std::exception& e) {
    return fail(Errc::DataLoss, std::string("bad create response: ") + e.what());
  }
  if (j.contains("Warnings") && j["Warnings"].is_array())
    for (const auto& w : j["Warnings"])
      if (w.is_string()) app.err("WARNING: " + w.get<std::string>() + "\n");
  std::string id = j.value("Id", "");
  if (!req.cidfile.empty()) {
    if (path_exists(req.cidfile))
      return fail(Errc::AlreadyExists, "container ID file found, make sure the other container isn't running or delete " + req.cidfile);
    TRY(write_file(req.cidfile, id));
  }
  return id;
}

static int run_run(App& app, const ParsedFlags& f) {
  auto req = build_create_request(f, true);
  if (!req) return run_error(app, "run", req.error().message() + ".", kExitUsage);
  if (req->tty && req->interactive && !req->detach && ::isatty(STDIN_FILENO) != 1) {
    app.err("the input device is not a TTY\n");
    return kExitError;
  }
  auto id = create_container(app, *req);
  if (!id) return run_error(app, "run", id.error().message(), kExitUsage);
  std::string cid = url_escape(*id);

  if (req->detach) {
    auto st = app.call("POST", "/containers/" + cid + "/start");
    if (!st) return run_error(app, "run", st.error().message(), start_error_code(st.error().message()));
    app.out(*id + "\n");
    return 0;
  }

  const Json& b = req->body;
  bool att_in = b.value("AttachStdin", false), att_out = b.value("AttachStdout", false),
       att_err = b.value("AttachStderr", false);
  // attach before start so no output is lost
  Client* c = nullptr;
  if (auto cl = app.client()) c = *cl;
  else return run_error(app, "run", cl.error().message(), kExitUsage);
  std::string apath = "/containers/" + cid + "/attach?stream=1&stdin=" + (att_in ? "1" : "0") +
                      "&stdout=" + (att_out ? "1" : "0") + "&stderr=" + (att_err ? "1" : "0");
  if (!req->detach_keys.empty()) apath += "&detachKeys=" + url_escape(req->detach_keys);
  Result<Hijacked> conn = fail(Errc::Internal, "not attached");
  if (att_in || att_out || att_err) {
    conn = c->hijack("POST", apath, "", {});
    if (!conn) return run_error(app, "run", conn.error().message(), kExitUsage);
  }
  // wait (on its own connection) before start, like docker
  auto ep = app.endpoint();
  std::promise<Result<int>> wait_p;
  auto wait_f = wait_p.get_future();
  std::string cond = req->auto_remove ? "removed" : "next-exit";
  std::thread waiter([ep = *ep, cid, cond, p = std::move(wait_p)]() mutable {
    auto wc = make_client(ep);
    auto r = wc->request("POST", "/containers/" + cid + "/wait?condition=" + cond, "", {});
    if (!r) {
      p.set_value(fail(std::move(r).error()));
      return;
    }
    if (r->status >= 400) {
      p.set_value(fail(daemon_error(*r)));
      return;
    }
    try {
      Json j = Json::parse(r->body);
      if (j.contains("Error") && j["Error"].is_object() && !j["Error"].value("Message", "").empty()) {
        p.set_value(fail(Errc::Internal, j["Error"].value("Message", "")));
        return;
      }
      p.set_value(j.value("StatusCode", 0));
    } catch (const std::exception& e) {
      p.set_value(fail(Errc::DataLoss, e.what()));
    }
  });
  waiter.detach();
  auto st = app.call("POST", "/containers/" + cid + "/start");
  if (!st) {
    int code = start_error_code(st.error().message());
    if (req->auto_remove) (void)app.call("DELETE", "/containers/" + cid + "?force=1");
    return run_error(app, "run", st.error().message(), code);
  }
  if (conn) {
    AttachOptions o;
    o.tty = req->tty;
    o.stdin = att_in;
    o.detach_keys = req->detach_keys;
    o.resize_path = "/containers/" + cid + "/resize";
    if (f.flag("sig-proxy") && !req->tty) o.signal_path = "/containers/" + cid + "/kill";
    auto detached = pump_attach(app, *conn, o);
    if (!detached) return report(app, detached.error());
    if (*detached) return 0;
  }
  auto code = wait_f.get();
  if (!code) return report(app, code.error(), kExitUsage);
  return *code;
}

const Command& cmd_run() {
  static const Command c{"run", {"container run"}, "[OPTIONS] IMAGE [COMMAND] [ARG...]",
                         "Create and run a new container from an image",
                         container_create_flags(true), 1, -1, false, run_run};
  return c;
}

}  // namespace berth::cli
