// SPDX-License-Identifier: Apache-2.0
// `berth-runtime --await-command`: started ahead of need by a spare berth-shim (see
// shim/attach_proto.hpp), so that the process start (exec and glibc's start-up) is not paid when a
// container is created. fd 3 is a SOCK_SEQPACKET socket; one message brings the working
// directory and the command line (NUL-separated, argv[0] first) and, as SCM_RIGHTS, the three fds
// for stdin, stdout and stderr. EOF instead: the shim did not need us.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "runtime/cli/args.hpp"

namespace berth::runtime::cli {

namespace {
constexpr int kChan = 3;
constexpr std::size_t kMaxCommand = 64 * 1024;
}  // namespace

std::optional<std::vector<std::string>> await_command() {
  std::string buf(kMaxCommand, '\0');
  iovec iov{buf.data(), buf.size()};
  alignas(cmsghdr) char ctl[CMSG_SPACE(3 * sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl;
  msg.msg_controllen = sizeof ctl;
  ssize_t n;
  do n = ::recvmsg(kChan, &msg, MSG_CMSG_CLOEXEC); while (n < 0 && errno == EINTR);
  if (n <= 0 || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) return std::nullopt;
  int fds[3] = {-1, -1, -1};
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(3 * sizeof(int)))
      std::memcpy(fds, CMSG_DATA(c), sizeof fds);
  ::close(kChan);
  if (fds[0] < 0 || fds[1] < 0 || fds[2] < 0) return std::nullopt;
  for (int i = 0; i < 3; ++i)
    if (::dup2(fds[i], i) < 0) return std::nullopt;  // dup2 clears close-on-exec on 0-2
  for (int fd : fds)
    if (fd > 2) ::close(fd);
  std::vector<std::string> words;
  for (std::size_t at = 0; at < static_cast<std::size_t>(n);) {
    std::size_t end = buf.find('\0', at);
    if (end == std::string::npos || end > static_cast<std::size_t>(n)) end = static_cast<std::size_t>(n);
    words.emplace_back(buf, at, end - at);
    at = end + 1;
  }
  if (words.size() < 2 || ::chdir(words[0].c_str()) != 0) return std::nullopt;
  words.erase(words.begin());  // the cwd; argv[0] stays as the name we were invoked by
  return words;
}

}  // namespace berth::runtime::cli
