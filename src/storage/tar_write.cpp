// SPDX-License-Identifier: Apache-2.0
#include "storage/tar_write.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "common/defer.hpp"
#include "common/unique_fd.hpp"

namespace berth::storage {
namespace {

class Writer {
 public:
  Writer(struct archive* a, const TarWriteOptions& o) : a_(a), opts_(o) {
    for (auto& p : o.only) only_.insert(p);
  }

  // Bit 1: emit this entry; bit 2: descend (an included path lies below).
  int selected(const std::string& rel) const {
    if (only_.empty()) return 3;
    int s = only_.count(rel) ? 1 : 0;
    auto it = only_.lower_bound(rel + "/");
    if (it != only_.end() && it->starts_with(rel + "/")) s |= 3;
    return s;
  }

  Status walk(int dfd, const std::string& rel) {
    DIR* dir = ::fdopendir(::dup(dfd));
    if (!dir) return fail_errno("opendir", rel);
    std::vector<std::string> names;
    while (auto* de = ::readdir(dir)) {
      std::string n = de->d_name;
      if (n != "." && n != "..") names.push_back(std::move(n));
    }
    ::closedir(dir);
    std::sort(names.begin(), names.end());
    for (auto& n : names) {
      std::string r = rel.empty() ? n : rel + "/" + n;
      int sel = selected(r);
      if (sel == 0) continue;
      struct stat st {};
      if (::fstatat(dfd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return fail_errno("stat", r);
      if (opts_.whiteouts == WhiteoutSource::Overlay && S_ISCHR(st.st_mode) && st.st_rdev == 0) {
        std::string wh = rel.empty() ? ".wh." + n : rel + "/.wh." + n;
        TRY(emit_plain(wh, st));
        continue;
      }
      TRY(emit(dfd, n, r, st));
      if (S_ISDIR(st.st_mode) && (sel & 2)) {
        UniqueFd sub(::openat(dfd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!sub) return fail_errno("open", r);
        if (opts_.whiteouts == WhiteoutSource::Overlay) {
          char v[4] = {};
          if (::fgetxattr(sub.get(), "trusted.overlay.opaque", v, sizeof v) == 1 && v[0] == 'y')
            TRY(emit_plain(r + "/.wh..wh..opq", st));
        }
        TRY(walk(sub.get(), r));
      }
    }
    return ok();
  }

  // Union of overlay layers (top first): the merged view, without mounting.
  Status walk_merged(const std::vector<int>& fds, const std::string& rel) {
    std::map<std::string, std::size_t> first;  // name -> index of the top-most layer having it
    for (std::size_t i = 0; i < fds.size(); ++i) {
      DIR* dir = ::fdopendir(::dup(fds[i]));
      if (!dir) return fail_errno("opendir", rel);
      while (auto* de = ::readdir(dir)) {
        std::string n = de->d_name;
        if (n != "." && n != "..") first.emplace(n, i);
      }
      ::closedir(dir);
    }
    for (auto& [n, i] : first) {
      std::string r = rel.empty() ? n : rel + "/" + n;
      struct stat st {};
      if (::fstatat(fds[i], n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return fail_errno("stat", r);
      if (S_ISCHR(st.st_mode) && st.st_rdev == 0) continue;  // whiteout
      TRY(emit(fds[i], n, r, st));
      if (!S_ISDIR(st.st_mode)) continue;
      std::vector<UniqueFd> subs;
      std::vector<int> sub_fds;
      for (std::size_t k = i; k < fds.size(); ++k) {
        struct stat ks {};
        if (::fstatat(fds[k], n.c_str(), &ks, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (!S_ISDIR(ks.st_mode)) break;  // a file or whiteout hides everything below
        UniqueFd sub(::openat(fds[k], n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!sub) return fail_errno("open", r);
        sub_fds.push_back(sub.get());
        char v[4] = {};
        bool opaque = ::fgetxattr(sub.get(), "trusted.overlay.opaque", v, sizeof v) == 1 && v[0] == 'y';
        subs.push_back(std::move(sub));
        if (opaque) break;
      }
      TRY(walk_merged(sub_fds, r));
    }
    return ok();
  }

  Status emit_deleted() {
    struct stat st {};
    st.st_mode = S_IFREG | 0644;
    for (auto& p : opts_.deleted) {
      auto s = p.rfind('/');
      std::string wh = s == std::string::npos ? ".wh." + p : p.substr(0, s + 1) + ".wh." + p.substr(s + 1);
      TRY(emit_plain(wh, st));
    }
    return ok();
  }

  // One entry of `dfd` under a chosen name, then its subtree.
  Status entry(int dfd, const std::string& n, const std::string& as) {
    struct stat st {};
    if (::fstatat(dfd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return fail_errno("stat", n);
    TRY(emit(dfd, n, as, st));
    if (!S_ISDIR(st.st_mode)) return ok();
    UniqueFd sub(::openat(dfd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub) return fail_errno("open", n);
    return walk(sub.get(), as);
  }

 private:
  Status write_header(struct archive_entry* e, const std::string& name) {
    if (archive_write_header(a_, e) != ARCHIVE_OK)
      return fail(Errc::Internal, fmt::format("tar: {}: {}", name, archive_error_string(a_)));
    return ok();
  }

  Status emit_plain(const std::string& name, const struct stat& like) {
    struct archive_entry* e = archive_entry_new();
    auto f = defer([&] { archive_entry_free(e); });
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, 0);
    archive_entry_set_mtime(e, like.st_mtim.tv_sec, 0);
    return write_header(e, name);
  }

  Status emit(int dfd, const std::string& n, const std::string& rel, const struct stat& st) {
    struct archive_entry* e = archive_entry_new();
    auto f = defer([&] { archive_entry_free(e); });
    archive_entry_copy_stat(e, &st);
    archive_entry_set_pathname(e, rel.c_str());
    archive_entry_unset_atime(e);
    archive_entry_unset_ctime(e);
    archive_entry_unset_birthtime(e);
    archive_entry_set_uname(e, "");
    archive_entry_set_gname(e, "");
    UniqueFd fd;
    if (S_ISREG(st.st_mode)) {
      if (st.st_nlink > 1) {
        auto key = std::make_pair(st.st_dev, st.st_ino);
        if (auto it = links_.find(key); it != links_.end()) {
          archive_entry_set_hardlink(e, it->second.c_str());
          archive_entry_set_size(e, 0);
          return write_header(e, rel);
        }
        links_[key] = rel;
      }
      fd.reset(::openat(dfd, n.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (!fd) return fail_errno("open", rel);
    } else if (S_ISLNK(st.st_mode)) {
      char buf[4096];
      ssize_t k = ::readlinkat(dfd, n.c_str(), buf, sizeof buf - 1);
      if (k < 0) return fail_errno("readlink", rel);
      buf[k] = 0;
      archive_entry_set_symlink(e, buf);
      archive_entry_set_size(e, 0);
    } else if (S_ISDIR(st.st_mode)) {
      archive_entry_set_size(e, 0);
      fd.reset(::openat(dfd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    } else {
      archive_entry_set_size(e, 0);
    }
    if (fd) add_xattrs(fd.get(), e);
    TRY(write_header(e, rel));
    if (S_ISREG(st.st_mode)) {
      std::vector<char> buf(256 * 1024);
      for (;;) {
        ssize_t k = ::read(fd.get(), buf.data(), buf.size());
        if (k < 0) {
          if (errno == EINTR) continue;
          return fail_errno("read", rel);
        }
        if (k == 0) break;
        if (archive_write_data(a_, buf.data(), static_cast<size_t>(k)) < 0)
          return fail(Errc::Internal, fmt::format("tar: {}", archive_error_string(a_)));
      }
    }
    return ok();
  }

  void add_xattrs(int fd, struct archive_entry* e) {
    char names[8192];
    ssize_t n = ::flistxattr(fd, names, sizeof names);
    if (n <= 0) return;
    for (char* k = names; k < names + n; k += std::strlen(k) + 1) {
      std::string_view key(k);
      if (key.starts_with("trusted.overlay.")) continue;
      char val[4096];
      ssize_t vn = ::fgetxattr(fd, k, val, sizeof val);
      if (vn >= 0) archive_entry_xattr_add_entry(e, k, val, static_cast<size_t>(vn));
    }
  }

  struct archive* a_;
  const TarWriteOptions& opts_;
  std::set<std::string> only_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
};

// A pax tar stream on `out_fd`, unblocked (no padding beyond the end marker), whose entries
// `body(Writer&)` writes.
template <class Body>
Status write_stream(int out_fd, const TarWriteOptions& opts, Body&& body) {
  struct archive* a = archive_write_new();
  auto free_a = defer([&] { archive_write_free(a); });
  archive_write_set_format_pax_restricted(a);
  archive_write_set_bytes_per_block(a, 0);
  if (archive_write_open_fd(a, out_fd) != ARCHIVE_OK)
    return fail(Errc::Internal, fmt::format("tar: {}", archive_error_string(a)));
  Writer w(a, opts);
  TRY(body(w));
  if (archive_write_close(a) != ARCHIVE_OK)
    return fail(Errc::Internal, fmt::format("tar: {}", archive_error_string(a)));
  return ok();
}

}  // namespace

Status write_merged_tar(const std::vector<std::string>& dirs, int out_fd) {
  std::vector<UniqueFd> fds;
  std::vector<int> raw;
  for (auto& d : dirs) {
    UniqueFd fd(::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return fail_errno("open", d);
    raw.push_back(fd.get());
    fds.push_back(std::move(fd));
  }
  return write_stream(out_fd, TarWriteOptions{}, [&](Writer& w) { return w.walk_merged(raw, ""); });
}

Status write_tar_entry(int parent_fd, const std::string& name, const std::string& as_name, int out_fd) {
  return write_stream(out_fd, TarWriteOptions{}, [&](Writer& w) { return w.entry(parent_fd, name, as_name); });
}

Status write_tar(const std::string& dir, int out_fd, const TarWriteOptions& opts) {
  UniqueFd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) return fail_errno("open", dir);
  return write_stream(out_fd, opts, [&](Writer& w) -> Status {
    TRY(w.walk(root.get(), ""));
    return w.emit_deleted();
  });
}

}  // namespace berth::storage
