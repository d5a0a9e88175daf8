// SPDX-License-Identifier: Apache-2.0
// Live container stdio through berth-shim's attach socket (shim/attach_proto.hpp): attach
// sessions (before or after the start), the pump between a hijacked client connection and the
// shim or an exec's pipes/pty (multiplexed or raw, detach keys, stdin half-close), resizes, and
// a state-change notifier that wakes `logs -f` without polling.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

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
};

// Runs one live attach session on a hijacked connection; returns when the container ended,
// the client detached (*detached) or went away. Unavailable: the shim has no attach socket.
Status attach_live(Daemon& d, const std::shared_ptr<Container>& c, int client, std::string pending,
                   const AttachOptions& o, bool* detached);

// Sends a resize to the container's pty (409 when not running).
Status resize_container(Daemon& d, const std::string& ref, unsigned rows, unsigned cols);

// Wakes every subscriber (container exit, start, removal).
void notify_state_change();
// An eventfd that becomes readable after the next notify_state_change().
UniqueFd subscribe_state_change();
void unsubscribe_state_change(int fd);

}  // namespace berth::daemon
