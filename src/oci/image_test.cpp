// SPDX-License-Identifier: Apache-2.0
#include "oci/image.hpp"

#include <gtest/gtest.h>

#include "oci/media_types.hpp"

namespace berth::oci {
namespace {

const std::string kD1 = "sha256:" + std::string(64, '1');
const std::string kD2 = "sha256:" + std::string(64, '2');

TEST(Manifest, ParsesDockerSchema2) {
  std::string s = R"({"schemaVersion":2,"mediaType":")" + std::string(media::kDockerManifest) +
                  R"(","config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":")" +
                  kD1 + R"(","size":7},"layers":[{"mediaType":")" +
                  std::string(media::kDockerLayerGzip) + R"(","digest":")" + kD2 +
                  R"(","size":100}]})";
  auto m = parse_manifest(s);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->config.digest.str(), kD1);
  ASSERT_EQ(m->layers.size(), 1u);
  EXPECT_EQ(m->layers[0].size, 100);
  EXPECT_EQ(media::layer_compression(m->layers[0].media_type), media::Compression::Gzip);
  auto again = parse_manifest(to_json(*m));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->layers[0].digest, m->layers[0].digest);
  EXPECT_EQ(*sniff_media_type(s), media::kDockerManifest);
}

TEST(Manifest, Schema1IsAClearError) {
  auto m = parse_manifest(R"({"schemaVersion":1,"name":"x","fsLayers":[]})");
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message().find("schema 1"), std::string::npos);
  EXPECT_TRUE(media::is_schema1(*sniff_media_type(R"({"schemaVersion":1})")));
}

TEST(Manifest, RejectsBadDescriptors) {
  EXPECT_FALSE(parse_manifest(R"({"schemaVersion":2,"config":{"digest":"sha256:zz","size":1}})"));
  EXPECT_FALSE(parse_manifest("not json"));
  EXPECT_FALSE(parse_manifest(R"({"schemaVersion":2,"config":{"digest":")" + kD1 + R"(","size":-1}})"));
}

TEST(Index, PlatformSelection) {
  std::string s = R"({"schemaVersion":2,"manifests":[
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + kD1 + R"(","size":1,
     "platform":{"architecture":"arm","os":"linux","variant":"v7"}},
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + kD2 + R"(","size":1,
     "platform":{"architecture":"amd64","os":"linux"}}]})";
  auto x = parse_index(s);
  ASSERT_TRUE(x);
  ASSERT_EQ(x->manifests.size(), 2u);
  auto want = *parse_platform("linux/amd64");
  EXPECT_FALSE(platform_matches(want, *x->manifests[0].platform));
  EXPECT_TRUE(platform_matches(want, *x->manifests[1].platform));
  EXPECT_TRUE(platform_matches(*parse_platform("linux/arm"), *x->manifests[0].platform));
  EXPECT_FALSE(platform_matches(*parse_platform("linux/arm/v6"), *x->manifests[0].platform));
  EXPECT_EQ(parse_platform("linux/aarch64/v8")->str(), "linux/arm64");
  EXPECT_EQ(parse_platform("x86_64")->str(), "linux/amd64");
  EXPECT_FALSE(parse_platform("a/b/c/d"));
}

TEST(ImageConfig, RoundTripsDockerFields) {
  std::string s = R"({"architecture":"amd64","os":"linux","created":"2024-01-01T00:00:00Z",
    "config":{"User":"1000","Env":["A=1"],"Cmd":["sh"],"Entrypoint":null,"ExposedPorts":{"80/tcp":{}},
      "Volumes":{"/data":{}},"WorkingDir":"/w","Labels":{"k":"v"},"StopSignal":"SIGTERM",
      "Healthcheck":{"Test":["CMD","true"],"Interval":1000000000,"Retries":3}},
    "rootfs":{"type":"layers","diff_ids":[")" + kD1 + R"("]},
    "history":[{"created_by":"x","empty_layer":true}]})";
  auto c = parse_image_config(s);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->config.user, "1000");
  EXPECT_FALSE(c->config.entrypoint.has_value());
  ASSERT_TRUE(c->config.cmd.has_value());
  EXPECT_EQ((*c->config.cmd)[0], "sh");
  EXPECT_EQ(c->config.exposed_ports, std::vector<std::string>{"80/tcp"});
  EXPECT_EQ(c->config.healthcheck->retries, 3);
  EXPECT_TRUE(c->history[0].empty_layer);
  auto again = parse_image_config(to_json(*c));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->diff_ids, c->diff_ids);
  EXPECT_EQ(again->config.labels, c->config.labels);
  EXPECT_EQ(again->config.healthcheck->interval, 1000000000);
}

}  // namespace
}  // namespace berth::oci
