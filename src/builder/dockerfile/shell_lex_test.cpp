// SPDX-License-Identifier: Apache-2.0
#include "builder/dockerfile/shell_lex.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/strings.hpp"

namespace df = berth::builder::dockerfile;
namespace fs = std::filesystem;

namespace {

fs::path shell_dir() { return fs::path(BERTH_SOURCE_DIR) / "tests/fixtures/dockerfile/buildkit/shell"; }

std::string trim(std::string s) {
  auto b = s.find_first_not_of(" \t\r\n");
  auto e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t i = 0;
  for (;;) {
    auto j = s.find(sep, i);
    out.push_back(s.substr(i, j == std::string::npos ? std::string::npos : j - i));
    if (j == std::string::npos) return out;
    i = j + 1;
  }
}

}  // namespace

// BuildKit's own table of ProcessWord cases.
TEST(ShellLex, BuildKitEnvVarTable) {
  std::ifstream f(shell_dir() / "envVarTest");
  ASSERT_TRUE(f);
  auto env = df::EnvList::from_strings({"PWD=/home", "SHELL=bash", "KOREAN=한국어", "NULL="});
  df::ShellLex lex('\\');
  std::string line;
  int n = 0, lineno = 0;
  while (std::getline(f, line)) {
    ++lineno;
    if (line.rfind("#", 0) == 0) continue;
    line = trim(line);
    if (line.empty()) continue;
    auto parts = split(line, '|');
    ASSERT_EQ(parts.size(), 3u) << line;
    auto platform = trim(parts[0]);
    if (platform == "W") continue;
    auto source = trim(parts[1]);
    auto expected = trim(parts[2]);
    auto got = lex.process_word(source, env);
    if (expected == "error") {
      EXPECT_FALSE(got) << "line " << lineno << ": " << source << " -> " << (got ? *got : "");
    } else {
      ASSERT_TRUE(got) << "line " << lineno << ": " << source << ": " << got.error().message();
      EXPECT_EQ(*got, expected) << "line " << lineno << ": " << source;
    }
    ++n;
  }
  EXPECT_GT(n, 150);
}

// BuildKit's own table of ProcessWords cases.
TEST(ShellLex, BuildKitWordsTable) {
  std::ifstream f(shell_dir() / "wordsTest");
  ASSERT_TRUE(f);
  std::vector<std::string> envs;
  df::ShellLex lex('\\');
  std::string line;
  int n = 0, lineno = 0;
  while (std::getline(f, line)) {
    ++lineno;
    if (line.rfind("#", 0) == 0) continue;
    if (line.rfind("ENV ", 0) == 0) {
      auto v = line.substr(3);
      v.erase(0, v.find_first_not_of(' '));
      envs.push_back(v);
      continue;
    }
    auto parts = split(line, '|');
    ASSERT_EQ(parts.size(), 2u) << line;
    auto test = trim(parts[0]);
    auto rhs = parts[1];
    rhs.erase(0, rhs.find_first_not_of(' '));
    auto expected = split(rhs, ',');
    auto got = lex.process_words(test, df::EnvList::from_strings(envs));
    std::vector<std::string> result = got ? *got : std::vector<std::string>{"error"};
    EXPECT_EQ(result, expected) << "line " << lineno << ": " << test;
    ++n;
  }
  EXPECT_GT(n, 20);
}

TEST(ShellLex, Modifiers) {
  auto env = df::EnvList::from_strings({"A=hello.tar.gz", "E=", "P=/usr/local/bin"});
  df::ShellLex lex;
  auto w = [&](std::string_view s) {
    auto r = lex.process_word(s, env);
    return r ? *r : "ERR:" + r.error().message();
  };
  EXPECT_EQ(w("${A%.*}"), "hello.tar");
  EXPECT_EQ(w("${A%%.*}"), "hello");
  EXPECT_EQ(w("${A#*.}"), "tar.gz");
  EXPECT_EQ(w("${A##*.}"), "gz");
  EXPECT_EQ(w("${P/local/opt}"), "/usr/opt/bin");
  EXPECT_EQ(w("${P//\\//:}"), ":usr:local:bin");
  EXPECT_EQ(w("${A//*/X}"), "X");  // Go drops empty matches right after a match
  EXPECT_EQ(w("${A//l/L}"), "heLLo.tar.gz");
  EXPECT_EQ(w("${E-def}"), "");
  EXPECT_EQ(w("${E:-def}"), "def");
  EXPECT_EQ(w("${E+alt}"), "alt");
  EXPECT_EQ(w("${E:+alt}"), "");
  EXPECT_EQ(w("${U-def}"), "def");
  EXPECT_EQ(w("${U+alt}"), "");
  EXPECT_EQ(w("\\$A"), "$A");
  EXPECT_EQ(w("'$A'"), "$A");
  EXPECT_EQ(w("\"$A\""), "hello.tar.gz");
  EXPECT_NE(w("${U:?must be set}").find("U: must be set"), std::string::npos);
  EXPECT_NE(w("${A:#x}").find("unsupported modifier"), std::string::npos);
  df::ShellLex bt('`');
  auto r = bt.process_word("a`$b`\"c", env);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "a$b\"c");
}

TEST(ShellLex, SkipUnsetKeepsReferences) {
  df::ShellLex lex;
  lex.skip_unset_env = true;
  auto env = df::EnvList::from_strings({"X=1"});
  auto r = lex.process_word("$X $Y ${Y} ${Y:-d} ${X:-d}", env);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "1 $Y ${Y} ${Y:-d} 1");
}
