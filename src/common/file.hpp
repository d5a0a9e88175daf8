// SPDX-License-Identifier: Apache-2.0
// File helpers that return Result and never throw.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace berth {

// open(2) with O_CLOEXEC added.
Result<UniqueFd> open_file(const std::string& path, int flags, mode_t mode = 0644);
// Reads the whole file; fails with InvalidArgument past max_size bytes.
Result<std::string> read_file(const std::string& path, std::size_t max_size = 64u << 20);
Result<std::string> read_fd(int fd, std::size_t max_size = 64u << 20);
// Loops over short writes and EINTR.
Status write_all(int fd, std::string_view data);
// Loops until n bytes or EOF; returns bytes read.
Result<std::size_t> read_full(int fd, void* buf, std::size_t n);

// How far atomic_write_file goes before it returns.
enum class Durability {
  Synced,    // the file is fsynced before the rename and its directory after: on disk at return
  Deferred,  // no fsync: the caller makes it durable later (the daemon's LazySync)
};

// Atomic replace: write `path.tmp-XXXX`, rename it over `path`; with Durability::Synced (crash-
// safe) fsync the file before and the directory after. A reader sees either the old or the new
// content, never a mix.
Status atomic_write_file(const std::string& path, std::string_view data, mode_t mode = 0644,
                         Durability durability = Durability::Synced);
// Plain (non-atomic) write, truncating.
Status write_file(const std::string& path, std::string_view data, mode_t mode = 0644);

Status fsync_dir(const std::string& dir);
// mkdir -p; existing directories are fine.
Status mkdir_all(const std::string& path, mode_t mode = 0755);
// rm -rf without following symlinks and without crossing mount points; missing is fine.
Status remove_all(const std::string& path);
bool path_exists(const std::string& path);
// Names in a directory, without "." and ".."; with a suffix, only the names ending in it, the
// suffix cut off ("a.json" -> "a"). A missing or unreadable directory lists as empty.
std::vector<std::string> list_dir(const std::string& dir, std::string_view suffix = {});
std::string dirname(std::string_view path);
std::string basename(std::string_view path);
// Joins with a single '/'.
std::string path_join(std::string_view a, std::string_view b);

// A directory removed (recursively) on destruction unless release()d.
class TempDir {
 public:
  // Creates `<parent>/<prefix>XXXXXX`.
  static Result<TempDir> create(const std::string& parent, std::string_view prefix);
  TempDir() = default;
  TempDir(TempDir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  TempDir& operator=(TempDir&& o) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string release() { return std::exchange(path_, {}); }

 private:
  explicit TempDir(std::string p) : path_(std::move(p)) {}
  std::string path_;
};

}  // namespace berth
