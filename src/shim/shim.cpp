// SPDX-License-Identifier: Apache-2.0
// berth-shim: one per container. Protocol with berthd (see docs/design/daemon.md):
//
//   berthd                       berth-shim (daemonized: setsid, reparented)
//     │ listens on <state>/attach.sock, connects the attach sessions waiting for the start
//     │ and its exit monitor (they queue in the backlog)
//     │ spawn --ready-fd 3 ────────►│ fork; parent exits 0 (berthd reaps it)
//     │   (a socketpair)            │ PR_SET_CHILD_SUBREAPER; accepts the queued clients
//     │   --attach-fd 4 (listener)  │ (before any output exists, so none is lost); stdio:
//     │                             │ pipes, or a pty whose master comes through
//     │                             │ <runtime> --console-socket
//     │                             │ <runtime> run --detach --bundle B --pid-file P <id>
//     │ ◄──── "ok <pid>\n" | "error <msg>\n" on the ready fd, then close
//     │   (--create-only: `<runtime> create` instead; "created <pid>\n", the ready fd stays open;
//     │   berthd sends "s\n" when the container is to start, the shim takes in the queued clients,
//     │   starts it and answers as above. EOF, the init's death or the TTL before that: the
//     │   shim deletes the container and exits without an exit.json.)
//     │                             │ copies output into the log (json-file/local/none) and to
//     │                             │ attach clients; stdin and resizes from them (attach_proto)
//     │                             │ reaps; on init exit: drains output, writes
//     │                             │ <state>/exit.json atomically, sends kExit to every client
//     │                             │ (berthd's monitor learns of the exit there), <runtime>
//     │                             │ delete (--cgroup-path: berth-runtime's cgroup and state
//     │                             │ removed by the shim itself, fast_delete), exits
//
// The shim keeps nothing but pipes, sockets and its log file; it never links Boost, threads or a
// JSON library so its RSS stays near 1 MB. Files in --state-dir: shim.pid, init.pid, exit.json,
// runtime.log, attach.sock (console.sock while a tty container is created), exec-<tag>.exit (an
// exec's status, written when it ends; berthd removes it once it has recorded it).
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/code_pages.hpp"
#include "common/scm_rights.hpp"
#include "shim/attach_proto.hpp"
#include "shim/shim_log.hpp"

namespace {

namespace proto = berth::shim::proto;
using berth::send_with_fds;

struct Opts {
  std::string id, bundle, runtime = "berth-runtime", runtime_root, state_dir;
  std::string log_driver = "json-file", log_path;
  long long log_max_size = 10 * 1024 * 1024;
  int log_max_file = 3;
  int ready_fd = -1;
  int attach_fd = -1;  // the listening attach socket, made by berthd
  bool foreground = false;
  bool tty = false, open_stdin = false;
  // --create-only: the runtime creates the container; its start waits for "s\n" on the ready fd
  // (see await_start). --exec-fifo: the start opens the runtime's exec fifo itself (berth-runtime
  // and runc keep it at <root>/<id>/exec.fifo), else it runs `<runtime> start`.
  bool create_only = false;
  int create_ttl_ms = 10000;
  std::string exec_fifo;
  // --cgroup-path (berth-runtime only): the container's cgroupsPath; the delete after its exit is
  // done here (fast_delete) instead of by a runtime process.
  std::string cgroup_path;
  // A spare's runtime started ahead (`<ahead_path> --await-command`, our child): the first
  // runtime command goes to it when it is the same binary (run_first).
  std::string ahead_path;
  int ahead_chan = -1;
  pid_t ahead_pid = -1;
};

void ready(Opts& o, const std::string& msg, bool close_it = true) {
  if (o.ready_fd < 0) return;
  std::string m = msg + "\n";
  (void)!::write(o.ready_fd, m.data(), m.size());
  if (close_it) {
    ::close(o.ready_fd);
    o.ready_fd = -1;
  }
}

long long now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<long long>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

std::string slurp(const std::string& path, size_t max = 65536) {
  std::string out;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  ssize_t n;
  while (out.size() < max && (n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

bool write_atomic(const std::string& path, const std::string& data) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  // no fsync: rename is atomic against crashes of processes, and a host crash ends the
  // containers anyway; fsync would delay the exit report
  bool ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
  ::close(fd);
  return ok && ::rename(tmp.c_str(), path.c_str()) == 0;
}

void set_nonblock(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// posix_spawn's attributes for our children: the signals we block (SIGCHLD, SIGTERM…, read
// through the signalfd) unblocked again.
struct SpawnAttr {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t fa;
  SpawnAttr() {
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&fa);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  }
  ~SpawnAttr() {
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
  }
  SpawnAttr(const SpawnAttr&) = delete;
  SpawnAttr& operator=(const SpawnAttr&) = delete;
};

// Runs argv with the given stdio (in cwd when given); returns the wait status (or -1). A
// posix_spawn (a vfork): none of our page tables copied only to be torn down at the exec.
int run(const std::vector<std::string>& argv, int in, int out, int err, const char* cwd = nullptr) {
  SpawnAttr sa;
  int fds[3] = {in, out, err};
  for (int i = 0; i < 3; ++i)
    if (fds[i] >= 0) posix_spawn_file_actions_adddup2(&sa.fa, fds[i], i);
  if (cwd) posix_spawn_file_actions_addchdir_np(&sa.fa, cwd);
  std::vector<char*> a;
  for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
  a.push_back(nullptr);
  pid_t pid = -1;
  if (::posix_spawnp(&pid, a[0], &sa.fa, &sa.attr, a.data(), environ) != 0) return 127 << 8;  // as the child's _exit(127) was
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return st;
}

// Hands cwd, argv and the stdio fds to the runtime started ahead (see runtime/cli/await_command.cpp).
bool send_command(int chan, const std::string& cwd, const std::vector<std::string>& argv, int in, int out, int err) {
  std::string m = cwd;
  for (const auto& a : argv) {
    m.push_back('\0');
    m += a;
  }
  int fds[3] = {in, out, err};
  return send_with_fds(chan, m, fds, 3);
}

// run(), through the runtime started ahead when there is one of that binary (else it is let go).
// meanwhile() is called once, while the runtime started ahead works if there is one.
int run_first(Opts& o, const std::vector<std::string>& argv, int in, int out, int err, const char* cwd,
              const std::function<void()>& meanwhile) {
  if (o.ahead_pid > 0) {
    pid_t pid = std::exchange(o.ahead_pid, -1);
    int chan = std::exchange(o.ahead_chan, -1);
    bool sent = argv[0] == o.ahead_path && send_command(chan, cwd ? cwd : "/", argv, in, out, err);
    meanwhile();
    if (sent) {
      // its exit code comes before its exit (reaped later with the other children); EOF
      // without one: it died, its status tells
      int code = 0;
      ssize_t n;
      do n = ::recv(chan, &code, sizeof code, 0); while (n < 0 && errno == EINTR);
      ::close(chan);
      if (n == static_cast<ssize_t>(sizeof code)) return code == 0 ? 0 : (code & 0xff) << 8;
    } else {
      ::close(chan);  // it sees EOF and exits
    }
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0) {
      if (errno != EINTR) return -1;
    }
    if (sent) return st;
  } else {
    meanwhile();
  }
  return run(argv, in, out, err, cwd);
}

// `<path> --await-command` with a SOCK_SEQPACKET channel on its fd 3; ours is close-on-exec.
// posix_spawn (a vfork, not a fork): no copy of our page tables to tear down again at the exec,
// and no copy-on-write faults for us afterwards.
void start_runtime_ahead(Opts& o, const std::string& path) {
  int sp[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) return;
  SpawnAttr sa;
  posix_spawn_file_actions_adddup2(&sa.fa, sp[1], 3);  // to another fd: clears close-on-exec
  char* a[] = {const_cast<char*>(path.c_str()), const_cast<char*>("--await-command"), nullptr};
  pid_t pid = -1;
  if (::posix_spawn(&pid, a[0], &sa.fa, &sa.attr, a, environ) != 0) pid = -1;
  ::close(sp[1]);
  int ours = pid > 0 ? ::fcntl(sp[0], F_DUPFD_CLOEXEC, 10) : -1;  // clear of 3 and 4 (await_job)
  ::close(sp[0]);
  if (pid < 0) return;
  if (ours < 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return;
  }
  o.ahead_path = path;
  o.ahead_chan = ours;
  o.ahead_pid = pid;
}

std::vector<std::string> runtime_argv(const Opts& o, const std::string& log = {}) {
  std::vector<std::string> a{o.runtime};
  if (!o.runtime_root.empty()) {
    a.push_back("--root");
    a.push_back(o.runtime_root);
  }
  a.push_back("--log");
  a.push_back(log.empty() ? o.state_dir + "/runtime.log" : log);
  return a;
}

// `delete --force` logs to /dev/null: berthd may remove the state dir meanwhile.
// What `berth-runtime delete` does for a container whose init is gone and reaped, without its
// process start (≈ 1 ms of glibc's CPU probing here): under the runtime's lock on the state dir,
// the cgroup's directory in every cgroup hierarchy is removed, then the state dir. False when
// something is left (a process still in the cgroup, an unexpected file): the runtime is run then.
bool fast_delete(const Opts& o) {
  if (o.cgroup_path.empty() || o.cgroup_path[0] != '/' || o.cgroup_path.find("..") != std::string::npos) return false;
  std::string dir = o.runtime_root + "/" + o.id;
  int lk = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (lk < 0) return errno == ENOENT;
  bool ok = ::flock(lk, LOCK_EX) == 0;
  // cgroup mount points (cgroup and cgroup2) from mountinfo: "... <mount point> ... - <fstype> ..."
  std::string mi = slurp("/proc/self/mountinfo", 1 << 20);
  size_t pos = 0;
  while (ok && pos < mi.size()) {
    size_t eol = mi.find('\n', pos);
    if (eol == std::string::npos) eol = mi.size();
    std::string line = mi.substr(pos, eol - pos);
    pos = eol + 1;
    size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::string fstype = line.substr(dash + 3, line.find(' ', dash + 3) - (dash + 3));
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    size_t f = 0;
    for (int i = 0; i < 4 && f != std::string::npos; ++i) f = line.find(' ', f + 1);  // 5th field
    if (f == std::string::npos) continue;
    std::string mp = line.substr(f + 1, line.find(' ', f + 1) - (f + 1));
    if (mp.find('\\') != std::string::npos) continue;  // escaped (unusual) mount point: not ours
    if (::rmdir((mp + o.cgroup_path).c_str()) != 0 && errno != ENOENT) ok = false;
  }
  if (ok) {
    // the state dir holds only files the runtime wrote
    if (DIR* d = ::opendir(dir.c_str())) {
      while (auto* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n == "." || n == "..") continue;
        if (::unlinkat(dirfd(d), n.c_str(), 0) != 0) ok = false;
      }
      ::closedir(d);
    }
    ok = ok && ::rmdir(dir.c_str()) == 0;
  }
  ::close(lk);
  return ok;
}

void runtime_delete(const Opts& o, int devnull) {
  auto del = runtime_argv(o, "/dev/null");
  for (const char* s : {"delete", "--force"}) del.push_back(s);
  del.push_back(o.id);
  run(del, devnull, devnull, devnull);
}

std::string last_runtime_error(const Opts& o, const std::string& fallback) {
  std::string log = slurp(o.state_dir + "/runtime.log");
  // runc-style logs: JSON lines ("msg":"…") or logfmt (msg="…"); report the last message
  auto last_msg = [](const std::string& text) {
    std::string msg;
    for (const char* key : {"\"msg\":\"", "msg=\""}) {
      size_t pos = 0, klen = std::strlen(key);
      while ((pos = text.find(key, pos)) != std::string::npos) {
        pos += klen;
        std::string m;
        size_t e = pos;
        for (; e < text.size() && text[e] != '"'; ++e) {
          if (text[e] == '\\' && e + 1 < text.size()) ++e;  // \" and \\ stand for themselves
          m += text[e];
        }
        msg = m;
        pos = e;
      }
      if (!msg.empty()) break;
    }
    return msg;
  };
  std::string msg = last_msg(log);
  if (msg.empty()) msg = last_msg(fallback);
  if (msg.empty()) {
    // plain text log: last non-empty line
    size_t end = log.find_last_not_of("\n");
    if (end != std::string::npos) {
      size_t start = log.rfind('\n', end);
      msg = log.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1) + 1);
    }
  }
  for (auto& c : msg)
    if (c == '\n') c = ' ';
  return msg.empty() ? fallback : msg;
}

// A listening unix socket at dir/name (bound relative to dir: exec roots can be deep).
int listen_in(const std::string& dir, const char* name) {
  int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (s < 0) return -1;
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", name);
  int cwd = ::open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  bool ok = ::chdir(dir.c_str()) == 0;
  if (ok) {
    ::unlink(name);
    ok = ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(s, 64) == 0;
    ::chmod(name, 0600);
  }
  if (cwd >= 0) {
    (void)!::fchdir(cwd);
    ::close(cwd);
  }
  if (!ok) {
    ::close(s);
    return -1;
  }
  return s;
}

// Receives the pty master the runtime sent on the console socket.
int recv_console(int listen_fd) {
  pollfd p{listen_fd, POLLIN, 0};
  if (::poll(&p, 1, 5000) <= 0) return -1;
  int c = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (c < 0) return -1;
  char data[256];
  int fd = -1;
  p = {c, POLLIN, 0};
  if (::poll(&p, 1, 5000) > 0) (void)berth::recv_with_fds(c, data, sizeof data, &fd, 1);
  ::close(c);
  return fd;
}

// The stdio of a process the runtime starts (the init or an exec): pipes, or a pty whose master
// comes later through the console socket. The error pipe also catches the runtime's own error
// output (a tty process's stderr is the pty).
struct Stdio {
  int out[2] = {-1, -1}, err[2] = {-1, -1}, in[2] = {-1, -1};
  bool tty = false;

  Stdio(const Stdio&) = delete;
  Stdio& operator=(const Stdio&) = delete;
  Stdio() = default;
  ~Stdio() {
    for (int* p : {out, err, in})
      for (int i = 0; i < 2; ++i)
        if (p[i] >= 0) ::close(p[i]);
  }
  // false (errno set) when a pipe could not be made.
  bool open(bool tty_, bool with_stdin) {
    tty = tty_;
    return ::pipe2(err, O_CLOEXEC) == 0 && (tty || ::pipe2(out, O_CLOEXEC) == 0) &&
           (tty || !with_stdin || ::pipe2(in, O_CLOEXEC) == 0);
  }
  // Runs the runtime with the child's ends (in the state dir), then closes them.
  int run_runtime(Opts& o, const std::vector<std::string>& argv, int devnull, const std::string& cwd,
                  const std::function<void()>& meanwhile = [] {}) {
    int st = run_first(o, argv, in[0] >= 0 ? in[0] : devnull, tty ? devnull : out[1], err[1], cwd.c_str(), meanwhile);
    for (int* fd : {&out[1], &in[0], &err[1]}) close_fd(fd);
    return st;
  }
  // What the runtime wrote on stderr before it failed.
  std::string runtime_error() {
    std::string msg;
    char buf[4096];
    ::fcntl(err[0], F_SETFL, O_NONBLOCK);
    ssize_t n;
    while ((n = ::read(err[0], buf, sizeof buf)) > 0 && msg.size() < 8192) msg.append(buf, static_cast<size_t>(n));
    return msg;
  }
  // The runtime succeeded: the parent ends become the process's streams (nonblocking). A tty's
  // output and input are its master, which the caller sets.
  void adopt(int src[2], int* stdin_fd) {
    if (tty) {
      close_fd(&err[0]);
      return;
    }
    src[0] = std::exchange(out[0], -1);
    src[1] = std::exchange(err[0], -1);
    set_nonblock(src[0]);
    set_nonblock(src[1]);
    if (in[1] >= 0) {
      *stdin_fd = std::exchange(in[1], -1);
      set_nonblock(*stdin_fd);
    }
  }

 private:
  static void close_fd(int* fd) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
};

struct Client {
  int fd = -1;
  bool hello = false, in = false, out = false, err = false;
  bool closing = false;  // dropped once wbuf is sent
  std::string exec;      // the exec this client started (its stream) or watches, if any
  bool watch = false;    // an exec watcher (kExecWatch): only the exit, no output
  std::string rbuf, wbuf;
};

// An exec started for a client (proto::kExecStart); our child once the runtime has exited.
struct Exec {
  std::string tag;
  int client = -1;  // the client's fd; -1 once it left
  pid_t pid = -1;
  int src[2] = {-1, -1};  // stdout (or the pty master), stderr
  int in = -1;            // stdin: pipe write end, or the master
  int master = -1;
  std::string inbuf;
  bool in_closing = false;
  bool exited = false;
  int status = 0;
  long long exited_at = 0;
};

constexpr std::size_t kClientHighWater = 1 << 20;  // output waits while a client lags this much
constexpr std::size_t kStdinHighWater = 1 << 16;

class Io {
 public:
  Io(Opts& o, berth::shim::LogWriter& log) : o_(o), log_(log) {}
  int src[2] = {-1, -1};  // stdout (or the pty master), stderr
  int stdin_fd = -1;      // the container's stdin: pipe write end, or the pty master
  int master = -1;        // tty: the pty master (for resizes)
  int listen_fd = -1;
  int devnull = -1;
  std::vector<Client> clients;
  std::vector<Exec> execs;

  Client* client_by_fd(int fd) {
    for (auto& c : clients)
      if (c.fd == fd && fd >= 0) return &c;
    return nullptr;
  }
  Exec* exec_by_tag(const std::string& tag) {
    for (auto& e : execs)
      if (e.tag == tag) return &e;
    return nullptr;
  }

  void send_frame(Client& c, unsigned char kind, std::string_view data) {
    c.wbuf += proto::frame(kind, data);
    flush(c);
  }

  // Runs `<runtime> exec --detach` for a kExecStart frame; the client becomes the exec's stream.
  void start_exec(Client& c, const std::string& payload) {
    auto a = payload.find('\n');
    auto b = a == std::string::npos ? a : payload.find('\n', a + 1);
    if (b == std::string::npos) {
      exec_error(c, "bad exec request");
      return;
    }
    Exec e;
    e.tag = payload.substr(0, a);
    std::string flags = payload.substr(a + 1, b - a - 1), pfile = payload.substr(b + 1);
    bool tty = flags.find('t') != std::string::npos, in = flags.find('i') != std::string::npos;
    bool detached = flags.find('d') != std::string::npos;  // the client wants the exit only
    if (e.tag.empty() || e.tag.find('/') != std::string::npos || exec_by_tag(e.tag)) {
      exec_error(c, "bad exec id");
      return;
    }
    Stdio io;
    if (!io.open(tty, in)) {
      exec_error(c, std::string("pipe: ") + std::strerror(errno));
      return;
    }
    std::string sock = "exec-" + e.tag + ".sock", pid_file = o_.state_dir + "/exec-" + e.tag + ".pid";
    ::unlink((o_.state_dir + "/" + proto::exec_exit_file(e.tag)).c_str());
    int console = tty ? listen_in(o_.state_dir, sock.c_str()) : -1;
    // no --log: the runtime's errors come on its stderr, for the client
    std::vector<std::string> argv{o_.runtime};
    if (!o_.runtime_root.empty()) argv.insert(argv.end(), {"--root", o_.runtime_root});
    argv.insert(argv.end(), {"exec", "--detach", "--pid-file", pid_file, "--process", pfile});
    if (tty) argv.insert(argv.end(), {"--console-socket", sock});  // relative to the state dir
    argv.push_back(o_.id);
    int st = (tty && console < 0) ? -1 : io.run_runtime(o_, argv, devnull, o_.state_dir);
    if (st != 0) {
      std::string err = io.runtime_error();
      if (console >= 0) ::close(console);
      if (tty) ::unlink((o_.state_dir + "/" + sock).c_str());
      ::unlink(pid_file.c_str());
      exec_error(c, err.empty() ? "runtime exec failed" : err);
      return;
    }
    e.pid = static_cast<pid_t>(std::atol(slurp(pid_file).c_str()));
    ::unlink(pid_file.c_str());
    io.adopt(e.src, &e.in);
    if (tty) {
      e.master = recv_console(console);
      ::close(console);
      ::unlink((o_.state_dir + "/" + sock).c_str());
      if (e.master < 0) {
        if (e.pid > 0) ::kill(e.pid, SIGKILL);
        exec_error(c, "no pty master from the runtime's console socket");
        return;
      }
      set_nonblock(e.master);
      e.src[0] = e.master;
      e.in = in ? e.master : -1;
    }
    e.client = detached ? -1 : c.fd;  // -1: the output is dropped
    c.exec = e.tag;
    c.watch = detached;
    execs.push_back(std::move(e));
    send_frame(c, proto::kExecStarted, std::to_string(execs.back().pid));
  }

  // A restarted berthd asks after an exec (proto::kExecWatch): running (the pid now, its exit
  // later), ended (its recorded status), or unknown.
  void watch_exec(Client& c, const std::string& tag) {
    if (Exec* e = tag.empty() ? nullptr : exec_by_tag(tag); e && e->pid > 0) {
      c.exec = tag;
      c.watch = true;
      send_frame(c, proto::kExecStarted, std::to_string(e->pid));
      return;
    }
    std::string rec = tag.find('/') == std::string::npos ? slurp(o_.state_dir + "/" + proto::exec_exit_file(tag)) : "";
    auto at = rec.find("\"ExitCode\":");
    if (tag.empty() || at == std::string::npos) {
      exec_error(c, "no such exec: " + tag);
      return;
    }
    send_frame(c, proto::kExit, std::to_string(std::atoi(rec.c_str() + at + 11)));
    c.closing = true;
  }

  void exec_error(Client& c, const std::string& msg) {
    send_frame(c, proto::kExecError, msg);
    c.closing = true;
  }

  void exec_output(Exec& e, int stream, const char* data, std::size_t n) {
    Client* c = client_by_fd(e.client);
    if (!c) return;  // nobody listens: dropped
    char h[proto::kHeader];
    proto::put_header(h, static_cast<unsigned char>(stream), static_cast<std::uint32_t>(n));
    c->wbuf.append(h, sizeof h);
    c->wbuf.append(data, n);
    flush(*c);
  }

  void exec_close_stdin(Exec& e) {
    if (e.in >= 0 && e.in != e.master) ::close(e.in);
    e.in = -1;
    e.inbuf.clear();
  }

  void flush_exec_stdin(Exec& e) {
    while (e.in >= 0 && !e.inbuf.empty()) {
      ssize_t n = ::write(e.in, e.inbuf.data(), e.inbuf.size());
      if (n > 0) {
        e.inbuf.erase(0, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      exec_close_stdin(e);
    }
    if (e.in_closing && e.inbuf.empty()) exec_close_stdin(e);
  }

  // Ends an exec: its status into exec-<tag>.exit (before anyone is told: a berthd that is
  // down reads it later), then to its client and watchers; fds closed.
  void finish_exec(Exec& e) {
    write_atomic(o_.state_dir + "/" + proto::exec_exit_file(e.tag),
                 "{\"ExitCode\":" + std::to_string(e.status) + ",\"Pid\":" + std::to_string(e.pid) + "}\n");
    for (auto& c : clients)
      if (c.fd >= 0 && c.exec == e.tag) {
        send_frame(c, proto::kExit, std::to_string(e.status));
        c.closing = true;
      }
    for (int fd : {e.src[0], e.src[1]})
      if (fd >= 0 && fd != e.master) ::close(fd);
    exec_close_stdin(e);
    if (e.master >= 0) ::close(e.master);
    e.src[0] = e.src[1] = e.master = -1;
    e.pid = -1;
  }

  void accept_clients() {
    for (;;) {
      int c = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (c < 0) return;
      Client cl;
      cl.fd = c;
      clients.push_back(std::move(cl));
      // the hello is normally there already: handle it before any output is fanned out
      read_client(clients.back());
    }
  }

  void output(int stream, const char* data, std::size_t n) {
    log_.write(stream, std::string_view(data, n));
    for (auto& c : clients) {
      if (c.fd < 0 || !c.hello || (stream == 1 ? !c.out : !c.err)) continue;
      char h[proto::kHeader];
      proto::put_header(h, static_cast<unsigned char>(stream), static_cast<std::uint32_t>(n));
      c.wbuf.append(h, sizeof h);
      c.wbuf.append(data, n);
      flush(c);
    }
  }

  void send_all(unsigned char kind, const std::string& payload) {
    for (auto& c : clients) {
      if (c.fd < 0 || !c.exec.empty()) continue;
      c.wbuf += proto::frame(kind, payload);
      flush(c);
    }
  }

  void flush(Client& c) {
    while (c.fd >= 0 && !c.wbuf.empty()) {
      ssize_t n = ::send(c.fd, c.wbuf.data(), c.wbuf.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        c.wbuf.erase(0, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      drop(c);
    }
  }

  void drop(Client& c) {
    if (c.fd >= 0) {
      // an exec whose client left goes on without stdin; its output is dropped
      for (auto& e : execs)
        if (e.client == c.fd) {
          e.client = -1;
          exec_close_stdin(e);
        }
      ::close(c.fd);
    }
    c.fd = -1;
    c.wbuf.clear();
  }

  void read_client(Client& c) {
    char buf[32768];
    for (;;) {
      ssize_t n = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        c.rbuf.append(buf, static_cast<std::size_t>(n));
        if (!handle_frames(c)) return;
        if (stdin_buf_.size() > kStdinHighWater) return;
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      drop(c);  // EOF or error: the client went away (a detach)
      return;
    }
  }

  bool handle_frames(Client& c) {
    unsigned char kind;
    std::string payload;
    while (proto::pop_frame(c.rbuf, &kind, &payload)) {
      switch (kind) {
        case proto::kHello:
          c.hello = true;
          c.in = payload.find('i') != std::string::npos;
          c.out = payload.find('o') != std::string::npos;
          c.err = payload.find('e') != std::string::npos;
          break;
        case proto::kExecStart:
          if (!c.hello && c.exec.empty()) start_exec(c, payload);
          break;
        case proto::kExecWatch:
          if (!c.hello && c.exec.empty()) watch_exec(c, payload);
          break;
        case proto::kStdin:
          if (!c.exec.empty()) {
            Exec* e = c.watch ? nullptr : exec_by_tag(c.exec);
            if (e && e->in >= 0 && !e->in_closing) e->inbuf += payload;
          } else if ((stdin_fd >= 0 || (o_.open_stdin && !stdin_closed_)) && !stdin_closing_) {
            // Also before the container's stdin exists: an early attacher's input is taken in
            // with its hello, before the runtime runs, and written once the pipe is ours.
            stdin_buf_ += payload;
          }
          break;
        case proto::kCloseStdin:
          if (c.exec.empty()) stdin_closing_ = true;
          else if (Exec* e = exec_by_tag(c.exec); e && !c.watch) e->in_closing = true;
          break;
        case proto::kResize: {
          unsigned rows = 0, cols = 0;
          Exec* e = c.exec.empty() ? nullptr : exec_by_tag(c.exec);
          int m = c.exec.empty() ? master : (e ? e->master : -1);
          if (m >= 0 && std::sscanf(payload.c_str(), "%u %u", &rows, &cols) == 2) {
            winsize ws{};
            ws.ws_row = static_cast<unsigned short>(rows);
            ws.ws_col = static_cast<unsigned short>(cols);
            ::ioctl(m, TIOCSWINSZ, &ws);
          }
          break;
        }
        case proto::kDetach:
          drop(c);
          return false;
        default: break;
      }
    }
    if (c.rbuf.size() > proto::kHeader + proto::kMaxFrame) {
      drop(c);
      return false;
    }
    return true;
  }

  void flush_stdin() {
    while (stdin_fd >= 0 && !stdin_buf_.empty()) {
      ssize_t n = ::write(stdin_fd, stdin_buf_.data(), stdin_buf_.size());
      if (n > 0) {
        stdin_buf_.erase(0, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      stdin_buf_.clear();  // the container closed its stdin
      close_stdin();
    }
    if (stdin_closing_ && stdin_buf_.empty()) close_stdin();
  }

  void close_stdin() {
    // a tty's input is the master, which carries the output too: keep it
    if (stdin_fd >= 0 && stdin_fd != master) ::close(stdin_fd);
    stdin_fd = -1;
    stdin_closed_ = true;
  }

  bool lagging() const {
    for (const auto& c : clients)
      if (c.fd >= 0 && c.exec.empty() && c.wbuf.size() > kClientHighWater) return true;
    return false;
  }
  bool exec_lagging(const Exec& e) {
    Client* c = client_by_fd(e.client);
    return c && c->wbuf.size() > kClientHighWater;
  }
  bool stdin_pending() const { return stdin_fd >= 0 && !stdin_buf_.empty(); }
  bool stdin_full() const { return stdin_buf_.size() > kStdinHighWater; }

  // Sends what is buffered to every client (bounded wait), then closes them.
  void close_clients(int budget_ms) {
    long long until = now_ms() + budget_ms;
    for (;;) {
      std::vector<pollfd> p;
      for (auto& c : clients)
        if (c.fd >= 0 && !c.wbuf.empty()) p.push_back({c.fd, POLLOUT, 0});
      long long left = until - now_ms();
      if (p.empty() || left <= 0) break;
      ::poll(p.data(), p.size(), static_cast<int>(left));
      for (auto& c : clients) flush(c);
    }
    for (auto& c : clients) drop(c);
    clients.clear();
  }

  void compact() {
    for (auto& c : clients)
      if (c.closing && c.wbuf.empty()) drop(c);
    std::erase_if(clients, [](const Client& c) { return c.fd < 0; });
    std::erase_if(execs, [](const Exec& e) { return e.pid < 0; });
  }

 private:
  Opts& o_;
  berth::shim::LogWriter& log_;
  std::string stdin_buf_;
  bool stdin_closing_ = false;
  bool stdin_closed_ = false;  // the container's stdin was closed (no more input taken)
};

// --create-only: waits for berthd's "s\n" on the ready fd. False when the container is not to
// start: berthd closed the fd (it went away, or the prepared container is not wanted), the init
// died, we were told to stop, or the TTL passed.
// true: "s" came. false: EOF on the ready fd, a signal to stop, the TTL, or the init's death
// (*init_reaped then).
bool await_start(Opts& o, int sfd, pid_t init, bool* init_reaped) {
  long long until = now_ms() + o.create_ttl_ms;
  for (;;) {
    long long left = until - now_ms();
    if (left <= 0) return false;
    pollfd p[2] = {{o.ready_fd, POLLIN, 0}, {sfd, POLLIN, 0}};
    int r = ::poll(p, 2, static_cast<int>(left));
    if (r < 0 && errno != EINTR) return false;
    if (r <= 0) continue;
    if (p[1].revents & POLLIN) {
      signalfd_siginfo si;
      while (::read(sfd, &si, sizeof si) == sizeof si)
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT || si.ssi_signo == SIGHUP) return false;
      int ws;
      pid_t w;
      while ((w = ::waitpid(-1, &ws, WNOHANG)) > 0)
        if (w == init) {
          *init_reaped = true;
          return false;
        }
    }
    if (p[0].revents) {
      char c = 0;
      ssize_t n;
      do n = ::read(o.ready_fd, &c, 1); while (n < 0 && errno == EINTR);
      return n == 1 && c == 's';
    }
  }
}

// The code the shim ran to start the container (and the neighbours the kernel's fault-around
// mapped with it: 64 kB around each fault) stays mapped and counts in its RSS: ≈ 640-700 kB of
// a ≈ 0.9-1 MB RSS here. Once the container has run for a while it is let go
// (drop_code_pages): a quiet shim keeps ≈ 420 kB; one whose container writes output or runs
// execs maps code again as it runs it.
constexpr long long kTrimCodeAfterMs = 1000;

// Starts a created container: its exec fifo, or `<runtime> start`. The error, or "".
std::string start_created(const Opts& o, pid_t init, int devnull) {
  if (o.exec_fifo.empty()) {
    auto a = runtime_argv(o);
    a.push_back("start");
    a.push_back(o.id);
    int st = run(a, devnull, devnull, devnull);
    if (st == 0) return {};
    return last_runtime_error(o, "runtime start failed");
  }
  // as the runtime's start: the init opens the fifo for writing, writes a byte and execs
  int fd = ::open(o.exec_fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return std::string("open exec fifo: ") + std::strerror(errno);
  std::string err;
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, 100);
    if (r > 0 && (p.revents & POLLIN)) break;
    if (r < 0 && errno != EINTR) {
      err = std::string("poll exec fifo: ") + std::strerror(errno);
      break;
    }
    int ws;
    if (::waitpid(init, &ws, WNOHANG) == init) {
      err = "the container's init ended before its start";
      break;
    }
  }
  char b = 0;
  if (err.empty() && ::read(fd, &b, 1) != 1) err = "container init did not start";
  ::close(fd);
  if (err.empty()) ::unlink(o.exec_fifo.c_str());
  return err;
}

int shim_main(Opts& o) {
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  ::mkdir(o.state_dir.c_str(), 0711);
  write_atomic(o.state_dir + "/shim.pid", std::to_string(::getpid()));
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  sigaddset(&mask, SIGPIPE);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  int sfd = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  berth::shim::LogWriter log(o.log_driver, o.log_path, o.log_max_size, o.log_max_file);
  Io io(o, log);
  io.devnull = devnull;

  // The container's stdio for `create`: pipes, or (tty) a console socket the runtime sends the
  // pty master to. errp also catches the runtime's own error output.
  Stdio stdio;
  if (!stdio.open(o.tty, o.open_stdin)) {
    ready(o, std::string("error pipe: ") + std::strerror(errno));
    return 1;
  }
  // The attach clients queued before the start (berthd's early attachers and its exit
  // monitor) are taken in now, before the container can write anything.
  if (o.attach_fd >= 0) {
    io.listen_fd = o.attach_fd;
    set_nonblock(io.listen_fd);
  } else {
    io.listen_fd = listen_in(o.state_dir, proto::kAttachSocket);
  }
  io.accept_clients();
  int console_listen = -1;
  // one runtime call: create and start (`run --detach`), the init is our child's child and
  // comes back to us (subreaper) when the runtime exits
  auto create = runtime_argv(o);
  std::string init_pid_file = o.state_dir + "/init.pid";
  ::unlink(init_pid_file.c_str());
  if (o.create_only) create.push_back("create");
  else for (const char* s : {"run", "--detach"}) create.push_back(s);
  create.push_back("--bundle");
  create.push_back(o.bundle);
  create.push_back("--pid-file");
  create.push_back(init_pid_file);
  if (o.tty) {
    console_listen = listen_in(o.state_dir, "console.sock");
    if (console_listen < 0) {
      ready(o, std::string("error console socket: ") + std::strerror(errno));
      return 1;
    }
    create.push_back("--console-socket");
    create.push_back("console.sock");  // relative to the runtime's cwd (the state dir)
  }
  create.push_back(o.id);
  // the log file (a new inode on the data root) is made while the runtime creates the container
  int st = stdio.run_runtime(o, create, devnull, o.state_dir, [&log] { log.open(); });
  auto fail_create = [&](const std::string& msg) {
    ready(o, "error " + msg);
    runtime_delete(o, devnull);
    return 1;
  };
  if (st != 0) {
    // the runtime's stderr went into the error pipe: include it
    std::string err = stdio.runtime_error();
    ready(o, "error " + last_runtime_error(o, err.empty() ? "runtime create failed" : err));
    runtime_delete(o, devnull);
    return 1;
  }
  stdio.adopt(io.src, &io.stdin_fd);
  if (o.tty) {
    io.master = recv_console(console_listen);
    ::close(console_listen);
    ::unlink((o.state_dir + "/console.sock").c_str());
    if (io.master < 0) return fail_create("no pty master from the runtime's console socket");
    set_nonblock(io.master);
    io.src[0] = io.master;
    io.stdin_fd = o.open_stdin ? io.master : -1;
  }

  pid_t init = static_cast<pid_t>(std::atol(slurp(init_pid_file).c_str()));
  // Held until the exit is told: the init's exit then only drops a reference to its mount
  // namespace, and the namespace's teardown (every mount unmounted, an RCU grace period, the
  // superblocks of /proc, /dev, /sys… shut down) comes after, here, off the way of `wait`.
  // (Early returns exit the shim: the fd goes with it.)
  int mnt_ns = init > 0 ? ::open(("/proc/" + std::to_string(init) + "/ns/mnt").c_str(), O_RDONLY | O_CLOEXEC) : -1;
  if (o.create_only) {
    ready(o, "created " + std::to_string(init), false);
    bool init_reaped = false;
    if (!await_start(o, sfd, init, &init_reaped)) {
      // The init waits on the exec fifo (our child since the runtime exited): once it is gone,
      // the container is its cgroup and state dir, which fast_delete removes without a
      // runtime process.
      if (init > 0 && !init_reaped && ::kill(init, SIGKILL) == 0)
        while (::waitpid(init, nullptr, 0) < 0 && errno == EINTR) {}
      if (!fast_delete(o)) runtime_delete(o, devnull);
      ::unlink((o.state_dir + "/shim.pid").c_str());
      return 0;
    }
    // the clients berthd connected before it sent the start see all of the output
    io.accept_clients();
    std::string err = start_created(o, init, devnull);
    if (!err.empty()) return fail_create(err);
  }
  ready(o, "ok " + std::to_string(init));
  // drop_code_pages once the container has run for a while
  long long trim_at_ms = now_ms() + kTrimCodeAfterMs;

  int exit_status = -1;
  bool init_done = false;
  long long done_at_ms = 0;
  char buf[32768];
  // an exec ends when it was reaped and its output is drained (or 2 s after its exit)
  auto exec_over = [&](const Exec& e) {
    return e.exited && ((e.src[0] < 0 && e.src[1] < 0) || now_ms() - e.exited_at > 2000);
  };
  for (;;) {
    for (auto& e : io.execs)
      if (e.pid > 0 && exec_over(e)) io.finish_exec(e);
    io.compact();
    bool srcs_open = io.src[0] >= 0 || io.src[1] >= 0;
    if (init_done && (!srcs_open || now_ms() - done_at_ms > 2000)) break;
    std::vector<pollfd> p;
    p.push_back({sfd, POLLIN, 0});
    p.push_back({io.listen_fd, POLLIN, 0});
    bool lag = io.lagging();
    for (int i = 0; i < 2; ++i) p.push_back({lag ? -1 : io.src[i], POLLIN, 0});
    p.push_back({io.stdin_pending() && io.stdin_fd != io.master ? io.stdin_fd : -1, POLLOUT, 0});
    std::size_t first_client = p.size();
    for (auto& c : io.clients) {
      short ev = io.stdin_full() ? 0 : POLLIN;
      if (!c.wbuf.empty()) ev |= POLLOUT;
      p.push_back({c.fd, ev, 0});
    }
    std::size_t first_exec = p.size();  // 3 per exec: stdout/master, stderr, stdin
    int timeout = -1;
    for (auto& e : io.execs) {
      bool elag = io.exec_lagging(e);
      short in_ev = POLLIN;
      if (e.master >= 0 && !e.inbuf.empty()) in_ev |= POLLOUT;
      p.push_back({elag ? -1 : e.src[0], in_ev, 0});
      p.push_back({elag ? -1 : e.src[1], POLLIN, 0});
      p.push_back({!e.inbuf.empty() && e.in != e.master ? e.in : -1, POLLOUT, 0});
      if (e.exited) timeout = 100;
    }
    // a tty master takes input and gives output on one fd: POLLOUT only when input waits
    if (io.master >= 0 && io.stdin_pending() && !lag) p[2].events |= POLLOUT;
    if (init_done) timeout = static_cast<int>(std::max(0LL, 2000 - (now_ms() - done_at_ms)));
    else if (io.stdin_pending() && io.master >= 0 && lag) timeout = 50;
    if (trim_at_ms > 0) {
      long long left = trim_at_ms - now_ms();
      if (left <= 0) {
        berth::drop_code_pages();
        trim_at_ms = 0;
      } else if (timeout < 0 || timeout > left) {
        timeout = static_cast<int>(left);
      }
    }
    int r = ::poll(p.data(), p.size(), timeout);
    if (r < 0 && errno != EINTR) break;
    if (r < 0) continue;
    for (int i = 0; i < 2; ++i) {
      const pollfd& sp = p[2 + i];
      if (sp.fd < 0 || !(sp.revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::read(sp.fd, buf, sizeof buf);
      if (n > 0) {
        io.output(i + 1, buf, static_cast<size_t>(n));
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        // EOF (a pty master gives EIO once every slave is closed)
        log.flush_partial(i + 1);
        if (sp.fd != io.master) ::close(sp.fd);
        io.src[i] = -1;
      }
    }
    // exec output and stdin (the execs vector does not change until the clients are served)
    for (std::size_t k = 0; k < io.execs.size(); ++k) {
      Exec& e = io.execs[k];
      for (int i = 0; i < 2; ++i) {
        const pollfd& sp = p[first_exec + 3 * k + static_cast<std::size_t>(i)];
        if (sp.fd < 0 || sp.fd != e.src[i] || !(sp.revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t n = ::read(sp.fd, buf, sizeof buf);
        if (n > 0) {
          io.exec_output(e, i + 1, buf, static_cast<size_t>(n));
        } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
          if (sp.fd != e.master) ::close(sp.fd);
          e.src[i] = -1;
        }
      }
      io.flush_exec_stdin(e);
    }
    if (io.stdin_pending() || p[4].revents) io.flush_stdin();
    for (std::size_t k = first_client; k < first_exec; ++k) {
      if (!p[k].revents) continue;
      for (auto& c : io.clients) {
        if (c.fd != p[k].fd || c.fd < 0) continue;
        if (p[k].revents & POLLOUT) io.flush(c);
        if (c.fd >= 0 && (p[k].revents & (POLLIN | POLLHUP | POLLERR))) io.read_client(c);
      }
    }
    io.flush_stdin();
    for (auto& e : io.execs) io.flush_exec_stdin(e);
    if (p[1].revents & POLLIN) io.accept_clients();
    if (p[0].revents & POLLIN) {
      signalfd_siginfo si;
      while (::read(sfd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
          // forward to the container's init
          if (init > 0 && !init_done) ::kill(init, SIGTERM);
        }
      }
      int ws;
      pid_t w;
      while ((w = ::waitpid(-1, &ws, WNOHANG)) > 0) {
        int code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
        if (w == init) {
          exit_status = code;
          init_done = true;
          done_at_ms = now_ms();
        }
        for (auto& e : io.execs)
          if (e.pid == w && !e.exited) {
            e.exited = true;
            e.status = code;
            e.exited_at = now_ms();
          }
      }
    }
  }
  log.flush_partial(1);
  log.flush_partial(2);
  // No new attachers from here on; the exit is recorded before anything slow happens.
  if (io.listen_fd >= 0) ::close(io.listen_fd);
  ::unlink((o.state_dir + "/" + proto::kAttachSocket).c_str());
  // execs end with the container's init (its pid namespace goes)
  for (auto& e : io.execs) {
    if (e.pid <= 0) continue;
    if (!e.exited) {
      int ws;
      e.status = ::waitpid(e.pid, &ws, WNOHANG) == e.pid ? (WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws)) : 137;
    }
    io.finish_exec(e);
  }
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  std::string ex = "{\"ExitCode\":" + std::to_string(exit_status) +
                   ",\"FinishedAt\":\"" + berth::shim::rfc3339nano(ts) + "\",\"Pid\":" + std::to_string(init) + "}\n";
  write_atomic(o.state_dir + "/exit.json", ex);
  io.send_all(proto::kExit, std::to_string(exit_status));
  io.close_clients(1000);
  if (io.master >= 0) ::close(io.master);
  io.close_stdin();
  if (mnt_ns >= 0) ::close(mnt_ns);
  if (!fast_delete(o)) runtime_delete(o, devnull);
  ::unlink((o.state_dir + "/shim.pid").c_str());
  return 0;
}

// The shim's arguments (argv without argv[0]); false after printing why they are wrong.
bool parse_args(const std::vector<std::string>& args, Opts& o) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    bool bad = false;
    auto val = [&]() -> std::string {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "berth-shim: %s needs a value\n", a.c_str());
        bad = true;
        return {};
      }
      return args[++i];
    };
    if (a == "--id") o.id = val();
    else if (a == "--bundle") o.bundle = val();
    else if (a == "--runtime") o.runtime = val();
    else if (a == "--runtime-root") o.runtime_root = val();
    else if (a == "--state-dir") o.state_dir = val();
    else if (a == "--log-driver") o.log_driver = val();
    else if (a == "--log-path") o.log_path = val();
    else if (a == "--log-max-size") o.log_max_size = std::atoll(val().c_str());
    else if (a == "--log-max-file") o.log_max_file = std::atoi(val().c_str());
    else if (a == "--ready-fd") o.ready_fd = std::atoi(val().c_str());
    else if (a == "--attach-fd") o.attach_fd = std::atoi(val().c_str());
    else if (a == "--foreground") o.foreground = true;
    else if (a == "--tty") o.tty = true;
    else if (a == "--stdin") o.open_stdin = true;
    else if (a == "--create-only") o.create_only = true;
    else if (a == "--create-ttl-ms") o.create_ttl_ms = std::atoi(val().c_str());
    else if (a == "--exec-fifo") o.exec_fifo = val();
    else if (a == "--cgroup-path") o.cgroup_path = val();
    else {
      std::fprintf(stderr, "berth-shim: unknown argument %s\n", a.c_str());
      return false;
    }
    if (bad) return false;
  }
  if (o.id.empty() || o.bundle.empty() || o.state_dir.empty()) {
    std::fprintf(stderr, "usage: berth-shim --id ID --bundle DIR --state-dir DIR [--runtime PATH] [--tty] [--stdin]\n");
    return false;
  }
  return true;
}

// A spare that takes a job first forks the spare for the next one: a copy of itself as it is
// (no exec, no glibc start-up: ≈ 0.8 ms of CPU here) with a channel of its own, whose other end
// goes to berthd in a kSpareNext message on the old channel. true in that copy, which has
// dropped the job's fds and the old runtime ahead and started its own.
bool fork_next_spare(Opts& o, const char* ahead, const int job_fds[2]) {
  int sp[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) return false;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(job_fds[0]);
    ::close(job_fds[1]);
    if (::dup2(sp[0], 3) < 0) ::_exit(0);  // in place of our copy of the old channel
    ::close(sp[0]);
    ::close(sp[1]);
    ::setsid();
    if (o.ahead_chan >= 0) ::close(o.ahead_chan);  // the runtime of the spare we were
    o.ahead_chan = -1;
    o.ahead_pid = -1;
    o.ahead_path.clear();
    if (ahead) start_runtime_ahead(o, ahead);
    return true;
  }
  ::close(sp[0]);
  if (pid > 0) (void)send_with_fds(3, proto::kSpareNext, &sp[1], 1);
  ::close(sp[1]);
  return false;
}

// --spare: waits on fd 3 for the container to serve (see attach_proto.hpp) and returns its
// arguments with the ready and attach fds placed on 3 and 4; nothing when berthd went away.
std::optional<std::vector<std::string>> await_job(int argc, char** argv, Opts& o, const char* ahead) {
  constexpr int kChan = 3;
  std::string buf(proto::kMaxSpareJob, '\0');
  ssize_t n;
  int fds[2];
  for (;;) {
    fds[0] = fds[1] = -1;
    auto r = berth::recv_with_fds(kChan, buf.data(), buf.size(), fds, 2);
    n = r.bytes;
    if (n <= 0 || fds[0] < 0 || fds[1] < 0 || r.truncated) return std::nullopt;
    if (!fork_next_spare(o, ahead, fds)) break;
  }
  // Out of the way of 3 and 4 first (a received fd may have landed on 4), then into place.
  int ready = ::fcntl(fds[0], F_DUPFD_CLOEXEC, 10), attach = ::fcntl(fds[1], F_DUPFD_CLOEXEC, 10);
  ::close(fds[0]);
  ::close(fds[1]);
  ::close(kChan);
  if (ready < 0 || attach < 0 || ::dup2(ready, 3) < 0 || ::dup2(attach, 4) < 0) return std::nullopt;
  ::close(ready);
  ::close(attach);
  std::vector<std::string> args;
  for (std::size_t at = 0; at < static_cast<std::size_t>(n);) {
    std::size_t end = buf.find('\0', at);
    if (end == std::string::npos || end > static_cast<std::size_t>(n)) end = static_cast<std::size_t>(n);
    args.emplace_back(buf, at, end - at);
    at = end + 1;
  }
  // The command line names the container from now on, as a shim started for it would
  // (berthd recognizes its shims by it after a restart).
  for (std::size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == "--id")
      for (int k = 1; k < argc; ++k)
        if (std::strcmp(argv[k], proto::kSparePlaceholderId) == 0 && args[i + 1].size() == std::strlen(argv[k]))
          std::memcpy(argv[k], args[i + 1].data(), args[i + 1].size());
  return args;
}

// Forks; the parent returns true (it exits, its caller reaps it), the child lives on reparented,
// in a session of its own, with /dev/null as stdio.
bool daemonize_parent() {
  pid_t pid = ::fork();
  if (pid < 0) std::exit(1);
  if (pid > 0) return true;
  ::setsid();
  int null = ::open("/dev/null", O_RDWR);
  if (null >= 0) {
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
    if (null > 2) ::close(null);
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  Opts o;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (argc >= 2 && std::strcmp(argv[1], "--spare") == 0) {
    // A spare is daemonized at once and starts the runtime it will most likely run
    // (--runtime-ahead): neither process start is then paid by the container's start.
    if (daemonize_parent()) return 0;
    const char* ahead = nullptr;
    for (int i = 2; i + 1 < argc; ++i)
      if (std::strcmp(argv[i], "--runtime-ahead") == 0) ahead = argv[i + 1];
    if (ahead) start_runtime_ahead(o, ahead);
    auto job = await_job(argc, argv, o, ahead);
    if (!job) return 0;  // berthd closed the channel: not needed (the runtime sees EOF too)
    args = std::move(*job);
    o.foreground = true;  // daemonized already
  }
  if (!parse_args(args, o)) return 2;
  if (o.ready_fd >= 0) ::fcntl(o.ready_fd, F_SETFD, FD_CLOEXEC);
  if (o.attach_fd >= 0) ::fcntl(o.attach_fd, F_SETFD, FD_CLOEXEC);
  if (!o.foreground && daemonize_parent()) return 0;  // the caller reaps us; the shim lives on
  if (::chdir("/") < 0) return 1;
  return shim_main(o);
}
