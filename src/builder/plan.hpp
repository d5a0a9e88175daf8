// SPDX-License-Identifier: Apache-2.0
// Build plan: a parsed Dockerfile turned into stages with expanded arguments (per-instruction
// variable substitution rules, ARG/ENV scoping), the stage dependency graph (FROM <stage>,
// COPY/ADD --from, RUN --mount=from=), the stages needed for a target and the groups of stages
// that can be built in parallel.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "builder/dockerfile/parser.hpp"
#include "builder/dockerfile/shell_lex.hpp"
#include "common/result.hpp"

namespace berth::builder {

enum class InstrKind {
  From, Run, Cmd, Label, Maintainer, Expose, Env, Add, Copy, Entrypoint, Volume, User, Workdir, Arg,
  Onbuild, Stopsignal, Healthcheck, Shell,
};

std::string_view instr_name(InstrKind k);  // "RUN", ...

struct Flag {
  std::string name;   // without leading "--"
  std::string value;  // empty for a bare flag
  bool has_value = false;
};

struct Instruction {
  InstrKind kind = InstrKind::Run;
  std::vector<Flag> flags;          // expanded for ADD/COPY/RUN/FROM
  std::vector<std::string> args;    // expanded where the instruction expands (see plan.cpp)
  bool json = false;                // exec form
  std::vector<dockerfile::Heredoc> heredocs;
  int line = 0;
  std::string original;
  // Build args visible to this instruction (declared with ARG in the stage, with a value),
  // in declaration order. RUN sees them in its environment, so they are part of its cache key.
  std::vector<std::pair<std::string, std::string>> args_in_scope;
  // ONBUILD: the trigger text (e.g. "RUN echo hi").
  std::string trigger;

  const Flag* flag(std::string_view name) const;
};

struct Stage {
  std::size_t index = 0;
  std::string name;                       // lower-cased "AS" name, empty if none
  std::string base;                       // expanded FROM image (or stage name / "scratch")
  std::optional<std::size_t> base_stage;  // FROM refers to an earlier stage
  std::string platform;                   // expanded --platform, empty if none
  int line = 0;
  std::vector<Instruction> instructions;  // after FROM
  std::vector<std::size_t> deps;          // stage indices this stage reads from (sorted, unique)
  std::vector<std::string> external_images;  // COPY --from=<image> / RUN --mount from=<image>
  dockerfile::EnvList env;                // the stage's environment: inherited from the base
                                          // (BuildOptions::base_env / base stage) + its ENV lines
};

struct BuildOptions {
  std::vector<std::pair<std::string, std::string>> build_args;  // --build-arg
  std::string target;                                           // --target (empty: last stage)
  std::string build_platform = "linux/amd64";
  std::string target_platform;  // empty: same as build_platform
  // Environment ("K=V") of an external base image (ref, platform), so that `ENV PATH=$PATH:/x`
  // and the like see the image's variables. Unset: base images contribute nothing.
  std::function<std::vector<std::string>(const std::string& ref, const std::string& platform)> base_env;
};

struct Plan {
  std::vector<Stage> stages;
  std::size_t target = 0;
  std::vector<bool> needed;                      // stages the target needs (others are skipped)
  std::vector<std::vector<std::size_t>> levels;  // needed stages by dependency depth; each level
                                                 // only depends on earlier levels (parallel)
  dockerfile::EnvList meta_args;                 // global ARGs (before the first FROM)
  std::vector<std::string> unused_build_args;    // --build-arg never consumed (a warning)
  // Proxy build args (HTTP_PROXY…): added to every RUN's environment, never to cache keys.
  std::vector<std::pair<std::string, std::string>> proxy_env;
  char32_t escape = '\\';
};

Result<Plan> make_plan(const dockerfile::ParseResult& parsed, const BuildOptions& opts);
Result<Plan> make_plan(std::string_view dockerfile, const BuildOptions& opts);

}  // namespace berth::builder
