// SPDX-License-Identifier: Apache-2.0
#include "common/scm_rights.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "common/unique_fd.hpp"

namespace berth {
namespace {

TEST(ScmRights, FdsTravelWithTheMessageAndExtrasAreClosed) {
  int sp[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
  UniqueFd a(sp[0]), b(sp[1]);
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd r(p[0]), w(p[1]);
  int two[2] = {r.get(), w.get()};
  ASSERT_TRUE(send_with_fds(a.get(), "hello", two, 2));
  char buf[16];
  int got[2] = {-1, -7};
  auto m = recv_with_fds(b.get(), buf, sizeof buf, got, 1);
  ASSERT_EQ(m.bytes, 5);
  EXPECT_FALSE(m.truncated);
  EXPECT_EQ(std::string(buf, 5), "hello");
  ASSERT_GE(got[0], 0);
  EXPECT_EQ(got[1], -7);  // slots past max_fds untouched (the second fd was closed)
  UniqueFd rr(got[0]);
  EXPECT_EQ(::fcntl(rr.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  ASSERT_EQ(::write(w.get(), "x", 1), 1);
  char c = 0;
  EXPECT_EQ(::read(rr.get(), &c, 1), 1);  // the same pipe
  EXPECT_EQ(c, 'x');

  ASSERT_TRUE(send_with_fds(a.get(), "too long for it", nullptr, 0));
  m = recv_with_fds(b.get(), buf, 4, got, 0);
  EXPECT_TRUE(m.truncated);
  int five[5] = {0, 0, 0, 0, 0};
  EXPECT_FALSE(send_with_fds(a.get(), "x", five, 5));
  a.reset();
  EXPECT_EQ(recv_with_fds(b.get(), buf, sizeof buf, got, 0).bytes, 0);  // end of stream
}

}  // namespace
}  // namespace berth
