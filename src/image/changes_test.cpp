// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "image/service_impl.hpp"

namespace berth::image {
namespace {

TEST(Changes, AppliesDockerfileInstructions) {
  oci::ContainerConfig c;
  c.env = {"PATH=/bin"};
  ASSERT_TRUE(apply_changes(c, {"ENV A=1 B=\"two words\"", "ENV PATH=/usr/bin", "CMD [\"sh\",\"-c\",\"x\"]",
                                "ENTRYPOINT echo hi", "WORKDIR /w", "USER 1000", "EXPOSE 80 53/udp",
                                "LABEL a=b", "VOLUME /data", "STOPSIGNAL SIGINT"}));
  EXPECT_EQ(c.env, (std::vector<std::string>{"PATH=/usr/bin", "A=1", "B=two words"}));
  EXPECT_EQ(*c.cmd, (std::vector<std::string>{"sh", "-c", "x"}));
  EXPECT_EQ(*c.entrypoint, (std::vector<std::string>{"/bin/sh", "-c", "echo hi"}));
  EXPECT_EQ(c.working_dir, "/w");
  EXPECT_EQ(c.user, "1000");
  EXPECT_EQ(c.exposed_ports, (std::vector<std::string>{"80/tcp", "53/udp"}));
  EXPECT_EQ(c.labels["a"], "b");
  EXPECT_EQ(c.volumes, std::vector<std::string>{"/data"});
  EXPECT_EQ(c.stop_signal, "SIGINT");
  auto bad = apply_changes(c, {"RUN rm -rf /"});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "run is not a valid change command");
}

TEST(Time, ParsesRfc3339) {
  EXPECT_EQ(parse_rfc3339("2024-01-01T00:00:00Z"), 1704067200);
  EXPECT_EQ(parse_rfc3339("2024-01-01T01:00:00.123456789+01:00"), 1704067200);
}

}  // namespace
}  // namespace berth::image
