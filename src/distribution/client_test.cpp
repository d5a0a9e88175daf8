// SPDX-License-Identifier: Apache-2.0
#include "distribution/client.hpp"

#include <gtest/gtest.h>

namespace berth::distribution {
namespace {

TEST(Challenge, ParsesBearer) {
  auto c = parse_www_authenticate(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull")");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->scheme, "bearer");
  EXPECT_EQ(c->params["realm"], "https://auth.docker.io/token");
  EXPECT_EQ(c->params["service"], "registry.docker.io");
  EXPECT_EQ(c->params["scope"], "repository:library/busybox:pull");
  auto b = parse_www_authenticate(R"(Basic realm="Registry Realm")");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->scheme, "basic");
}

TEST(Endpoints, SchemesAndMirrors) {
  ClientOptions o;
  o.insecure_registries = {"myreg:5000"};
  Client c(o);
  EXPECT_EQ(c.base_url("docker.io"), "https://registry-1.docker.io");
  EXPECT_EQ(c.base_url("localhost:5000"), "http://localhost:5000");
  EXPECT_EQ(c.base_url("127.0.0.1:5000"), "http://127.0.0.1:5000");
  EXPECT_EQ(c.base_url("myreg:5000"), "http://myreg:5000");
  EXPECT_EQ(c.base_url("quay.io"), "https://quay.io");
}

}  // namespace
}  // namespace berth::distribution
