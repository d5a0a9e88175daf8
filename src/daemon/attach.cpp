// SPDX-License-Identifier: Apache-2.0
#include "daemon/attach.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "common/file.hpp"
#include "common/strings.hpp"
#include "daemon/daemon.hpp"
#include "shim/attach_proto.hpp"

namespace berth::daemon {

namespace proto = berth::shim::proto;

Result<std::string> parse_detach_keys(const std::string& spec) {
  if (spec.empty()) return std::string("\x10\x11", 2);
  std::string out;
  for (const auto& part : split(spec, ',')) {
    std::string k(trim(part));
    if (k.size() == 1) {
      out.push_back(k[0]);
      continue;
    }
    if (k.size() == 6 && k.rfind("ctrl-", 0) == 0) {
      char c = k[5];
      if (c >= 'a' && c <= 'z') {
        out.push_back(static_cast<char>(c - 'a' + 1));
        continue;
      }
      if (c >= 'A' && c <= 'Z') {
        out.push_back(static_cast<char>(c - 'A' + 1));
        continue;
      }
      static const std::string sym = "@[\\]^_";
      if (auto p = sym.find(c); p != std::string::npos) {
        out.push_back(static_cast<char>(p == 0 ? 0 : 26 + static_cast<int>(p)));
        continue;
      }
    }
    return fail(Errc::InvalidArgument, "Invalid detach keys (" + spec + ") provided");
  }
  if (out.empty()) return fail(Errc::InvalidArgument, "Invalid detach keys (" + spec + ") provided");
  return out;
}

std::string DetachScanner::feed(std::string_view in, bool* detached) {
  std::string pass;
  *detached = false;
  if (keys_.empty()) return std::string(in);
  for (char ch : in) {
    if (ch == keys_[matched_]) {
      if (++matched_ == keys_.size()) {
        *detached = true;
        matched_ = 0;
        return pass;
      }
      continue;
    }
    // mismatch: what was held back goes through, then this byte (which may start a new match)
    pass.append(keys_, 0, matched_);
    matched_ = 0;
    if (ch == keys_[0]) matched_ = 1;
    else pass.push_back(ch);
  }
  return pass;
}

UniqueFd shim_connect(const std::string& bundle, const std::string& hello) {
  // through /proc/self/fd: the bundle path can be longer than sun_path
  UniqueFd dir(::open(bundle.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return {};
  UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) return {};
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "/proc/self/fd/%d/%s", dir.get(), proto::kAttachSocket);
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) return {};
  if (!write_all(s.get(), proto::frame(proto::kHello, hello))) return {};
  return s;
}

// ---------------- sessions waiting for the start ----------------

namespace {

struct Early {
  std::string hello;
  UniqueFd fd;
  bool done = false;
};

std::mutex g_early_mu;
std::map<std::string, std::vector<std::shared_ptr<Early>>> g_early;  // container id -> waiting sessions

std::mutex g_notify_mu;
std::set<int> g_notify;

}  // namespace

void connect_early_attachers(const std::string& id, const std::string& bundle) {
  std::vector<std::shared_ptr<Early>> list;
  {
    std::lock_guard lk(g_early_mu);
    auto it = g_early.find(id);
    if (it == g_early.end()) return;
    list = std::move(it->second);
    g_early.erase(it);
  }
  for (auto& e : list) {
    std::lock_guard lk(g_early_mu);
    e->fd = shim_connect(bundle, e->hello);
    e->done = true;
  }
}

void notify_state_change() {
  std::lock_guard lk(g_notify_mu);
  std::uint64_t one = 1;
  for (int fd : g_notify) (void)!::write(fd, &one, sizeof one);
}

UniqueFd subscribe_state_change() {
  UniqueFd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (fd) {
    std::lock_guard lk(g_notify_mu);
    g_notify.insert(fd.get());
  }
  return fd;
}

void unsubscribe_state_change(int fd) {
  std::lock_guard lk(g_notify_mu);
  g_notify.erase(fd);
}

namespace {

bool active(const Container& c) {
  return c.state.status == "running" || c.state.status == "paused";
}

bool client_gone(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  // a half-closed stdin (EOF) is not gone: its output is still wanted
  return (p.revents & (POLLHUP | POLLERR)) != 0;
}

std::string out_frame(unsigned char stream, std::string_view data, bool raw) {
  if (raw) return std::string(data);
  return proto::frame(stream, data);
}

}  // namespace

Status attach_live(Daemon& d, const std::shared_ptr<Container>& c, int client, std::string pending,
                   const AttachOptions& o, bool* detached) {
  *detached = false;
  std::string hello = std::string(o.in ? "i" : "") + (o.out ? "o" : "") + (o.err ? "e" : "");
  std::string bundle = d.bundle_dir(c->id);
  UniqueFd shim;
  {
    std::unique_lock lk(d.mu);
    if (c->removed) return fail(Errc::NotFound, "No such container: " + c->id);
    if (!active(*c)) {
      // wait for the start: the shim connects us before the container runs, so nothing is lost
      auto e = std::make_shared<Early>();
      e->hello = hello;
      {
        std::lock_guard ek(g_early_mu);
        g_early[c->id].push_back(e);
      }
      auto gen = c->start_gen;
      auto exit_gen = c->exit_gen;
      for (;;) {
        {
          std::lock_guard ek(g_early_mu);
          if (e->done) {
            shim = std::move(e->fd);
            break;
          }
        }
        if (c->removed || c->exit_gen != exit_gen || c->start_gen != gen || client_gone(client)) break;
        d.cv.wait_for(lk, std::chrono::milliseconds(200));
      }
      {
        std::lock_guard ek(g_early_mu);
        auto it = g_early.find(c->id);
        if (it != g_early.end()) {
          std::erase(it->second, e);
          if (it->second.empty()) g_early.erase(it);
        }
        if (!shim && e->done) shim = std::move(e->fd);
      }
      if (!shim && !(c->start_gen != gen && active(*c))) {
        // ended before it ran (failed start), removed, or the client left
        return ok();
      }
    }
  }
  if (!shim) shim = shim_connect(bundle, hello);
  if (!shim) return fail(Errc::Unavailable, "no attach socket");
  d.emit("container", "attach", c->id);

  DetachScanner scan(o.detach_keys);
  bool client_in_open = true;
  std::string from_shim;
  char buf[32768];
  auto send_stdin = [&](std::string_view data) -> bool {
    if (!o.in || data.empty()) return true;
    bool det = false;
    std::string pass = scan.feed(data, &det);
    if (!pass.empty() && !write_all(shim.get(), proto::frame(proto::kStdin, pass))) return false;
    if (det) {
      *detached = true;
      (void)write_all(shim.get(), proto::frame(proto::kDetach, ""));
      return false;
    }
    return true;
  };
  if (!send_stdin(pending)) return ok();
  for (;;) {
    pollfd p[2] = {{shim.get(), POLLIN, 0}, {client_in_open ? client : -1, POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[0].revents) {
      ssize_t n = ::read(shim.get(), buf, sizeof buf);
      if (n <= 0) break;  // the shim ended
      from_shim.append(buf, static_cast<std::size_t>(n));
      unsigned char kind;
      std::string payload;
      bool end = false;
      while (proto::pop_frame(from_shim, &kind, &payload)) {
        if (kind == proto::kExit) {
          end = true;
          break;
        }
        if (kind != proto::kStdout && kind != proto::kStderr) continue;
        if (!write_all(client, out_frame(kind, payload, o.tty))) return ok();  // client gone
      }
      if (end) break;
    }
    if (p[1].revents) {
      ssize_t n = ::read(client, buf, sizeof buf);
      if (n > 0) {
        if (!send_stdin(std::string_view(buf, static_cast<std::size_t>(n)))) break;
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        client_in_open = false;
        if (n < 0) break;  // reset: the client is gone
        if (o.in) {
          // dockerd: StdinOnce (no tty) closes the container's stdin and output continues;
          // otherwise the end of the client's stdin ends this attach session
          if (!o.close_stdin_on_eof) break;
          (void)write_all(shim.get(), proto::frame(proto::kCloseStdin, ""));
        }
      }
    }
  }
  if (*detached) d.emit("container", "detach", c->id);
  return ok();
}

Status resize_container(Daemon& d, const std::string& ref, unsigned rows, unsigned cols) {
  auto c = TRY(d.find(ref));
  {
    std::lock_guard lk(d.mu);
    if (!active(*c)) return fail(Errc::Conflict, "Container " + c->id + " is not running");
  }
  UniqueFd s = shim_connect(d.bundle_dir(c->id), "");
  if (!s) return ok();  // no pty to resize (the container ends, or its shim predates attach)
  TRY(write_all(s.get(), proto::frame(proto::kResize, std::to_string(rows) + " " + std::to_string(cols))));
  return ok();
}

}  // namespace berth::daemon
