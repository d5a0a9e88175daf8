// SPDX-License-Identifier: Apache-2.0
#include "common/file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "common/strings.hpp"

namespace berth {

Result<UniqueFd> open_file(const std::string& path, int flags, mode_t mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return fail_errno("open", path);
  return UniqueFd(fd);
}

Result<std::string> read_fd(int fd, std::size_t max_size) {
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR) continue;
      return fail_errno("read");
    }
    if (r == 0) break;
    if (out.size() + static_cast<std::size_t>(r) > max_size)
      return fail(Errc::InvalidArgument, "file larger than " + std::to_string(max_size) + " bytes");
    out.append(buf, static_cast<std::size_t>(r));
  }
  return out;
}

Result<std::string> read_file(const std::string& path, std::size_t max_size) {
  auto fd = TRY(open_file(path, O_RDONLY));
  auto r = read_fd(fd.get(), max_size);
  if (!r) return fail(std::move(r.error()).context(path));
  return r;
}

Status write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t w = ::write(fd, data.data(), data.size());
    if (w < 0) {
      if (errno == EINTR) continue;
      return fail_errno("write");
    }
    data.remove_prefix(static_cast<std::size_t>(w));
  }
  return ok();
}

Result<std::size_t> read_full(int fd, void* buf, std::size_t n) {
  std::size_t got = 0;
  auto* p = static_cast<char*>(buf);
  while (got < n) {
    ssize_t r = ::read(fd, p + got, n - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      return fail_errno("read");
    }
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  return got;
}

Status fsync_dir(const std::string& dir) {
  auto fd = TRY(open_file(dir.empty() ? "." : dir, O_RDONLY | O_DIRECTORY));
  if (::fsync(fd.get()) < 0) return fail_errno("fsync", dir);
  return ok();
}

Status atomic_write_file(const std::string& path, std::string_view data, mode_t mode, Durability durability) {
  const bool synced = durability == Durability::Synced;
  std::string tmp = path + ".tmp-" + random_hex(8);
  {
    auto fd = TRY(open_file(tmp, O_WRONLY | O_CREAT | O_EXCL, mode));
    auto w = write_all(fd.get(), data);
    if (w && ::fchmod(fd.get(), mode) < 0) w = fail_errno("fchmod", tmp);
    if (w && synced && ::fsync(fd.get()) < 0) w = fail_errno("fsync", tmp);
    if (!w) {
      ::unlink(tmp.c_str());
      return fail(std::move(w.error()).context(path));
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) < 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return fail(Error::from_errno(e, "rename", path));
  }
  return synced ? fsync_dir(dirname(path)) : ok();
}

Status write_file(const std::string& path, std::string_view data, mode_t mode) {
  auto fd = TRY(open_file(path, O_WRONLY | O_CREAT | O_TRUNC, mode));
  return write_all(fd.get(), data);
}

Status mkdir_all(const std::string& path, mode_t mode) {
  if (path.empty()) return ok();
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return ok();
    return fail(Error(Errc::AlreadyExists, "mkdir " + path + ": exists and is not a directory",
                      ENOTDIR));
  }
  auto parent = dirname(path);
  if (parent != path && parent != "/" && parent != ".") TRY(mkdir_all(parent, mode));
  if (::mkdir(path.c_str(), mode) < 0 && errno != EEXIST) return fail_errno("mkdir", path);
  return ok();
}

namespace {
Status remove_at(int dirfd, const char* name, dev_t dev) {
  struct stat st {};
  if (::fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT) return ok();
    return fail_errno("stat", name);
  }
  if (S_ISDIR(st.st_mode)) {
    if (st.st_dev != dev) return fail(Errc::Conflict, std::string("refusing to cross mount point at ") + name);
    int fd = ::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return fail_errno("open", name);
    DIR* d = ::fdopendir(fd);
    if (!d) {
      ::close(fd);
      return fail_errno("fdopendir", name);
    }
    Status st_all = ok();
    while (dirent* e = ::readdir(d)) {
      if (!std::strcmp(e->d_name, ".") || !std::strcmp(e->d_name, "..")) continue;
      auto r = remove_at(::dirfd(d), e->d_name, dev);
      if (!r && st_all) st_all = std::move(r);
    }
    ::closedir(d);
    if (!st_all) return st_all;
    if (::unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT) return fail_errno("rmdir", name);
    return ok();
  }
  if (::unlinkat(dirfd, name, 0) < 0 && errno != ENOENT) return fail_errno("unlink", name);
  return ok();
}
}  // namespace

Status remove_all(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) < 0) {
    if (errno == ENOENT) return ok();
    return fail_errno("stat", path);
  }
  auto r = remove_at(AT_FDCWD, path.c_str(), st.st_dev);
  if (!r) return fail(std::move(r.error()).context("remove " + path));
  return ok();
}

std::vector<std::string> list_dir(const std::string& dir, std::string_view suffix) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (auto* de = ::readdir(d)) {
    std::string n = de->d_name;
    if (n == "." || n == "..") continue;
    if (!suffix.empty()) {
      if (!n.ends_with(suffix)) continue;
      n.resize(n.size() - suffix.size());
    }
    out.push_back(std::move(n));
  }
  ::closedir(d);
  return out;
}

bool path_exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

std::string dirname(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  auto pos = path.rfind('/');
  if (pos == std::string_view::npos) return ".";
  if (pos == 0) return "/";
  return std::string(path.substr(0, pos));
}

std::string basename(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  auto pos = path.rfind('/');
  if (pos == std::string_view::npos) return std::string(path);
  return std::string(path.substr(pos + 1));
}

std::string path_join(std::string_view a, std::string_view b) {
  std::string out(a);
  while (!out.empty() && out.back() == '/') out.pop_back();
  while (!b.empty() && b.front() == '/') b.remove_prefix(1);
  out += '/';
  out += b;
  return out;
}

Result<TempDir> TempDir::create(const std::string& parent, std::string_view prefix) {
  TRY(mkdir_all(parent, 0755));
  std::string tmpl = path_join(parent, prefix) + "XXXXXX";
  if (!::mkdtemp(tmpl.data())) return fail_errno("mkdtemp", tmpl);
  return TempDir(std::move(tmpl));
}

TempDir& TempDir::operator=(TempDir&& o) noexcept {
  if (this != &o) {
    if (!path_.empty()) (void)remove_all(path_);
    path_ = std::exchange(o.path_, {});
  }
  return *this;
}

TempDir::~TempDir() {
  if (!path_.empty()) (void)remove_all(path_);
}

}  // namespace berth
