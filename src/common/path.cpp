// SPDX-License-Identifier: Apache-2.0
#include "common/path.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <vector>

#include "common/strings.hpp"

namespace berth {
namespace {

constexpr int kMaxSymlinks = 40;  // as the kernel's MAXSYMLINKS

std::deque<std::string> components(std::string_view p) {
  std::deque<std::string> out;
  for (auto& c : split(p, '/')) {
    if (!c.empty() && c != ".") out.push_back(std::move(c));
  }
  return out;
}

std::atomic<bool> g_have_openat2{true};

Result<std::string> readlink_at(int dirfd, const std::string& name) {
  std::string buf(4096, '\0');
  ssize_t n = ::readlinkat(dirfd, name.c_str(), buf.data(), buf.size());
  if (n < 0) return fail_errno("readlink", name);
  buf.resize(static_cast<std::size_t>(n));
  return buf;
}

}  // namespace

std::string clean_path(std::string_view p) {
  bool abs = !p.empty() && p.front() == '/';
  std::vector<std::string> out;
  for (auto& c : split(p, '/')) {
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (!out.empty() && out.back() != "..") out.pop_back();
      else if (!abs) out.push_back(c);
      continue;
    }
    out.push_back(c);
  }
  std::string s = join(out, "/");
  if (abs) return "/" + s;
  return s.empty() ? "." : s;
}

Result<UniqueFd> open_in_root_fallback(BorrowedFd root_fd, std::string_view path, int flags,
                                       mode_t mode) {
  std::vector<UniqueFd> stack;  // directories below root; empty = at root
  auto cur = [&]() { return stack.empty() ? root_fd.get() : stack.back().get(); };
  auto todo = components(path);
  int links = 0;
  const bool follow_last = !(flags & O_NOFOLLOW);

  if (todo.empty()) {
    int fd = ::openat(root_fd.get(), ".", (flags & ~(O_CREAT | O_EXCL)) | O_CLOEXEC);
    if (fd < 0) return fail_errno("open", "/");
    return UniqueFd(fd);
  }
  while (!todo.empty()) {
    std::string name = std::move(todo.front());
    todo.pop_front();
    const bool last = todo.empty();
    if (name == "..") {
      if (!stack.empty()) stack.pop_back();
      if (last) {
        int fd = ::openat(cur(), ".", (flags & ~(O_CREAT | O_EXCL)) | O_CLOEXEC);
        if (fd < 0) return fail_errno("open", std::string(path));
        return UniqueFd(fd);
      }
      continue;
    }
    struct stat st {};
    bool exists = ::fstatat(cur(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (!exists && errno != ENOENT) return fail_errno("stat", std::string(path));
    if (exists && S_ISLNK(st.st_mode) && (!last || follow_last)) {
      if (++links > kMaxSymlinks) return fail(Error::from_errno(ELOOP, "open", std::string(path)));
      auto target = TRY(readlink_at(cur(), name));
      auto more = components(target);
      if (!target.empty() && target.front() == '/') stack.clear();
      for (auto it = more.rbegin(); it != more.rend(); ++it) todo.push_front(std::move(*it));
      if (more.empty() && last) todo.push_front(".");
      continue;
    }
    if (last) {
      int fd = ::openat(cur(), name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode);
      if (fd < 0) return fail_errno("open", std::string(path));
      return UniqueFd(fd);
    }
    if (!exists) return fail(Error::from_errno(ENOENT, "open", std::string(path)));
    int fd = ::openat(cur(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return fail_errno("open", std::string(path));
    stack.emplace_back(fd);
  }
  // Only reached when the path ended in a symlink to "." or similar.
  int fd = ::openat(cur(), ".", (flags & ~(O_CREAT | O_EXCL)) | O_CLOEXEC);
  if (fd < 0) return fail_errno("open", std::string(path));
  return UniqueFd(fd);
}

Result<UniqueFd> open_in_root(BorrowedFd root_fd, std::string_view path, int flags, mode_t mode) {
  if (g_have_openat2.load(std::memory_order_relaxed)) {
    open_how how{};
    how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
    how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    std::string rel(path);
    while (!rel.empty() && rel.front() == '/') rel.erase(0, 1);
    if (rel.empty()) rel = ".";
    for (int attempt = 0; attempt < 16; ++attempt) {
      long fd = ::syscall(SYS_openat2, root_fd.get(), rel.c_str(), &how, sizeof how);
      if (fd >= 0) return UniqueFd(static_cast<int>(fd));
      if (errno == EAGAIN || errno == EINTR) continue;  // concurrent rename; retry
      if (errno == ENOSYS) {
        g_have_openat2 = false;
        break;
      }
      return fail_errno("open", std::string(path));
    }
    if (g_have_openat2) return fail_errno("open", std::string(path));
  }
  return open_in_root_fallback(root_fd, path, flags, mode);
}

Result<UniqueFd> mkdir_all_in_root(BorrowedFd root_fd, std::string_view path, mode_t mode) {
  auto parts = components(clean_path("/" + std::string(path)));
  std::string prefix;
  int dup = ::fcntl(root_fd.get(), F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return fail_errno("dup");
  UniqueFd parent(dup);
  for (auto& name : parts) {
    std::string next = prefix + "/" + name;
    auto fd = open_in_root(root_fd, next, O_PATH | O_DIRECTORY);
    if (!fd && fd.error().sys_errno() == ENOENT) {
      if (::mkdirat(parent.get(), name.c_str(), mode) < 0 && errno != EEXIST)
        return fail_errno("mkdir", next);
      fd = open_in_root(root_fd, next, O_PATH | O_DIRECTORY);
    }
    if (!fd) return fail(std::move(fd.error()));
    parent = std::move(*fd);
    prefix = std::move(next);
  }
  return parent;
}

Result<std::string> secure_join(const std::string& root, std::string_view unsafe) {
  std::vector<std::string> resolved;
  auto todo = components(unsafe);
  int links = 0;
  while (!todo.empty()) {
    std::string name = std::move(todo.front());
    todo.pop_front();
    if (name == "..") {
      if (!resolved.empty()) resolved.pop_back();
      continue;
    }
    std::string full = root + "/" + join(resolved, "/") + (resolved.empty() ? "" : "/") + name;
    struct stat st {};
    if (::lstat(full.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      if (++links > 255) return fail(Error::from_errno(ELOOP, "secure join", std::string(unsafe)));
      auto target = TRY(readlink_at(AT_FDCWD, full));
      if (!target.empty() && target.front() == '/') resolved.clear();
      auto more = components(target);
      for (auto it = more.rbegin(); it != more.rend(); ++it) todo.push_front(std::move(*it));
      continue;
    }
    resolved.push_back(std::move(name));
  }
  std::string r = root;
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  for (auto& c : resolved) {
    r += '/';
    r += c;
  }
  return r;
}

Result<std::string> fd_path(int fd) {
  std::string link = "/proc/self/fd/" + std::to_string(fd);
  return readlink_at(AT_FDCWD, link);
}

}  // namespace berth
