// SPDX-License-Identifier: Apache-2.0
// `berth-runtime --await-command`: started ahead of need by a spare berth-shim (see
// shim/attach_proto.hpp), so that the process start (exec and glibc's start-up) is not paid when a
// container is created. fd 3 is a SOCK_SEQPACKET socket; one message brings the working
// directory and the command line (NUL-separated, argv[0] first) and, as SCM_RIGHTS, the three fds
// for stdin, stdout and stderr. EOF instead: the shim did not need us.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>

#include <optional>
#include <string>
#include <vector>

#include "common/strings.hpp"
#include "runtime/cli/args.hpp"
#include "runtime/linux.hpp"

namespace berth::runtime::cli {

namespace {
constexpr int kChan = 3;
}  // namespace

std::optional<std::vector<std::string>> await_command() {
  int fds[3] = {-1, -1, -1};
  auto m = recv_msg_fds(kChan, fds, 3);
  if (!m || m->empty() || fds[0] < 0 || fds[1] < 0 || fds[2] < 0) {
    ::close(kChan);
    return std::nullopt;
  }
  // kept for report_result; not for the container's processes
  (void)::fcntl(kChan, F_SETFD, FD_CLOEXEC);
  const std::string& buf = *m;
  for (int i = 0; i < 3; ++i)
    if (::dup2(fds[i], i) < 0) return std::nullopt;  // dup2 clears close-on-exec on 0-2
  for (int fd : fds)
    if (fd > 2) ::close(fd);
  std::vector<std::string> words = split(buf, '\0');
  if (words.size() < 2 || ::chdir(words[0].c_str()) != 0) return std::nullopt;
  words.erase(words.begin());  // the cwd; argv[0] stays as the name we were invoked by
  return words;
}

void report_result(int code) {
  std::fflush(stdout);
  std::fflush(stderr);
  (void)::send(kChan, &code, sizeof code, MSG_NOSIGNAL);
  ::close(kChan);
}

}  // namespace berth::runtime::cli
