// SPDX-License-Identifier: Apache-2.0
#include "storage/tar_apply.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>

#include <set>
#include <vector>

#include "common/defer.hpp"
#include "common/path.hpp"
#include "common/unique_fd.hpp"

namespace berth::storage {
namespace {

constexpr std::string_view kWhPrefix = ".wh.";
constexpr std::string_view kWhMeta = ".wh..wh.";
constexpr std::string_view kWhOpaque = ".wh..wh..opq";

struct Ctx {
  Reader* in;
  std::vector<char> buf = std::vector<char>(256 * 1024);
  Error err;
  bool failed = false;
};

la_ssize_t read_cb(struct archive*, void* p, const void** out) {
  auto* c = static_cast<Ctx*>(p);
  auto r = c->in->read(c->buf.data(), c->buf.size());
  if (!r) {
    c->err = std::move(r.error());
    c->failed = true;
    return -1;
  }
  *out = c->buf.data();
  return static_cast<la_ssize_t>(*r);
}

// Cleans an entry name; fails when it leaves the root. "" means the root itself.
Result<std::string> confine_name(std::string_view raw) {
  std::string p = clean_path(raw);
  while (!p.empty() && p.front() == '/') p.erase(0, 1);
  if (p == "." || p.empty()) return std::string();
  if (p == ".." || p.starts_with("../"))
    return fail(Errc::PermissionDenied,
                fmt::format("refusing to extract \"{}\": path leaves the layer root", raw));
  return p;
}

std::pair<std::string, std::string> split_dir(const std::string& p) {
  auto s = p.rfind('/');
  if (s == std::string::npos) return {"", p};
  return {p.substr(0, s), p.substr(s + 1)};
}

struct DirTime {
  std::string path;
  struct timespec ts[2];
};

class Extractor {
 public:
  Extractor(const std::string& dir, const ApplyOptions& o) : dir_(dir), opts_(o) {}

  Result<ApplyStats> run(Reader& in) {
    int rfd = ::open(dir_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rfd < 0) return fail_errno("open layer dir", dir_);
    root_.reset(rfd);
    is_root_ = ::geteuid() == 0;

    struct archive* a = archive_read_new();
    auto free_a = defer([&] { archive_read_free(a); });
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    Ctx ctx{&in};
    if (archive_read_open(a, &ctx, nullptr, read_cb, nullptr) != ARCHIVE_OK) {
      if (ctx.failed) return fail(std::move(ctx.err));
      return fail(Errc::InvalidArgument, fmt::format("tar: {}", archive_error_string(a)));
    }
    for (;;) {
      struct archive_entry* e = nullptr;
      int rc = archive_read_next_header(a, &e);
      if (rc == ARCHIVE_EOF) break;
      if (ctx.failed) return fail(std::move(ctx.err));
      if (rc < ARCHIVE_WARN) {
        const char* msg = archive_error_string(a);
        return fail(Errc::InvalidArgument, fmt::format("tar: {}", msg ? msg : "invalid archive"));
      }
      if (auto s = entry(a, e); !s) {
        if (ctx.failed) return fail(std::move(ctx.err));
        return fail(std::move(s.error()));
      }
    }
    // Directory times last: creating children changed them.
    for (auto it = dir_times_.rbegin(); it != dir_times_.rend(); ++it) {
      auto fd = open_in_root(root_, it->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      if (fd) ::futimens(fd->get(), it->ts);
    }
    return stats_;
  }

 private:
  // Parent directories are resolved once and cached (tars list siblings together); the cache
  // is dropped whenever the tree changes shape (removal, symlink), so a resolution never goes
  // stale.
  Result<UniqueFd> parent_fd(const std::string& d) {
    if (d == cached_dir_ && cached_fd_) {
      int fd = ::fcntl(cached_fd_.get(), F_DUPFD_CLOEXEC, 0);
      if (fd < 0) return fail_errno("dup");
      return UniqueFd(fd);
    }
    UniqueFd fd;
    if (d.empty()) {
      fd.reset(::openat(root_.get(), ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (!fd) return fail_errno("open", dir_);
    } else {
      fd = TRYC(mkdir_all_in_root(root_, d, 0755), fmt::format("create parent of {}", d));
    }
    cached_fd_.reset(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0));
    cached_dir_ = d;
    return fd;
  }
  void drop_cache() {
    cached_fd_.reset();
    cached_dir_.clear();
  }

  Status entry(struct archive* a, struct archive_entry* e) {
    ++stats_.entries;
    if (opts_.max_entries && stats_.entries > opts_.max_entries)
      return fail(Errc::InvalidArgument, "layer has too many entries");
    const char* rawname = archive_entry_pathname(e);
    if (!rawname) return fail(Errc::InvalidArgument, "tar entry without a name");
    std::string name = TRY(confine_name(rawname));
    mode_t type = archive_entry_filetype(e);
    const char* hl = archive_entry_hardlink(e);

    if (name.empty()) {  // "./": the root itself; only its metadata.
      if (type == AE_IFDIR) return set_meta_dir(".", e);
      return ok();
    }
    auto [d, base] = split_dir(name);

    // Whiteouts.
    if (base.starts_with(kWhPrefix)) {
      drop_cache();
      UniqueFd pfd = TRY(parent_fd(d));
      if (base == kWhOpaque) {
        if (opts_.whiteouts == WhiteoutMode::Overlay) {
          UniqueFd dfd(::openat(pfd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
          if (!dfd) return fail_errno("open opaque dir", d);
          if (::fsetxattr(dfd.get(), "trusted.overlay.opaque", "y", 1, 0) != 0)
            return fail_errno("set opaque xattr on", d);
        } else {
          TRY(clear_dir_except_written(pfd.get(), d));
        }
        return ok();
      }
      if (base.starts_with(kWhMeta)) return ok();  // aufs metadata (.wh..wh.plnk, ...)
      std::string target = base.substr(kWhPrefix.size());
      if (target.empty() || target == "." || target == "..")
        return fail(Errc::InvalidArgument, fmt::format("invalid whiteout {}", rawname));
      if (opts_.whiteouts == WhiteoutMode::Overlay) {
        TRY(remove_at(pfd.get(), target));
        if (::mknodat(pfd.get(), target.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0)
          return fail_errno("create whiteout", name);
        if (is_root_ && opts_.preserve_owner)
          ::fchownat(pfd.get(), target.c_str(), uid_of(e),
                     gid_of(e), AT_SYMLINK_NOFOLLOW);
      } else {
        TRY(remove_at(pfd.get(), target));
      }
      return ok();
    }

    UniqueFd pfd = TRY(parent_fd(d));
    written_.insert(name);
    const int bfd = pfd.get();
    const char* b = base.c_str();
    mode_t perm = archive_entry_perm(e);

    // Replace whatever is there, except a directory by a directory.
    struct stat st {};
    bool exists = ::fstatat(bfd, b, &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (exists && opts_.no_overwrite_dir_nondir) {
      bool new_dir = type == AE_IFDIR && !(hl && *hl);
      if (S_ISDIR(st.st_mode) && !new_dir)
        return fail(Errc::InvalidArgument,
                    fmt::format("cannot overwrite directory \"{}\" with non-directory \"{}\"", name, name));
      if (!S_ISDIR(st.st_mode) && new_dir)
        return fail(Errc::InvalidArgument,
                    fmt::format("cannot overwrite non-directory \"{}\" with directory \"{}\"", name, name));
    }
    if (exists && !(type == AE_IFDIR && S_ISDIR(st.st_mode) && !hl)) {
      if (S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode)) drop_cache();
      TRY(remove_at(bfd, base));
    }

    if (hl && *hl) {
      std::string tgt = TRY(confine_name(hl));
      if (tgt.empty()) return fail(Errc::InvalidArgument, fmt::format("hardlink {} to the root", name));
      auto src = open_in_root(root_, tgt, O_PATH | O_NOFOLLOW);
      if (!src)
        return fail(Errc::PermissionDenied,
                    fmt::format("refusing hardlink {} -> {}: target not inside the layer: {}", name,
                                hl, src.error().message()));
      struct stat ts {};
      if (::fstat(src->get(), &ts) != 0) return fail_errno("stat hardlink target", tgt);
      if (S_ISDIR(ts.st_mode))
        return fail(Errc::PermissionDenied, fmt::format("refusing hardlink {} to a directory", name));
      std::string proc = fmt::format("/proc/self/fd/{}", src->get());
      if (::linkat(AT_FDCWD, proc.c_str(), bfd, b, AT_SYMLINK_FOLLOW) != 0)
        return fail_errno("hardlink", name);
      return ok();
    }

    switch (type) {
      case AE_IFREG: {
        UniqueFd f(::openat(bfd, b, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!f) return fail_errno("create", name);
        TRY(copy_data(a, f.get(), name, archive_entry_size(e)));
        TRY(set_owner(bfd, b, e));
        if (::fchmod(f.get(), perm) != 0) return fail_errno("chmod", name);
        TRY(set_xattrs(f.get(), e, name));
        struct timespec ts[2] = {{archive_entry_atime(e), archive_entry_atime_nsec(e)},
                                 {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
        if (!archive_entry_atime_is_set(e)) ts[0] = ts[1];
        ::futimens(f.get(), ts);
        return ok();
      }
      case AE_IFDIR: {
        if (!exists || !S_ISDIR(st.st_mode)) {
          if (::mkdirat(bfd, b, 0700) != 0) return fail_errno("mkdir", name);
        }
        return set_meta_dir(name, e);
      }
      case AE_IFLNK: {
        const char* target = archive_entry_symlink(e);
        if (!target) return fail(Errc::InvalidArgument, fmt::format("symlink {} without target", name));
        drop_cache();
        if (::symlinkat(target, bfd, b) != 0) return fail_errno("symlink", name);
        TRY(set_owner(bfd, b, e));
        struct timespec ts[2] = {{archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
                                 {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
        ::utimensat(bfd, b, ts, AT_SYMLINK_NOFOLLOW);
        return ok();
      }
      case AE_IFCHR:
      case AE_IFBLK:
      case AE_IFIFO: {
        dev_t dev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
        if (::mknodat(bfd, b, type | perm, type == AE_IFIFO ? 0 : dev) != 0)
          return fail_errno("mknod", name);
        TRY(set_owner(bfd, b, e));
        ::fchmodat(bfd, b, perm, 0);
        struct timespec ts[2] = {{archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
                                 {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
        ::utimensat(bfd, b, ts, AT_SYMLINK_NOFOLLOW);
        return ok();
      }
      case AE_IFSOCK:
        return ok();  // sockets are not meaningful in a layer: skipped, as Docker does
      default:
        return fail(Errc::InvalidArgument, fmt::format("unsupported tar entry type {:o} for {}",
                                                       static_cast<unsigned>(type), name));
    }
  }

  Status copy_data(struct archive* a, int fd, const std::string& name, la_int64_t size) {
    const void* buf;
    size_t len;
    la_int64_t off;
    for (;;) {
      int rc = archive_read_data_block(a, &buf, &len, &off);
      if (rc == ARCHIVE_EOF) break;
      if (rc < ARCHIVE_WARN)
        return fail(Errc::InvalidArgument,
                    fmt::format("tar: reading {}: {}", name, archive_error_string(a)));
      stats_.bytes += len;
      if (opts_.max_bytes && stats_.bytes > opts_.max_bytes)
        return fail(Errc::InvalidArgument,
                    fmt::format("layer exceeds the size limit of {} bytes", opts_.max_bytes));
      const char* p = static_cast<const char*>(buf);
      while (len > 0) {
        ssize_t w = ::pwrite(fd, p, len, off);
        if (w < 0) {
          if (errno == EINTR) continue;
          return fail_errno("write", name);
        }
        p += w;
        off += w;
        len -= static_cast<size_t>(w);
      }
    }
    if (::ftruncate(fd, size) != 0) return fail_errno("truncate", name);  // sparse tails
    return ok();
  }

  uid_t uid_of(struct archive_entry* e) const {
    return static_cast<uid_t>(opts_.chown_uid >= 0 ? opts_.chown_uid : archive_entry_uid(e));
  }
  gid_t gid_of(struct archive_entry* e) const {
    return static_cast<gid_t>(opts_.chown_gid >= 0 ? opts_.chown_gid : archive_entry_gid(e));
  }

  Status set_owner(int dfd, const char* b, struct archive_entry* e) {
    if (!is_root_ || !opts_.preserve_owner) return ok();
    if (::fchownat(dfd, b, uid_of(e),
                   gid_of(e), AT_SYMLINK_NOFOLLOW) != 0)
      return fail_errno("chown", b);
    return ok();
  }

  Status set_xattrs(int fd, struct archive_entry* e, const std::string& name) {
    if (archive_entry_xattr_reset(e) == 0) return ok();
    const char* key;
    const void* val;
    size_t sz;
    while (archive_entry_xattr_next(e, &key, &val, &sz) == ARCHIVE_OK) {
      std::string_view k(key);
      if (k.starts_with("trusted.overlay.")) continue;  // would forge whiteouts/redirects
      if (::fsetxattr(fd, key, val, sz, 0) != 0) {
        if (errno == ENOTSUP || errno == EPERM) continue;
        return fail_errno(fmt::format("set xattr {} on", key), name);
      }
    }
    return ok();
  }

  Status set_meta_dir(const std::string& name, struct archive_entry* e) {
    auto fd = TRY(open_in_root(root_, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
    if (is_root_ && opts_.preserve_owner &&
        ::fchown(fd.get(), uid_of(e),
                 gid_of(e)) != 0)
      return fail_errno("chown", name);
    if (::fchmod(fd.get(), archive_entry_perm(e)) != 0) return fail_errno("chmod", name);
    TRY(set_xattrs(fd.get(), e, name));
    DirTime t{name == "." ? "" : name, {}};
    t.ts[1] = {archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
    t.ts[0] = archive_entry_atime_is_set(e)
                  ? timespec{archive_entry_atime(e), archive_entry_atime_nsec(e)}
                  : t.ts[1];
    dir_times_.push_back(std::move(t));
    return ok();
  }

  // Opaque directory on a full copy: drop what lower layers put there.
  Status clear_dir_except_written(int pfd, const std::string& d) {
    UniqueFd dfd(::openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dfd) return fail_errno("open", d);
    DIR* dir = ::fdopendir(::dup(dfd.get()));
    if (!dir) return fail_errno("opendir", d);
    std::vector<std::string> names;
    while (auto* de = ::readdir(dir)) {
      std::string n = de->d_name;
      if (n == "." || n == "..") continue;
      std::string full = d.empty() ? n : d + "/" + n;
      if (!written_.count(full)) names.push_back(n);
    }
    ::closedir(dir);
    for (auto& n : names) TRY(remove_at(dfd.get(), n));
    return ok();
  }

  std::string dir_;
  std::string cached_dir_;
  UniqueFd cached_fd_;
  ApplyOptions opts_;
  UniqueFd root_;
  bool is_root_ = false;
  ApplyStats stats_;
  std::set<std::string> written_;
  std::vector<DirTime> dir_times_;
};

}  // namespace

Status remove_at(int dirfd, const std::string& name) {
  struct stat st {};
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return ok();
    return fail_errno("stat", name);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlinkat(dirfd, name.c_str(), 0) != 0 && errno != ENOENT) return fail_errno("unlink", name);
    return ok();
  }
  UniqueFd d(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!d) return fail_errno("open", name);
  DIR* dir = ::fdopendir(::dup(d.get()));
  if (!dir) return fail_errno("opendir", name);
  std::vector<std::string> names;
  while (auto* de = ::readdir(dir)) {
    std::string n = de->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  ::closedir(dir);
  for (auto& n : names) TRY(remove_at(d.get(), n));
  if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
    return fail_errno("rmdir", name);
  return ok();
}

Result<ApplyStats> apply_tar(Reader& in, const std::string& dir, const ApplyOptions& opts) {
  Extractor x(dir, opts);
  return x.run(in);
}

}  // namespace berth::storage
