// SPDX-License-Identifier: Apache-2.0
// berth-shim: one per container. Protocol with berthd (see docs/design/daemon.md):
//
//   berthd                       berth-shim (daemonized: setsid, reparented)
//     │ fork+exec --ready-fd 3 ────►│ fork; parent exits 0 (berthd reaps it)
//     │                             │ PR_SET_CHILD_SUBREAPER, pipes for stdout/stderr
//     │                             │ <runtime> create --bundle B --pid-file P <id>
//     │                             │ <runtime> start <id>
//     │ ◄──── "ok <pid>\n" | "error <msg>\n" on ready fd, then close
//     │                             │ copies output into the log (json-file/local/none)
//     │                             │ reaps; on init exit: drains output, writes
//     │                             │ <state>/exit.json atomically, <runtime> delete, exits
//
// The shim keeps nothing but pipes and its log file; it never links Boost or a JSON library so
// its RSS stays near 1 MB. Files in --state-dir: shim.pid, init.pid, exit.json, runtime.log.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "shim/shim_log.hpp"

namespace {

struct Opts {
  std::string id, bundle, runtime = "berth-runtime", runtime_root, state_dir;
  std::string log_driver = "json-file", log_path;
  long long log_max_size = 10 * 1024 * 1024;
  int log_max_file = 3;
  int ready_fd = -1;
  bool foreground = false;
};

void ready(const Opts& o, const std::string& msg) {
  if (o.ready_fd < 0) return;
  std::string m = msg + "\n";
  (void)!::write(o.ready_fd, m.data(), m.size());
  ::close(o.ready_fd);
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
  bool ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
  ok = ok && ::fsync(fd) == 0;
  ::close(fd);
  return ok && ::rename(tmp.c_str(), path.c_str()) == 0;
}

// Runs argv with the given stdio; returns the wait status (or -1).
int run(const std::vector<std::string>& argv, int in, int out, int err) {
  pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (in >= 0) ::dup2(in, 0);
    if (out >= 0) ::dup2(out, 1);
    if (err >= 0) ::dup2(err, 2);
    std::vector<char*> a;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execvp(a[0], a.data());
    ::_exit(127);
  }
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return st;
}

std::vector<std::string> runtime_argv(const Opts& o) {
  std::vector<std::string> a{o.runtime};
  if (!o.runtime_root.empty()) {
    a.push_back("--root");
    a.push_back(o.runtime_root);
  }
  a.push_back("--log");
  a.push_back(o.state_dir + "/runtime.log");
  return a;
}

std::string last_runtime_error(const Opts& o, const std::string& fallback) {
  std::string log = slurp(o.state_dir + "/runtime.log");
  // the runc-style log is JSON lines; report the last "msg"
  std::string msg;
  size_t pos = 0;
  while ((pos = log.find("\"msg\":\"", pos)) != std::string::npos) {
    pos += 7;
    size_t e = pos;
    while (e < log.size() && log[e] != '"') e += (log[e] == '\\') ? 2 : 1;
    msg = log.substr(pos, e - pos);
  }
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

int shim_main(Opts& o) {
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  ::mkdir(o.state_dir.c_str(), 0711);
  {
    std::string pid = std::to_string(::getpid());
    write_atomic(o.state_dir + "/shim.pid", pid);
  }
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  sigaddset(&mask, SIGPIPE);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  int sfd = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

  int outp[2], errp[2];
  if (::pipe2(outp, O_CLOEXEC) < 0 || ::pipe2(errp, O_CLOEXEC) < 0) {
    ready(o, std::string("error pipe: ") + std::strerror(errno));
    return 1;
  }
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  berth::shim::LogWriter log(o.log_driver, o.log_path, o.log_max_size, o.log_max_file);

  auto create = runtime_argv(o);
  std::string init_pid_file = o.state_dir + "/init.pid";
  ::unlink(init_pid_file.c_str());
  for (const char* s : {"create", "--bundle"}) create.push_back(s);
  create.push_back(o.bundle);
  create.push_back("--pid-file");
  create.push_back(init_pid_file);
  create.push_back(o.id);
  int st = run(create, devnull, outp[1], errp[1]);
  ::close(outp[1]);
  ::close(errp[1]);
  if (st != 0) {
    // the runtime's stderr went into the error pipe: include it
    std::string err;
    char buf[4096];
    ::fcntl(errp[0], F_SETFL, O_NONBLOCK);
    ssize_t n;
    while ((n = ::read(errp[0], buf, sizeof buf)) > 0 && err.size() < 8192) err.append(buf, static_cast<size_t>(n));
    std::string msg = last_runtime_error(o, err.empty() ? "runtime create failed" : err);
    ready(o, "error " + msg);
    return 1;
  }
  pid_t init = static_cast<pid_t>(std::atol(slurp(init_pid_file).c_str()));
  auto start = runtime_argv(o);
  start.push_back("start");
  start.push_back(o.id);
  st = run(start, devnull, devnull, devnull);
  if (st != 0) {
    ready(o, "error " + last_runtime_error(o, "runtime start failed"));
    auto del = runtime_argv(o);
    for (const char* s : {"delete", "--force"}) del.push_back(s);
    del.push_back(o.id);
    run(del, devnull, devnull, devnull);
    return 1;
  }
  ready(o, "ok " + std::to_string(init));

  int exit_status = -1;
  bool init_done = false;
  long long done_at_ms = 0;
  int fds_open = 2;
  pollfd p[3] = {{outp[0], POLLIN, 0}, {errp[0], POLLIN, 0}, {sfd, POLLIN, 0}};
  auto now_ms = [] {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<long long>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
  };
  char buf[32768];
  for (;;) {
    if (init_done && (fds_open == 0 || now_ms() - done_at_ms > 2000)) break;
    int r = ::poll(p, 3, init_done ? 100 : -1);
    if (r < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::read(p[i].fd, buf, sizeof buf);
      if (n > 0) {
        log.write(i == 0 ? 1 : 2, std::string_view(buf, static_cast<size_t>(n)));
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        log.flush_partial(i == 0 ? 1 : 2);
        ::close(p[i].fd);
        p[i].fd = -1;
        --fds_open;
      }
    }
    if (p[2].revents & POLLIN) {
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
        if (w == init) {
          exit_status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
          init_done = true;
          done_at_ms = now_ms();
        }
      }
    }
  }
  log.flush_partial(1);
  log.flush_partial(2);
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  std::string ex = "{\"ExitCode\":" + std::to_string(exit_status) +
                   ",\"FinishedAt\":\"" + berth::shim::rfc3339nano(ts) + "\",\"Pid\":" + std::to_string(init) + "}\n";
  write_atomic(o.state_dir + "/exit.json", ex);
  auto del = runtime_argv(o);
  for (const char* s : {"delete", "--force"}) del.push_back(s);
  del.push_back(o.id);
  run(del, devnull, devnull, devnull);
  ::unlink((o.state_dir + "/shim.pid").c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Opts o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "berth-shim: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
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
    else if (a == "--foreground") o.foreground = true;
    else {
      std::fprintf(stderr, "berth-shim: unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  if (o.id.empty() || o.bundle.empty() || o.state_dir.empty()) {
    std::fprintf(stderr, "usage: berth-shim --id ID --bundle DIR --state-dir DIR [--runtime PATH]\n");
    return 2;
  }
  if (o.ready_fd >= 0) ::fcntl(o.ready_fd, F_SETFD, FD_CLOEXEC);
  if (!o.foreground) {
    pid_t pid = ::fork();
    if (pid < 0) return 1;
    if (pid > 0) return 0;  // the caller reaps us; the shim lives on, reparented
    ::setsid();
    int null = ::open("/dev/null", O_RDWR);
    if (null >= 0) {
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::dup2(null, 2);
      if (null > 2) ::close(null);
    }
  }
  if (::chdir("/") < 0) return 1;
  return shim_main(o);
}
