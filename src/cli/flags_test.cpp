// SPDX-License-Identifier: Apache-2.0
#include "cli/flags.hpp"

#include <gtest/gtest.h>

namespace berth::cli {
namespace {

std::vector<FlagSpec> specs() {
  return {{"interactive", 'i', FlagKind::Bool, ""}, {"tty", 't', FlagKind::Bool, ""},
          {"env", 'e', FlagKind::List, ""},          {"publish", 'p', FlagKind::List, ""},
          {"name", 0, FlagKind::String, ""},         {"last", 'n', FlagKind::Int, "", "int", "-1"},
          {"rm", 0, FlagKind::Bool, ""}};
}

TEST(Flags, CombinedShortBools) {
  auto r = parse_flags(specs(), {"-it", "busybox"});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->flag("interactive"));
  EXPECT_TRUE(r->flag("tty"));
  EXPECT_EQ(r->args, std::vector<std::string>{"busybox"});
}

TEST(Flags, ValuesInAllSpellings) {
  auto r = parse_flags(specs(), {"-e", "A=1", "-eB=2", "--env=C=3", "--env", "D", "-p80:80", "--name=x", "-itp", "1:1"});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->list("env"), (std::vector<std::string>{"A=1", "B=2", "C=3", "D"}));
  EXPECT_EQ(r->list("publish"), (std::vector<std::string>{"80:80", "1:1"}));
  EXPECT_EQ(r->str("name"), "x");
}

TEST(Flags, BoolWithValue) {
  auto r = parse_flags(specs(), {"--rm=false", "-t=true"});
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->flag("rm"));
  EXPECT_TRUE(r->flag("tty"));
  EXPECT_FALSE(parse_flags(specs(), {"--rm=maybe"}));
}

TEST(Flags, StopsAtFirstPositionalWhenNotInterspersed) {
  ParseOptions o;
  o.interspersed = false;
  auto r = parse_flags(specs(), {"--rm", "busybox", "ls", "-l", "--name", "y"}, o);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->flag("rm"));
  EXPECT_FALSE(r->has("name"));
  EXPECT_EQ(r->args, (std::vector<std::string>{"busybox", "ls", "-l", "--name", "y"}));
}

TEST(Flags, InterspersedAndDoubleDash) {
  auto r = parse_flags(specs(), {"a", "--rm", "b", "--", "-t"});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->flag("rm"));
  EXPECT_FALSE(r->flag("tty"));
  EXPECT_EQ(r->args, (std::vector<std::string>{"a", "b", "-t"}));
}

TEST(Flags, ErrorsUsePflagWording) {
  auto r = parse_flags(specs(), {"--bogus"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "unknown flag: --bogus");
  r = parse_flags(specs(), {"-z"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "unknown shorthand flag: 'z' in -z");
  r = parse_flags(specs(), {"--name"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "flag needs an argument: --name");
  r = parse_flags(specs(), {"-n", "x"});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("invalid argument \"x\" for \"-n, --last\" flag"), std::string::npos);
}

TEST(Flags, DefaultsAndIntegers) {
  auto r = parse_flags(specs(), {});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->integer("last", 0), -1);
  r = parse_flags(specs(), {"-n", "3"});
  EXPECT_EQ(r->integer("last", 0), 3);
}

TEST(Flags, Usage) {
  std::string u = flag_usages(specs());
  EXPECT_NE(u.find("  -e, --env list"), std::string::npos);
  EXPECT_NE(u.find("      --name string"), std::string::npos);
  EXPECT_NE(u.find("(default -1)"), std::string::npos);
}

}  // namespace
}  // namespace berth::cli
