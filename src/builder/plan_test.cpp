// SPDX-License-Identifier: Apache-2.0
#include "builder/plan.hpp"

#include <gtest/gtest.h>

using namespace berth::builder;

namespace {
Plan must_plan(std::string_view text, BuildOptions o = {}) {
  auto p = make_plan(text, o);
  EXPECT_TRUE(p) << (p ? "" : p.error().message());
  return p ? std::move(*p) : Plan{};
}
std::string plan_error(std::string_view text, BuildOptions o = {}) {
  auto p = make_plan(text, o);
  return p ? std::string("<ok>") : p.error().message();
}
}  // namespace

TEST(Plan, GlobalArgsOnlyInFromUntilRedeclared) {
  auto p = must_plan(
      "ARG TAG=1.36\nARG IMG=busybox\nFROM ${IMG}:${TAG} AS base\n"
      "RUN echo $TAG\nLABEL v=\"${TAG:-none}\"\nARG TAG\nLABEL w=$TAG\n");
  ASSERT_EQ(p.stages.size(), 1u);
  EXPECT_EQ(p.stages[0].base, "busybox:1.36");
  EXPECT_EQ(p.stages[0].name, "base");
  const auto& ins = p.stages[0].instructions;
  ASSERT_EQ(ins.size(), 4u);
  EXPECT_EQ(ins[0].args, std::vector<std::string>{"echo $TAG"});  // RUN is not expanded
  EXPECT_TRUE(ins[0].args_in_scope.empty());
  EXPECT_EQ(ins[1].args, (std::vector<std::string>{"v", "none"}));  // global ARG not visible
  EXPECT_EQ(ins[3].args, (std::vector<std::string>{"w", "1.36"}));  // redeclared: global default
}

TEST(Plan, BuildArgsOverrideDefaultsAndUnusedAreReported) {
  BuildOptions o;
  o.build_args = {{"TAG", "latest"}, {"V", "9"}, {"NOPE", "x"}, {"HTTP_PROXY", "http://p"}};
  auto p = must_plan("ARG TAG=1\nFROM img:$TAG\nARG V=1\nENV X=$V\nRUN make\n", o);
  EXPECT_EQ(p.stages[0].base, "img:latest");
  EXPECT_EQ(p.stages[0].instructions[1].args, (std::vector<std::string>{"X", "9"}));
  ASSERT_EQ(p.stages[0].instructions[2].args_in_scope.size(), 1u);
  EXPECT_EQ(p.stages[0].instructions[2].args_in_scope[0].second, "9");
  EXPECT_EQ(p.unused_build_args, std::vector<std::string>{"NOPE"});
  EXPECT_EQ(p.proxy_env, (std::vector<std::pair<std::string, std::string>>{{"HTTP_PROXY", "http://p"}}));
}

TEST(Plan, EnvWinsOverArgAndPairsSeeOldEnv) {
  auto p = must_plan(
      "FROM a\nARG X=arg\nENV X=env\nLABEL l=$X\nENV abc=hello\nENV abc=bye def=$abc\nENV ghi=$abc\n"
      "WORKDIR /w/${abc}\nUSER ${U:-nobody}\nEXPOSE ${P:-80}/tcp 443\nVOLUME [\"/v/$abc\"]\nSTOPSIGNAL SIG${S:-TERM}\n"
      "COPY --chown=${abc}:0 src/$abc /dst/\nENV A=\"quoted value\" B='single $abc' C=a\\ b\n"
      "CMD echo $abc\n");
  const auto& ins = p.stages[0].instructions;
  EXPECT_EQ(ins[2].args, (std::vector<std::string>{"l", "env"}));
  EXPECT_EQ(ins[4].args, (std::vector<std::string>{"abc", "bye", "def", "hello"}));
  EXPECT_EQ(ins[5].args, (std::vector<std::string>{"ghi", "bye"}));
  EXPECT_EQ(ins[6].args, std::vector<std::string>{"/w/bye"});
  EXPECT_EQ(ins[7].args, std::vector<std::string>{"nobody"});
  EXPECT_EQ(ins[8].args, (std::vector<std::string>{"80/tcp", "443"}));
  EXPECT_EQ(ins[9].args, std::vector<std::string>{"/v/bye"});
  EXPECT_EQ(ins[10].args, std::vector<std::string>{"SIGTERM"});
  EXPECT_EQ(ins[11].args, (std::vector<std::string>{"src/bye", "/dst/"}));
  EXPECT_EQ(ins[11].flag("chown")->value, "bye:0");
  EXPECT_EQ(ins[12].args, (std::vector<std::string>{"A", "quoted value", "B", "single $abc", "C", "a b"}));
  EXPECT_EQ(ins[13].args, std::vector<std::string>{"echo $abc"});
  EXPECT_EQ(p.stages[0].env.get("def") ? *p.stages[0].env.get("def") : "", "hello");
}

TEST(Plan, StageGraphTargetAndParallelLevels) {
  const char* text =
      "FROM busybox AS deps\nRUN fetch\n"
      "FROM busybox AS tools\nRUN build-tools\n"
      "FROM deps AS build\nCOPY --from=tools /t /t\nRUN make\n"
      "FROM busybox AS unused\nRUN slow\n"
      "FROM busybox AS docs\nRUN --mount=type=bind,from=build,target=/b cp /b/doc /doc\n"
      "FROM scratch\nCOPY --from=build /out /\nCOPY --from=0 /x /x\nCOPY --from=alpine:3 /etc/os-release /\n";
  auto p = must_plan(text);
  ASSERT_EQ(p.stages.size(), 6u);
  EXPECT_EQ(p.target, 5u);
  EXPECT_EQ(p.stages[2].base_stage, std::optional<std::size_t>(0));
  EXPECT_EQ(p.stages[2].deps, (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(p.stages[4].deps, std::vector<std::size_t>{2});
  EXPECT_EQ(p.stages[5].deps, (std::vector<std::size_t>{0, 2}));
  EXPECT_EQ(p.stages[5].external_images, std::vector<std::string>{"alpine:3"});
  EXPECT_EQ(p.needed, (std::vector<bool>{true, true, true, false, false, true}));
  ASSERT_EQ(p.levels.size(), 3u);
  EXPECT_EQ(p.levels[0], (std::vector<std::size_t>{0, 1}));  // independent: build in parallel
  EXPECT_EQ(p.levels[1], std::vector<std::size_t>{2});
  EXPECT_EQ(p.levels[2], std::vector<std::size_t>{5});

  BuildOptions o;
  o.target = "DOCS";
  auto q = must_plan(text, o);
  EXPECT_EQ(q.target, 4u);
  EXPECT_EQ(q.needed, (std::vector<bool>{true, true, true, false, true, false}));
  o.target = "nope";
  EXPECT_EQ(plan_error(text, o), "target stage \"nope\" could not be found");
}

TEST(Plan, AutomaticPlatformArgs) {
  BuildOptions o;
  o.build_platform = "linux/arm64/v8";
  auto p = must_plan("FROM --platform=$BUILDPLATFORM img AS b\nARG TARGETARCH\nRUN echo\nFROM img-$TARGETOS\n", o);
  EXPECT_EQ(p.stages[0].platform, "linux/arm64/v8");
  EXPECT_EQ(p.stages[0].instructions[1].args_in_scope,
            (std::vector<std::pair<std::string, std::string>>{{"TARGETARCH", "arm64"}}));
  EXPECT_EQ(p.stages[1].base, "img-linux");
}

TEST(Plan, SemanticErrorsNameTheLine) {
  EXPECT_EQ(plan_error("FROM a\nFOO bar\n"), "dockerfile parse error on line 2: unknown instruction: FOO");
  EXPECT_EQ(plan_error("RUN x\nFROM a\n"), "dockerfile parse error on line 1: no build stage in current context");
  EXPECT_EQ(plan_error("FROM a b\n"), "dockerfile parse error on line 1: FROM requires either one or three arguments");
  EXPECT_EQ(plan_error("FROM a\nCOPY --user=me a b\n"), "dockerfile parse error on line 2: unknown flag: user");
  EXPECT_EQ(plan_error("FROM a\nCOPY onlyone\n").substr(0, 60),
            "dockerfile parse error on line 2: COPY requires at least two");
  EXPECT_EQ(plan_error("FROM a\nONBUILD FROM b\n"),
            "dockerfile parse error on line 2: FROM isn't allowed as an ONBUILD trigger");
  EXPECT_EQ(plan_error("FROM a\nSHELL /bin/sh -c\n"),
            "dockerfile parse error on line 2: SHELL requires the arguments to be in JSON form");
  EXPECT_EQ(plan_error("FROM a\nHEALTHCHECK FOO x\n"),
            "dockerfile parse error on line 2: Unknown type \"FOO\" in HEALTHCHECK (try CMD)");
  EXPECT_EQ(plan_error("FROM a AS x\nFROM b AS X\n"), "dockerfile parse error on line 2: duplicate stage name \"x\"");
  EXPECT_NE(plan_error("FROM a AS 1x\n").find("line 1: invalid name for build stage: \"1x\""), std::string::npos);
  EXPECT_EQ(plan_error("FROM a AS x\nCOPY --from=x a b\n"),
            "dockerfile parse error on line 2: circular dependency detected on stage: x");
  EXPECT_EQ(plan_error("FROM a\nCOPY --from=0 a b\n"),
            "dockerfile parse error on line 2: invalid from flag value 0: refers to current or future build stage");
  // Bool flags as BuildKit's BFlags (the classic builder's parser) takes them.
  EXPECT_EQ(plan_error("FROM a\nCOPY --link=maybe a b\n"),
            "dockerfile parse error on line 2: expecting boolean value for flag --link, not: maybe");
  EXPECT_EQ(plan_error("FROM a\nADD --link= a b\n"), "dockerfile parse error on line 2: missing a value on flag: --link");
  EXPECT_EQ(plan_error("FROM a\nCOPY --from a b\n"), "dockerfile parse error on line 2: missing a value on flag: --from");
  EXPECT_EQ(plan_error("FROM a\nRUN --network=bridge true\n"), "<ok>");  // checked when the step runs
  auto e = plan_error("FROM a\nENV X=${Y:?required}\n");
  EXPECT_NE(e.find("line 2: failed to process"), std::string::npos) << e;
}

TEST(Plan, EveryInstruction) {
  auto p = must_plan(
      "# syntax=docker/dockerfile:1\nARG BASE=busybox\nFROM $BASE AS build\nMAINTAINER me\n"
      "SHELL [\"/bin/sh\", \"-c\"]\nWORKDIR /src\nENV A=1\nLABEL a=b\nARG V=2\n"
      "ADD --chmod=644 --checksum=sha256:abc https://example.com/x.tgz /x.tgz\n"
      "COPY --link --parents a/ /src/\nRUN <<EOF\necho $V\nEOF\nEXPOSE 80\nVOLUME /data\nUSER 1000:1000\n"
      "HEALTHCHECK --interval=5s CMD [\"true\"]\nHEALTHCHECK NONE\nONBUILD RUN echo child\nSTOPSIGNAL SIGINT\n"
      "ENTRYPOINT [\"/bin/app\"]\nCMD [\"--help\"]\n");
  ASSERT_EQ(p.stages.size(), 1u);
  const auto& ins = p.stages[0].instructions;
  ASSERT_EQ(ins.size(), 18u);
  EXPECT_EQ(ins[8].heredocs.size(), 1u);
  EXPECT_EQ(ins[14].trigger, "RUN echo child");
  EXPECT_EQ(ins[6].flag("checksum")->value, "sha256:abc");
  EXPECT_TRUE(ins[7].flag("link") != nullptr);
  EXPECT_EQ(ins[7].flag("link")->value, "true");
  auto q = must_plan("FROM a\nCOPY --link=FALSE --parents=True a b\n");
  EXPECT_EQ(q.stages[0].instructions[0].flag("link")->value, "false");
  EXPECT_EQ(q.stages[0].instructions[0].flag("parents")->value, "true");
}
