// SPDX-License-Identifier: Apache-2.0
#include "common/file.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <algorithm>

namespace berth {
namespace {

TEST(File, AtomicWriteReplacesAndLeavesNoTemp) {
  auto dir = TempDir::create("/tmp", "berth-test-file-");
  ASSERT_TRUE(dir) << dir.error().message();
  std::string p = dir->path() + "/state.json";
  ASSERT_TRUE(atomic_write_file(p, "one"));
  ASSERT_TRUE(atomic_write_file(p, "two", 0600));
  auto got = read_file(p);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, "two");
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  int entries = 0;
  DIR* d = ::opendir(dir->path().c_str());
  while (auto* e = ::readdir(d)) entries += e->d_name[0] != '.';
  ::closedir(d);
  EXPECT_EQ(entries, 1);
}

TEST(File, DeferredAtomicWriteReplacesAlike) {
  auto dir = TempDir::create("/tmp", "berth-test-file-");
  ASSERT_TRUE(dir) << dir.error().message();
  std::string p = dir->path() + "/record.json";
  ASSERT_TRUE(atomic_write_file(p, "one", 0644, Durability::Deferred));
  ASSERT_TRUE(atomic_write_file(p, "two", 0600, Durability::Deferred));
  EXPECT_EQ(read_file(p).value_or(""), "two");
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(list_dir(dir->path()), std::vector<std::string>{"record.json"});
  // a failed write leaves neither the target nor a temp file
  EXPECT_FALSE(atomic_write_file(dir->path() + "/missing/x", "y", 0644, Durability::Deferred));
  EXPECT_EQ(list_dir(dir->path()), std::vector<std::string>{"record.json"});
}

TEST(File, ReadFileHonoursLimit) {
  auto dir = TempDir::create("/tmp", "berth-test-file-");
  ASSERT_TRUE(dir);
  std::string p = dir->path() + "/big";
  ASSERT_TRUE(write_file(p, std::string(1000, 'x')));
  auto r = read_file(p, 999);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Errc::InvalidArgument);
  EXPECT_TRUE(read_file(p, 1000));
  EXPECT_EQ(read_file(dir->path() + "/missing").error().code(), Errc::NotFound);
}

TEST(File, TempDirRemovesTree) {
  std::string path;
  {
    auto dir = TempDir::create("/tmp", "berth-test-file-");
    ASSERT_TRUE(dir);
    path = dir->path();
    ASSERT_TRUE(mkdir_all(path + "/a/b/c"));
    ASSERT_TRUE(write_file(path + "/a/b/c/f", "x"));
    ASSERT_EQ(::symlink("/etc", (path + "/a/link").c_str()), 0);
  }
  EXPECT_FALSE(path_exists(path));
  EXPECT_TRUE(path_exists("/etc/passwd"));  // the symlink was not followed
}

TEST(File, PathHelpers) {
  EXPECT_EQ(dirname("/a/b/c"), "/a/b");
  EXPECT_EQ(dirname("/a"), "/");
  EXPECT_EQ(dirname("a"), ".");
  EXPECT_EQ(basename("/a/b/c/"), "c");
  EXPECT_EQ(path_join("/a/", "/b"), "/a/b");
}

TEST(File, ListDirSkipsDotsAndCutsTheSuffix) {
  auto t = TempDir::create("/tmp", "berth-test-listdir-");
  ASSERT_TRUE(t.has_value());
  for (auto n : {"a.json", "b.json", "c.txt"}) ASSERT_TRUE(write_file(t->path() + "/" + n, "x"));
  ASSERT_TRUE(mkdir_all(t->path() + "/d.json"));
  auto all = list_dir(t->path());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (std::vector<std::string>{"a.json", "b.json", "c.txt", "d.json"}));
  auto json = list_dir(t->path(), ".json");
  std::sort(json.begin(), json.end());
  EXPECT_EQ(json, (std::vector<std::string>{"a", "b", "d"}));
  EXPECT_TRUE(list_dir(t->path() + "/missing").empty());
}

}  // namespace
}  // namespace berth
