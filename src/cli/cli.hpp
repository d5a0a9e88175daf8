// SPDX-License-Identifier: Apache-2.0
// The command table and what every command gets: global options, the daemon client, output.
// One file per verb under cli/commands/ defines a `const Command& cmd_<verb>()`; commands.cpp
// lists them. Help text, completion and man pages are all generated from this table.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "cli/client.hpp"
#include "cli/flags.hpp"
#include "common/result.hpp"

namespace berth::cli {

using Json = nlohmann::ordered_json;

// docker's exit statuses
inline constexpr int kExitError = 1;        // the command failed (daemon error in most verbs)
inline constexpr int kExitUsage = 125;      // bad flags / daemon error for run, exec
inline constexpr int kExitCannotInvoke = 126;
inline constexpr int kExitNotFound = 127;

struct Globals {
  std::string host;      // -H/--host (empty: from context/env)
  std::string context;   // --context
  std::string config_dir;  // --config (default ~/.config/berth)
  std::string log_level = "info";
  bool debug = false;
  bool tls = false, tlsverify = false;
  std::string tlscacert, tlscert, tlskey;
};

class App {
 public:
  Globals g;
  // Resolved daemon endpoint and the name of the context in use.
  Result<Endpoint> endpoint();
  std::string context_name();
  // Connects lazily; the error says "Cannot connect to the berth daemon at ...".
  Result<Client*> client();

  // Convenience wrappers: fail with daemon_error() on non-2xx.
  Result<Json> get_json(const std::string& path);
  Result<Response> call(const std::string& method, const std::string& path,
                        const std::string& body = {}, const Headers& headers = {});
  Result<Json> call_json(const std::string& method, const std::string& path, const Json& body);

  void out(std::string_view s);
  void err(std::string_view s);
  bool stdout_tty() const;

 private:
  std::unique_ptr<Client> client_;
  bool resolved_ = false;
  Endpoint ep_;
  std::string ctx_;
};

struct Command {
  std::string name;                  // "ps", "volume ls"
  std::vector<std::string> aliases;  // "container ls", "container list"
  std::string usage;                 // "[OPTIONS] CONTAINER [CONTAINER...]"
  std::string summary;
  std::vector<FlagSpec> flags;
  int min_args = 0;
  int max_args = -1;          // -1: unlimited
  bool interspersed = true;   // false for run/exec/create: flags end at the image/container
  int (*run)(App&, const ParsedFlags&) = nullptr;
};

const std::vector<const Command*>& commands();
// Groups ("volume", "network", "context", "system", "image", "container") and their help.
std::string group_help(const std::string& group);

// Prints an error the docker way and returns `code`.
int report(App& app, const Error& e, int code = kExitError);
// Percent-encodes for a query value.
std::string url_escape(std::string_view s);
// Docker's filter JSON from ["key=value", ...]: {"key":{"value":true}}; "" for none.
std::string filters_json(const std::vector<std::string>& filters);
// Runs `berth <argv>`; the whole CLI (for main and tests).
int run_cli(int argc, char** argv);
// Generated completions.
std::string bash_completion();
std::string zsh_completion();
std::string command_help(const Command& c);

// Shared by several commands.
struct StdStreams;
// Demultiplexes docker's stdcopy stream (8-byte headers) to stdout/stderr; returns bytes left.
std::size_t demux_stream(std::string& buf, int out_fd, int err_fd);
Status write_fd_all(int fd, std::string_view data);

}  // namespace berth::cli
