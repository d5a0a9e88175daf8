// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the verbs: per-container loops, JSON progress streams, attach I/O.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "cli/cli.hpp"

namespace berth::cli {

// Runs fn for each name; prints the name on success (docker's stop/kill/rm/... output) unless
// quiet; prints errors to stderr. Returns 0 if all succeeded, else 1.
int for_each_arg(App& app, const std::vector<std::string>& names,
                 const std::function<Status(const std::string&)>& fn, bool print_names = true);

// Renders a JSON-message stream (pull/push/load/import/build) docker-style: per-layer lines
// with progress bars on a TTY, plain status lines otherwise. Fails with the stream's error.
class ProgressPrinter {
 public:
  explicit ProgressPrinter(App& app, bool tty);
  ~ProgressPrinter();
  // Feeds raw body bytes (newline-delimited JSON).
  void feed(std::string_view data);
  Status finish();
  std::string last_aux_id;   // aux.ID (build/commit)

 private:
  void message(const std::string& line);
  App& app_;
  bool tty_;
  std::string buf_;
  std::vector<std::string> ids_;  // layer lines on screen, in order
  std::string error_;
};

// Streams a request's JSON-message response through a ProgressPrinter.
Status run_progress(App& app, const std::string& method, const std::string& path,
                    const std::string& body, const Headers& headers, int body_fd = -1,
                    bool quiet = false);

// Bidirectional copy for attach/exec: stdin -> conn (raw mode + detach keys when tty),
// conn -> stdout/stderr (demultiplexed when !tty), SIGWINCH -> resize_path.
struct AttachOptions {
  bool tty = false;
  bool stdin = false;
  std::string detach_keys;      // "ctrl-p,ctrl-q" default
  std::string resize_path;      // "/containers/<id>/resize" or "/exec/<id>/resize"
  std::string signal_path;      // "/containers/<id>/kill" for signal proxying ("" off)
};
// Returns true if the user detached with the detach keys.
Result<bool> pump_attach(App& app, Hijacked& conn, const AttachOptions& o);
// Reads terminal size of stdout ({0,0} if not a tty).
std::pair<int, int> terminal_size();

// GET /containers/<id>/json
Result<Json> inspect_container(App& app, const std::string& id);

}  // namespace berth::cli

namespace berth::cli {
Result<std::string> base64_decode(std::string_view in);
// Registry host of an image reference ("docker.io" for Docker Hub names).
std::string registry_of(std::string_view ref);
// docker.io/library/busybox:latest from "busybox".
std::string normalize_ref(std::string_view ref);
// X-Registry-Auth for a registry from the stored credentials (config.json "auths").
std::string registry_auth(App& app, const std::string& registry);
std::string config_dir(App& app);
}  // namespace berth::cli

namespace berth::cli {
// GET path and write the body to `output` ("" = stdout, refused when stdout is a terminal).
int download_to(App& app, const std::string& path, const std::string& output, const std::string& what);
// Runs argv with stdout connected to the returned fd (for tar pipelines); pid via *pid.
Result<UniqueFd> spawn_reader(const std::vector<std::string>& argv, pid_t* pid);
// Runs argv with stdin from the returned fd.
Result<UniqueFd> spawn_writer(const std::vector<std::string>& argv, pid_t* pid);
int wait_child(pid_t pid);
}  // namespace berth::cli

namespace berth::cli {
// docker's prompt: prints msg + " Are you sure you want to continue? [y/N] " and reads a line;
// true only for "y"/"yes". force skips the prompt.
bool confirm(App& app, const std::string& msg, bool force);
}  // namespace berth::cli
