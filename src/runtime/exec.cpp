// SPDX-License-Identifier: Apache-2.0
// exec: run a new process inside a running container. This (single-threaded) process joins the
// container's pid namespace for its children, clones a child that setns(2)s into the other
// namespaces and the container's root, and the parent moves that child into the cgroup.
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>

#include "common/file.hpp"
#include "common/log.hpp"
#include "common/path.hpp"
#include "common/strings.hpp"
#include "runtime/container.hpp"
#include "runtime/linux.hpp"
#include "runtime/tty_proxy.hpp"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace berth::runtime {

Result<UniqueFd> connect_unix(const std::string& path);
Status forward_seccomp_fd(const Spec& spec, const ContainerState& st, ContainerStatus status, int fd);

namespace {
volatile sig_atomic_t g_exec_pid = 0;
void forward(int sig) {
  if (g_exec_pid > 0) ::kill(g_exec_pid, sig);
}

// --cgroup values -> controller ("" = all) -> sub-cgroup path relative to the container's,
// checked not to leave it (runc's rules and messages).
Result<std::map<std::string, std::string>> sub_cgroups(const std::vector<std::string>& args) {
  std::map<std::string, std::string> out;
  for (auto& a : args) {
    auto parts = split(a, ':');
    if (parts.size() > 2) return fail(Errc::InvalidArgument, "invalid --cgroup argument: " + a);
    std::string path = parts.back();
    std::string rel = clean_path("/" + path);
    // clean_path("/..") is "/": look at the lexical path itself for an escape.
    int depth = 0;
    for (auto& seg : split(path, '/')) {
      if (seg.empty() || seg == ".") continue;
      depth += seg == ".." ? -1 : 1;
      if (depth < 0) return fail(Errc::InvalidArgument, "exec --cgroup: " + path + " is not a sub cgroup path");
    }
    rel = rel == "/" ? std::string() : rel.substr(1);
    if (parts.size() == 1) {
      if (args.size() != 1) return fail(Errc::InvalidArgument, "invalid --cgroup argument: " + a + " (missing <controller>: prefix)");
      out[""] = rel;
    } else {
      for (auto& ctl : split(parts[0], ',')) out[ctl] = rel;
    }
  }
  return out;
}
}  // namespace

Result<int> exec(const Globals& g, const ExecOptions& o) {
  auto s = TRY(load_state(g.root, o.id));
  auto status = current_status(g.root, s);
  if (status == ContainerStatus::Stopped) return fail(Errc::Conflict, "cannot exec in a stopped container");
  if (status == ContainerStatus::Paused && !o.ignore_paused) return fail(Errc::Conflict, "cannot exec in a paused container");
  std::string dir = state_dir(g.root, o.id);
  auto spec = TRY(parse_spec(s.config));
  if (!spec.linux_) spec.linux_ = Linux{};
  if (o.process.args.empty()) return fail(Errc::InvalidArgument, "args must not be empty");
  if (o.process.terminal && o.console_socket.empty() && o.detach)
    return fail(Errc::InvalidArgument, "cannot allocate tty if runc will detach without setting console socket");

  InitConfig c;
  c.spec = &spec;
  c.process = &o.process;
  c.is_exec = true;
  c.preserve_fds = o.preserve_fds;
  struct NsT {
    const char* name;
    int flag;
  };
  static const NsT kNs[] = {{"user", CLONE_NEWUSER}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},
                            {"net", CLONE_NEWNET},   {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME},
                            {"pid", CLONE_NEWPID},   {"mnt", CLONE_NEWNS}};
  std::vector<UniqueFd> keep;
  for (auto& ns : kNs) {
    std::string theirs = "/proc/" + std::to_string(s.pid) + "/ns/" + ns.name;
    std::string mine = std::string("/proc/self/ns/") + ns.name;
    struct stat a {}, b {};
    if (::stat(theirs.c_str(), &a) != 0) continue;
    if (::stat(mine.c_str(), &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) continue;
    int fd = ::open(theirs.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail_errno("open namespace", theirs);
    if (ns.flag == CLONE_NEWPID) {
      if (::setns(fd, CLONE_NEWPID) != 0) return fail_errno("setns pid");
      ::close(fd);
      continue;
    }
    if (ns.flag == CLONE_NEWUSER) c.in_userns = true;
    c.join.emplace_back(ns.flag, fd);
  }
  // The container's root, for a container created with --no-pivot (chroot).
  int rootfd = ::open(("/proc/" + std::to_string(s.pid) + "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) return fail_errno("open container root");
  UniqueFd root(rootfd);
  if (proc_start_time(s.pid) != s.start_time) return fail(Errc::Conflict, "container init exited");

  if (auto m = cgroups::Manager::open(s.cgroups_path); m) c.cgroup = *m;
  auto sub = TRY(sub_cgroups(o.cgroups));
  if (!sub.empty() && !c.cgroup) return fail(Errc::Unavailable, "exec --cgroup: the container has no cgroup");
  if (spec.linux_->seccomp) {
    c.seccomp = TRYC(security::compile_seccomp_cached(*spec.linux_->seccomp, seccomp_cache_dir(g.root)), "linux.seccomp");
  }
  if (o.process.capabilities) {
    std::vector<std::string> unknown;
    auto& cp = *o.process.capabilities;
    c.caps = security::caps_from_names(cp.bounding, cp.effective, cp.inheritable, cp.permitted, cp.ambient, &unknown);
  }
  UniqueFd console, console_parent;
  if (o.process.terminal && o.console_socket.empty()) {
    auto pair = TRY(console_pair());  // foreground: proxied by us (tty_proxy.hpp)
    console = std::move(pair.child);
    console_parent = std::move(pair.parent);
    c.console_fd = console.get();
    if (winsize ws{}; ::ioctl(0, TIOCGWINSZ, &ws) == 0) {
      c.proxy_rows = ws.ws_row;
      c.proxy_cols = ws.ws_col;
    }
  } else if (o.process.terminal) {
    console = TRYC(connect_unix(o.console_socket), "console socket");
    c.console_fd = console.get();
  }
  int sp[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0) return fail_errno("socketpair");
  UniqueFd parent_sock(sp[0]), child_sock(sp[1]);
  log::debug("nsexec container setup: joining {} namespaces of pid {}", c.join.size(), s.pid);
  pid_t pid = static_cast<pid_t>(::syscall(SYS_clone, SIGCHLD, nullptr, nullptr, nullptr, nullptr));
  if (pid < 0) return fail_errno("clone");
  if (pid == 0) {
    parent_sock.reset();
    c.sync_fd = child_sock.release();
    // After joining the mount namespace, enter the container's root (init_main joins first).
    c.join.emplace_back(0, -1);
    // init_main treats (0,-1) as "chroot into root": keep the fd for it.
    c.fifo_fd = -1;
    g_exec_root_fd = root.release();
    init_main(c);
  }
  child_sock.reset();
  console.reset();
  for (auto& [t, fd] : c.join)
    if (fd >= 0) ::close(fd);
  if (c.cgroup && !sub.empty()) {
    if (auto st = c.cgroup->apply_sub(pid, sub); !st) {
      ::kill(pid, SIGKILL);
      int ws;
      ::waitpid(pid, &ws, 0);
      return fail(std::move(st.error()));
    }
  } else if (c.cgroup) {
    auto st = c.cgroup->apply(pid);
    if (!st) log::warn("exec: join cgroup: {}", st.error().message());
  }
  log::debug("child process in init(): pid {}", pid);
  TRY(send_msg(parent_sock.get(), 'G'));
  int got_fd = -1;
  auto m = TRY(recv_msg(parent_sock.get(), &got_fd));
  if (!m.empty() && m[0] == 'S' && got_fd >= 0) {
    ContainerState ps = s;
    ps.pid = pid;
    auto fw = forward_seccomp_fd(spec, ps, ContainerStatus::Running, got_fd);
    TRY(send_msg(parent_sock.get(), fw ? 's' : 'x', fw ? "" : fw.error().message()));
    got_fd = -1;
    m = TRY(recv_msg(parent_sock.get(), &got_fd));
  }
  if (got_fd >= 0) ::close(got_fd);
  if (m.empty() || m[0] != 'R') {
    int st;
    ::waitpid(pid, &st, 0);
    if (!m.empty() && m[0] == 'E') return fail(Errc::Internal, m.substr(1));
    return fail(Errc::Internal, "exec process exited unexpectedly");
  }
  log::debug("setns_init: about to exec: pid {} is ready", pid);
  if (!o.pid_file.empty()) {
    std::string pf = o.pid_file;
    char cwd[PATH_MAX];
    if (pf[0] != '/' && ::getcwd(cwd, sizeof cwd)) pf = std::string(cwd) + "/" + pf;
    TRY(write_pid_file(pf, pid));
  }
  if (o.detach) return 0;
  g_exec_pid = pid;
  struct sigaction sa {};
  sa.sa_handler = forward;
  sa.sa_flags = SA_RESTART;
  for (int sg : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH}) ::sigaction(sg, &sa, nullptr);
  int status_code = 0;
  if (console_parent) {
    auto master = TRY(receive_console(console_parent.get()));
    status_code = TRY(proxy_tty_and_wait(master.get(), pid));
  } else {
    while (::waitpid(pid, &status_code, 0) < 0)
      if (errno != EINTR) return fail_errno("waitpid");
  }
  return WIFEXITED(status_code) ? WEXITSTATUS(status_code) : 128 + WTERMSIG(status_code);
}

}  // namespace berth::runtime
