// SPDX-License-Identifier: Apache-2.0
// berth-runtime: an OCI runtime with runc's command line.
//   berth-runtime [--root DIR] [--log FILE] [--log-format text|json] [--debug] <command> ...
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "common/log.hpp"
#include "runtime/cli/args.hpp"

namespace berth::runtime::cli {
namespace {

struct Verb {
  const char* name;
  Command fn;
  const char* help;
};
const Verb kVerbs[] = {
    {"checkpoint", cmd_checkpoint, "checkpoint a running container (needs criu)"},
    {"create", cmd_create, "create a container"},
    {"delete", cmd_delete, "delete any resources held by the container"},
    {"events", cmd_events, "display container events such as OOM notifications, cpu, memory, and IO usage statistics"},
    {"exec", cmd_exec, "execute new process inside the container"},
    {"features", cmd_features, "show the enabled features"},
    {"kill", cmd_kill, "kill sends the specified signal (default: SIGTERM) to the container's init process"},
    {"list", cmd_list, "lists containers started by the runtime with the given root"},
    {"pause", cmd_pause, "pause suspends all processes inside the container"},
    {"ps", cmd_ps, "ps displays the processes running inside a container"},
    {"restore", cmd_restore, "restore a container from a previous checkpoint (needs criu)"},
    {"resume", cmd_resume, "resumes all processes that have been previously paused"},
    {"run", cmd_run, "create and run a container"},
    {"spec", cmd_spec, "create a new specification file"},
    {"start", cmd_start, "executes the user defined process in a created container"},
    {"state", cmd_state, "output the state of a container"},
    {"update", cmd_update, "update container resource constraints"},
};

// The name the binary was invoked by (help and version texts use it, as urfave/cli does):
// "berth-runtime", or "runc" when a tool drives it through a symlink of that name.
const char* g_prog = "berth-runtime";

void usage() {
  std::printf(
      "NAME:\n   %s - Open Container Initiative runtime (runc-compatible)\n\nUSAGE:\n"
      "   %s [global options] command [command options] [arguments...]\n\nCOMMANDS:\n",
      g_prog, g_prog);
  for (auto& v : kVerbs) std::printf("   %-11s %s\n", v.name, v.help);
  std::printf(
      "\nGLOBAL OPTIONS:\n   --debug              enable debug logging\n"
      "   --log value          set the log file to write runtime logs to (default is stderr)\n"
      "   --log-format value   set the log format ('text' (default), or 'json')\n"
      "   --root value         root directory for storage of container state (default: \"/run/berth-runtime\")\n"
      "   --systemd-cgroup     not supported (clear error)\n   --help, -h           show help\n"
      "   --version, -v        print the version\n");
}

void verb_usage(const Verb& v) {
  std::printf("NAME:\n   %s %s - %s\n\nUSAGE:\n   %s %s [command options] [arguments...]\n", g_prog, v.name,
              v.help, g_prog, v.name);
}

// The command line after the program name: global options, a verb and its arguments.
int run_command(const std::vector<std::string>& args) {
  using namespace berth;
  using namespace berth::runtime;
  Args global({{{"root"}}, {{"log"}}, {{"log-format"}}, {{"debug"}, false}, {{"systemd-cgroup"}, false},
               {{"criu"}}, {{"rootless"}}, {{"help", "h"}, false}, {{"version", "v"}, false}});
  if (auto st = global.parse(args); !st) return report(st.error());
  if (global.flag("version")) {
    std::printf("%s version 0.1.0\ncommit: berth\nspec: 1.0.2-dev\n", g_prog);
    return 0;
  }
  Globals g;
  g.root = global.value("root", kDefaultRoot);
  g.debug = global.flag("debug");
  g.systemd_cgroup = global.flag("systemd-cgroup");
  if (g.debug) log::set_level(log::Level::Debug);
  std::string lf = global.value("log-format", "text");
  // runc's (logrus') formats.
  if (lf == "json") log::set_format(log::Format::Json);
  else if (lf == "text") log::set_format(log::Format::Logfmt);
  else if (lf != "text") return report(Error(Errc::InvalidArgument, "invalid log-format: " + lf));
  if (global.has("log")) {
    int fd = ::open(global.value("log").c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return report(Error::from_errno(errno, "open log file", global.value("log")));
    log::set_fd(fd);
    g_log_to_file = true;
  }
  auto& pos = global.positional();
  if (global.flag("help") || pos.empty()) {
    usage();
    return pos.empty() && !global.flag("help") ? 0 : 0;
  }
  std::vector<std::string> rest(pos.begin() + 1, pos.end());
  bool help = !rest.empty() && (rest[0] == "-h" || rest[0] == "--help");
  for (auto& v : kVerbs)
    if (pos[0] == v.name) {
      if (help) {
        verb_usage(v);
        return 0;
      }
      return v.fn(g, rest);
    }
  std::fprintf(stderr, "%s: No help topic for '%s'\n", g_prog, pos[0].c_str());
  return 3;
}

}  // namespace
}  // namespace berth::runtime::cli

int main(int argc, char** argv) {
  using namespace berth;
  using namespace berth::runtime;
  using namespace berth::runtime::cli;
  if (argc > 0 && argv[0][0] != '\0') {
    const char* slash = std::strrchr(argv[0], '/');
    g_prog = slash ? slash + 1 : argv[0];
  }
  log::set_tag("berth-runtime");
  log::set_level(log::Level::Warn);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (argc == 2 && std::strcmp(argv[1], "--await-command") == 0) {
    auto cmd = await_command();
    if (!cmd || cmd->empty()) return 0;
    args.assign(cmd->begin() + 1, cmd->end());
    // the shim has the result before our exit (whose teardown it need not wait for)
    int rc = run_command(args);
    report_result(rc);
    return rc;
  }
  return run_command(args);
}
