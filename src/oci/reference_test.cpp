// SPDX-License-Identifier: Apache-2.0
#include "oci/reference.hpp"

#include <gtest/gtest.h>

namespace berth::oci {
namespace {

std::string norm(std::string_view s) {
  auto r = parse_reference(s);
  if (!r) return "ERR: " + r.error().message();
  return with_default_tag(*r).str();
}

TEST(Reference, NormalizesLikeDocker) {
  EXPECT_EQ(norm("busybox"), "docker.io/library/busybox:latest");
  EXPECT_EQ(norm("busybox:1.36"), "docker.io/library/busybox:1.36");
  EXPECT_EQ(norm("user/app"), "docker.io/user/app:latest");
  EXPECT_EQ(norm("index.docker.io/library/ubuntu"), "docker.io/library/ubuntu:latest");
  EXPECT_EQ(norm("docker.io/ubuntu"), "docker.io/library/ubuntu:latest");
  EXPECT_EQ(norm("localhost/x"), "localhost/x:latest");
  EXPECT_EQ(norm("localhost:5000/x/y:tag"), "localhost:5000/x/y:tag");
  EXPECT_EQ(norm("quay.io/a/b/c"), "quay.io/a/b/c:latest");
  EXPECT_EQ(norm("[::1]:5000/img"), "[::1]:5000/img:latest");
  std::string d = "sha256:" + std::string(64, 'a');
  EXPECT_EQ(norm("localhost:5000/x/y@" + d), "localhost:5000/x/y@" + d);
  EXPECT_EQ(norm("busybox:1@" + d), "docker.io/library/busybox:1@" + d);
}

TEST(Reference, FamiliarNames) {
  auto r = *parse_reference("busybox");
  EXPECT_EQ(r.familiar_name(), "busybox");
  EXPECT_EQ(with_default_tag(r).familiar(), "busybox:latest");
  EXPECT_EQ(parse_reference("user/app:v1")->familiar(), "user/app:v1");
  EXPECT_EQ(parse_reference("localhost:5000/a")->familiar(), "localhost:5000/a");
  EXPECT_EQ(parse_reference("docker.io/library/a/b")->familiar_name(), "library/a/b");
}

TEST(Reference, RejectsWithDockerMessages) {
  EXPECT_EQ(norm("Busybox"),
            "ERR: invalid reference format: repository name (library/Busybox) must be lowercase");
  EXPECT_EQ(norm("busybox:"), "ERR: invalid reference format");
  EXPECT_EQ(norm(""), "ERR: invalid reference format");
  EXPECT_EQ(norm("a//b"), "ERR: invalid reference format");
  EXPECT_EQ(norm("-a"), "ERR: invalid reference format");
  EXPECT_EQ(norm("a:b c"), "ERR: invalid reference format");
  EXPECT_EQ(norm("busybox@sha256:abc"), "ERR: invalid reference format");
  EXPECT_EQ(norm(std::string(64, 'a')),
            "ERR: invalid repository name (" + std::string(64, 'a') +
                "), cannot specify 64-byte hexadecimal strings");
  EXPECT_NE(norm("a/" + std::string(300, 'b')).find("255 characters"), std::string::npos);
}

TEST(Reference, Tags) {
  EXPECT_TRUE(valid_tag("latest"));
  EXPECT_TRUE(valid_tag("v1.2_3-x"));
  EXPECT_FALSE(valid_tag(".x"));
  EXPECT_FALSE(valid_tag(std::string(129, 'a')));
}

}  // namespace
}  // namespace berth::oci
