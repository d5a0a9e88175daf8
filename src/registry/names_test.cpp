// SPDX-License-Identifier: Apache-2.0
#include "registry/names.hpp"

#include <gtest/gtest.h>

#include "registry/errors.hpp"

namespace berth::registry {

TEST(Names, RepoNames) {
  for (const char* ok : {"a", "library/busybox", "a.b_c__d-e--f/g0", "x/y/z", "0"})
    EXPECT_TRUE(valid_repo_name(ok)) << ok;
  for (const char* bad : {"", "A", "a/", "/a", "a//b", "../a", "a/../b", "a/.", "_a", "a_", "a___b", "a..b",
                          "a/_layers", "a:b", "a b", "-a"})
    EXPECT_FALSE(valid_repo_name(bad)) << bad;
  EXPECT_FALSE(valid_repo_name(std::string(256, 'a')));
}

TEST(Names, Tags) {
  EXPECT_TRUE(valid_tag("latest"));
  EXPECT_TRUE(valid_tag("_v1.2-rc"));
  EXPECT_TRUE(valid_tag(std::string(128, 'a')));
  EXPECT_FALSE(valid_tag(std::string(129, 'a')));
  EXPECT_FALSE(valid_tag(".hidden"));
  EXPECT_FALSE(valid_tag("-x"));
  EXPECT_FALSE(valid_tag("a/b"));
  EXPECT_FALSE(valid_tag(""));
}

TEST(Errors, Json) {
  RegError e(Code::BlobUnknown, "blob \"x\" unknown", R"({"digest":"sha256:ab"})");
  EXPECT_EQ(e.status(), 404);
  EXPECT_EQ(e.json(), R"({"errors":[{"code":"BLOB_UNKNOWN","message":"blob \"x\" unknown","detail":{"digest":"sha256:ab"}}]})");
  EXPECT_EQ(RegError(Code::RangeInvalid, "").status(), 416);
  EXPECT_EQ(code_name(Code::RangeInvalid), "BLOB_UPLOAD_INVALID");
  RegError from(Error(Errc::Internal, "boom"));
  EXPECT_EQ(from.status(), 500);
}

}  // namespace berth::registry
