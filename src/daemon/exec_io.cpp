// SPDX-License-Identifier: Apache-2.0
// exec start: the container's shim runs `<runtime> exec --detach --process P <id>` (attach_proto.hpp,
// kExecStart) and keeps the process as its child, so execs outlive berthd as containers do; its
// stdio (pipes, or a pty) comes through the shim connection: multiplexed or raw to the client,
// stdin from the hijacked connection, detach keys, stdin EOF closes the process's stdin (pipes)
// while the output continues. Healthcheck probes (exec_probe) are short and run as children of
// berthd.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "common/file.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "daemon/attach.hpp"
#include "daemon/daemon.hpp"
#include "daemon/spec.hpp"
#include "shim/attach_proto.hpp"

namespace berth::daemon {

namespace {

// A connection to the shim's attach socket without a hello (an exec stream); through
// /proc/self/fd: bundle paths can be longer than sun_path.
UniqueFd shim_connect_raw(const std::string& bundle) {
  UniqueFd dir(::open(bundle.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return {};
  UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) return {};
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "/proc/self/fd/%d/%s", dir.get(), shim::proto::kAttachSocket);
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) return {};
  return s;
}

bool put_frame(int fd, int stream, const char* data, std::size_t n, bool raw) {
  if (fd < 0) return false;
  if (raw) return static_cast<bool>(write_all(fd, std::string_view(data, n)));
  return static_cast<bool>(write_all(fd, shim::proto::frame(static_cast<unsigned char>(stream), std::string_view(data, n))));
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

// Writes to an exec's connection to the shim come from its pump thread (stdin) and from
// resize requests: one frame at a time.
namespace {
std::mutex g_exec_write_mu;
}  // namespace

Status Daemon::exec_resize(const std::string& id, unsigned rows, unsigned cols) {
  auto s = TRY(find_exec(id));
  std::lock_guard lk(mu);
  if (!s->running) return fail(Errc::Conflict, "Exec " + id + " is not running");
  if (s->pty_master >= 0) {
    std::lock_guard wk(g_exec_write_mu);
    (void)write_all(s->pty_master, shim::proto::frame(shim::proto::kResize, std::to_string(rows) + " " + std::to_string(cols)));
  }
  return ok();
}

// The exec runs under the container's shim (proto::kExecStart): it is the shim's child, so it
// outlives berthd like the container does. This connection is its stream.
Status Daemon::exec_run(const std::shared_ptr<ExecSession>& s, int fd, std::string pending, bool tty,
                        const std::string& detach_keys) {
  namespace proto = shim::proto;
  auto c = TRY(find(s->container_id));
  {
    // claimed as dockerd does (Running from here on): a second start is a conflict
    std::lock_guard lk(mu);
    if (s->has_exit) return fail(Errc::Conflict, "exec command " + s->id + " has already run");
    if (s->running) return fail(Errc::Conflict, "exec command " + s->id + " is already running");
    if (c->state.status == "paused")
      return fail(Errc::Conflict, "Container " + c->id + " is paused, unpause the container before exec");
    if (c->state.status != "running") return fail(Errc::Conflict, "Container " + c->id + " is not running");
    s->running = true;
  }
  // from here on a failure is the exec's end: dockerd's exit code 126 for an exec that could
  // not start
  auto fail_start = [&](Error e) -> Status {
    std::lock_guard lk(mu);
    record_exec_exit(*s, 126);
    return fail(std::move(e));
  };
  auto fail_exec = [&](std::string msg) -> Status {
    return fail_start(Error(Errc::Internal, "OCI runtime exec failed: " + std::string(trim(msg))));
  };
  std::string b = bundle_dir(c->id);
  auto proc = exec_process(b, s->config, tty);
  if (!proc) return fail_start(std::move(proc).error());
  const json& ec = s->config;
  std::string tag = s->id.substr(0, 12);
  std::string pfile = b + "/exec-" + tag + ".json";
  // read once by the runtime, rewritten for every exec: no fsync
  if (auto w = write_file(pfile, proc->dump(), 0600); !w) return fail_start(std::move(w).error());
  struct Unlink {
    std::string f;
    ~Unlink() { ::unlink(f.c_str()); }
  } unlink_pfile{pfile};
  bool attach_in = ec.value("AttachStdin", false) && fd >= 0;
  UniqueFd shim = shim_connect_raw(b);
  if (!shim) return fail_exec("container " + c->id + " has no running shim");
  // d: nobody reads the output (Detach): the shim drops it and sends only the exit
  std::string flags = std::string(tty ? "t" : "") + (attach_in ? "i" : "") + (fd < 0 ? "d" : "");
  if (!write_all(shim.get(), proto::frame(proto::kExecStart, tag + "\n" + flags + "\n" + pfile)))
    return fail_exec("shim connection lost");
  // kExecStarted or kExecError
  std::string from_shim;
  char buf[32768];
  int pid = 0;
  for (;;) {
    unsigned char kind;
    std::string payload;
    if (proto::pop_frame(from_shim, &kind, &payload)) {
      if (kind == proto::kExecError) return fail_exec(payload);
      if (kind == proto::kExecStarted) {
        pid = static_cast<int>(parse_int(payload).value_or(0));
        break;
      }
      continue;
    }
    ssize_t n = ::read(shim.get(), buf, sizeof buf);
    if (n <= 0) return fail_exec("the shim ended");
    from_shim.append(buf, static_cast<std::size_t>(n));
  }
  {
    std::lock_guard lk(mu);
    s->running = true;
    s->pid = pid;
    s->pty_master = shim.get();  // resizes go to the shim on this connection
    save_exec(*s);
  }
  emit("container", "exec_start: " + join([&] {
         std::vector<std::string> v;
         for (auto& a : ec["Cmd"]) v.push_back(a.get<std::string>());
         return v;
       }(), " "),
       c->id, {{"execID", s->id}});
  if (fd < 0) {
    // no client: the monitor waits for the status, no thread stays with it
    std::lock_guard lk(mu);
    add_exec_watch(s, std::move(shim), std::move(from_shim));
    return ok();
  }
  DetachScanner scan(detach_keys);
  bool detached = false;
  auto send = [&](unsigned char kind, std::string_view data) {
    std::lock_guard wk(g_exec_write_mu);
    return static_cast<bool>(write_all(shim.get(), proto::frame(kind, data)));
  };
  auto feed = [&](std::string_view data) {
    if (!attach_in) return;
    std::string pass = scan.feed(data, &detached);
    if (!pass.empty()) (void)send(proto::kStdin, pass);
  };
  if (!pending.empty()) feed(pending);
  bool client_in = fd >= 0, client_out = fd >= 0;
  auto pop_output = [&](bool* ended, int* code) {
    unsigned char kind;
    std::string payload;
    while (proto::pop_frame(from_shim, &kind, &payload)) {
      if (kind == proto::kExit) {
        *code = static_cast<int>(parse_int(payload).value_or(-1));
        *ended = true;
        return;
      }
      if ((kind == proto::kStdout || kind == proto::kStderr) && client_out)
        client_out = put_frame(fd, kind, payload.data(), payload.size(), tty);
    }
  };
  int code = -1;
  bool ended = false;
  while (!ended && !detached) {
    pop_output(&ended, &code);
    if (ended) break;
    pollfd p[2] = {{shim.get(), POLLIN, 0}, {client_in ? fd : -1, POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[0].revents) {
      ssize_t n = ::read(shim.get(), buf, sizeof buf);
      if (n <= 0) break;  // the shim ended without a status
      from_shim.append(buf, static_cast<std::size_t>(n));
    }
    if (p[1].fd >= 0 && p[1].revents) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n > 0) {
        feed(std::string_view(buf, static_cast<std::size_t>(n)));
      } else {
        // the client's stdin ended: the process's stdin is closed (pipes), output continues;
        // an error: the client is gone
        client_in = false;
        if (n < 0) client_out = false;
        if (attach_in && !tty) (void)send(proto::kCloseStdin, "");
      }
    }
  }
  if (detached) {
    // the process goes on (its output is dropped); the monitor waits for its status
    std::lock_guard lk(mu);
    add_exec_watch(s, std::move(shim), std::move(from_shim));
    return ok();
  }
  // -1: the shim ended without a status (it crashed); the exec's container is gone with it
  exec_ended(s, code);
  return ok();
}

void Daemon::watch_exec(const std::shared_ptr<ExecSession>& s) {
  namespace proto = shim::proto;
  UniqueFd conn = shim_connect_raw(bundle_dir(s->container_id));
  if (!conn || !write_all(conn.get(), proto::frame(proto::kExecWatch, s->id.substr(0, 12)))) {
    log::warn("exec {}: its shim does not answer; it is settled when container {} exits", s->id.substr(0, 12),
              s->container_id.substr(0, 12));
    return;
  }
  add_exec_watch(s, std::move(conn), {});
}

void Daemon::add_exec_watch(const std::shared_ptr<ExecSession>& s, UniqueFd conn, std::string pending) {
  ::fcntl(conn.get(), F_SETFL, ::fcntl(conn.get(), F_GETFL) | O_NONBLOCK);
  int fd = conn.release();
  s->pty_master = fd;  // resizes of a tty exec go to the shim on this connection
  exec_watches_[fd] = ExecWatch{s, std::move(pending), s->running};
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev);
}

bool Daemon::on_exec_watch(int fd) {
  namespace proto = shim::proto;
  std::shared_ptr<ExecSession> s;
  std::optional<int> code;
  {
    std::lock_guard lk(mu);
    auto it = exec_watches_.find(fd);
    if (it == exec_watches_.end()) return false;
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
    if (n > 0) it->second.buf.append(buf, static_cast<std::size_t>(n));
    bool over = false, unknown = false, was_running = it->second.was_running;
    unsigned char kind;
    std::string payload;
    // frames first: the shim closes the connection right after kExit
    while (!over && proto::pop_frame(it->second.buf, &kind, &payload)) {
      if (kind == proto::kExit) {
        code = static_cast<int>(parse_int(payload).value_or(-1));
        over = true;
      } else if (kind == proto::kExecError) {
        over = unknown = true;  // the shim knows no such exec (and has no status file of it)
      } else if (kind == proto::kExecStarted) {
        // it runs; the record may not say so yet (berthd died while starting it)
        int pid = static_cast<int>(parse_int(payload).value_or(0));
        ExecSession& es = *it->second.s;
        if (!es.running || es.pid != pid) {
          es.running = true;
          es.pid = pid;
          save_exec(es);
        }
      }
    }
    over = over || n <= 0;
    if (!over) return true;
    s = it->second.s;
    exec_watches_.erase(it);
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    s->pty_master = -1;
    if (!code) code = shim_exec_status(*s);
    // a record that says running but the shim does not know it: its status is lost (255, as a
    // container's); one that says created was never started
    if (!code && unknown && was_running) code = 255;
  }
  // without a status (the shim went away) the container's exit settles it
  if (code) exec_ended(s, *code);
  return true;
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
  TRY(write_file(pfile, proc.dump(), 0600));  // read once by the runtime: no fsync
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
