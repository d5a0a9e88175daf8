// SPDX-License-Identifier: Apache-2.0
#include "builder/cache_key.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <utime.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "builder/dockerignore.hpp"
#include "common/digest.hpp"
#include "common/strings.hpp"

using namespace berth::builder;
namespace fs = std::filesystem;

namespace {

struct Ctx {
  fs::path dir;
  Ctx() {
    char tmpl[] = "/tmp/berth-test-ctx-XXXXXX";
    dir = ::mkdtemp(tmpl);
  }
  ~Ctx() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  void write(const std::string& rel, const std::string& content) {
    fs::create_directories((dir / rel).parent_path());
    std::ofstream(dir / rel, std::ios::binary | std::ios::trunc) << content;
  }
};

const char* kDockerfile =
    "FROM busybox AS build\n"
    "WORKDIR /app\n"                  // 0
    "COPY go.mod go.sum ./\n"         // 1
    "RUN download\n"                  // 2
    "COPY src/ ./src/\n"              // 3
    "RUN make\n"                      // 4
    "COPY *.md /docs/\n"              // 5
    "FROM scratch\n"
    "COPY --from=build /app/bin /bin\n"  // 0
    "CMD [\"/bin\"]\n";                  // 1

CacheKeys keys_for(Ctx& c, const std::string& dockerfile = kDockerfile, BuildOptions o = {},
                   std::vector<std::string> ignore = {}) {
  auto plan = make_plan(dockerfile, o);
  EXPECT_TRUE(plan) << plan.error().message();
  auto h = DirContextHasher::open(c.dir.string(), ignore);
  EXPECT_TRUE(h);
  auto k = compute_cache_keys(*plan, **h, [](const std::string& ref, const std::string&) { return "id-of-" + ref; });
  EXPECT_TRUE(k) << k.error().message();
  return *k;
}

void populate(Ctx& c) {
  c.write("go.mod", "module x\n");
  c.write("go.sum", "sum\n");
  c.write("src/main.go", "package main\n");
  c.write("src/lib/util.go", "package lib\n");
  c.write("README.md", "# readme\n");
  c.write("notes.txt", "not copied\n");
}

}  // namespace

TEST(CacheKeys, UnchangedContextGivesSameKeysAndMtimeDoesNotMatter) {
  Ctx c;
  populate(c);
  auto a = keys_for(c);
  // Rewrite the same bytes (new mtime) and touch everything.
  c.write("src/main.go", "package main\n");
  for (auto& e : fs::recursive_directory_iterator(c.dir)) {
    fs::last_write_time(e.path(), fs::file_time_type::clock::now() + std::chrono::hours(1));
  }
  auto b = keys_for(c);
  EXPECT_EQ(a.steps, b.steps);
  EXPECT_EQ(a.final_key, b.final_key);
  ASSERT_EQ(a.steps[0].size(), 6u);
  ASSERT_EQ(a.steps[1].size(), 2u);
}

TEST(CacheKeys, ChangingOneCopySourceChangesKeysFromThatStepOn) {
  Ctx c;
  populate(c);
  auto a = keys_for(c);
  c.write("src/lib/util.go", "package lib // changed\n");
  auto b = keys_for(c);
  EXPECT_EQ(a.base[0], b.base[0]);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(a.steps[0][i], b.steps[0][i]) << i;  // WORKDIR, COPY go.mod, RUN
  for (int i = 3; i < 6; ++i) EXPECT_NE(a.steps[0][i], b.steps[0][i]) << i;  // COPY src/ and after
  EXPECT_NE(a.steps[1][0], b.steps[1][0]);  // the final stage copies from build
  EXPECT_NE(a.final_key[1], b.final_key[1]);

  // A file no step reads does not change anything.
  c.write("notes.txt", "still not copied\n");
  auto d = keys_for(c);
  EXPECT_EQ(b.steps, d.steps);

  // Mode is part of the content hash.
  fs::permissions(c.dir / "go.mod", fs::perms::owner_all);
  auto e = keys_for(c);
  EXPECT_EQ(d.steps[0][0], e.steps[0][0]);
  EXPECT_NE(d.steps[0][1], e.steps[0][1]);

  // Wildcard sources: a new matching file changes only the wildcard COPY.
  c.write("CHANGES.md", "x\n");
  auto f = keys_for(c);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(e.steps[0][i], f.steps[0][i]) << i;
  EXPECT_NE(e.steps[0][5], f.steps[0][5]);
}

TEST(CacheKeys, InstructionBuildArgAndBaseChangesPropagate) {
  Ctx c;
  populate(c);
  auto a = keys_for(c);
  std::string df2 = kDockerfile;
  df2.replace(df2.find("RUN make"), 8, "RUN make all");
  auto b = keys_for(c, df2);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(a.steps[0][i], b.steps[0][i]);
  EXPECT_NE(a.steps[0][4], b.steps[0][4]);

  // A build arg changes RUN keys only after it is declared.
  std::string df3 = "FROM busybox\nRUN one\nARG V=1\nRUN two\n";
  BuildOptions o1, o2;
  o2.build_args = {{"V", "2"}};
  auto k1 = keys_for(c, df3, o1);
  auto k2 = keys_for(c, df3, o2);
  EXPECT_EQ(k1.steps[0][0], k2.steps[0][0]);
  EXPECT_NE(k1.steps[0][2], k2.steps[0][2]);
  // Proxy args never change keys.
  BuildOptions o3;
  o3.build_args = {{"HTTP_PROXY", "http://proxy:3128"}};
  EXPECT_EQ(keys_for(c, df3, o1).final_key, keys_for(c, df3, o3).final_key);

  // Different base image identity -> everything differs.
  auto plan = make_plan(df3, {});
  auto h = DirContextHasher::open(c.dir.string(), {});
  auto x = compute_cache_keys(*plan, **h, [](const std::string&, const std::string&) { return "sha256:1"; });
  auto y = compute_cache_keys(*plan, **h, [](const std::string&, const std::string&) { return "sha256:2"; });
  EXPECT_NE(x->steps[0][0], y->steps[0][0]);
}

TEST(CacheKeys, DockerignoreAndMissingSources) {
  Ctx c;
  populate(c);
  c.write("src/secret.key", "k1");
  auto ignore = read_dockerignore("src/*.key\n*.txt\n");
  auto a = keys_for(c, kDockerfile, {}, ignore);
  c.write("src/secret.key", "k2");  // ignored: not part of the context
  auto b = keys_for(c, kDockerfile, {}, ignore);
  EXPECT_EQ(a.steps, b.steps);
  auto h = DirContextHasher::open(c.dir.string(), ignore);
  auto files = (*h)->files();
  ASSERT_TRUE(files);
  EXPECT_EQ(std::count(files->begin(), files->end(), "src/secret.key"), 0);
  EXPECT_EQ(std::count(files->begin(), files->end(), "notes.txt"), 0);

  auto plan = make_plan("FROM a\nCOPY missing /x\n", {});
  auto r = compute_cache_keys(*plan, **h);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "dockerfile line 2: failed to compute cache key: \"/missing\": not found");
  // Empty wildcard matches are allowed (as in BuildKit).
  auto plan2 = make_plan("FROM a\nCOPY *.nothing /x\n", {});
  EXPECT_TRUE(compute_cache_keys(*plan2, **h));
}

TEST(CacheKeys, SkippedStagesAreNotHashed) {
  Ctx c;
  populate(c);
  BuildOptions o;
  o.target = "build";
  auto k = keys_for(c, kDockerfile, o);
  EXPECT_FALSE(k.final_key[0].empty());
  EXPECT_TRUE(k.final_key[1].empty());
  EXPECT_TRUE(k.steps[1].empty());
}

TEST(CacheKeys, PathMatch) {
  EXPECT_TRUE(*go_path_match("*.md", "README.md"));
  EXPECT_FALSE(*go_path_match("*.md", "docs/README.md"));
  EXPECT_TRUE(*go_path_match("docs/*.md", "docs/README.md"));
  EXPECT_TRUE(*go_path_match("file?.[ch]", "file1.c"));
  EXPECT_FALSE(*go_path_match("file?.[^ch]", "file1.c"));
  EXPECT_TRUE(*go_path_match("a\\*b", "a*b"));
  EXPECT_FALSE(go_path_match("[", "a"));
}

TEST(CacheKeys, CachedRebuildIsFast) {
  Ctx c;
  std::string df = "FROM busybox\nWORKDIR /app\nENV A=1\nRUN echo one\nRUN echo two\n";
  for (int i = 0; i < 50; ++i) {
    c.write("files/f" + std::to_string(i), std::string(4096, static_cast<char>('a' + i % 26)));
  }
  df += "COPY files/ /app/files/\nEXPOSE 8080\nCMD [\"sh\"]\n";
  auto t0 = std::chrono::steady_clock::now();
  auto k = keys_for(c, df);
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("parse+plan+keys for the reference Dockerfile (50 context files): %.2f ms\n", ms);
  EXPECT_EQ(k.steps[0].size(), 7u);
  EXPECT_LT(ms, 1000.0);
}

// An index of the context (as POST /build reads it from the tar) hashes exactly as the
// directory walk, .dockerignore included, so both give the same keys.
TEST(CacheKeys, IndexHashesLikeTheDirectory) {
  Ctx c;
  populate(c);
  c.write("src/secret.key", "k1");
  fs::create_symlink("main.go", c.dir / "src/link.go");
  fs::permissions(c.dir / "go.sum", fs::perms(0600));
  auto ignore = read_dockerignore("src/*.key\n*.txt\n");
  std::vector<ContextEntry> idx;
  for (auto it = fs::recursive_directory_iterator(c.dir); it != fs::recursive_directory_iterator(); ++it) {
    struct stat st {};
    ASSERT_EQ(::lstat(it->path().c_str(), &st), 0);
    ContextEntry e;
    e.rel = it->path().lexically_relative(c.dir).generic_string();
    e.mode = st.st_mode;
    if (S_ISLNK(st.st_mode)) e.link = fs::read_symlink(it->path()).string();
    if (S_ISREG(st.st_mode)) e.sha256_hex = berth::digest_file(it->path().string())->hex();
    idx.push_back(std::move(e));
  }
  std::reverse(idx.begin(), idx.end());  // any order
  auto from_dir = DirContextHasher::open(c.dir.string(), ignore);
  auto from_idx = DirContextHasher::from_index(idx, ignore);
  ASSERT_TRUE(from_dir);
  ASSERT_TRUE(from_idx) << from_idx.error().message();
  EXPECT_EQ(*(*from_dir)->files(), *(*from_idx)->files()) << berth::join((*(*from_dir)->files()), ",") << " | " << berth::join((*(*from_idx)->files()), ",");
  for (std::vector<std::string> srcs : {std::vector<std::string>{"."}, {"src/"}, {"go.*"}, {"src/link.go", "README.md"}, {"src/main.go"}, {"src/lib"}, {"src/lib/util.go"}})
  {
    auto a = (*from_dir)->hash_sources(srcs);
    auto b = (*from_idx)->hash_sources(srcs);
    ASSERT_TRUE(a) << srcs[0] << ": " << a.error().message();
    ASSERT_TRUE(b) << srcs[0] << ": " << b.error().message();
    EXPECT_EQ(*a, *b) << srcs[0];
  }
  EXPECT_FALSE(DirContextHasher::from_index(idx, {"[bad"}));
}
