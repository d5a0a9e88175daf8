// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "registry/acl.hpp"
#include "registry/catalog.hpp"
#include "registry/negotiate.hpp"

namespace berth::registry {
namespace {

using V = std::vector<std::string>;

TEST(RegistryAcl, GlobMatch) {
  EXPECT_TRUE(glob_match("*", "a/b/c"));
  EXPECT_TRUE(glob_match("alice/*", "alice/x/y"));
  EXPECT_FALSE(glob_match("alice/*", "alicex/y"));
  EXPECT_TRUE(glob_match("a?c", "abc"));
  EXPECT_FALSE(glob_match("a?c", "ac"));
  EXPECT_TRUE(glob_match("*/app", "x/y/app"));
  EXPECT_FALSE(glob_match("app", "app2"));
}

TEST(RegistryAcl, RulesAddUp) {
  auto acl = Acl::parse("# c\nalice alice/* pull,push\n* shared/*\tpull # tail\nalice shared/* delete\n"
                        "@anonymous pub/* pull\nroot * *\nops registry:catalog *\n");
  ASSERT_TRUE(acl) << acl.error().message();
  EXPECT_EQ(acl->allowed("alice", "repository", "alice/x", {"pull", "push", "delete"}), (V{"pull", "push"}));
  EXPECT_EQ(acl->allowed("alice", "repository", "shared/x", {"push", "delete", "pull"}), (V{"delete", "pull"}));
  EXPECT_EQ(acl->allowed("bob", "repository", "shared/x", {"pull", "push"}), (V{"pull"}));
  EXPECT_EQ(acl->allowed("bob", "repository", "alice/x", {"pull"}), V{});
  EXPECT_EQ(acl->allowed("", "repository", "pub/x", {"pull", "push"}), (V{"pull"}));
  EXPECT_EQ(acl->allowed("", "repository", "shared/x", {"pull"}), V{});  // * is authenticated users only
  EXPECT_EQ(acl->allowed("root", "repository", "any/thing", {"pull", "push", "delete"}), (V{"pull", "push", "delete"}));
  EXPECT_EQ(acl->allowed("ops", "registry", "catalog", {"*"}), V{"*"});
  EXPECT_EQ(acl->allowed("alice", "registry", "catalog", {"*"}), V{});
  EXPECT_FALSE(Acl::parse("alice alice/*\n"));
  EXPECT_FALSE(Acl::parse("alice alice/* fly\n"));
  EXPECT_TRUE(Acl::parse("")->empty());
}

TEST(RegistryNegotiate, AcceptSet) {
  EXPECT_TRUE(AcceptSet::parse({}).any());
  EXPECT_TRUE(AcceptSet::parse({"application/x, */*"}).accepts("application/y"));
  auto a = AcceptSet::parse({"application/A; q=0.9", " application/b "});
  EXPECT_FALSE(a.any());
  EXPECT_TRUE(a.accepts("application/a"));
  EXPECT_TRUE(a.accepts("application/b; charset=x"));
  EXPECT_FALSE(a.accepts("application/c"));
  auto z = AcceptSet::parse({"application/a;q=0"});
  EXPECT_FALSE(z.accepts("application/a"));
  EXPECT_FALSE(z.accepts("application/b"));
}

TEST(RegistryNegotiate, PlatformChild) {
  std::string d1 = "sha256:" + std::string(64, '1'), d2 = "sha256:" + std::string(64, '2');
  std::string idx = R"({"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + d1 +
                    R"(","platform":{"os":"linux","architecture":"arm64"}},{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
                    d2 + R"(","platform":{"os":"linux","architecture":"amd64"}}]})";
  auto oci = AcceptSet::parse({"application/vnd.oci.image.manifest.v1+json"});
  auto c = platform_child(idx, oci, "linux", "amd64");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->str(), d2);
  EXPECT_FALSE(platform_child(idx, AcceptSet::parse({"application/vnd.docker.distribution.manifest.v2+json"}), "linux", "amd64"));
  EXPECT_FALSE(platform_child(idx, oci, "windows", "amd64"));
  EXPECT_FALSE(platform_child("not json", oci, "linux", "amd64"));
}

TEST(RegistryCatalog, Pages) {
  RepoIndex ix;
  ix.reset({"b", "a/x", "c"});
  ix.add("a/x");
  ix.add("d");
  bool more = false;
  EXPECT_EQ(ix.page(std::nullopt, 2, &more), (V{"a/x", "b"}));
  EXPECT_TRUE(more);
  EXPECT_EQ(ix.page(std::string("b"), 2, &more), (V{"c", "d"}));
  EXPECT_FALSE(more);
  EXPECT_EQ(ix.page(std::string("zzz"), std::nullopt, &more), V{});
  EXPECT_EQ(ix.all().size(), 4u);
}

}  // namespace
}  // namespace berth::registry
