// SPDX-License-Identifier: Apache-2.0
// The three tar writers read back with libarchive (no root: no whiteout devices, no xattrs).
#include "storage/tar_write.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include "common/defer.hpp"
#include "common/file.hpp"
#include "common/unique_fd.hpp"

namespace berth::storage {
namespace {

// One entry as "<name>" plus " -> <hardlink>", " @ <symlink>", " = <content>" (regular files).
std::vector<std::string> entries_of(const std::string& tar_path) {
  std::vector<std::string> out;
  struct archive* a = archive_read_new();
  auto free_a = defer([&] { archive_read_free(a); });
  archive_read_support_format_tar(a);
  if (archive_read_open_filename(a, tar_path.c_str(), 64 * 1024) != ARCHIVE_OK) return {"open failed"};
  struct archive_entry* e = nullptr;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    std::string s = archive_entry_pathname(e);
    if (auto h = archive_entry_hardlink(e)) s += std::string(" -> ") + h;
    else if (auto l = archive_entry_symlink(e)) s += std::string(" @ ") + l;
    else if (archive_entry_filetype(e) == AE_IFREG) {
      std::string data(static_cast<std::size_t>(archive_entry_size(e)), '\0');
      if (!data.empty()) archive_read_data(a, data.data(), data.size());
      s += " = " + data;
    }
    out.push_back(s);
  }
  return out;
}

class TarWrite : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = *TempDir::create("/tmp", "berth-test-tarwrite-");
    tar_ = tmp_.path() + "/out.tar";
  }
  UniqueFd out() { return UniqueFd(::open(tar_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)); }
  std::string dir(const std::string& name) {
    std::string d = tmp_.path() + "/" + name;
    EXPECT_TRUE(mkdir_all(d));
    return d;
  }
  TempDir tmp_;
  std::string tar_;
};

TEST_F(TarWrite, TreeWithLinksAndDeletedPaths) {
  std::string d = dir("tree");
  ASSERT_TRUE(write_file(d + "/a", "hello"));
  ASSERT_EQ(::link((d + "/a").c_str(), (d + "/b").c_str()), 0);
  ASSERT_EQ(::symlink("a", (d + "/c").c_str()), 0);
  ASSERT_TRUE(mkdir_all(d + "/d"));
  ASSERT_TRUE(write_file(d + "/d/e", ""));
  TarWriteOptions o;
  o.deleted = {"d/gone", "top"};
  auto fd = out();
  ASSERT_TRUE(write_tar(d, fd.get(), o));
  EXPECT_EQ(entries_of(tar_), (std::vector<std::string>{"a = hello", "b -> a", "c @ a", "d/", "d/e = ", "d/.wh.gone = ",
                                                       ".wh.top = "}));
}

TEST_F(TarWrite, OneEntryUnderAnotherName) {
  std::string d = dir("parent");
  ASSERT_TRUE(mkdir_all(d + "/src/sub"));
  ASSERT_TRUE(write_file(d + "/src/sub/f", "x"));
  UniqueFd parent(::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  auto fd = out();
  ASSERT_TRUE(write_tar_entry(parent.get(), "src", "dst", fd.get()));
  EXPECT_EQ(entries_of(tar_), (std::vector<std::string>{"dst/", "dst/sub/", "dst/sub/f = x"}));
}

TEST_F(TarWrite, MergedLayersTopWins) {
  std::string top = dir("top"), low = dir("low");
  ASSERT_TRUE(write_file(top + "/f", "top"));
  ASSERT_TRUE(write_file(low + "/f", "low"));
  ASSERT_TRUE(mkdir_all(low + "/g"));
  ASSERT_TRUE(write_file(low + "/g/h", "h"));
  auto fd = out();
  ASSERT_TRUE(write_merged_tar({top, low}, fd.get()));
  EXPECT_EQ(entries_of(tar_), (std::vector<std::string>{"f = top", "g/", "g/h = h"}));
}

}  // namespace
}  // namespace berth::storage
