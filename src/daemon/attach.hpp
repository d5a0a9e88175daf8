// SPDX-License-Identifier: Apache-2.0
// Live container stdio through berth-shim's attach socket (shim/attach_proto.hpp): attach
// sessions (before or after the start), the pump between a client connection and the shim or
// an exec's pipes/pty (detach keys, stdin half-close), resizes, and a state-change notifier that
// wakes `logs -f` without polling. The client connection is framed by a ClientFraming: the
// hijacked POST /attach stream (multiplexed or raw) or websocket frames (GET /attach/ws).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace berth::http {
struct Request;
class ResponseWriter;
}  // namespace berth::http

namespace berth::daemon {

class Daemon;
struct Container;

// "ctrl-p,ctrl-q" → the bytes; empty → Docker's default (ctrl-p ctrl-q).
Result<std::string> parse_detach_keys(const std::string& spec);

// Docker's escape proxy: feed() returns the bytes to pass on; sets *detached when the whole
// sequence was typed (the sequence itself is swallowed).
class DetachScanner {
 public:
  explicit DetachScanner(std::string keys) : keys_(std::move(keys)) {}
  std::string feed(std::string_view in, bool* detached);

 private:
  std::string keys_;
  std::size_t matched_ = 0;
};

// Connects to the shim of container dir `bundle` (hello: letters i o e m); invalid fd if the
// shim has no attach socket (it ended, or predates it).
UniqueFd shim_connect(const std::string& bundle, const std::string& hello);

// Called by start_locked between the shim's "created" and "start": connects the attach
// sessions waiting for this container to start.
void connect_early_attachers(const std::string& id, const std::string& bundle);

struct AttachOptions {
  bool in = false, out = false, err = false;
  bool tty = false;
  bool close_stdin_on_eof = false;  // StdinOnce && !Tty: the client's EOF closes the container's stdin
  std::string detach_keys;          // bytes
  // Called by attach_live once the session is subscribed to the container's output (registered
  // for its start, or connected to its shim), in this order; false = the client is gone.
  // subscribed: writes the response head, so that a client that starts the container as soon
  // as it has the head loses nothing. replay (logs=1): writes the past output; output produced
  // meanwhile waits in the subscription (seen twice at worst, as with dockerd, which attaches
  // its stream pipes before the handshake and the log).
  std::function<bool()> subscribed;
  std::function<bool()> replay;
};

// How the bytes on a client connection map to the session's streams.
class ClientFraming {
 public:
  virtual ~ClientFraming() = default;
  // Bytes to write to the client for one chunk of container output (1 stdout, 2 stderr).
  virtual std::string output(unsigned char stream, std::string_view data) = 0;
  struct Input {
    std::string stdin_data;  // for the container's stdin
    std::string reply;       // to write back to the client at once (websocket pong, close)
    bool closed = false;     // the client ended its input in-band (websocket close frame)
    bool failed = false;     // protocol error: the session ends (reply says why)
  };
  // Bytes read from the client.
  virtual void input(std::string_view wire, Input* in) = 0;
};

// POST /attach's hijacked stream: raw output with a tty, else the 8-byte multiplexed frames;
// client bytes are stdin as they are.
class StreamFraming final : public ClientFraming {
 public:
  explicit StreamFraming(bool raw) : raw_(raw) {}
  std::string output(unsigned char stream, std::string_view data) override;
  void input(std::string_view wire, Input* in) override { in->stdin_data.assign(wire); }

 private:
  bool raw_;
};

// dockerd's refusals (409) of an attach to a paused or restarting container; `ref` as the
// client named it.
Status attach_allowed(Daemon& d, const Container& c, const std::string& ref);

// Runs one live attach session on a hijacked connection; returns when the container ended,
// the client detached (*detached) or went away. Unavailable: the shim has no attach socket.
// The client's end of input (EOF, websocket close): with stdin attached, StdinOnce without a tty
// closes the container's stdin and output goes on, else the session ends; without stdin, an EOF
// is a half-close (output goes on) and a websocket close ends the session.
Status attach_live(Daemon& d, const std::shared_ptr<Container>& c, int client, std::string pending,
                   const AttachOptions& o, ClientFraming& framing, bool* detached);
// The same with StreamFraming(o.tty).
Status attach_live(Daemon& d, const std::shared_ptr<Container>& c, int client, std::string pending,
                   const AttachOptions& o, bool* detached);

// Writes a container's past log (no follow) to sink, each record's text raw, one call per record.
using LogReplay = std::function<void(const std::shared_ptr<Container>& c, bool out, bool err,
                                     const std::function<bool(std::string_view)>& sink)>;
// GET /containers/{id}/attach/ws, as dockerd: parameters checked and the container found (JSON
// errors 400/404/409) before the websocket handshake (plain-text 400 when it is not one); then
// logs= replays the log, stream= runs attach_live over websocket frames (binary from API 1.28,
// text before; raw output, never multiplexed; stdin/stdout/stderr= honoured from API 1.42,
// all three before); the session ends with a close frame (1000).
void serve_attach_ws(Daemon& d, http::Request& q, http::ResponseWriter& w, const LogReplay& replay);

// Sends a resize to the container's pty (409 when not running).
Status resize_container(Daemon& d, const std::string& ref, unsigned rows, unsigned cols);

// Wakes every subscriber (container exit, start, removal).
void notify_state_change();
// An eventfd that becomes readable after the next notify_state_change().
UniqueFd subscribe_state_change();
void unsubscribe_state_change(int fd);

}  // namespace berth::daemon
