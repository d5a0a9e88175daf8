// SPDX-License-Identifier: Apache-2.0
// One message with file descriptors (SCM_RIGHTS) on a unix socket, sent or received whole.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string_view>

namespace berth {

inline constexpr std::size_t kMaxPassedFds = 4;

// data and up to kMaxPassedFds fds in one message (MSG_NOSIGNAL); false unless all of data went
// (errno tells why).
bool send_with_fds(int sock, std::string_view data, const int* fds, std::size_t nfds);

struct Received {
  ssize_t bytes = -1;      // -1: error (errno), 0: end of stream
  bool truncated = false;  // the data or the fds did not fit
};
// One message into buf (cap bytes); its fds (close-on-exec) into fds, up to max_fds of them
// (the rest are closed; unused slots are left as they were). Retries on EINTR.
Received recv_with_fds(int sock, char* buf, std::size_t cap, int* fds, std::size_t max_fds, int flags = 0);

}  // namespace berth
