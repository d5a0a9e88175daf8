// SPDX-License-Identifier: Apache-2.0
// berth-runtime exec [--process F | flags] <container-id> [command args...]
#include "common/file.hpp"
#include "common/strings.hpp"
#include "runtime/cli/args.hpp"

namespace berth::runtime::cli {

int cmd_exec(const Globals& g, const std::vector<std::string>& argv) {
  Args a({{{"console-socket"}}, {{"cwd"}}, {{"env", "e"}}, {{"tty", "t"}, false}, {{"user", "u"}},
          {{"additional-gids", "g"}}, {{"process", "p"}}, {{"detach", "d"}, false}, {{"pid-file"}},
          {{"process-label"}}, {{"apparmor"}}, {{"no-new-privs"}, false}, {{"cap", "c"}},
          {{"preserve-fds"}}, {{"ignore-paused"}, false}, {{"cgroup"}}});
  if (auto st = a.parse(argv); !st) return report(st.error());
  if (!need_args(a, 1, "exec", false)) return 1;
  ExecOptions o;
  o.id = a.positional()[0];
  o.console_socket = a.value("console-socket");
  o.pid_file = a.value("pid-file");
  o.detach = a.flag("detach");
  o.ignore_paused = a.flag("ignore-paused");
  o.cgroups = a.values("cgroup");
  if (a.has("preserve-fds")) {
    auto n = parse_uint(a.value("preserve-fds"));
    if (!n) return report(Error(Errc::InvalidArgument, "invalid value for --preserve-fds"));
    o.preserve_fds = static_cast<int>(*n);
  }
  if (a.has("process")) {
    auto txt = read_file(a.value("process"));
    if (!txt) return report(txt.error());
    auto p = parse_process(*txt);
    if (!p) return report(p.error());
    o.process = std::move(*p);
  } else {
    if (a.positional().size() < 2) return report(Error(Errc::InvalidArgument, "exec args cannot be empty"));
    auto base = container_process(g, o.id);
    if (!base) {
      report(base.error());
      return 255;  // runc: every failed exec, a missing container included
    }
    o.process = std::move(*base);
    o.process.args.assign(a.positional().begin() + 1, a.positional().end());
    o.process.terminal = a.flag("tty");
    for (auto& e : a.values("env")) o.process.env.push_back(e);
    if (a.has("cwd")) o.process.cwd = a.value("cwd");
    if (a.has("user")) {
      auto [u, gr] = split_once(a.value("user"), ':');
      auto uid = parse_uint(u);
      if (!uid) return report(Error(Errc::InvalidArgument, "invalid --user " + a.value("user")));
      o.process.user.uid = static_cast<std::uint32_t>(*uid);
      if (!gr.empty()) {
        auto gid = parse_uint(gr);
        if (!gid) return report(Error(Errc::InvalidArgument, "invalid --user " + a.value("user")));
        o.process.user.gid = static_cast<std::uint32_t>(*gid);
      }
    }
    for (auto& gs : a.values("additional-gids")) {
      auto gid = parse_uint(gs);
      if (!gid) return report(Error(Errc::InvalidArgument, "invalid --additional-gids " + gs));
      o.process.user.additional_gids.push_back(static_cast<std::uint32_t>(*gid));
    }
    if (a.flag("no-new-privs")) o.process.no_new_privileges = true;
    if (a.has("apparmor")) o.process.apparmor_profile = a.value("apparmor");
    auto caps = a.values("cap");
    if (!caps.empty()) {
      if (!o.process.capabilities) o.process.capabilities = Capabilities{};
      auto& c = *o.process.capabilities;
      for (auto& cap : caps) {
        c.bounding.push_back(cap);
        c.effective.push_back(cap);
        c.permitted.push_back(cap);
      }
    }
  }
  o.process.console_height = o.process.console_height;
  auto r = exec(g, o);
  if (!r) {
    // runc: a failed exec exits 255 ("exec failed: ..."), not the usual 1.
    report(r.error());
    return 255;
  }
  return *r;
}

}  // namespace berth::runtime::cli
