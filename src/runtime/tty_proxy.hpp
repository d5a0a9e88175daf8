// SPDX-License-Identifier: Apache-2.0
// runc's tty proxy: `run` / `exec` with process.terminal in the foreground and no
// --console-socket. The container's process sends its pty master over an internal socket pair
// (same SCM_RIGHTS message as for --console-socket); the runtime copies its stdin to the master
// and the master to its stdout, with its own terminal in raw mode, until the process exits.
#pragma once

#include <sys/types.h>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace berth::runtime {

struct ConsolePair {
  UniqueFd parent;  // receives the master
  UniqueFd child;   // InitConfig::console_fd
};
Result<ConsolePair> console_pair();

// The master the process sent on `sock` (it is sent before 'R', so it is already queued).
Result<UniqueFd> receive_console(int sock);

// Proxies until `pid` (our child) exits, then drains the master; returns waitpid's status.
// Window size: copied from stdin when it is a terminal, and on every SIGWINCH.
Result<int> proxy_tty_and_wait(int master, pid_t pid);

}  // namespace berth::runtime
