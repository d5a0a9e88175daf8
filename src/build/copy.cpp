// SPDX-License-Identifier: Apache-2.0
#include "build/copy.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "builder/dockerignore.hpp"
#include "builder/gomatch.hpp"
#include "common/file.hpp"
#include "common/path.hpp"
#include "common/strings.hpp"
#include "common/unique_fd.hpp"
#include "storage/reader.hpp"
#include "storage/tar_apply.hpp"

namespace berth::build {

namespace {

bool has_meta(std::string_view s) { return s.find_first_of("*?[\\") != std::string_view::npos; }

std::string rel_clean(const std::string& p) {
  std::string r = builder::go_clean_path("/" + p);
  r.erase(0, 1);
  return r;  // "" = the root itself
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (auto* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    out.emplace_back(e->d_name);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

struct Ctx {
  const std::string& rootfs;
  const CopyOptions& opts;
  std::vector<std::string> exclude;
};

std::string image_join(const std::string& a, const std::string& b) {
  if (b.empty()) return a;
  if (a.empty() || a == "/") return "/" + b;
  return a + "/" + b;
}

Status ensure_parent(const Ctx& c, const std::string& image_path) {
  std::string parent = dirname(image_path);
  if (parent.empty() || parent == "/" || parent == ".") return ok();
  (void)TRY(make_dir_in(c.rootfs, parent));
  return ok();
}

Status set_meta(const std::string& path, const struct stat& st, const Ctx& c, bool is_link) {
  uid_t uid = c.opts.uid.value_or(0);
  gid_t gid = c.opts.gid.value_or(c.opts.uid ? static_cast<gid_t>(*c.opts.uid) : 0);
  if (c.opts.uid && !c.opts.gid) gid = static_cast<gid_t>(*c.opts.uid);
  if (::lchown(path.c_str(), uid, gid) != 0 && errno != EPERM) return fail_errno("chown", path);
  if (!is_link) {
    mode_t m = c.opts.chmod ? *c.opts.chmod : (st.st_mode & 07777);
    if (::chmod(path.c_str(), m) != 0) return fail_errno("chmod", path);
  }
  timespec ts[2] = {st.st_atim, st.st_mtim};
  ::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW);
  return ok();
}

Status copy_file_data(const std::string& from, const std::string& to) {
  UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!in) return fail_errno("open", from);
  UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!out) return fail_errno("create", to);
  for (;;) {
    ssize_t n = ::copy_file_range(in.get(), nullptr, out.get(), nullptr, 1 << 30, 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
        char buf[1 << 16];
        for (;;) {
          ssize_t k = ::read(in.get(), buf, sizeof buf);
          if (k < 0 && errno == EINTR) continue;
          if (k < 0) return fail_errno("read", from);
          if (k == 0) break;
          TRY(write_all(out.get(), std::string_view(buf, static_cast<std::size_t>(k))));
        }
        break;
      }
      return fail_errno("copy", to);
    }
  }
  return ok();
}

bool excluded(const Ctx& c, const std::string& rel) {
  for (const auto& p : c.exclude) {
    auto m = builder::dockerignore_matches(rel, {p});
    if (m && *m) return true;
  }
  return false;
}

// Copies the entry at host path `src` (already lstat'ed into st) to image path `dst`.
Status copy_entry(const Ctx& c, const std::string& src, const struct stat& st, const std::string& dst,
                  const std::string& rel_for_exclude) {
  if (!rel_for_exclude.empty() && excluded(c, rel_for_exclude)) return ok();
  TRY(ensure_parent(c, dst));
  // Parent resolved inside the root; the final component is created here, never followed.
  std::string host = TRY(secure_join(c.rootfs, dirname(dst))) + "/" + basename(dst);
  struct stat cur {};
  bool exists = ::lstat(host.c_str(), &cur) == 0;
  if (S_ISDIR(st.st_mode)) {
    if (exists && !S_ISDIR(cur.st_mode)) {
      if (::unlink(host.c_str()) != 0) return fail_errno("remove", host);
      exists = false;
    }
    if (!exists && ::mkdir(host.c_str(), 0755) != 0) return fail_errno("mkdir", host);
    for (const auto& name : list_dir(src)) {
      struct stat cst {};
      std::string cs = src + "/" + name;
      if (::lstat(cs.c_str(), &cst) != 0) return fail_errno("lstat", cs);
      TRY(copy_entry(c, cs, cst, dst + "/" + name, rel_for_exclude.empty() ? "" : rel_for_exclude + "/" + name));
    }
    return set_meta(host, st, c, false);
  }
  if (exists) {
    if (S_ISDIR(cur.st_mode)) {
      int dfd = ::open(dirname(host).c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
      if (dfd >= 0) {
        (void)storage::remove_at(dfd, basename(host));
        ::close(dfd);
      }
    } else if (::unlink(host.c_str()) != 0) {
      return fail_errno("remove", host);
    }
  }
  if (S_ISLNK(st.st_mode)) {
    char buf[4096];
    ssize_t n = ::readlink(src.c_str(), buf, sizeof buf - 1);
    if (n < 0) return fail_errno("readlink", src);
    if (::symlink(std::string(buf, static_cast<std::size_t>(n)).c_str(), host.c_str()) != 0)
      return fail_errno("symlink", host);
    return set_meta(host, st, c, true);
  }
  if (S_ISREG(st.st_mode)) {
    TRY(copy_file_data(src, host));
    return set_meta(host, st, c, false);
  }
  if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISSOCK(st.st_mode)) {
    if (S_ISSOCK(st.st_mode)) return ok();
    if (::mknod(host.c_str(), st.st_mode, st.st_rdev) != 0) return fail_errno("mknod", host);
    return set_meta(host, st, c, false);
  }
  return ok();
}

// True if the file is a tar archive (after gzip/zstd decompression).
bool is_archive(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  auto r = storage::decompressed(storage::fd_reader(fd.get()));
  if (!r) return false;
  char hdr[512];
  std::size_t got = 0;
  while (got < sizeof hdr) {
    auto n = (*r)->read(hdr + got, sizeof hdr - got);
    if (!n || *n == 0) break;
    got += *n;
  }
  if (got < sizeof hdr) return false;
  return std::memcmp(hdr + 257, "ustar", 5) == 0;
}

Status extract_archive(const Ctx& c, const std::string& src, const std::string& dest_dir) {
  (void)TRY(make_dir_in(c.rootfs, dest_dir));
  std::string host = TRY(secure_join(c.rootfs, dest_dir));
  UniqueFd fd(::open(src.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail_errno("open", src);
  auto r = TRY(storage::decompressed(storage::fd_reader(fd.get())));
  storage::ApplyOptions ao;
  ao.whiteouts = storage::WhiteoutMode::Delete;
  (void)TRY(storage::apply_tar(*r, host, ao));
  return ok();
}

}  // namespace

Result<std::vector<std::string>> expand_sources(const std::string& src_root, const std::string& pattern) {
  std::string rel = rel_clean(pattern);
  if (!has_meta(rel)) {
    std::string host = TRY(secure_join(src_root, rel));
    struct stat st {};
    if (::lstat(host.c_str(), &st) != 0) return fail(Errc::NotFound, "\"/" + rel + "\": not found");
    return std::vector<std::string>{rel};
  }
  std::vector<std::string> cur{""};
  for (const auto& comp : split(rel, '/')) {
    std::vector<std::string> next;
    for (const auto& base : cur) {
      if (!has_meta(comp)) {
        std::string cand = base.empty() ? comp : base + "/" + comp;
        struct stat st {};
        if (::lstat((src_root + "/" + cand).c_str(), &st) == 0) next.push_back(cand);
        continue;
      }
      for (const auto& name : list_dir(src_root + (base.empty() ? "" : "/" + base))) {
        if (TRY(builder::go_filepath_match(comp, name))) next.push_back(base.empty() ? name : base + "/" + name);
      }
    }
    cur = std::move(next);
  }
  std::sort(cur.begin(), cur.end());
  return cur;
}

Result<bool> make_dir_in(const std::string& rootfs, const std::string& path, std::optional<uid_t> uid,
                         std::optional<gid_t> gid) {
  std::string p = clean_path("/" + path);
  bool created = false;
  std::string sofar;
  for (const auto& comp : split(p, '/')) {
    if (comp.empty()) continue;
    sofar += "/" + comp;
    std::string host = TRY(secure_join(rootfs, sofar));
    struct stat st {};
    if (::stat(host.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) return fail(Errc::InvalidArgument, "mkdir " + sofar + ": not a directory");
      continue;
    }
    // The resolved path may lie deeper (an absolute symlink resolved inside the root).
    if (::mkdir(host.c_str(), 0755) != 0 && errno != EEXIST) {
      if (errno != ENOENT) return fail_errno("mkdir", sofar);
      TRY(mkdir_all(host, 0755));
    }
    if (uid || gid) {
      if (::lchown(host.c_str(), uid.value_or(0), gid.value_or(static_cast<gid_t>(uid.value_or(0)))) != 0)
        return fail_errno("chown", sofar);
    }
    created = true;
  }
  return created;
}

Status copy_into(const std::string& src_root, const std::vector<std::string>& sources, const std::string& dest_in,
                 const std::string& workdir, const std::string& rootfs, const CopyOptions& opts) {
  Ctx c{rootfs, opts, opts.exclude};
  std::string dest = dest_in;
  bool dest_dir_syntax = !dest.empty() && (dest.back() == '/' || dest == "." || dest == "..");
  if (dest.size() >= 2 && dest.compare(dest.size() - 2, 2, "/.") == 0) dest_dir_syntax = true;
  if (dest.empty() || dest[0] != '/') dest = image_join(workdir.empty() ? "/" : workdir, dest);
  dest = clean_path(dest);
  std::vector<std::pair<std::string, std::string>> items;  // (pattern, rel)
  for (const auto& s : sources) {
    auto ex = expand_sources(src_root, s);
    if (!ex) return fail(Errc::NotFound, "failed to compute cache key: " + ex.error().message());
    for (auto& r : *ex) items.emplace_back(s, r);
  }
  if ((items.size() > 1 || sources.size() > 1) && !dest_dir_syntax) {
    std::string dhost = TRY(secure_join(rootfs, dest));
    struct stat st {};
    if (!(::stat(dhost.c_str(), &st) == 0 && S_ISDIR(st.st_mode)))
      return fail(Errc::InvalidArgument,
                  "When using COPY with more than one source file, the destination must be a directory and end with a /");
  }
  auto dest_is_dir = [&]() -> bool {
    if (dest_dir_syntax) return true;
    auto h = secure_join(rootfs, dest);
    struct stat st {};
    return h && ::stat(h->c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  };
  bool multi = items.size() > 1;
  for (const auto& [pattern, rel] : items) {
    std::string host = TRY(secure_join(src_root, rel));
    struct stat st {};
    if (::stat(host.c_str(), &st) != 0) return fail_errno("stat", "/" + rel);
    std::string rel_dir = rel;  // path used below dest with --parents
    if (S_ISDIR(st.st_mode)) {
      std::string target = opts.parents && !rel.empty() ? image_join(dest, rel) : dest;
      bool created = TRY(make_dir_in(rootfs, target, opts.uid, opts.gid));
      (void)created;
      for (const auto& name : list_dir(host)) {
        struct stat cst {};
        std::string cs = host + "/" + name;
        if (::lstat(cs.c_str(), &cst) != 0) return fail_errno("lstat", cs);
        TRY(copy_entry(c, cs, cst, image_join(target, name), rel.empty() ? name : rel + "/" + name));
      }
      continue;
    }
    if (opts.extract_archives && S_ISREG(st.st_mode) && is_archive(host)) {
      TRY(extract_archive(c, host, dest));
      continue;
    }
    std::string target;
    if (opts.parents) target = image_join(dest, rel);
    else if (multi || dest_is_dir()) target = image_join(dest, basename(rel));
    else target = dest;
    if (dest_dir_syntax || multi) (void)TRY(make_dir_in(rootfs, dest, opts.uid, opts.gid));
    TRY(copy_entry(c, host, st, target, ""));
  }
  return ok();
}

Status write_into(const std::string& content_path, const std::string& name, const std::string& dest_in,
                  const std::string& workdir, const std::string& rootfs, const CopyOptions& opts, mode_t mode) {
  Ctx c{rootfs, opts, {}};
  std::string dest = dest_in;
  bool dir_syntax = !dest.empty() && dest.back() == '/';
  if (dest.empty() || dest[0] != '/') dest = image_join(workdir.empty() ? "/" : workdir, dest);
  dest = clean_path(dest);
  auto h = TRY(secure_join(rootfs, dest));
  struct stat st {};
  if (dir_syntax || (::stat(h.c_str(), &st) == 0 && S_ISDIR(st.st_mode))) {
    (void)TRY(make_dir_in(rootfs, dest, opts.uid, opts.gid));
    dest = image_join(dest, name);
  }
  struct stat src {};
  if (::stat(content_path.c_str(), &src) != 0) return fail_errno("stat", content_path);
  src.st_mode = (src.st_mode & ~07777) | mode;
  return copy_entry(c, content_path, src, dest, "");
}

Result<mode_t> parse_chmod(const std::string& s) {
  if (s.empty() || s.size() > 4 || s.find_first_not_of("01234567") != std::string::npos)
    return fail(Errc::InvalidArgument, "invalid chmod parameter: " + s + " (only octal modes are supported)");
  return static_cast<mode_t>(std::stoul(s, nullptr, 8));
}

namespace {
std::optional<std::vector<std::string>> find_entry(const std::string& file, const std::string& key, bool by_id) {
  auto text = read_file(file);
  if (!text) return std::nullopt;
  for (const auto& line : split(*text, '\n')) {
    auto f = split(line, ':');
    if (f.size() < 3) continue;
    if ((by_id ? f[2] : f[0]) == key) return f;
  }
  return std::nullopt;
}
bool numeric(const std::string& s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos; }
}  // namespace

Result<std::pair<uid_t, gid_t>> resolve_chown(const std::string& rootfs, const std::string& spec) {
  auto colon = spec.find(':');
  std::string u = spec.substr(0, colon), g = colon == std::string::npos ? "" : spec.substr(colon + 1);
  std::string passwd = TRY(secure_join(rootfs, "/etc/passwd"));
  std::string group = TRY(secure_join(rootfs, "/etc/group"));
  uid_t uid = 0;
  gid_t gid = 0;
  if (numeric(u)) {
    uid = static_cast<uid_t>(std::stoul(u));
    gid = static_cast<gid_t>(uid);
  } else {
    auto e = find_entry(passwd, u, false);
    if (!e || e->size() < 4) return fail(Errc::InvalidArgument, "unable to find user " + u + ": no matching entries in passwd file");
    uid = static_cast<uid_t>(std::stoul((*e)[2]));
    gid = static_cast<gid_t>(std::stoul((*e)[3]));
  }
  if (colon == std::string::npos) {
    if (numeric(u)) gid = static_cast<gid_t>(uid);
  } else if (numeric(g)) {
    gid = static_cast<gid_t>(std::stoul(g));
  } else {
    auto e = find_entry(group, g, false);
    if (!e) return fail(Errc::InvalidArgument, "unable to find group " + g + ": no matching entries in group file");
    gid = static_cast<gid_t>(std::stoul((*e)[2]));
  }
  return std::make_pair(uid, gid);
}

}  // namespace berth::build
