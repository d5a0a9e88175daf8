// SPDX-License-Identifier: Apache-2.0
// The container's init (and exec'd processes), child side of clone(2). Order of work:
//   wait 'G' -> setns joined namespaces -> become root in the userns -> cgroupns -> setsid ->
//   hostname/sysctl -> rootfs (mounts, devices) -> 'H' hooks -> createContainer hooks ->
//   pivot_root -> masked/readonly paths -> console -> close fds -> cwd (checked inside rootfs) ->
//   rlimits, oom, personality, ioprio -> nnp -> seccomp (if !nnp) -> drop privileges/caps ->
//   seccomp (if nnp) -> 'R' -> block on exec.fifo until `start` -> startContainer hooks -> execve.
#include <fcntl.h>
#include <grp.h>
#include <linux/ioprio.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>

#include "common/code_pages.hpp"
#include "common/file.hpp"
#include "common/scm_rights.hpp"
#include "common/strings.hpp"
#include "runtime/hooks.hpp"
#include "runtime/linux.hpp"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

namespace berth::runtime {

int g_exec_root_fd = -1;

Status send_msg(int fd, char type, std::string_view payload) {
  std::string m(1, type);
  m.append(payload);
  if (::send(fd, m.data(), m.size(), MSG_NOSIGNAL) < 0) return fail_errno("sync send");
  return ok();
}

Result<std::string> recv_msg_fds(int fd, int* fds, std::size_t max_fds) {
  // Uninitialized: zero-filling 64 KiB costs page faults on every message.
  static constexpr std::size_t kMax = 65536;
  std::unique_ptr<char[]> raw(new char[kMax]);
  auto r = recv_with_fds(fd, raw.get(), kMax, fds, max_fds);
  if (r.bytes < 0) return fail_errno("sync recv");
  if (r.truncated) return fail(Errc::InvalidArgument, "sync recv: message truncated");
  return std::string(raw.get(), static_cast<std::size_t>(r.bytes));
}

Result<std::string> recv_msg(int fd, int* received_fd) {
  int got = -1;
  auto m = TRY(recv_msg_fds(fd, &got, received_fd ? 1 : 0));
  if (received_fd && got >= 0) *received_fd = got;
  return m;
}

Status send_fd(int sock, int fd, std::string_view payload) {
  if (!send_with_fds(sock, payload.empty() ? std::string_view("/dev/ptmx") : payload, &fd, 1)) return fail_errno("send console fd");
  return ok();
}

Result<std::string> lookup_path(const std::string& arg0, const std::vector<std::string>& env) {
  if (arg0.empty()) return fail(Errc::InvalidArgument, "process.args must not be empty");
  auto check = [](const std::string& p) -> bool {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
  };
  if (arg0.find('/') != std::string::npos) {
    if (!check(arg0)) return fail(Errc::NotFound, "exec: \"" + arg0 + "\": stat " + arg0 + ": no such file or directory");
    return arg0;
  }
  std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (auto& e : env)
    if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
  for (auto& dir : split(path, ':')) {
    std::string p = (dir.empty() ? std::string(".") : dir) + "/" + arg0;
    if (check(p)) return p;
  }
  return fail(Errc::NotFound, "exec: \"" + arg0 + "\": executable file not found in $PATH");
}

namespace {

Status write_proc(const char* path, const std::string& v) {
  int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return fail_errno("open", path);
  ssize_t n = ::write(fd, v.data(), v.size());
  int err = errno;
  ::close(fd);
  if (n < 0) return fail(Error::from_errno(err, "write", path));
  return ok();
}

Status set_sysctls(const std::map<std::string, std::string>& sc) {
  for (auto& [k, v] : sc) {
    std::string rel = k;
    for (auto& ch : rel)
      if (ch == '.') ch = '/';
    if (rel.find("..") != std::string::npos) return fail(Errc::InvalidArgument, "linux.sysctl: bad key " + k);
    auto st = write_proc(("/proc/sys/" + rel).c_str(), v);
    if (!st) return fail(std::move(st.error()).context("linux.sysctl " + k));
  }
  return ok();
}

// Closes every fd >= 3 + preserve except the ones in keep (our own, all O_CLOEXEC anyway).
void close_leaked_fds(int preserve, std::vector<int> keep) {
  unsigned first = 3u + static_cast<unsigned>(preserve);
  std::sort(keep.begin(), keep.end());
  unsigned lo = first;
  for (int k : keep) {
    if (k < 0 || static_cast<unsigned>(k) < lo) continue;
    if (static_cast<unsigned>(k) > lo) ::syscall(SYS_close_range, lo, static_cast<unsigned>(k) - 1, 0);
    lo = static_cast<unsigned>(k) + 1;
  }
  ::syscall(SYS_close_range, lo, ~0u, 0);
}

Status setup_console(InitConfig& c) {
  int master = ::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return fail_errno("open /dev/ptmx");
  UniqueFd m(master);
  int unlock = 0;
  if (::ioctl(m.get(), TIOCSPTLCK, &unlock) != 0) return fail_errno("unlock pty");
  int slave = ::ioctl(m.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY);
  if (slave < 0) return fail_errno("open pty peer");
  UniqueFd s(slave);
  if (c.process->console_height || c.process->console_width) {
    winsize ws{};
    ws.ws_row = static_cast<unsigned short>(c.process->console_height);
    ws.ws_col = static_cast<unsigned short>(c.process->console_width);
    ::ioctl(s.get(), TIOCSWINSZ, &ws);
  } else if (c.proxy_rows || c.proxy_cols) {
    // Foreground run/exec -t: the caller's terminal size, before the process can ask for it
    // (the proxy copies it again later, too late for a process that starts at once).
    winsize ws{};
    ws.ws_row = c.proxy_rows;
    ws.ws_col = c.proxy_cols;
    ::ioctl(s.get(), TIOCSWINSZ, &ws);
  }
  if (!c.is_exec) {
    // /dev/console is the pty, as runc does.
    int pn = 0;
    if (::ioctl(m.get(), TIOCGPTN, &pn) == 0) {
      std::string slave_path = "/dev/pts/" + std::to_string(pn);
      int f = ::open("/dev/console", O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
      if (f >= 0) {
        ::close(f);
        (void)::mount(slave_path.c_str(), "/dev/console", nullptr, MS_BIND, nullptr);
      }
    }
  }
  TRY(send_fd(c.console_fd, m.get(), "/dev/ptmx"));
  for (int i = 0; i < 3; ++i)
    if (::dup2(s.get(), i) < 0) return fail_errno("dup2 pty");
  if (::ioctl(0, TIOCSCTTY, 0) != 0) return fail_errno("set controlling terminal");
  ::close(c.console_fd);
  c.console_fd = -1;
  return ok();
}

// Before switching to the container user, give it its stdio (the console's pty or the
// caller's fds): only the owner changes (devpts picks the group), /dev/null and fds already
// owned are left alone, and an fd we may not chown (unmapped owner, read-only fs) is skipped.
// What runc does.
Status chown_stdio(uid_t uid) {
  struct stat null {};
  bool have_null = ::stat("/dev/null", &null) == 0;  // a minimal rootfs may have no /dev
  for (int fd = 0; fd < 3; ++fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      if (errno == EBADF) continue;
      return fail_errno("fstat stdio");
    }
    if (st.st_uid == uid || (have_null && S_ISCHR(st.st_mode) && st.st_rdev == null.st_rdev)) continue;
    if (::fchown(fd, uid, st.st_gid) != 0 && errno != EINVAL && errno != EPERM && errno != EROFS)
      return fail_errno("chown stdio");
  }
  return ok();
}

Status set_ids(const Process& p, bool in_userns, bool setgroups_allowed) {
  (void)in_userns;
  TRY(chown_stdio(p.user.uid));
  if (setgroups_allowed) {
    std::vector<gid_t> g(p.user.additional_gids.begin(), p.user.additional_gids.end());
    if (::setgroups(g.size(), g.data()) != 0) return fail_errno("setgroups");
  }
  if (::syscall(SYS_setresgid, p.user.gid, p.user.gid, p.user.gid) != 0) return fail_errno("setresgid");
  if (::syscall(SYS_setresuid, p.user.uid, p.user.uid, p.user.uid) != 0) return fail_errno("setresuid");
  return ok();
}

// Loads the seccomp filter; a notify listener fd goes to the parent, which hands it to the
// agent at listenerPath.
Status load_filter(InitConfig& c) {
  int lfd = TRYC(security::load_seccomp(*c.seccomp), "linux.seccomp");
  if (lfd < 0) return ok();
  TRY(send_fd(c.sync_fd, lfd, "S"));
  ::close(lfd);
  auto r = TRY(recv_msg(c.sync_fd));
  if (r.empty() || r[0] != 's') return fail(Errc::Internal, "linux.seccomp: " + (r.size() > 1 ? r.substr(1) : std::string("listener handoff failed")));
  return ok();
}

Status setup_process(InitConfig& c) {
  const Process& p = *c.process;
  for (auto& rl : p.rlimits) {
    rlimit r{static_cast<rlim_t>(rl.soft), static_cast<rlim_t>(rl.hard)};
    if (::setrlimit(rl.resource, &r) != 0) return fail_errno("setrlimit", rl.type);
  }
  if (c.spec->linux_ && c.spec->linux_->personality_domain) {
    auto& d = *c.spec->linux_->personality_domain;
    unsigned long pers = d == "LINUX32" ? static_cast<unsigned long>(PER_LINUX32) : d == "LINUX" ? static_cast<unsigned long>(PER_LINUX) : ~0ul;
    if (pers == ~0ul) return fail(Errc::InvalidArgument, "linux.personality: unknown domain " + d);
    if (::personality(pers) < 0) return fail_errno("personality");
  }
  if (p.io_priority_class) {
    int v = IOPRIO_PRIO_VALUE(*p.io_priority_class, p.io_priority.value_or(0));
    if (::syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, v) != 0) return fail_errno("ioprio_set");
  }
  if (p.scheduler_policy) {
    static const std::pair<const char*, int> kPol[] = {{"SCHED_OTHER", SCHED_OTHER}, {"SCHED_FIFO", SCHED_FIFO},
                                                      {"SCHED_RR", SCHED_RR},       {"SCHED_BATCH", SCHED_BATCH},
                                                      {"SCHED_IDLE", SCHED_IDLE}};
    int pol = -1;
    for (auto& [n, v] : kPol)
      if (*p.scheduler_policy == n) pol = v;
    if (pol < 0) return fail(Errc::InvalidArgument, "process.scheduler.policy: unsupported " + *p.scheduler_policy);
    sched_param sp{};
    sp.sched_priority = p.scheduler_priority;
    if (::sched_setscheduler(0, pol, &sp) != 0) return fail_errno("sched_setscheduler");
    if (p.scheduler_nice && ::setpriority(PRIO_PROCESS, 0, p.scheduler_nice) != 0) return fail_errno("setpriority");
  }
  if (!p.apparmor_profile.empty() && path_exists("/sys/kernel/security/apparmor")) {
    auto st = write_proc("/proc/self/attr/apparmor/exec", "exec " + p.apparmor_profile);
    if (!st) st = write_proc("/proc/self/attr/exec", "exec " + p.apparmor_profile);
    if (!st) return fail(std::move(st.error()).context("process.apparmorProfile"));
  }
  if (p.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return fail_errno("set no_new_privs");
  // Without nnp, loading a filter needs CAP_SYS_ADMIN: load it while we still have it.
  if (c.seccomp && !p.no_new_privileges) TRY(load_filter(c));
  if (c.caps) TRY(security::drop_bounding(c.caps->bounding));
  TRY(security::set_keep_caps(true));
  bool setgroups_ok = true;
  if (c.new_userns) {
    // The parent wrote setgroups=deny only for rootless-style single mappings.
    auto sg = read_file("/proc/self/setgroups", 64);
    setgroups_ok = !sg || sg->find("deny") == std::string::npos;
  }
  TRY(set_ids(p, c.in_userns, setgroups_ok));
  TRY(security::set_keep_caps(false));
  if (c.caps) TRY(security::apply_caps(*c.caps));
  if (c.seccomp && p.no_new_privileges) TRY(load_filter(c));
  ::umask(p.user.umask.value_or(022));
  return ok();
}

Status init_setup(InitConfig& c) {
  if (c.late_cgroup) {
    // the parent moves us into the cgroup meanwhile (cgroup_ready)
  } else if (c.self_setup) {
    // Still in the host's cgroup namespace and /proc: "0" is this process.
    if (c.cgroup) TRYC(c.cgroup->apply(0), "cgroup");
    if (c.process->oom_score_adj)
      TRYC(write_proc("/proc/self/oom_score_adj", std::to_string(*c.process->oom_score_adj)), "process.oomScoreAdj");
  } else {
    auto go = TRY(recv_msg(c.sync_fd));
    if (go.empty() || go[0] != 'G') return fail(Errc::Cancelled, "parent went away");
  }
  for (auto& [type, fd] : c.join) {
    if (type == 0) {
      // exec: enter the container's root (it may have been made with chroot, --no-pivot).
      if (g_exec_root_fd >= 0) {
        if (::fchdir(g_exec_root_fd) != 0 || ::chroot(".") != 0) return fail_errno("enter container root");
        ::close(g_exec_root_fd);
        g_exec_root_fd = -1;
      }
      continue;
    }
    if (::setns(fd, type) != 0) return fail_errno("setns", std::to_string(type));
    ::close(fd);
    if (type == CLONE_NEWUSER) {
      if (::syscall(SYS_setresgid, 0, 0, 0) != 0 || ::syscall(SYS_setresuid, 0, 0, 0) != 0)
        return fail_errno("become root in the user namespace");
    }
  }
  if (c.new_userns) {
    if (::syscall(SYS_setresgid, 0, 0, 0) != 0 || ::syscall(SYS_setresuid, 0, 0, 0) != 0)
      return fail_errno("become root in the user namespace");
  }
  if (c.new_cgroupns && !c.late_cgroup && ::unshare(CLONE_NEWCGROUP) != 0) return fail_errno("unshare cgroup namespace");
  if (::setsid() < 0 && !c.is_exec) return fail_errno("setsid");
  const Spec& s = *c.spec;
  if (!c.no_new_keyring && !c.is_exec) {
    // A fresh session keyring so containers do not share the host's (runc does the same).
    (void)::syscall(SYS_keyctl, 1 /*KEYCTL_JOIN_SESSION_KEYRING*/, nullptr);
  }
  if (!c.is_exec) {
    if (!s.hostname.empty()) {
      if (!c.new_utsns) return fail(Errc::InvalidArgument, "unable to set hostname without a private UTS namespace");
      if (::sethostname(s.hostname.data(), s.hostname.size()) != 0) return fail_errno("sethostname");
    }
    if (!s.domainname.empty()) {
      if (!c.new_utsns) return fail(Errc::InvalidArgument, "unable to set domainname without a private UTS namespace");
      if (::setdomainname(s.domainname.data(), s.domainname.size()) != 0) return fail_errno("setdomainname");
    }
    if (s.linux_) TRY(set_sysctls(s.linux_->sysctl));
    // The spec's mounts are only made in a new mount namespace; otherwise (none, or one
    // joined by path) the rootfs is chrooted as it is and may have no /proc.
    bool has_proc = false;
    for (auto& m : s.mounts) has_proc = has_proc || (c.new_mntns && m.destination == "/proc");
    if (!has_proc && c.fifo_fd >= 0) {
      // Without a /proc in the container the fifo is reopened through the host's; the fd is
      // O_PATH, close-on-exec, closed before execve, and the init is not dumpable meanwhile.
      c.host_proc_fd = ::open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (c.host_proc_fd < 0) return fail_errno("open /proc/self/fd");
    }
    if (c.new_mntns) {
      TRYC(prepare_rootfs(c), "rootfs");
    }
    TRY(cgroup_ready(c));  // when the rootfs had no cgroup mount to wait for
    bool need_hooks = !s.hooks.prestart.empty() || !s.hooks.create_runtime.empty() ||
                      !s.hooks.create_container.empty() || !s.hooks.start_container.empty();
    if (need_hooks) {
      TRY(send_msg(c.sync_fd, 'H'));
      auto h = TRY(recv_msg(c.sync_fd));
      if (h.empty() || h[0] != 'h') return fail(Errc::Cancelled, "parent went away during hooks");
      c.state_json_for_hooks = h.substr(1);
    }
    // createContainer hooks run in the container's mount namespace with the rootfs as cwd
    // (before pivot_root), as runc's do: they may use rootfs-relative paths.
    if (!s.hooks.create_container.empty() && c.new_mntns && ::chdir(c.rootfs.c_str()) != 0)
      return fail_errno("chdir", c.rootfs);
    if (!s.hooks.create_container.empty())
      TRY(run_hooks(s.hooks.create_container, "createContainer", c.state_json_for_hooks));
    if (c.new_mntns) {
      TRYC(pivot_into(c.rootfs, c.no_pivot), "rootfs");
    } else {
      if (::chroot(c.rootfs.c_str()) != 0) return fail_errno("chroot", c.rootfs);
      if (::chdir("/") != 0) return fail_errno("chdir /");
    }
  }
  // The console before the rootfs is finalized (read-only / or /dev), as runc.
  if (c.process->terminal) {
    if (c.console_fd < 0) return fail(Errc::InvalidArgument, "process.terminal needs --console-socket");
    TRY(setup_console(c));
  }
  if (!c.is_exec && c.new_mntns) TRYC(finalize_rootfs(c), "rootfs");
  // CVE-2024-21626: no host descriptor may survive into the container, and the working
  // directory must be reached from the container's root, not through a leaked fd.
  close_leaked_fds(c.preserve_fds, {c.sync_fd, c.fifo_fd, c.host_proc_fd});
  const std::string& cwd = c.process->cwd.empty() ? std::string("/") : c.process->cwd;
  if (cwd[0] != '/') return fail(Errc::InvalidArgument, "process.cwd " + cwd + " is not an absolute path");
  if (::chdir(cwd.c_str()) != 0) return fail_errno("chdir to cwd", cwd);
  char buf[4096];
  if (!::getcwd(buf, sizeof buf) || buf[0] != '/')
    return fail(Errc::PermissionDenied, "process.cwd " + cwd + " is outside the container root");
  TRY(setup_process(c));
  return ok();
}

[[noreturn]] void die(InitConfig& c, const Error& e) {
  (void)send_msg(c.sync_fd, 'E', e.message());
  _exit(1);
}

}  // namespace

Status cgroup_ready(InitConfig& c) {
  if (!c.late_cgroup || c.cgroup_joined) return ok();
  auto go = TRY(recv_msg(c.sync_fd));
  if (go.empty() || go[0] != 'G') return fail(Errc::Cancelled, "parent went away");
  if (c.new_cgroupns && ::unshare(CLONE_NEWCGROUP) != 0) return fail_errno("unshare cgroup namespace");
  c.cgroup_joined = true;
  return ok();
}

void init_main(InitConfig& c) {
  // Non-dumpable while we still run the runtime's code: other processes in the container
  // cannot open /proc/<pid>/exe or ptrace us (CVE-2019-5736; execve resets it).
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  auto st = init_setup(c);
  if (!st) die(c, st.error());
  auto exe = lookup_path(c.process->args[0], c.process->env);
  if (!exe) die(c, exe.error());
  std::vector<char*> argv, envp;
  for (auto& a : c.process->args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (auto& e : c.process->env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  if (auto r = send_msg(c.sync_fd, 'R'); !r) _exit(1);
  ::close(c.sync_fd);
  if (c.fifo_fd >= 0) {
    // Until the start the init only waits; the runtime's code it mapped (the binary's pages,
    // shared with the page cache) is let go meanwhile, so that the execve at the start has that
    // many fewer page-table entries to tear down. The little code run from here on maps again.
    drop_code_pages();
    // Blocks until `start` opens the fifo for reading.
    std::string p = "/proc/self/fd/" + std::to_string(c.fifo_fd);
    int w = c.host_proc_fd >= 0 ? ::openat(c.host_proc_fd, std::to_string(c.fifo_fd).c_str(), O_WRONLY | O_CLOEXEC)
                                : ::open(p.c_str(), O_WRONLY | O_CLOEXEC);
    if (c.host_proc_fd >= 0) ::close(c.host_proc_fd);
    if (w < 0) {
      std::fprintf(stderr, "berth-runtime: open exec fifo: %s\n", std::strerror(errno));
      _exit(1);
    }
    if (::write(w, "0", 1) != 1) _exit(1);
    ::close(w);
    ::close(c.fifo_fd);
  }
  if (!c.is_exec && !c.spec->hooks.start_container.empty()) {
    auto h = run_hooks(c.spec->hooks.start_container, "startContainer", c.state_json_for_hooks);
    if (!h) {
      std::fprintf(stderr, "berth-runtime: %s\n", h.error().message().c_str());
      _exit(1);
    }
  }
  ::execve(exe->c_str(), argv.data(), envp.data());
  int err = errno;
  std::fprintf(stderr, "berth-runtime: exec %s: %s\n", exe->c_str(), std::strerror(err));
  _exit(127);
}

}  // namespace berth::runtime
