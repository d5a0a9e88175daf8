// SPDX-License-Identifier: Apache-2.0
#include "cli/cmd_util.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

#include <nlohmann/json.hpp>

#include "cli/context_store.hpp"
#include "common/base64.hpp"
#include "common/file.hpp"
#include "common/strings.hpp"

namespace berth::cli {

int for_each_arg(App& app, const std::vector<std::string>& names,
                 const std::function<Status(const std::string&)>& fn, bool print_names) {
  int rc = 0;
  for (const auto& n : names) {
    auto st = fn(n);
    if (!st) {
      app.err(st.error().message() + "\n");
      rc = kExitError;
      continue;
    }
    if (print_names) app.out(n + "\n");
  }
  return rc;
}

Result<Json> inspect_container(App& app, const std::string& id) {
  return app.get_json("/containers/" + url_escape(id) + "/json");
}

std::pair<int, int> terminal_size() {
  struct winsize ws{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0) return {0, 0};
  return {ws.ws_row, ws.ws_col};
}

// ---------------------------------------------------------------------------------------------
// Progress

ProgressPrinter::ProgressPrinter(App& app, bool tty) : app_(app), tty_(tty) {}
ProgressPrinter::~ProgressPrinter() = default;

void ProgressPrinter::feed(std::string_view data) {
  buf_.append(data);
  std::size_t pos;
  while ((pos = buf_.find('\n')) != std::string::npos) {
    std::string line = buf_.substr(0, pos);
    buf_.erase(0, pos + 1);
    if (!trim(line).empty()) message(line);
  }
}

void ProgressPrinter::message(const std::string& line) {
  Json m;
  try {
    m = Json::parse(line);
  } catch (...) {
    app_.out(line + "\n");
    return;
  }
  if (!m.is_object()) return;
  if (m.contains("error") || m.contains("errorDetail")) {
    std::string e = m.value("error", "");
    if (e.empty() && m["errorDetail"].is_object()) e = m["errorDetail"].value("message", "");
    if (error_.empty()) error_ = e;
    return;
  }
  if (m.contains("aux") && m["aux"].is_object()) {
    if (m["aux"].contains("ID")) last_aux_id = m["aux"].value("ID", "");
    return;
  }
  std::string id = m.value("id", "");
  std::string status = m.value("status", "");
  std::string stream = m.value("stream", "");
  std::string progress = m.value("progress", "");
  bool has_progress = m.contains("progressDetail") && m["progressDetail"].is_object() &&
                      !m["progressDetail"].empty();
  if (!stream.empty()) {
    app_.out(stream);
    return;
  }
  if (!tty_) {
    if (has_progress && !progress.empty()) return;  // docker drops progress bars off a TTY
    std::string s = id.empty() ? status : id + ": " + status;
    app_.out(s + "\n");
    return;
  }
  std::string text = (id.empty() ? "" : id + ": ") + status + (progress.empty() ? "" : " " + progress);
  if (id.empty()) {
    app_.out(text + "\n");
    ids_.clear();
    return;
  }
  auto it = std::find(ids_.begin(), ids_.end(), id);
  if (it == ids_.end()) {
    ids_.push_back(id);
    app_.out("\x1b[2K\r" + text + "\n");
    return;
  }
  auto up = static_cast<int>(ids_.end() - it);
  app_.out("\x1b[" + std::to_string(up) + "A\x1b[2K\r" + text + "\r\x1b[" + std::to_string(up) + "B");
}

Status ProgressPrinter::finish() {
  if (!trim(buf_).empty()) message(buf_);
  buf_.clear();
  if (!error_.empty()) return fail(Errc::Internal, error_);
  return ok();
}

Status run_progress(App& app, const std::string& method, const std::string& path,
                    const std::string& body, const Headers& headers, int body_fd, bool quiet) {
  Client* c = TRY(app.client());
  ProgressPrinter pp(app, ::isatty(STDOUT_FILENO) == 1);
  auto on_data = [&](std::string_view d) {
    if (!quiet) pp.feed(d);
    return true;
  };
  Response head = body_fd >= 0 ? TRY(c->upload(method, path, body_fd, headers, on_data))
                               : TRY(c->stream(method, path, body, headers, on_data));
  if (head.status >= 400) return fail(daemon_error(head));
  return pp.finish();
}

// ---------------------------------------------------------------------------------------------
// Attach

namespace {

class RawTerminal {
 public:
  explicit RawTerminal(int fd) : fd_(fd) {
    if (::tcgetattr(fd_, &saved_) != 0) return;
    struct termios raw = saved_;
    // as moby/term's MakeRaw on stdin (which is the same terminal as stdout): output processing
    // off too, the container's pty already turns \n into \r\n
    ::cfmakeraw(&raw);
    if (::tcsetattr(fd_, TCSANOW, &raw) == 0) active_ = true;
  }
  ~RawTerminal() {
    if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  int fd_;
  struct termios saved_{};
  bool active_ = false;
};

Result<std::string> parse_detach_keys(const std::string& spec) {
  std::string keys;
  for (const auto& k : split(spec.empty() ? std::string("ctrl-p,ctrl-q") : spec, ',')) {
    std::string l = to_lower(k);
    if (l.size() == 1) {
      keys += l[0];
    } else if (l.rfind("ctrl-", 0) == 0 && l.size() == 6) {
      char c = l[5];
      if (c >= 'a' && c <= 'z') keys += static_cast<char>(c - 'a' + 1);
      else if (c == '@') keys += '\0';
      else if (c == '[') keys += '\x1b';
      else if (c == '\\') keys += '\x1c';
      else if (c == ']') keys += '\x1d';
      else if (c == '^') keys += '\x1e';
      else if (c == '_') keys += '\x1f';
      else return fail(Errc::InvalidArgument, "Unknown character: '" + k + "'");
    } else {
      return fail(Errc::InvalidArgument, "Unknown character: '" + k + "'");
    }
  }
  return keys;
}

void resize(App& app, const std::string& path) {
  if (path.empty()) return;
  auto [h, w] = terminal_size();
  if (h == 0 && w == 0) return;
  (void)app.call("POST", path + "?h=" + std::to_string(h) + "&w=" + std::to_string(w));
}

}  // namespace

Result<bool> pump_attach(App& app, Hijacked& conn, const AttachOptions& o) {
  std::string keys = TRY(parse_detach_keys(o.detach_keys));
  bool in_tty = o.tty && o.stdin && ::isatty(STDIN_FILENO) == 1;
  std::unique_ptr<RawTerminal> raw;
  if (in_tty) raw = std::make_unique<RawTerminal>(STDIN_FILENO);

  sigset_t mask, old;
  sigemptyset(&mask);
  if (o.tty) sigaddset(&mask, SIGWINCH);
  if (!o.signal_path.empty() && !o.tty)
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) sigaddset(&mask, s);
  ::sigprocmask(SIG_BLOCK, &mask, &old);
  UniqueFd sfd(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  auto restore = [&] { ::sigprocmask(SIG_SETMASK, &old, nullptr); };

  if (o.tty) resize(app, o.resize_path);

  std::string out_buf = std::move(conn.pending);
  auto flush_out = [&]() {
    if (o.tty) {
      (void)write_fd_all(STDOUT_FILENO, out_buf);
      out_buf.clear();
    } else {
      demux_stream(out_buf, STDOUT_FILENO, STDERR_FILENO);
    }
  };
  flush_out();

  bool stdin_open = o.stdin;
  std::size_t match = 0;
  bool detached = false;
  char buf[32768];
  for (;;) {
    struct pollfd p[3];
    int n = 0;
    p[n++] = {conn.fd.get(), POLLIN, 0};
    int sidx = -1, iidx = -1;
    if (sfd.valid()) {
      sidx = n;
      p[n++] = {sfd.get(), POLLIN, 0};
    }
    if (stdin_open) {
      iidx = n;
      p[n++] = {STDIN_FILENO, POLLIN, 0};
    }
    int r = ::poll(p, static_cast<nfds_t>(n), -1);
    if (r < 0) {
      if (errno == EINTR) continue;
      restore();
      return fail_errno("poll");
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t k = ::read(conn.fd.get(), buf, sizeof buf);
      if (k <= 0) break;
      out_buf.append(buf, static_cast<std::size_t>(k));
      flush_out();
    }
    if (sidx >= 0 && (p[sidx].revents & POLLIN)) {
      struct signalfd_siginfo si;
      while (::read(sfd.get(), &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGWINCH) {
          resize(app, o.resize_path);
        } else if (!o.signal_path.empty()) {
          (void)app.call("POST", o.signal_path + "?signal=" + std::to_string(si.ssi_signo));
        }
      }
    }
    if (iidx >= 0 && (p[iidx].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t k = ::read(STDIN_FILENO, buf, sizeof buf);
      if (k <= 0) {
        stdin_open = false;
        ::shutdown(conn.fd.get(), SHUT_WR);
        continue;
      }
      std::string fwd;
      for (ssize_t i = 0; i < k; ++i) {
        char c = buf[i];
        if (in_tty && !keys.empty() && c == keys[match]) {
          if (++match == keys.size()) {
            detached = true;
            break;
          }
          continue;
        }
        if (match) {
          fwd.append(keys, 0, match);
          match = 0;
          if (in_tty && c == keys[0]) {  // this byte may start the sequence again
            if (++match == keys.size()) {
              detached = true;
              break;
            }
            continue;
          }
        }
        fwd += c;
      }
      if (!fwd.empty() && !write_fd_all(conn.fd.get(), fwd)) stdin_open = false;
      if (detached) break;
    }
  }
  flush_out();
  raw.reset();
  restore();
  return detached;
}

}  // namespace berth::cli

namespace berth::cli {

Result<std::string> base64_decode(std::string_view in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=' || c == '\n') continue;
    int v = val(c);
    if (v < 0) return fail(Errc::InvalidArgument, "illegal base64 data");
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

std::string registry_of(std::string_view ref) {
  auto slash = ref.find('/');
  if (slash == std::string_view::npos) return "docker.io";
  std::string_view first = ref.substr(0, slash);
  if (first.find('.') != std::string_view::npos || first.find(':') != std::string_view::npos ||
      first == "localhost")
    return std::string(first);
  return "docker.io";
}

std::string normalize_ref(std::string_view ref) {
  std::string r(ref);
  if (registry_of(ref) == "docker.io" && r.rfind("docker.io/", 0) != 0)
    r = (r.find('/') == std::string::npos ? "docker.io/library/" : "docker.io/") + r;
  auto slash = r.rfind('/');
  if (r.find('@') == std::string::npos && r.find(':', slash) == std::string::npos) r += ":latest";
  return r;
}

std::string config_dir(App& app) {
  return app.g.config_dir.empty() ? ContextStore::default_dir() : app.g.config_dir;
}

std::string registry_auth(App& app, const std::string& registry) {
  auto txt = read_file(config_dir(app) + "/config.json");
  Json auth = Json::object();
  if (txt) {
    try {
      Json cfg = Json::parse(*txt);
      std::string key = registry == "docker.io" ? "https://index.docker.io/v1/" : registry;
      if (cfg.contains("auths") && cfg["auths"].contains(key)) {
        auto dec = base64_decode(cfg["auths"][key].value("auth", ""));
        if (dec) {
          auto colon = dec->find(':');
          auth["username"] = dec->substr(0, colon);
          auth["password"] = colon == std::string::npos ? "" : dec->substr(colon + 1);
          auth["serveraddress"] = key;
        }
      }
    } catch (...) {
    }
  }
  return base64_encode(auth.dump(), true);
}

}  // namespace berth::cli

#include <fcntl.h>
#include <sys/wait.h>

namespace berth::cli {

int download_to(App& app, const std::string& path, const std::string& output, const std::string& what) {
  UniqueFd file;
  int fd = STDOUT_FILENO;
  if (output.empty() || output == "-") {
    if (::isatty(STDOUT_FILENO) == 1)
      return report(app, Error(Errc::InvalidArgument, "cowardly refusing to save to a terminal. Use the -o flag or redirect"));
  } else {
    auto f = open_file(output + ".berth-tmp", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (!f) return report(app, f.error().context("failed to " + what));
    file = std::move(*f);
    fd = file.get();
  }
  auto c = app.client();
  if (!c) return report(app, c.error());
  Status werr = ok();
  auto r = (*c)->stream("GET", path, "", {}, [&](std::string_view d) {
    werr = write_fd_all(fd, d);
    return static_cast<bool>(werr);
  });
  if (!r) return report(app, r.error());
  if (r->status >= 400) {
    if (file) ::unlink((output + ".berth-tmp").c_str());
    return report(app, daemon_error(*r));
  }
  if (!werr) return report(app, werr.error());
  if (file) {
    file.reset();
    if (::rename((output + ".berth-tmp").c_str(), output.c_str()) != 0)
      return report(app, Error::from_errno(errno, "rename", output));
  }
  return 0;
}

static Result<UniqueFd> spawn(const std::vector<std::string>& argv, pid_t* pid, bool reader) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return fail_errno("pipe");
  UniqueFd rd(p[0]), wr(p[1]);
  pid_t child = ::fork();
  if (child < 0) return fail_errno("fork");
  if (child == 0) {
    if (reader) ::dup2(wr.get(), STDOUT_FILENO);
    else ::dup2(rd.get(), STDIN_FILENO);
    std::vector<char*> a;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    ::execvp(a[0], a.data());
    ::_exit(127);
  }
  *pid = child;
  return reader ? std::move(rd) : std::move(wr);
}

Result<UniqueFd> spawn_reader(const std::vector<std::string>& argv, pid_t* pid) { return spawn(argv, pid, true); }
Result<UniqueFd> spawn_writer(const std::vector<std::string>& argv, pid_t* pid) { return spawn(argv, pid, false); }

int wait_child(pid_t pid) {
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

}  // namespace berth::cli

namespace berth::cli {

bool confirm(App& app, const std::string& msg, bool force) {
  if (force) return true;
  app.out(msg + "\nAre you sure you want to continue? [y/N] ");
  std::string line;
  char c;
  while (::read(STDIN_FILENO, &c, 1) == 1 && c != '\n') line += c;
  std::string l = to_lower(trim(line));
  return l == "y" || l == "yes";
}

}  // namespace berth::cli
