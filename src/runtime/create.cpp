// SPDX-License-Identifier: Apache-2.0
// create / run: the parent side of the container's init. Single-threaded on purpose: clone(2)
// with the new namespaces, then drive the child over the sync socket (see linux.hpp).
#include <fcntl.h>
#include <linux/mount.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "common/file.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "runtime/container.hpp"
#include "runtime/hooks.hpp"
#include "runtime/linux.hpp"
#include "runtime/tty_proxy.hpp"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace berth::runtime {

Result<UniqueFd> connect_unix(const std::string& path);

namespace {

int ns_flag(const std::string& t) {
  if (t == "pid") return CLONE_NEWPID;
  if (t == "network") return CLONE_NEWNET;
  if (t == "mount") return CLONE_NEWNS;
  if (t == "ipc") return CLONE_NEWIPC;
  if (t == "uts") return CLONE_NEWUTS;
  if (t == "user") return CLONE_NEWUSER;
  if (t == "cgroup") return CLONE_NEWCGROUP;
  if (t == "time") return CLONE_NEWTIME;
  return 0;
}

std::string id_map_text(const std::vector<IdMapping>& m) {
  std::string s;
  for (auto& e : m) s += std::to_string(e.container_id) + " " + std::to_string(e.host_id) + " " + std::to_string(e.size) + "\n";
  return s;
}

Status write_proc_file(const std::string& path, const std::string& v) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return fail_errno("open", path);
  ssize_t n = ::write(fd, v.data(), v.size());
  int err = errno;
  ::close(fd);
  if (n < 0 || static_cast<std::size_t>(n) != v.size()) return fail(Error::from_errno(err, "write", path));
  return ok();
}

// Undoes a half-made container: kills the init, removes its cgroup and state dir.
struct CreateCleanup {
  pid_t pid = -1;
  std::optional<cgroups::Manager> cg;
  std::string dir;
  bool armed = true;
  ~CreateCleanup() {
    if (!armed) return;
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      int st;
      while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    }
    if (cg) (void)cg->destroy();
    if (!dir.empty()) (void)remove_all(dir);
  }
};

}  // namespace

Result<UniqueFd> connect_unix(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail_errno("socket");
  UniqueFd s(fd);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return fail(Errc::InvalidArgument, "socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return fail_errno("connect", path);
  return s;
}

// SCMP_ACT_NOTIFY: hands the listener fd to the agent at listenerPath with the container
// process state, like runc (fds: ["seccompFd"]).
Status forward_seccomp_fd(const Spec& spec, const ContainerState& st, ContainerStatus status, int fd) {
  UniqueFd owned(fd);
  const auto& sc = *spec.linux_->seccomp;
  auto sock = TRYC(connect_unix(sc.listener_path), "failed to connect with seccomp agent (linux.seccomp.listenerPath)");
  std::string state = state_json(st, status, false);
  std::string payload = "{\"ociVersion\":\"" + std::string(kOciVersion) + "\",\"fds\":[\"seccompFd\"],\"pid\":" +
                        std::to_string(st.pid) + ",\"metadata\":\"" + json_escape(sc.listener_metadata) +
                        "\",\"state\":" + state + "}";
  TRYC(send_fd(sock.get(), owned.get(), payload), "linux.seccomp.listenerPath");
  return ok();
}

struct Launched {
  ContainerState st;
  std::string dir;
  Spec spec;
  UniqueFd console_master;  // foreground run with a terminal and no --console-socket
  std::optional<cgroups::Manager> cgroup;
};

// with_fifo: `create` leaves the init blocked on exec.fifo until `start`; `run` starts at once
// (the init execs right after 'R', one parent/child round trip less).
Result<Launched> launch(const Globals& g, const CreateOptions& o, bool foreground_run, bool with_fifo) {
  TRY(validate_id(o.id));
  if (g.systemd_cgroup) return fail(Errc::Unimplemented, "--systemd-cgroup: the systemd cgroup driver is not supported by berth-runtime");
  char rp[PATH_MAX];
  if (!::realpath(o.bundle.c_str(), rp)) return fail_errno("bundle", o.bundle);
  std::string bundle = rp;
  auto cfg_text = read_file(bundle + "/config.json");
  if (!cfg_text) {
    if (cfg_text.error().is(Errc::NotFound)) return fail(Errc::NotFound, "JSON specification file config.json not found");
    return fail(std::move(cfg_text.error()));
  }
  Launched L;
  L.spec = TRY(parse_spec(*cfg_text));
  Spec& spec = L.spec;
  if (!spec.process) return fail(Errc::InvalidArgument, "process property must not be empty");
  if (spec.process->args.empty()) return fail(Errc::InvalidArgument, "args must not be empty");
  if (!spec.linux_) spec.linux_ = Linux{};
  if (spec.root_path.empty()) return fail(Errc::InvalidArgument, "root.path must be set");
  std::string rootfs = spec.root_path[0] == '/' ? spec.root_path : bundle + "/" + spec.root_path;
  if (!::realpath(rootfs.c_str(), rp)) return fail_errno("rootfs", rootfs);
  rootfs = rp;
  const Process& proc = *spec.process;
  if (proc.terminal && o.console_socket.empty() && (!foreground_run))
    return fail(Errc::InvalidArgument, "cannot allocate tty if runc will detach without setting console socket");
  if (!proc.terminal && !o.console_socket.empty())
    return fail(Errc::InvalidArgument, "cannot use console socket if runc will not detach or allocate tty");

  if (::mkdir(g.root.c_str(), 0711) != 0 && errno != EEXIST) TRY(mkdir_all(g.root, 0711));
  std::string dir = state_dir(g.root, o.id);
  if (::mkdir(dir.c_str(), 0711) != 0) {
    if (errno == EEXIST) return fail(Errc::AlreadyExists, "container with id exists: " + o.id);
    return fail_errno("mkdir", dir);
  }
  CreateCleanup cleanup;
  cleanup.dir = dir;
  L.dir = dir;

  InitConfig c;
  c.spec = &spec;
  c.process = &proc;
  c.rootfs = rootfs;
  c.preserve_fds = o.preserve_fds;
  c.no_pivot = o.no_pivot;
  c.no_new_keyring = o.no_new_keyring;
  const Linux& lx = *spec.linux_;

  // Namespaces: new ones go into the clone flags; joined ones are opened now.
  unsigned long flags = 0;
  bool new_time = false, have_userns = false;
  std::vector<std::pair<int, int>> join_other;
  std::vector<UniqueFd> ns_fds;
  for (auto& ns : lx.namespaces) {
    int f = ns_flag(ns.type);
    if (ns.path.empty()) {
      if (f == CLONE_NEWTIME) new_time = true;
      else if (f == CLONE_NEWCGROUP) c.new_cgroupns = true;  // unshared by the child after joining its cgroup
      else flags |= static_cast<unsigned long>(f);
      continue;
    }
    int fd = ::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail_errno("open namespace " + ns.type, ns.path);
    ns_fds.emplace_back(fd);
    if (f == CLONE_NEWPID) {
      // Only affects our children: the init is born in that pid namespace.
      if (::setns(fd, CLONE_NEWPID) != 0) return fail_errno("setns pid", ns.path);
    } else if (f == CLONE_NEWUSER) {
      c.join.insert(c.join.begin(), {f, fd});
      have_userns = true;
    } else if (f == CLONE_NEWNS) {
      join_other.emplace_back(f, fd);  // mount last
    } else {
      c.join.emplace_back(f, fd);
    }
  }
  for (auto& j : join_other) c.join.push_back(j);
  c.new_mntns = (flags & CLONE_NEWNS) != 0;
  c.new_userns = (flags & CLONE_NEWUSER) != 0;
  c.new_utsns = (flags & CLONE_NEWUTS) != 0;
  c.in_userns = c.new_userns || have_userns;
  if (c.new_userns && (lx.uid_mappings.empty() || lx.gid_mappings.empty()))
    return fail(Errc::InvalidArgument, "user namespaces enabled, but no user mapping found");
  if (!c.new_userns && !have_userns && (!lx.uid_mappings.empty() || !lx.gid_mappings.empty()))
    return fail(Errc::InvalidArgument, "user namespaces not enabled in config, but uid/gid mappings are set");
  for (auto& j : c.join)
    if (j.first == CLONE_NEWUTS) c.new_utsns = true;  // a joined uts ns of its own may get the hostname

  // cgroup
  std::string cg_path = lx.cgroups_path.empty() ? "/" + o.id : lx.cgroups_path;
  // Opened now (the child mounts it), made before clone or (late_cgroup) right after it, while
  // the child mounts its rootfs.
  c.cgroup = TRYC(cgroups::Manager::open(cg_path), "cgroup");
  auto make_cgroup = [&]() -> Status {
    cgroups::Manager& m = *c.cgroup;
    TRYC(m.create(), "cgroup");
    // A pre-existing frozen cgroup would freeze the init as soon as it joins (runc refuses too).
    // Directories create() made just now are empty (no process to look for), and a cgroup right
    // below the root cannot inherit a frozen state (a deeper one can: from a frozen parent).
    if (!(m.fresh() && cg_path.find('/', 1) == std::string::npos)) {
      if (auto fz = m.freezer_state(); fz && *fz != cgroups::FreezerState::Thawed)
        return fail(Errc::Conflict, "container's cgroup unexpectedly frozen");
    }
    if (!m.fresh()) {
      if (auto ps = m.pids(); ps && !ps->empty())
        log::warn("container's cgroup is not empty: {} process(es) found", ps->size());
    }
    cleanup.cg = m;
    if (lx.resources) {
      cgroups::Resources r = *lx.resources;
      if (!r.devices.empty()) {
        // Like runc: the devices the runtime itself creates stay usable whatever the rules say.
        static const cgroups::DeviceRule kAllowed[] = {
            {true, 'c', -1, -1, "m"}, {true, 'b', -1, -1, "m"}, {true, 'c', 1, 3, "rwm"},
            {true, 'c', 1, 8, "rwm"}, {true, 'c', 1, 7, "rwm"}, {true, 'c', 5, 0, "rwm"},
            {true, 'c', 1, 5, "rwm"}, {true, 'c', 1, 9, "rwm"}, {true, 'c', 136, -1, "rwm"},
            {true, 'c', 5, 2, "rwm"}};
        for (auto& d : kAllowed) r.devices.push_back(d);
      }
      TRYC(m.set(r), "cgroup");
    }
    return ok();
  };
  // The child mounts its rootfs while we make its cgroup and move it there (cgroup_ready).
  c.late_cgroup = !c.in_userns && c.new_mntns;
  if (!c.late_cgroup) TRY(make_cgroup());
  if (lx.seccomp) c.seccomp = TRYC(security::compile_seccomp_cached(*lx.seccomp, seccomp_cache_dir(g.root)), "linux.seccomp");
  if (proc.capabilities) {
    std::vector<std::string> unknown;
    auto& cp = *proc.capabilities;
    c.caps = security::caps_from_names(cp.bounding, cp.effective, cp.inheritable, cp.permitted, cp.ambient, &unknown);
    for (auto& u : unknown) log::warn("ignoring unknown or unavailable capability {}", u);
  }

  // exec.fifo: init blocks opening it for writing until `start`.
  UniqueFd fifo_fd;
  if (with_fifo) {
    std::string fifo = dir + "/exec.fifo";
    if (::mkfifo(fifo.c_str(), 0622) != 0) return fail_errno("mkfifo", fifo);
    // Writable by a non-root container user whatever our umask is.
    if (::chmod(fifo.c_str(), 0622) != 0) return fail_errno("chmod", fifo);
    if (c.in_userns && !lx.uid_mappings.empty()) {
      uid_t ruid = lx.uid_mappings[0].host_id;
      gid_t rgid = lx.gid_mappings.empty() ? 0 : lx.gid_mappings[0].host_id;
      for (auto& m : lx.uid_mappings) if (m.container_id == 0) ruid = m.host_id;
      for (auto& m : lx.gid_mappings) if (m.container_id == 0) rgid = m.host_id;
      if (::chown(fifo.c_str(), ruid, rgid) != 0) return fail_errno("chown", fifo);
    }
    int ffd = ::open(fifo.c_str(), O_PATH | O_CLOEXEC);
    if (ffd < 0) return fail_errno("open", fifo);
    fifo_fd = UniqueFd(ffd);
    c.fifo_fd = fifo_fd.get();
  }
  // Without a user namespace (and but for late_cgroup) the child joins its cgroup itself.
  c.self_setup = !c.in_userns && !c.late_cgroup;

  UniqueFd console, console_parent;
  if (proc.terminal && o.console_socket.empty()) {
    // Foreground run: the master comes to us and we proxy it (tty_proxy.hpp), as runc.
    auto pair = TRY(console_pair());
    console = std::move(pair.child);
    console_parent = std::move(pair.parent);
    c.console_fd = console.get();
    if (winsize ws{}; ::ioctl(0, TIOCGWINSZ, &ws) == 0) {
      c.proxy_rows = ws.ws_row;
      c.proxy_cols = ws.ws_col;
    }
  } else if (proc.terminal) {
    console = TRYC(connect_unix(o.console_socket), "console socket");
    c.console_fd = console.get();
  }
  int sp[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0) return fail_errno("socketpair");
  UniqueFd parent_sock(sp[0]), child_sock(sp[1]);

  if (new_time) {
    if (::unshare(CLONE_NEWTIME) != 0) return fail_errno("unshare time namespace");
    std::string offs;
    for (auto& [clock, secs] : lx.time_offsets_secs)
      offs += clock + " " + std::to_string(secs) + " " + std::to_string(lx.time_offsets_nanosecs.at(clock)) + "\n";
    if (!offs.empty()) TRYC(write_proc_file("/proc/self/timens_offsets", offs), "linux.timeOffsets");
  }
  // Relative bind sources are relative to the bundle.
  if (::chdir(bundle.c_str()) != 0) return fail_errno("chdir", bundle);
  // In a user namespace the init may not be able to reach a bind source that we (the host's
  // root) can: clone each source's mount tree here (open_tree, a detached copy), the init moves
  // it into place (runc 1.2 does the same). A source we cannot open is left to the init, which
  // reports it.
  std::vector<UniqueFd> mount_src_fds;
  if (c.in_userns && c.new_mntns) {
    c.mount_src_fds.assign(spec.mounts.size(), -1);
    for (std::size_t i = 0; i < spec.mounts.size(); ++i) {
      const Mount& m = spec.mounts[i];
      bool bind = m.type == "bind", rec = false;
      for (auto& opt : m.options) {
        bind = bind || opt == "bind" || opt == "rbind";
        rec = rec || opt == "rbind";
      }
      if (!bind || m.source.empty() || m.type == "cgroup") continue;
      unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (rec ? AT_RECURSIVE : 0u);
      int fd = static_cast<int>(::syscall(SYS_open_tree, AT_FDCWD, m.source.c_str(), flags));
      if (fd < 0) continue;
      mount_src_fds.emplace_back(fd);
      c.mount_src_fds[i] = fd;
    }
  }

  // --debug: the steps runc's debug log names (its nsexec / init), for tools that read them.
  log::debug("nsexec container setup: clone flags {:#x}", flags);
  pid_t pid = static_cast<pid_t>(::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, nullptr));
  if (pid < 0) return fail_errno("clone");
  if (pid == 0) {
    parent_sock.reset();
    c.sync_fd = child_sock.release();
    init_main(c);
  }
  log::debug("child process in init(): pid {}", pid);
  cleanup.pid = pid;
  child_sock.reset();
  console.reset();
  if (c.late_cgroup) TRY(make_cgroup());
  if (!c.self_setup) {
    if (c.new_userns) {
      TRYC(write_proc_file("/proc/" + std::to_string(pid) + "/uid_map", id_map_text(lx.uid_mappings)), "uid mappings");
      TRYC(write_proc_file("/proc/" + std::to_string(pid) + "/gid_map", id_map_text(lx.gid_mappings)), "gid mappings");
    }
    TRYC(c.cgroup->apply(pid), "cgroup");
    if (proc.oom_score_adj)
      TRYC(write_proc_file("/proc/" + std::to_string(pid) + "/oom_score_adj", std::to_string(*proc.oom_score_adj)), "process.oomScoreAdj");
    TRY(send_msg(parent_sock.get(), 'G'));
  }

  ContainerState& st = L.st;
  st.id = o.id;
  st.pid = pid;
  st.bundle = bundle;
  st.rootfs = rootfs;
  st.cgroups_path = cg_path;
  st.annotations = spec.annotations;
  // While the init sets itself up (mounts, devices, pivot_root) on the other CPU, write the
  // state: the start time is fixed at clone, and readers tell a container still being set
  // up from a ready one by its exec.fifo (create) or see it running (run) a moment early.
  st.start_time = proc_start_time(pid);
  st.created = now_rfc3339();
  TRY(save_state(dir, st, *cfg_text));
  st.config = std::move(*cfg_text);
  L.cgroup = c.cgroup;
  for (;;) {
    int got_fd = -1;
    auto m = TRY(recv_msg(parent_sock.get(), &got_fd));
    if (m.empty()) return fail(Errc::Internal, "container init exited unexpectedly");
    if (m[0] == 'S' && got_fd >= 0) {
      auto fw = forward_seccomp_fd(spec, st, ContainerStatus::Creating, got_fd);
      TRY(send_msg(parent_sock.get(), fw ? 's' : 'x', fw ? "" : fw.error().message()));
      if (!fw) return fail(std::move(fw.error()));
      continue;
    }
    if (got_fd >= 0) ::close(got_fd);
    if (m[0] == 'E') return fail(Errc::Internal, m.substr(1));
    if (m[0] == 'H') {
      auto sj = state_json(st, ContainerStatus::Creating, false);
      TRY(run_hooks(spec.hooks.prestart, "prestart", sj));
      TRY(run_hooks(spec.hooks.create_runtime, "createRuntime", sj));
      TRY(send_msg(parent_sock.get(), 'h', sj));
      continue;
    }
    if (m[0] == 'R') {
      log::debug("init: closing the pipe to signal completion");
      break;
    }
    return fail(Errc::Internal, "unexpected message from container init");
  }
  if (console_parent) L.console_master = TRY(receive_console(console_parent.get()));
  if (!o.pid_file.empty()) {
    std::string pf = o.pid_file;
    if (pf[0] != '/') pf = std::string(::get_current_dir_name()) + "/" + pf;
    TRY(write_pid_file(pf, pid));
  }
  cleanup.armed = false;
  return L;
}

Status create(const Globals& g, const CreateOptions& o) {
  // Relative paths in the options are relative to where we were started.
  CreateOptions opts = o;
  char cwd[PATH_MAX];
  if (::getcwd(cwd, sizeof cwd) && !opts.pid_file.empty() && opts.pid_file[0] != '/')
    opts.pid_file = std::string(cwd) + "/" + opts.pid_file;
  TRY(launch(g, opts, false, true));
  return ok();
}

namespace {
volatile sig_atomic_t g_forward_pid = 0;
void forward_signal(int sig) {
  if (g_forward_pid > 0) ::kill(g_forward_pid, sig);
}
}  // namespace

Result<int> run(const Globals& g, const CreateOptions& o, bool detach, bool keep) {
  CreateOptions opts = o;
  char cwd[PATH_MAX];
  if (::getcwd(cwd, sizeof cwd) && !opts.pid_file.empty() && opts.pid_file[0] != '/')
    opts.pid_file = std::string(cwd) + "/" + opts.pid_file;
  auto L = TRY(launch(g, opts, !detach, false));
  if (!detach) {
    g_forward_pid = L.st.pid;
    struct sigaction sa {};
    sa.sa_handler = forward_signal;
    sa.sa_flags = SA_RESTART;
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH}) ::sigaction(s, &sa, nullptr);
  }
  // The init is already past 'R' (no exec.fifo): only the poststart hooks of `start` remain.
  if (!L.spec.hooks.poststart.empty()) {
    auto h = run_hooks(L.spec.hooks.poststart, "poststart", state_json(L.st, ContainerStatus::Running, false));
    if (!h) {
      // Like runc: a failing poststart hook fails the run after killing the container.
      ::kill(L.st.pid, SIGKILL);
      (void)destroy(g, o.id, true);
      return fail(std::move(h.error()));
    }
  }
  if (detach) return 0;
  int status = 0;
  if (L.console_master) {
    auto s = proxy_tty_and_wait(L.console_master.get(), L.st.pid);
    if (!s) return fail(std::move(s.error()));
    status = *s;
  } else {
    while (::waitpid(L.st.pid, &status, 0) < 0) {
      if (errno != EINTR) return fail_errno("waitpid");
    }
  }
  g_forward_pid = 0;
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (!keep) {
    auto d = destroy_loaded(g, L.st, true, L.cgroup ? &*L.cgroup : nullptr);
    if (!d) log::warn("delete {}: {}", o.id, d.error().message());
  }
  return code;
}

}  // namespace berth::runtime
