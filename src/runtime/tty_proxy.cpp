// SPDX-License-Identifier: Apache-2.0
#include "runtime/tty_proxy.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

#include "runtime/linux.hpp"

namespace berth::runtime {
namespace {

volatile sig_atomic_t g_winch = 0;
void on_winch(int) { g_winch = 1; }

// Restores the caller's terminal whatever happens.
struct RawStdin {
  bool active = false;
  termios saved{};
  RawStdin() {
    if (!::isatty(0) || ::tcgetattr(0, &saved) != 0) return;
    termios raw = saved;
    ::cfmakeraw(&raw);  // output too: the container's pty already did \n -> \r\n
    active = ::tcsetattr(0, TCSANOW, &raw) == 0;
  }
  ~RawStdin() {
    if (active) ::tcsetattr(0, TCSANOW, &saved);
  }
};

void copy_winsize(int master) {
  winsize ws{};
  if (::ioctl(0, TIOCGWINSZ, &ws) == 0 && (ws.ws_row || ws.ws_col)) ::ioctl(master, TIOCSWINSZ, &ws);
}

bool write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        pollfd pf{fd, POLLOUT, 0};
        ::poll(&pf, 1, 100);
        continue;
      }
      return false;
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

}  // namespace

Result<ConsolePair> console_pair() {
  int sp[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0) return fail_errno("console socketpair");
  return ConsolePair{UniqueFd(sp[0]), UniqueFd(sp[1])};
}

Result<UniqueFd> receive_console(int sock) {
  int fd = -1;
  auto m = TRY(recv_msg(sock, &fd));
  if (fd < 0) return fail(Errc::Internal, "container process did not send its console");
  return UniqueFd(fd);
}

Result<int> proxy_tty_and_wait(int master, pid_t pid) {
  int pfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pfd < 0) return fail_errno("pidfd_open");
  UniqueFd pidfd(pfd);
  RawStdin raw;
  if (raw.active || ::isatty(0)) copy_winsize(master);
  struct sigaction sa {}, old {};
  sa.sa_handler = on_winch;
  ::sigaction(SIGWINCH, &sa, &old);
  int fl = ::fcntl(master, F_GETFL);
  ::fcntl(master, F_SETFL, fl | O_NONBLOCK);
  bool in_open = true, master_open = true;
  char buf[16384];
  for (;;) {
    if (g_winch) {
      g_winch = 0;
      copy_winsize(master);
    }
    pollfd p[3] = {{pidfd.get(), POLLIN, 0}, {master_open ? master : -1, POLLIN, 0}, {in_open ? 0 : -1, POLLIN, 0}};
    int r = ::poll(p, 3, -1);
    if (r < 0) {
      if (errno == EINTR) continue;
      return fail_errno("poll console");
    }
    if (p[1].revents) {
      ssize_t n = ::read(master, buf, sizeof buf);
      if (n > 0) (void)write_all(1, buf, static_cast<std::size_t>(n));
      else if (n == 0 || (errno != EAGAIN && errno != EINTR)) master_open = false;  // EIO: no slave left
    }
    if (p[2].revents) {
      ssize_t n = ::read(0, buf, sizeof buf);
      if (n > 0) (void)write_all(master, buf, static_cast<std::size_t>(n));
      else if (n == 0 || (errno != EAGAIN && errno != EINTR)) in_open = false;
    }
    if (p[0].revents) break;
  }
  // The process is gone: what it wrote last is still in the master.
  while (master_open) {
    ssize_t n = ::read(master, buf, sizeof buf);
    if (n > 0) (void)write_all(1, buf, static_cast<std::size_t>(n));
    else if (n < 0 && errno == EINTR) continue;
    else break;
  }
  ::sigaction(SIGWINCH, &old, nullptr);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return fail_errno("waitpid");
  return status;
}

}  // namespace berth::runtime
