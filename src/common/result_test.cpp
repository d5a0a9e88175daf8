// SPDX-License-Identifier: Apache-2.0
#include "common/result.hpp"

#include <gtest/gtest.h>

namespace berth {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) return fail(Errc::InvalidArgument, "not positive");
  return v;
}

Result<int> doubled(int v) {
  int x = TRYC(parse_positive(v), "double");
  return 2 * x;
}

Status void_chain(int v) {
  TRY(doubled(v));
  return ok();
}

TEST(Result, TryPropagatesValue) {
  auto r = doubled(21);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 42);
}

TEST(Result, TryPropagatesErrorWithContext) {
  auto r = doubled(-1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Errc::InvalidArgument);
  EXPECT_EQ(r.error().message(), "double: not positive");
  EXPECT_FALSE(void_chain(0));
  EXPECT_TRUE(void_chain(1));
}

TEST(Result, FromErrnoMapsCategory) {
  auto e = Error::from_errno(ENOENT, "open", "/x");
  EXPECT_EQ(e.code(), Errc::NotFound);
  EXPECT_EQ(e.sys_errno(), ENOENT);
  EXPECT_EQ(e.message(), "open /x: No such file or directory");
  EXPECT_EQ(Error::from_errno(EPERM, "mount").code(), Errc::PermissionDenied);
  EXPECT_EQ(Error::from_errno(EBUSY, "umount").code(), Errc::Conflict);
  EXPECT_EQ(Error::from_errno(ENOSYS, "openat2").code(), Errc::Unimplemented);
}

}  // namespace
}  // namespace berth
