// SPDX-License-Identifier: Apache-2.0
// exec start: `<runtime> exec --process P [--console-socket S] <id>` as a child of berthd, its
// stdio on pipes (multiplexed to the client) or on a pty whose master comes through the console
// socket (raw stream, resizable). Stdin from the hijacked connection, detach keys, stdin EOF
// closes the process's stdin (pipes) while the output continues.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>

#include "common/file.hpp"
#include "common/strings.hpp"
#include "daemon/attach.hpp"
#include "daemon/daemon.hpp"
#include "daemon/spec.hpp"
#include "shim/attach_proto.hpp"

namespace berth::daemon {

namespace {

// A listening socket at dir/name, bound through /proc/self/fd (deep exec roots).
Result<UniqueFd> listen_in(const std::string& dir, const std::string& name) {
  UniqueFd d(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!d) return fail_errno("open", dir);
  UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) return fail_errno("socket");
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "/proc/self/fd/%d/%s", d.get(), name.c_str());
  ::unlink((dir + "/" + name).c_str());
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) return fail_errno("bind console socket");
  if (::listen(s.get(), 4) < 0) return fail_errno("listen");
  return s;
}

int recv_fd(int sock) {
  char data[256];
  iovec iov{data, sizeof data};
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))]{};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = cbuf;
  m.msg_controllen = sizeof cbuf;
  int fd = -1;
  if (::recvmsg(sock, &m, MSG_CMSG_CLOEXEC) < 0) return -1;
  for (cmsghdr* h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h))
    if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS) std::memcpy(&fd, CMSG_DATA(h), sizeof fd);
  return fd;
}

void put_frame(int fd, int stream, const char* data, std::size_t n, bool raw) {
  if (fd < 0) return;
  if (raw) {
    (void)write_all(fd, std::string_view(data, n));
    return;
  }
  (void)write_all(fd, shim::proto::frame(static_cast<unsigned char>(stream), std::string_view(data, n)));
}

// The OCI process of an exec: the container's, with the exec's command, env, user, tty.
Result<json> exec_process(const std::string& b, const json& ec, bool tty) {
  json spec;
  try {
    spec = json::parse(TRY(read_file(b + "/config.json")));
  } catch (const std::exception& e) {
    return fail(Errc::Internal, e.what());
  }
  json proc = spec["process"];
  proc["args"] = ec["Cmd"];
  proc["terminal"] = tty;
  proc.erase("consoleSize");
  if (tty && ec.contains("ConsoleSize") && ec["ConsoleSize"].is_array() && ec["ConsoleSize"].size() == 2 &&
      ec["ConsoleSize"][0].is_number_unsigned() && ec["ConsoleSize"][0].get<unsigned>() > 0)
    proc["consoleSize"] = {{"height", ec["ConsoleSize"][0]}, {"width", ec["ConsoleSize"][1]}};
  if (tty) {
    bool has_term = false;
    for (const auto& e : proc.value("env", json::array())) has_term = has_term || e.get<std::string>().rfind("TERM=", 0) == 0;
    if (!has_term) proc["env"].push_back("TERM=xterm");
  }
  if (ec.contains("Env") && ec["Env"].is_array())
    for (const auto& e : ec["Env"]) proc["env"].push_back(e);
  if (!ec.value("WorkingDir", "").empty()) proc["cwd"] = ec["WorkingDir"];
  if (!ec.value("User", "").empty()) {
    auto u = TRY(resolve_user(b + "/rootfs", ec["User"].get<std::string>()));
    proc["user"] = {{"uid", u.uid}, {"gid", u.gid}};
    if (!u.additional_gids.empty()) proc["user"]["additionalGids"] = u.additional_gids;
  }
  if (ec.value("Privileged", false)) {
    json caps = json::array();
    auto all = TRY(effective_capabilities(json{{"Privileged", true}}));
    for (auto& x : all) caps.push_back(x);
    proc["capabilities"] = {{"bounding", caps}, {"effective", caps}, {"permitted", caps}};
  }
  return proc;
}

}  // namespace

Status Daemon::exec_resize(const std::string& id, unsigned rows, unsigned cols) {
  auto s = TRY(find_exec(id));
  std::lock_guard lk(mu);
  if (!s->running) return fail(Errc::Conflict, "Exec " + id + " is not running");
  if (s->pty_master >= 0) {
    winsize ws{};
    ws.ws_row = static_cast<unsigned short>(rows);
    ws.ws_col = static_cast<unsigned short>(cols);
    ::ioctl(s->pty_master, TIOCSWINSZ, &ws);
  }
  return ok();
}

Status Daemon::exec_run(const std::shared_ptr<ExecSession>& s, int fd, std::string pending, bool tty,
                        const std::string& detach_keys) {
  auto c = TRY(find(s->container_id));
  std::string b = bundle_dir(c->id);
  json proc = TRY(exec_process(b, s->config, tty));
  const json& ec = s->config;
  std::string tag = s->id.substr(0, 12);
  std::string pfile = b + "/exec-" + tag + ".json";
  TRY(atomic_write_file(pfile, proc.dump(), 0600));
  struct Cleanup {
    std::string f, sock;
    ~Cleanup() {
      ::unlink(f.c_str());
      if (!sock.empty()) ::unlink(sock.c_str());
    }
  } cleanup{pfile, tty ? b + "/exec-" + tag + ".sock" : ""};
  bool attach_in = ec.value("AttachStdin", false);
  UniqueFd console_listen;
  if (tty) console_listen = TRY(listen_in(b, "exec-" + tag + ".sock"));
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2];
  if (!tty && attach_in && ::pipe2(in, O_CLOEXEC) < 0) return fail_errno("pipe");
  if ((!tty && ::pipe2(out, O_CLOEXEC) < 0) || ::pipe2(err, O_CLOEXEC) < 0) return fail_errno("pipe");
  auto argv = runtime_base(*c);
  argv.insert(argv.end(), {"exec", "--process", pfile});
  if (tty) argv.insert(argv.end(), {"--console-socket", "exec-" + tag + ".sock"});  // relative to cwd = bundle
  argv.push_back(c->id);
  pid_t pid = ::fork();
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(in[0] >= 0 ? in[0] : null, 0);
    ::dup2(out[1] >= 0 ? out[1] : null, 1);
    ::dup2(err[1], 2);
    if (::chdir(b.c_str()) < 0) ::_exit(127);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    std::vector<char*> a;
    for (const auto& x : argv) a.push_back(const_cast<char*>(x.c_str()));
    a.push_back(nullptr);
    ::execvp(a[0], a.data());
    ::_exit(127);
  }
  if (out[1] >= 0) ::close(out[1]);
  ::close(err[1]);
  if (in[0] >= 0) ::close(in[0]);
  UniqueFd out_r(out[0]), err_r(err[0]), in_w(in[1]);
  UniqueFd master;
  if (tty) {
    // the runtime sends the pty master, or fails (its error output ends)
    pollfd p[2] = {{console_listen.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}};
    std::string errtext;
    for (;;) {
      if (::poll(p, 2, 30000) <= 0) break;
      if (p[0].revents & POLLIN) {
        UniqueFd conn(::accept4(console_listen.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (conn) master.reset(recv_fd(conn.get()));
        break;
      }
      if (p[1].revents) {
        char buf[4096];
        ssize_t n = ::read(err_r.get(), buf, sizeof buf);
        if (n <= 0) break;
        errtext.append(buf, static_cast<std::size_t>(n));
      }
    }
    console_listen.reset();
    if (!master) {
      ::kill(pid, SIGKILL);
      int st;
      while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
      std::lock_guard lk(mu);
      s->has_exit = true;
      s->exit_code = 126;
      return fail(Errc::Internal, "OCI runtime exec failed: " +
                                      std::string(trim(errtext.empty() ? "no pty from the runtime" : errtext)));
    }
    // error text printed before the console arrived still belongs to the client
    if (!errtext.empty()) put_frame(fd, 2, errtext.data(), errtext.size(), true);
  }
  {
    std::lock_guard lk(mu);
    s->running = true;
    s->pid = pid;
    s->pty_master = master.get();
  }
  emit("container", "exec_start: " + join([&] {
         std::vector<std::string> v;
         for (auto& a : ec["Cmd"]) v.push_back(a.get<std::string>());
         return v;
       }(), " "),
       c->id);
  // stdin goes to the pipe, or to the pty master
  int win = attach_in ? (tty ? master.get() : in_w.get()) : -1;
  DetachScanner scan(detach_keys);
  bool detached = false;
  auto feed = [&](std::string_view data) {
    if (win < 0) return;
    std::string pass = attach_in ? scan.feed(data, &detached) : std::string();
    if (!pass.empty()) (void)write_all(win, pass);
  };
  if (!pending.empty()) feed(pending);
  // sources: [0] stdout (or the master), [1] stderr (the runtime's own stderr with a tty)
  int src0 = tty ? master.get() : out_r.get();
  pollfd p[3] = {{src0, POLLIN, 0}, {err_r.get(), POLLIN, 0}, {fd >= 0 ? fd : -1, POLLIN, 0}};
  int open_n = 2;
  char buf[32768];
  while (open_n > 0 && !detached) {
    if (::poll(p, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (p[i].fd < 0 || !p[i].revents) continue;
      ssize_t n = ::read(p[i].fd, buf, sizeof buf);
      if (n > 0) {
        put_frame(fd, i + 1, buf, static_cast<std::size_t>(n), tty);
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        // EOF (a pty master gives EIO once the process and its children closed the slave)
        p[i].fd = -1;
        --open_n;
      }
    }
    if (p[2].fd >= 0 && p[2].revents) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n > 0) {
        feed(std::string_view(buf, static_cast<std::size_t>(n)));
      } else {
        p[2].fd = -1;  // the client's stdin ended: close the process's (pipes); output continues
        if (!tty) in_w.reset();
        if (n < 0 && errno != EAGAIN) break;
      }
    }
  }
  if (detached) {
    // the process keeps running; its output is dropped from now on
    std::thread([pid, m = std::move(master), o = std::move(out_r), e = std::move(err_r), i = std::move(in_w), this, s,
                 cid = c->id]() mutable {
      char b2[32768];
      pollfd q[2] = {{m ? m.get() : o.get(), POLLIN, 0}, {e.get(), POLLIN, 0}};
      int left = 2;
      while (left > 0 && ::poll(q, 2, -1) > 0)
        for (auto& x : q)
          if (x.fd >= 0 && x.revents && ::read(x.fd, b2, sizeof b2) <= 0) {
            x.fd = -1;
            --left;
          }
      int st = 0;
      while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
      {
        std::lock_guard lk(mu);
        s->running = false;
        s->pty_master = -1;
        s->has_exit = true;
        s->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      emit("container", "exec_die", cid, {{"execID", s->id}, {"exitCode", std::to_string(s->exit_code)}});
    }).detach();
    return ok();
  }
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
  {
    std::lock_guard lk(mu);
    s->running = false;
    s->pty_master = -1;
    s->has_exit = true;
    s->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  emit("container", "exec_die", c->id, {{"execID", s->id}, {"exitCode", std::to_string(s->exit_code)}});
  return ok();
}

}  // namespace berth::daemon

namespace berth::daemon {

// A healthcheck probe: the command inside the container (no tty, no stdin), output captured
// (first 4 KiB, as dockerd keeps), killed after timeout_ms. exit -1 with a message on timeout.
Result<std::pair<int, std::string>> exec_probe(Daemon& d, const std::shared_ptr<Container>& c,
                                               const std::vector<std::string>& cmd, int timeout_ms) {
  std::string b = d.bundle_dir(c->id);
  json ec{{"Cmd", cmd}};
  json proc = TRY(exec_process(b, ec, false));
  std::string pfile = b + "/health-" + random_hex(6) + ".json";
  TRY(atomic_write_file(pfile, proc.dump(), 0600));
  struct Unlink {
    std::string f;
    ~Unlink() { ::unlink(f.c_str()); }
  } unlink_pfile{pfile};
  int out[2];
  if (::pipe2(out, O_CLOEXEC) < 0) return fail_errno("pipe");
  auto argv = d.runtime_base(*c);
  argv.insert(argv.end(), {"exec", "--process", pfile, c->id});
  pid_t pid = ::fork();
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0);
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    ::setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    std::vector<char*> a;
    for (const auto& x : argv) a.push_back(const_cast<char*>(x.c_str()));
    a.push_back(nullptr);
    ::execvp(a[0], a.data());
    ::_exit(127);
  }
  ::close(out[1]);
  UniqueFd r(out[0]);
  if (pid < 0) return fail_errno("fork");
  std::string text;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  bool timed_out = false;
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{r.get(), POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    ssize_t k = ::read(r.get(), buf, sizeof buf);
    if (k <= 0) break;
    if (text.size() < 4096) text.append(buf, static_cast<std::size_t>(std::min<ssize_t>(k, 4096 - static_cast<ssize_t>(text.size()))));
  }
  if (timed_out) {
    // the runtime forwards the kill to the probe process
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
  }
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
  if (timed_out) return std::make_pair(-1, std::string());
  return std::make_pair(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), text);
}

}  // namespace berth::daemon
