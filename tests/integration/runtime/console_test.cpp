// SPDX-License-Identifier: Apache-2.0
// process.terminal + --console-socket: the pty master arrives over SCM_RIGHTS (the shim's contract).
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

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

}  // namespace
}  // namespace berth::test
