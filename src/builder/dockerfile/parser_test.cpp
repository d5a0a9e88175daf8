// SPDX-License-Identifier: Apache-2.0
#include "builder/dockerfile/parser.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace df = berth::builder::dockerfile;
namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

fs::path corpus() { return fs::path(BERTH_SOURCE_DIR) / "tests/fixtures/dockerfile/buildkit"; }

}  // namespace

TEST(DockerfileCorpus, PositiveCasesMatchBuildKitDump) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(corpus() / "testfiles")) {
    SCOPED_TRACE(e.path().filename().string());
    auto df_text = read_all(e.path() / "Dockerfile");
    auto expected = read_all(e.path() / "result");
    auto got = df::dump_ast(df_text);
    ASSERT_TRUE(got) << got.error().message();
    EXPECT_EQ(*got, expected);
    ++n;
  }
  EXPECT_EQ(n, 33);  // every case of the corpus
}

TEST(DockerfileCorpus, NegativeCasesAreRejected) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(corpus() / "testfiles-negative")) {
    SCOPED_TRACE(e.path().filename().string());
    auto got = df::parse(read_all(e.path() / "Dockerfile"));
    EXPECT_FALSE(got);
    ++n;
  }
  EXPECT_EQ(n, 4);
}

TEST(DockerfileParser, ErrorsNameTheLine) {
  auto r = df::parse("FROM busybox\n\nENV PATH\n");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "dockerfile parse error on line 3: ENV must have two arguments");
  r = df::parse("FROM a\nLABEL a=b c\n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("line 2: Syntax error - can't find = in \"c\""), std::string::npos);
  r = df::parse("FROM a\nCMD [\"a\", 1]\n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("line 2: when using JSON array syntax"), std::string::npos);
  r = df::parse("FROM a\nRUN <<EOF\nfoo\n");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "dockerfile parse error on line 2: unterminated heredoc");
  r = df::parse("# escape=x\nFROM a\n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("line 1: invalid escape token 'x'"), std::string::npos);
  r = df::parse("# syntax=a\n# syntax=b\nFROM a\n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("line 2: only one syntax parser directive"), std::string::npos);
}

TEST(DockerfileParser, DirectivesAndEscape) {
  auto r = df::parse("# syntax=docker/dockerfile:1\n# ESCAPE = `\n# check=skip=all\nFROM a\nRUN foo `\n  bar\n");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->escape_token, U'`');
  ASSERT_EQ(r->directives.size(), 3u);
  EXPECT_EQ(r->directives[0].name, "syntax");
  EXPECT_EQ(r->directives[0].value, "docker/dockerfile:1");
  EXPECT_EQ(r->directives[1].name, "escape");
  EXPECT_EQ(r->directives[2].value, "skip=all");
  EXPECT_EQ(r->ast.dump(), "(from \"a\")\n(run \"foo   bar\")");
  // A directive after an instruction or a comment is just a comment.
  r = df::parse("# hello\n# escape=`\nFROM a\nRUN foo \\\n bar\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->escape_token, U'\\');
  EXPECT_EQ(r->ast.children[1].args[0].value, "foo  bar");
}

TEST(DockerfileParser, ContinuationsWithCommentsAndEmptyLines) {
  auto r = df::parse("FROM a\nRUN echo a \\\n# comment\n\n    && echo b\nCMD x\n");
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->ast.children.size(), 3u);
  EXPECT_EQ(r->ast.children[1].args[0].value, "echo a     && echo b");
  EXPECT_EQ(r->ast.children[1].start_line, 2);
  EXPECT_EQ(r->ast.children[1].end_line, 5);
  EXPECT_EQ(r->ast.children[2].start_line, 6);
  EXPECT_EQ(r->warnings.size(), 1u);
}

TEST(DockerfileParser, FlagsExecFormOnbuildHealthcheck) {
  auto r = df::parse(
      "ARG V=1\nFROM --platform=$BUILDPLATFORM img:${V} AS build\n"
      "COPY --from=build --chown=1:1 --chmod=755 [\"a b\", \"/c\"]\n"
      "RUN --mount=type=cache,target=/root/.cache --network=none make\n"
      "ONBUILD RUN echo hi\nHEALTHCHECK NONE\nHEALTHCHECK --interval=5s CMD [\"curl\",\"x\"]\n"
      "MAINTAINER Jane <j@x>\nSTOPSIGNAL SIGKILL\n");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->ast.dump(),
            "(arg \"V=1\")\n"
            "(from [\"--platform=$BUILDPLATFORM\"] \"img:${V}\" \"AS\" \"build\")\n"
            "(copy [\"--from=build\" \"--chown=1:1\" \"--chmod=755\"] \"a b\" \"/c\")\n"
            "(run [\"--mount=type=cache,target=/root/.cache\" \"--network=none\"] \"make\")\n"
            "(onbuild (run \"echo hi\"))\n"
            "(healthcheck \"NONE\")\n"
            "(healthcheck [\"--interval=5s\"] \"CMD\" \"curl\" \"x\")\n"
            "(maintainer \"Jane <j@x>\")\n"
            "(stopsignal \"SIGKILL\")");
  EXPECT_TRUE(r->ast.children[2].json);
  EXPECT_TRUE(r->ast.children[6].json);
}

TEST(DockerfileParser, Heredocs) {
  std::string text =
      "FROM a\n"
      "RUN <<EOF\necho hi\nEOF\n"
      "RUN 3<<-'NOEXPAND' python3\n\tprint($X)\n\tNOEXPAND\n"
      "COPY <<X <<Y /dest\nY\nX\nX\nY\n"
      "RUN <<eo\\'f\necho foo\neo'f\n"
      "RUN [\"<<EOF\"]\n"
      "USER <<INVALID\nINVALID\n"
      "ONBUILD RUN <<E\nx\nE\n";
  auto r = df::parse(text);
  ASSERT_TRUE(r) << r.error().message();
  const auto& c = r->ast.children;
  ASSERT_EQ(c.size(), 9u);
  ASSERT_EQ(c[1].heredocs.size(), 1u);
  EXPECT_EQ(c[1].heredocs[0], (df::Heredoc{"EOF", 0, true, false, "echo hi\n"}));
  ASSERT_EQ(c[2].heredocs.size(), 1u);
  EXPECT_EQ(c[2].heredocs[0], (df::Heredoc{"NOEXPAND", 3, false, true, "\tprint($X)\n"}));
  ASSERT_EQ(c[3].heredocs.size(), 2u);
  EXPECT_EQ(c[3].heredocs[0].content, "Y\n");
  EXPECT_EQ(c[3].heredocs[1].content, "X\n");
  ASSERT_EQ(c[4].heredocs.size(), 1u);
  EXPECT_EQ(c[4].heredocs[0].name, "eo'f");
  EXPECT_TRUE(c[4].heredocs[0].expand);
  EXPECT_TRUE(c[5].heredocs.empty());
  EXPECT_TRUE(c[6].heredocs.empty());
  EXPECT_EQ(c[7].command(), "invalid");  // USER does not take heredocs: next line is an instruction
  EXPECT_EQ(c[8].heredocs.size(), 1u);
  EXPECT_EQ(df::chomp_heredoc_content("\thello\n\t\tworld\n"), "hello\nworld\n");
}

TEST(DockerfileParser, HeredocWords) {
  for (const char* s : {"<<EOF", "<<'EOF'", "<<\"EOF\"", "<<-EOF", "<<-'EOF'", "<<-\"EOF\"", "<<EO\"F\"",
                        "<< EOF", "<<- EOF"}) {
    auto h = df::parse_heredoc(s);
    ASSERT_TRUE(h) << s;
    EXPECT_EQ(h->name, "EOF") << s;
  }
  for (const char* s : {"<<'EOF", "<<\"EOF", "<<EOF'", "<<EOF\""}) EXPECT_FALSE(df::parse_heredoc(s)) << s;
  for (const char* s : {"", "EOF", "<<", "<<-", "<EOF", "<<<EOF", "<<EOF sh"}) {
    auto h = df::parse_heredoc(s);
    ASSERT_TRUE(h) << s;
    EXPECT_TRUE(h->name.empty()) << s;
  }
}

TEST(DockerfileParser, EmptyAndCommentOnlyFilesAreErrors) {
  EXPECT_FALSE(df::parse(""));
  EXPECT_FALSE(df::parse("# a\n\n  # b\n"));
  auto r = df::parse("\xEF\xBB\xBF" "FROM a\r\nRUN x\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->ast.dump(), "(from \"a\")\n(run \"x\")");
}

TEST(DockerfileParser, FastEnoughForTheHotPath) {
  std::string big;
  for (int i = 0; i < 2000; ++i) {
    big += "RUN echo " + std::to_string(i) + " && \\\n    apt-get install -y foo bar baz\n";
    big += "COPY --chown=1:1 [\"a\", \"b\"]\nENV A=" + std::to_string(i) + " B=\"x y\"\n";
  }
  big = "FROM busybox\n" + big;
  auto t0 = std::chrono::steady_clock::now();
  auto r = df::parse(big);
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->ast.children.size(), 6001u);
  std::printf("parse of 6001 instructions (%zu bytes): %.2f ms\n", big.size(), ms);
  EXPECT_LT(ms, 3000.0);  // loose: sanitizer builds and a loaded 2-core box
}
