// SPDX-License-Identifier: Apache-2.0
// process.terminal + --console-socket: the pty master arrives over SCM_RIGHTS (the shim's contract).
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "config_builder.hpp"

namespace berth::test {
namespace {

using Console = RuntimeTest;

int recv_fd(int sock) {
  char buf[256];
  iovec iov{buf, sizeof buf};
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = cbuf;
  msg.msg_controllen = sizeof cbuf;
  if (::recvmsg(sock, &msg, 0) <= 0) return -1;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

TEST_F(Console, PtyMasterIsSentOverConsoleSocket) {
  std::string sock_path = scratch_->sub("console.sock");
  int ls = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(ls, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, sock_path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(ls, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(ls, 1), 0);
  auto c = config().args({"/bin/sh", "-c", "tty; /bin/probe echo via-pty"});
  c.process()["terminal"] = true;
  c.process()["consoleSize"] = {{"height", 40}, {"width", 100}};
  write_config(c);
  auto id = new_id();
  int master = -1;
  std::thread acceptor([&] {
    pollfd p{ls, POLLIN, 0};
    if (::poll(&p, 1, 20000) <= 0) return;
    int conn = ::accept4(ls, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) return;
    master = recv_fd(conn);
    ::close(conn);
  });
  auto r = rtd({"create", "--bundle", bundle_, "--console-socket", sock_path, id});
  acceptor.join();
  ::close(ls);
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_GE(master, 0);
  ASSERT_EQ(rt({"start", id}).status, 0);
  std::string out;
  for (;;) {
    pollfd p{master, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) break;
    char buf[512];
    ssize_t n = ::read(master, buf, sizeof buf);
    if (n <= 0) break;  // EIO once the container is gone
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(master);
  EXPECT_NE(out.find("/dev/pts/0"), std::string::npos) << out;
  EXPECT_NE(out.find("via-pty\r\n"), std::string::npos) << out;
  // terminal without a console socket is refused for create.
  auto bad = rtd({"create", "--bundle", bundle_, new_id()});
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.err.find("console socket"), std::string::npos) << bad.err;
}

// Runs argv with a new pty as its controlling terminal and stdio (like an interactive shell),
// writes `input` once `ready_marker` shows up, and returns (exit status, everything printed).
std::pair<int, std::string> run_on_pty(const std::vector<std::string>& argv, const std::string& ready_marker,
                                       const std::string& input) {
  int master = -1, slave = -1;
  winsize ws{};
  ws.ws_row = 31;
  ws.ws_col = 97;
  if (::openpty(&master, &slave, nullptr, nullptr, &ws) != 0) return {-1, "openpty failed"};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setsid();
    ::ioctl(slave, TIOCSCTTY, 0);
    for (int i = 0; i < 3; ++i) ::dup2(slave, i);
    if (slave > 2) ::close(slave);
    ::close(master);
    std::vector<char*> av;
    for (auto& a : argv) av.push_back(const_cast<char*>(a.c_str()));
    av.push_back(nullptr);
    ::execv(av[0], av.data());
    _exit(127);
  }
  ::close(slave);
  std::string out;
  bool sent = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{master, POLLIN, 0};
    if (::poll(&p, 1, 200) > 0) {
      char buf[512];
      ssize_t n = ::read(master, buf, sizeof buf);
      if (n <= 0) break;  // EIO: the runtime (last holder of the slave) is gone
      out.append(buf, static_cast<std::size_t>(n));
    }
    if (!sent && out.find(ready_marker) != std::string::npos) {
      (void)!::write(master, input.data(), input.size());
      sent = true;
    }
  }
  ::close(master);
  int st = 0;
  pid_t w = 0;
  for (int i = 0; i < 200 && (w = ::waitpid(pid, &st, WNOHANG)) == 0; ++i) ::usleep(50 * 1000);
  if (w == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &st, 0);
    return {-1, out + "\n(timed out)"};
  }
  return {WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), out};
}

// runc's tty proxy: `run` with a terminal and no --console-socket copies our terminal to the
// container's pty (raw mode, window size) and returns the container's exit code.
TEST_F(Console, ForegroundRunProxiesTheTerminal) {
  auto c = config().args({"/bin/sh", "-c", "tty; stty size; echo ready; read x; echo got-$x; exit 7"});
  c.process()["terminal"] = true;
  write_config(c);
  auto [code, out] = run_on_pty({bin("berth-runtime"), "--root", root_, "run", "--bundle", bundle_, new_id()},
                                "ready", "abc\r");
  EXPECT_EQ(code, 7) << out;
  EXPECT_NE(out.find("/dev/pts/0"), std::string::npos) << out;
  EXPECT_NE(out.find("31 97"), std::string::npos) << out;
  EXPECT_NE(out.find("got-abc\r\n"), std::string::npos) << out;
  // Not "\r\r\n": our side of the terminal was raw, only the container's pty translated.
  EXPECT_EQ(out.find("\r\r\n"), std::string::npos) << out;
}

TEST_F(Console, ForegroundExecTtyProxiesTheTerminal) {
  write_config(config().args({"/bin/sleep", "30"}));
  auto id = new_id();
  auto r = rtd({"run", "-d", "--bundle", bundle_, id});
  ASSERT_EQ(r.status, 0) << r.err;
  auto [code, out] = run_on_pty({bin("berth-runtime"), "--root", root_, "exec", "-t", id, "/bin/sh", "-c",
                                 "tty; echo ready; read x; echo got-$x; exit 4"},
                                "ready", "xyz\r");
  EXPECT_EQ(code, 4) << out;
  EXPECT_NE(out.find("/dev/pts/"), std::string::npos) << out;
  EXPECT_NE(out.find("got-xyz"), std::string::npos) << out;
  // Detached exec with a tty still needs a console socket.
  auto bad = rtd({"exec", "-d", "-t", id, "/bin/true"});
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.err.find("console socket"), std::string::npos) << bad.err;
}

// A non-root process gets its terminal: the pty is chowned to its uid before the switch, the
// group stays devpts' gid=5 (runc's behaviour).
TEST_F(Console, TtyIsOwnedByTheProcessUser) {
  auto c = config().args({"/bin/sh", "-c", "stat -c owner=%u:%g $(tty)"});
  c.process()["terminal"] = true;
  c.process()["user"] = {{"uid", 1000}, {"gid", 100}};
  write_config(c);
  auto [code, out] = run_on_pty({bin("berth-runtime"), "--root", root_, "run", "--bundle", bundle_, new_id()}, "", "");
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("owner=1000:5"), std::string::npos) << out;
}

}  // namespace
}  // namespace berth::test
