// SPDX-License-Identifier: Apache-2.0
#include "storage/fs_util.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include <fmt/format.h>

#include "common/unique_fd.hpp"
#include "storage/tar_write.hpp"

namespace berth::storage {
namespace {

Result<std::vector<std::string>> list_dir(int dfd) {
  DIR* dir = ::fdopendir(::dup(dfd));
  if (!dir) return fail_errno("opendir");
  std::vector<std::string> names;
  while (auto* de = ::readdir(dir)) {
    std::string n = de->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

void copy_xattrs(int from, int to) {
  char names[8192];
  ssize_t n = ::flistxattr(from, names, sizeof names);
  for (char* k = names; n > 0 && k < names + n; k += std::strlen(k) + 1) {
    char val[4096];
    ssize_t vn = ::fgetxattr(from, k, val, sizeof val);
    if (vn >= 0) ::fsetxattr(to, k, val, static_cast<size_t>(vn), 0);
  }
}

struct Copier {
  std::map<std::pair<dev_t, ino_t>, std::pair<int, std::string>> links;  // unused dirfd
  std::map<std::pair<dev_t, ino_t>, std::string> link_paths;
  std::string dst_root;
  bool root = ::geteuid() == 0;

  Status copy(int sfd, int dfd, const std::string& rel) {
    for (auto& n : TRY(list_dir(sfd))) {
      std::string r = rel.empty() ? n : rel + "/" + n;
      struct stat st {};
      if (::fstatat(sfd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return fail_errno("stat", r);
      const char* c = n.c_str();
      if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
        auto key = std::make_pair(st.st_dev, st.st_ino);
        if (auto it = link_paths.find(key); it != link_paths.end()) {
          std::string target = dst_root + "/" + it->second;
          if (::linkat(AT_FDCWD, target.c_str(), dfd, c, 0) != 0) return fail_errno("link", r);
          continue;
        }
        link_paths[key] = r;
      }
      UniqueFd src_fd, dst_fd;
      if (S_ISDIR(st.st_mode)) {
        if (::mkdirat(dfd, c, 0700) != 0) return fail_errno("mkdir", r);
        src_fd.reset(::openat(sfd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        dst_fd.reset(::openat(dfd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!src_fd || !dst_fd) return fail_errno("open", r);
        TRY(copy(src_fd.get(), dst_fd.get(), r));
      } else if (S_ISREG(st.st_mode)) {
        src_fd.reset(::openat(sfd, c, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        dst_fd.reset(::openat(dfd, c, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!src_fd || !dst_fd) return fail_errno("open", r);
        off_t left = st.st_size;
        while (left > 0) {
          ssize_t k = ::copy_file_range(src_fd.get(), nullptr, dst_fd.get(), nullptr,
                                        static_cast<size_t>(left), 0);
          if (k <= 0) {
            if (k < 0 && errno == EINTR) continue;
            k = ::sendfile(dst_fd.get(), src_fd.get(), nullptr, static_cast<size_t>(left));
            if (k <= 0) return fail_errno("copy", r);
          }
          left -= k;
        }
      } else if (S_ISLNK(st.st_mode)) {
        char buf[4096];
        ssize_t k = ::readlinkat(sfd, c, buf, sizeof buf - 1);
        if (k < 0) return fail_errno("readlink", r);
        buf[k] = 0;
        if (::symlinkat(buf, dfd, c) != 0) return fail_errno("symlink", r);
      } else if (S_ISSOCK(st.st_mode)) {
        continue;
      } else {
        if (::mknodat(dfd, c, st.st_mode, st.st_rdev) != 0) return fail_errno("mknod", r);
      }
      if (root) ::fchownat(dfd, c, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
      if (!S_ISLNK(st.st_mode)) ::fchmodat(dfd, c, st.st_mode & 07777, 0);
      if (src_fd && dst_fd) copy_xattrs(src_fd.get(), dst_fd.get());
      struct timespec ts[2] = {st.st_atim, st.st_mtim};
      ::utimensat(dfd, c, ts, AT_SYMLINK_NOFOLLOW);
    }
    return ok();
  }
};

bool differs(const struct stat& a, const struct stat& b, int afd, int bfd, const char* n) {
  if ((a.st_mode & S_IFMT) != (b.st_mode & S_IFMT)) return true;
  if (a.st_mode != b.st_mode || a.st_uid != b.st_uid || a.st_gid != b.st_gid) return true;
  if (a.st_mtim.tv_sec != b.st_mtim.tv_sec || a.st_mtim.tv_nsec != b.st_mtim.tv_nsec) return true;
  if (S_ISDIR(a.st_mode)) return false;
  if (a.st_size != b.st_size || a.st_rdev != b.st_rdev) return true;
  if (S_ISLNK(a.st_mode)) {
    char x[4096], y[4096];
    ssize_t xn = ::readlinkat(afd, n, x, sizeof x), yn = ::readlinkat(bfd, n, y, sizeof y);
    return xn != yn || std::memcmp(x, y, static_cast<size_t>(std::max<ssize_t>(xn, 0))) != 0;
  }
  return false;
}

Status compare(int ufd, int lfd, const std::string& rel, std::vector<Change>& out) {
  auto unames = TRY(list_dir(ufd));
  std::set<std::string> seen(unames.begin(), unames.end());
  for (auto& n : unames) {
    std::string r = rel + "/" + n;
    struct stat us {}, ls {};
    ::fstatat(ufd, n.c_str(), &us, AT_SYMLINK_NOFOLLOW);
    bool in_lower = lfd >= 0 && ::fstatat(lfd, n.c_str(), &ls, AT_SYMLINK_NOFOLLOW) == 0;
    if (!in_lower) out.push_back({r, ChangeKind::Added});
    else if (differs(us, ls, ufd, lfd, n.c_str())) out.push_back({r, ChangeKind::Modified});
    if (S_ISDIR(us.st_mode)) {
      UniqueFd su(::openat(ufd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      UniqueFd sl;
      if (in_lower && S_ISDIR(ls.st_mode))
        sl.reset(::openat(lfd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (su) TRY(compare(su.get(), sl ? sl.get() : -1, r, out));
    }
  }
  if (lfd >= 0) {
    for (auto& n : TRY(list_dir(lfd))) {
      if (!seen.count(n)) out.push_back({rel + "/" + n, ChangeKind::Deleted});
    }
  }
  return ok();
}

}  // namespace


Status write_changes_tar(const std::string& dir, const std::vector<Change>& changes, int out_fd) {
  TarWriteOptions o;
  for (auto& c : changes) {
    std::string rel = c.path.substr(1);
    if (c.kind == ChangeKind::Deleted) o.deleted.push_back(rel);
    else o.only.push_back(rel);
  }
  if (o.only.empty()) o.only.push_back(".wh..berth-nothing");  // nothing selected
  return write_tar(dir, out_fd, o);
}

bool valid_layer_id(const std::string& id) {
  // "l", "tmp", "dir", "meta" are the drivers' own directories.
  return !id.empty() && id != "." && id != ".." && id != "l" && id != "tmp" && id != "dir" &&
         id != "meta" && id.find('/') == std::string::npos && id.size() < 200;
}

Status copy_tree(const std::string& src, const std::string& dst) {
  UniqueFd s(::open(src.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  UniqueFd d(::open(dst.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!s) return fail_errno("open", src);
  if (!d) return fail_errno("open", dst);
  Copier c;
  c.dst_root = dst;
  TRY(c.copy(s.get(), d.get(), ""));
  struct stat st {};
  if (::fstat(s.get(), &st) == 0) {
    if (c.root) ::fchown(d.get(), st.st_uid, st.st_gid);
    ::fchmod(d.get(), st.st_mode & 07777);
    copy_xattrs(s.get(), d.get());
  }
  // Directory mtimes changed while children were created: copy them once more, deepest first.
  struct Fix {
    static void dirs(int sfd, int dfd) {
      auto names = list_dir(sfd);
      if (!names) return;
      for (auto& n : *names) {
        struct stat st {};
        if (::fstatat(sfd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode))
          continue;
        UniqueFd a(::openat(sfd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        UniqueFd b(::openat(dfd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!a || !b) continue;
        dirs(a.get(), b.get());
        struct timespec ts[2] = {st.st_atim, st.st_mtim};
        ::futimens(b.get(), ts);
      }
    }
  };
  Fix::dirs(s.get(), d.get());
  if (::fstat(s.get(), &st) == 0) {
    struct timespec ts[2] = {st.st_atim, st.st_mtim};
    ::futimens(d.get(), ts);
  }
  return ok();
}

Result<std::int64_t> tree_usage(const std::string& dir) {
  std::set<std::pair<dev_t, ino_t>> seen;
  std::int64_t total = 0;
  struct Walk {
    static Status go(int dfd, std::set<std::pair<dev_t, ino_t>>& seen, std::int64_t& total) {
      for (auto& n : TRY(list_dir(dfd))) {
        struct stat st {};
        if (::fstatat(dfd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
          UniqueFd s(::openat(dfd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
          if (s) TRY(go(s.get(), seen, total));
        } else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) {
          if (seen.insert({st.st_dev, st.st_ino}).second) total += st.st_size;
        }
      }
      return ok();
    }
  };
  UniqueFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!d) return fail_errno("open", dir);
  TRY(Walk::go(d.get(), seen, total));
  return total;
}

Result<std::vector<Change>> compare_trees(const std::string& upper, const std::string& lower) {
  UniqueFd u(::open(upper.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!u) return fail_errno("open", upper);
  UniqueFd l;
  if (!lower.empty()) {
    l.reset(::open(lower.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!l) return fail_errno("open", lower);
  }
  std::vector<Change> out;
  TRY(compare(u.get(), l ? l.get() : -1, "", out));
  return out;
}

}  // namespace berth::storage
