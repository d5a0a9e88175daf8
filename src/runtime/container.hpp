// SPDX-License-Identifier: Apache-2.0
// The runtime's operations, one per runc verb (create.cpp, start.cpp, ...). Each returns the
// process exit code or an Error whose message the CLI prints like runc ("berth-runtime: msg").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cgroups/cgroups.hpp"
#include "common/result.hpp"
#include "runtime/spec.hpp"
#include "runtime/state.hpp"

namespace berth::runtime {

struct Globals {
  std::string root = kDefaultRoot;
  bool debug = false;
  bool systemd_cgroup = false;
};

struct CreateOptions {
  std::string id;
  std::string bundle = ".";
  std::string console_socket;
  std::string pid_file;
  bool no_pivot = false;
  bool no_new_keyring = false;
  int preserve_fds = 0;
};

// create: sets everything up and leaves the init blocked on exec.fifo.
Status create(const Globals& g, const CreateOptions& o);
// run: create + start; detached returns 0 at once, otherwise waits and returns the exit code
// (128+signal) after deleting the container.
Result<int> run(const Globals& g, const CreateOptions& o, bool detach, bool keep);
Status start(const Globals& g, const std::string& id);
Status kill(const Globals& g, const std::string& id, int sig, bool all);
Status destroy(const Globals& g, const std::string& id, bool force);
// destroy for a state already loaded (or just made by run); known: its cgroup, if at hand.
Status destroy_loaded(const Globals& g, const ContainerState& s, bool force, cgroups::Manager* known);
Result<std::string> state(const Globals& g, const std::string& id);
Status pause(const Globals& g, const std::string& id);
Status resume(const Globals& g, const std::string& id);
Result<std::vector<pid_t>> container_pids(const Globals& g, const std::string& id);
Status update(const Globals& g, const std::string& id, const cgroups::Resources& r);
Result<cgroups::Stats> stats(const Globals& g, const std::string& id);

struct ExecOptions {
  std::string id;
  Process process;
  std::string console_socket, pid_file;
  bool detach = false;
  int preserve_fds = 0;
  bool ignore_paused = false;
  std::vector<std::string> cgroups;  // --cgroup [controller[,controller]:]path
};
// Loads the container's config.json process as the base for exec's flags.
Result<Process> container_process(const Globals& g, const std::string& id);
Result<int> exec(const Globals& g, const ExecOptions& o);

// Signal from "KILL", "SIGKILL", "9"; -1 if unknown.
int parse_signal(std::string_view s);

}  // namespace berth::runtime
