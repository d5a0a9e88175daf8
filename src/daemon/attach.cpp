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
#include "common/log.hpp"
#include "common/strings.hpp"
#include "daemon/api_util.hpp"
#include "daemon/daemon.hpp"
#include "http/http.hpp"
#include "http/websocket.hpp"
#include "shim/attach_proto.hpp"

namespace berth::daemon {

namespace proto = berth::shim::proto;
namespace ws = berth::http::websocket;

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

}  // namespace

std::string StreamFraming::output(unsigned char stream, std::string_view data) {
  if (raw_) return std::string(data);
  return proto::frame(stream, data);
}

Status attach_allowed(Daemon& d, const Container& c, const std::string& ref) {
  std::lock_guard lk(d.mu);
  if (c.state.status == "paused")
    return fail(Errc::Conflict, "container " + ref + " is paused, unpause the container before attach");
  if (c.state.status == "restarting")
    return fail(Errc::Conflict, "container " + ref + " is restarting, wait until the container is running");
  return ok();
}

Status attach_live(Daemon& d, const std::shared_ptr<Container>& c, int client, std::string pending,
                   const AttachOptions& o, bool* detached) {
  StreamFraming f(o.tty);
  return attach_live(d, c, client, std::move(pending), o, f, detached);
}

Status attach_live(Daemon& d, const std::shared_ptr<Container>& c, int client, std::string pending,
                   const AttachOptions& o, ClientFraming& framing, bool* detached) {
  *detached = false;
  std::string hello = std::string(o.in ? "i" : "") + (o.out ? "o" : "") + (o.err ? "e" : "");
  std::string bundle = d.bundle_dir(c->id);
  UniqueFd shim;
  // once subscribed (registered for the start, or connected to the shim): the caller's response
  // head, then the past log; output in between waits in the subscription
  bool prologue_done = false;
  auto prologue = [&]() -> bool {
    if (prologue_done) return true;
    prologue_done = true;
    if (o.subscribed && !o.subscribed()) return false;
    return !o.replay || o.replay();
  };
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
      lk.unlock();  // the prologue writes to the client
      bool go = prologue();
      lk.lock();
      while (go) {
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
      if (!go) return ok();
      if (!shim && !(c->start_gen != gen && active(*c))) {
        // ended before it ran (failed start), removed, or the client left
        return ok();
      }
    }
  }
  if (!shim) shim = shim_connect(bundle, hello);
  if (!prologue()) return ok();
  if (!shim) return fail(Errc::Unavailable, "no attach socket");
  d.emit("container", "attach", c->id);

  // dockerd: detach keys only with a tty (copyEscapable); without one every byte is stdin
  DetachScanner scan(o.tty ? o.detach_keys : std::string());
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
  // the end of the client's input; false: the session ends
  auto input_ended = [&](bool in_band) -> bool {
    client_in_open = false;
    if (o.in) {
      // dockerd: StdinOnce (no tty) closes the container's stdin and output continues;
      // otherwise the end of the client's stdin ends this attach session
      if (!o.close_stdin_on_eof) return false;
      (void)write_all(shim.get(), proto::frame(proto::kCloseStdin, ""));
      return true;
    }
    return !in_band;  // a half-close only says "no stdin"; a websocket close ends the session
  };
  // bytes from the client; false: the session ends
  auto client_bytes = [&](std::string_view wire) -> bool {
    if (wire.empty()) return true;
    ClientFraming::Input in;
    framing.input(wire, &in);
    if (!in.reply.empty() && !write_all(client, in.reply)) return false;
    if (!send_stdin(in.stdin_data) || in.failed) return false;
    if (in.closed) return input_ended(true);
    return true;
  };
  if (!client_bytes(pending)) return ok();
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
        if (payload.empty()) continue;
        if (!write_all(client, framing.output(kind, payload))) return ok();  // client gone
      }
      if (end) break;
    }
    if (p[1].revents) {
      ssize_t n = ::read(client, buf, sizeof buf);
      if (n > 0) {
        if (!client_bytes(std::string_view(buf, static_cast<std::size_t>(n)))) break;
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        if (n < 0) break;  // reset: the client is gone
        if (!input_ended(false)) break;
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

// ---------------- GET /containers/{id}/attach/ws ----------------

namespace {

// Output: one unmasked frame per chunk, stdout and stderr alike (dockerd never multiplexes
// here: MuxStreams false). Input: the payloads of text/binary messages are stdin.
class WebSocketFraming final : public ClientFraming {
 public:
  explicit WebSocketFraming(ws::Opcode op) : op_(op) {}
  std::string output(unsigned char, std::string_view data) override { return ws::encode_frame(op_, data); }
  void input(std::string_view wire, Input* in) override {
    ws::Decoder::Output o;
    dec_.feed(wire, &o);
    in->stdin_data = std::move(o.data);
    in->reply = std::move(o.reply);
    in->closed = o.closed;
    in->failed = o.error != 0;
    if (in->failed) failed_ = true;
  }
  // A protocol error already sent its close frame.
  bool failed() const { return failed_; }

 private:
  ws::Opcode op_;
  ws::Decoder dec_;
  bool failed_ = false;
};

// Ends the connection after our last frame: stop writing, then read (and drop) what the client
// still sends (its close reply) until it closes or a second passes, so that our close(2) does
// not meet unread input and reset the connection before the client has read our frames.
void linger_close(int fd) {
  ::shutdown(fd, SHUT_WR);
  char buf[4096];
  std::size_t total = 0;
  while (total < (1u << 20)) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) break;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    total += static_cast<std::size_t>(n);
  }
}

}  // namespace

void serve_attach_ws(Daemon& d, http::Request& q, http::ResponseWriter& w, const LogReplay& replay) {
  // dockerd's order: detach keys, the container, its state; only then the handshake
  std::string keys_param = q.query_value("detachKeys").value_or("");
  auto keys = parse_detach_keys(keys_param.empty() ? d.config().detach_keys : keys_param);
  if (!keys) return send_error(w, keys.error());
  auto found = d.find(q.param("id"));
  if (!found) return send_error(w, found.error());
  auto c = *found;
  if (auto st = attach_allowed(d, *c, q.param("id")); !st) return send_error(w, st.error());
  AttachOptions ao;
  bool open_stdin = false;
  std::string log_driver;
  {
    std::lock_guard lk(d.mu);
    ao.tty = c->config.value("Tty", false);
    open_stdin = c->config.value("OpenStdin", false);
    ao.close_stdin_on_eof = c->config.value("StdinOnce", false) && !ao.tty;
    log_driver = c->host_config.value("LogConfig", nlohmann::json::object()).value("Type", "json-file");
  }
  ApiVersion v = req_version(q);
  bool use_in = true, use_out = true, use_err = true;  // before 1.42 the parameters are ignored
  if (v.at_least(1, 42)) {
    use_in = q.query_bool("stdin");
    use_out = q.query_bool("stdout");
    use_err = q.query_bool("stderr");
  }
  ao.in = use_in && open_stdin;
  ao.out = use_out;
  ao.err = use_err;
  ao.detach_keys = *keys;

  auto hs = ws::server_handshake(q);
  auto h = w.hijack_raw();
  if (!h) return send_error(w, h.error());
  int fd = h->fd.get();
  if (hs.status != 101) {
    (void)write_all(fd, hs.response);
    return linger_close(fd);  // x/net closes after its text
  }
  // the 101 goes out once the session is subscribed to the container's output (dockerd attaches
  // its stream pipes before the handshake), so a client may start the container right after it
  bool upgraded = false;
  auto upgrade = [&]() -> bool {
    if (!upgraded) upgraded = static_cast<bool>(write_all(fd, hs.response));
    return upgraded;
  };
  ao.subscribed = upgrade;
  // moby#28176: binary frames from 1.28 on (output need not be UTF-8), text frames before
  WebSocketFraming framing(v.at_least(1, 28) ? ws::Opcode::Binary : ws::Opcode::Text);
  bool alive = true;
  if (q.query_bool("logs")) {
    if (log_driver == "none") {
      // dockerd writes its attach error into the output stream (whatever stdout/stderr say)
      // and ends the session
      if (upgrade() && write_all(fd, framing.output(1, "Error attaching: configured logging driver does not support reading\n")))
        (void)write_all(fd, ws::close_frame(ws::kCloseNormal));
      return linger_close(fd);
    }
    ao.replay = [&, c] {
      replay(c, ao.out, ao.err, [&](std::string_view data) {
        alive = alive && write_all(fd, framing.output(1, data));
        return alive;
      });
      return alive;
    };
  }
  if (q.query_bool("stream")) {
    bool detached = false;
    auto st = attach_live(d, c, fd, std::move(h->pending), ao, framing, &detached);
    if (!st && st.error().is(Errc::Unavailable))
      log::warn("attach/ws {}: the container's shim has no attach socket", c->id);
  } else if (upgrade()) {
    if (ao.replay) (void)ao.replay();
    if (alive) d.emit("container", "attach", c->id);
  }
  // the session ended before it was subscribed (the container went away): an empty session
  if (upgrade() && !framing.failed()) (void)write_all(fd, ws::close_frame(ws::kCloseNormal));
  linger_close(fd);
}

}  // namespace berth::daemon
