// SPDX-License-Identifier: Apache-2.0
#include "builder/dockerignore.hpp"

#include <gtest/gtest.h>

using berth::builder::dockerignore_matches;
using berth::builder::go_clean_path;
using berth::builder::PatternMatcher;
using berth::builder::read_dockerignore;

namespace {
struct Case {
  const char* pattern;
  const char* text;
  bool pass;
};

// Expectations from moby/patternmatcher's test table (MatchesOrParentMatches).
const Case kCases[] = {
    {"**", "file", true}, {"**", "file/", true}, {"**/", "file", true}, {"**/", "file/", true},
    {"**", "/", true}, {"**/", "/", true}, {"**", "dir/file", true}, {"**/", "dir/file", true},
    {"**", "dir/file/", true}, {"**/", "dir/file/", true}, {"**/**", "dir/file", true},
    {"**/**", "dir/file/", true}, {"dir/**", "dir/file", true}, {"dir/**", "dir/file/", true},
    {"dir/**", "dir/dir2/file", true}, {"dir/**", "dir/dir2/file/", true}, {"**/dir", "dir", true},
    {"**/dir", "dir/file", true}, {"**/dir2/*", "dir/dir2/file", true}, {"**/dir2/*", "dir/dir2/file/", true},
    {"**/dir2/**", "dir/dir2/dir3/file", true}, {"**/dir2/**", "dir/dir2/dir3/file/", true},
    {"**file", "file", true}, {"**file", "dir/file", true}, {"**/file", "dir/file", true},
    {"**file", "dir/dir/file", true}, {"**/file", "dir/dir/file", true}, {"**/file*", "dir/dir/file", true},
    {"**/file*", "dir/dir/file.txt", true}, {"**/file*txt", "dir/dir/file.txt", true},
    {"**/file*.txt", "dir/dir/file.txt", true}, {"**/file*.txt*", "dir/dir/file.txt", true},
    {"**/**/*.txt", "dir/dir/file.txt", true}, {"**/**/*.txt2", "dir/dir/file.txt", false},
    {"**/*.txt", "file.txt", true}, {"**/**/*.txt", "file.txt", true}, {"a**/*.txt", "a/file.txt", true},
    {"a**/*.txt", "a/dir/file.txt", true}, {"a**/*.txt", "a/dir/dir/file.txt", true},
    {"a/*.txt", "a/dir/file.txt", false}, {"a/*.txt", "a/file.txt", true}, {"a/*.txt**", "a/file.txt", true},
    {"a[b-d]e", "ae", false}, {"a[b-d]e", "ace", true}, {"a[b-d]e", "aae", false}, {"a[^b-d]e", "aze", true},
    {".*", ".foo", true}, {".*", "foo", false}, {"abc.def", "abcdef", false}, {"abc.def", "abc.def", true},
    {"abc.def", "abcZdef", false}, {"abc?def", "abcZdef", true}, {"abc?def", "abcdef", false},
    {"a\\\\", "a\\", true}, {"**/foo/bar", "foo/bar", true}, {"**/foo/bar", "dir/foo/bar", true},
    {"**/foo/bar", "dir/dir2/foo/bar", true}, {"abc/**", "abc", false}, {"abc/**", "abc/def", true},
    {"abc/**", "abc/def/ghi", true}, {"**/.foo", ".foo", true}, {"**/.foo", "bar.foo", false},
    {"a(b)c/def", "a(b)c/def", true}, {"a(b)c/def", "a(b)c/xyz", false},
    {"a.|)$(}+{bc", "a.|)$(}+{bc", true},
    {"dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true},
    {"a\\*b", "a*b", true},
};

// Go's filepath.Match table as used by patternmatcher (pattern, path, match, bad pattern).
struct MatchCase {
  const char* pattern;
  const char* s;
  bool match;
  bool bad;
};
const MatchCase kMatch[] = {
    {"abc", "abc", true, false}, {"*", "abc", true, false}, {"*c", "abc", true, false},
    {"a*", "a", true, false}, {"a*", "abc", true, false}, {"a*", "ab/c", true, false},
    {"a*/b", "abc/b", true, false}, {"a*/b", "a/c/b", false, false},
    {"a*b*c*d*e*/f", "axbxcxdxe/f", true, false}, {"a*b*c*d*e*/f", "axbxcxdxexxx/f", true, false},
    {"a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false, false}, {"a*b*c*d*e*/f", "axbxcxdxexxx/fff", false, false},
    {"a*b?c*x", "abxbbxdbxebxczzx", true, false}, {"a*b?c*x", "abxbbxdbxebxczzy", false, false},
    {"ab[c]", "abc", true, false}, {"ab[b-d]", "abc", true, false}, {"ab[e-g]", "abc", false, false},
    {"ab[^c]", "abc", false, false}, {"ab[^b-d]", "abc", false, false}, {"ab[^e-g]", "abc", true, false},
    {"a\\*b", "a*b", true, false}, {"a\\*b", "ab", false, false}, {"a?b", "a\u263Ab", true, false},
    {"a[^a]b", "a\u263Ab", true, false}, {"a???b", "a\u263Ab", false, false},
    {"a[^a][^a][^a]b", "a\u263Ab", false, false}, {"[a-\u03B6]*", "\u03B1", true, false},
    {"*[a-\u03B6]", "A", false, false}, {"a?b", "a/b", false, false}, {"a*b", "a/b", false, false},
    {"[\\]a]", "]", true, false}, {"[\\-]", "-", true, false}, {"[x\\-]", "x", true, false},
    {"[x\\-]", "-", true, false}, {"[x\\-]", "z", false, false}, {"[\\-x]", "x", true, false},
    {"[\\-x]", "-", true, false}, {"[\\-x]", "a", false, false}, {"[]a]", "]", false, true},
    {"[-]", "-", false, true}, {"[x-]", "x", false, true}, {"[-x]", "x", false, true},
    {"\\", "a", false, true}, {"[a-b-c]", "a", false, true}, {"[", "a", false, true},
    {"[^", "a", false, true}, {"[^bc", "a", false, true}, {"a[", "a", false, true},
    {"a[", "ab", false, true}, {"*x", "xxx", true, false},
};
}  // namespace

TEST(Dockerignore, PatternMatcherTable) {
  for (const auto& c : kCases) {
    auto pm = PatternMatcher::create({c.pattern});
    ASSERT_TRUE(pm) << c.pattern;
    auto r = pm->matches_or_parent_matches(c.text);
    ASSERT_TRUE(r) << c.pattern;
    EXPECT_EQ(*r, c.pass) << c.pattern << " vs " << c.text;

    // The walker variant gives the same answers when fed parent results.
    std::string text = c.text;
    std::string parent = text.rfind('/') == std::string::npos ? "." : go_clean_path(text.substr(0, text.rfind('/') + 1));
    PatternMatcher::MatchInfo info;
    if (parent != ".") {
      std::size_t i = 0;
      for (;;) {
        auto j = parent.find('/', i);
        std::string prefix = parent.substr(0, j);
        PatternMatcher::MatchInfo next;
        ASSERT_TRUE(pm->matches_using_parent_results(prefix, info, &next));
        info = next;
        if (j == std::string::npos) break;
        i = j + 1;
      }
    }
    auto r2 = pm->matches_using_parent_results(text, info, nullptr);
    ASSERT_TRUE(r2);
    EXPECT_EQ(*r2, c.pass) << "parent-results: " << c.pattern << " vs " << c.text;
  }
}

TEST(Dockerignore, GoFilepathMatchTable) {
  for (const auto& c : kMatch) {
    auto r = dockerignore_matches(c.s, {c.pattern});
    if (c.bad) {
      EXPECT_FALSE(r) << c.pattern;
    } else {
      ASSERT_TRUE(r) << c.pattern << ": " << r.error().message();
      EXPECT_EQ(*r, c.match) << c.pattern << " vs " << c.s;
    }
  }
}

TEST(Dockerignore, ExclusionsAndOrder) {
  auto m = [](const char* f, std::vector<std::string> p) {
    auto r = dockerignore_matches(f, p);
    EXPECT_TRUE(r);
    return r && *r;
  };
  EXPECT_TRUE(m("fileutils.go", {"*"}));
  EXPECT_TRUE(m("fileutils.go", {"*.go"}));
  EXPECT_TRUE(m("fileutils.go", {"!fileutils.go", "*.go"}));
  EXPECT_FALSE(m("fileutils.go", {"*.go", "!fileutils.go"}));
  EXPECT_FALSE(m("docs/README.md", {"docs", "!docs/README.md"}));
  EXPECT_FALSE(m("docs/README.md", {"docs/", "!docs/README.md"}));
  EXPECT_FALSE(m("docs/README.md", {"docs/*", "!docs/README.md"}));
  EXPECT_TRUE(m("docs/other.md", {"docs/*", "!docs/README.md"}));
  EXPECT_FALSE(m(".", {"*.go"}));
  EXPECT_FALSE(m("/any/path/there", {}));
  EXPECT_FALSE(m("util/docker/web/foo", {"**", "!util/docker/web"}));
  EXPECT_TRUE(m("util/docker/web/foo", {"**", "!util/docker/web", "util/docker/web/foo"}));
  EXPECT_FALSE(m("dist/x.whl", {"**", "!dist/*.whl"}));
  EXPECT_TRUE(m("node_modules/a/b/c.js", {"node_modules"}));
  EXPECT_TRUE(m("a/b/.git/config", {"**/.git"}));
  EXPECT_FALSE(dockerignore_matches("x", {"!"}));
  EXPECT_FALSE(dockerignore_matches("/any/path/there", {"["}));
  auto pm = PatternMatcher::create({"a", "!b"});
  ASSERT_TRUE(pm);
  EXPECT_TRUE(pm->exclusions());
}

TEST(Dockerignore, ReadAll) {
  auto got = read_dockerignore(
      "\xEF\xBB\xBFtest1\n/test2\r\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! \n"
      "  spaced/../x//y/  \n");
  std::vector<std::string> want = {"test1", "test2", "a/file/here", "lastfile", "!inverted/abs/path", "!", "!", "x/y"};
  EXPECT_EQ(got, want);
  EXPECT_TRUE(read_dockerignore("").empty());
}

TEST(Dockerignore, CleanPath) {
  EXPECT_EQ(go_clean_path(""), ".");
  EXPECT_EQ(go_clean_path("a//b/./c/.."), "a/b");
  EXPECT_EQ(go_clean_path("/../a"), "/a");
  EXPECT_EQ(go_clean_path("../../a/.."), "../..");
  EXPECT_EQ(go_clean_path("/"), "/");
  EXPECT_EQ(go_clean_path("a/"), "a");
}

// Found by differential testing against moby/patternmatcher.
TEST(Dockerignore, GoRegexpQuirks) {
  // A '?' inside brackets becomes "[^/]" inside the class, so the class ends early.
  auto pm = PatternMatcher::create({"[a/?\u00e9/[a-c]"});
  ASSERT_TRUE(pm);
  EXPECT_FALSE(*pm->matches_or_parent_matches("a"));
  EXPECT_TRUE(*pm->matches_or_parent_matches("a\u00e9/b"));
  // Malformed parts after the first mismatch against "." are not reported by New() (Go's
  // filepath.Match), and a pattern that is never evaluated never fails.
  auto lazy = PatternMatcher::create({"a", "!a*/[a"});
  ASSERT_TRUE(lazy);
  auto r = lazy->matches_or_parent_matches("cb");
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
  EXPECT_FALSE(lazy->matches_or_parent_matches("a"));  // now the bad exclusion is evaluated
  EXPECT_FALSE(PatternMatcher::create({"[a"}));        // reached before any mismatch
}
