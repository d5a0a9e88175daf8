// SPDX-License-Identifier: Apache-2.0
// Container filesystem endpoints: HEAD/GET/PUT /containers/{id}/archive (docker cp both ways),
// GET /containers/{id}/changes (docker diff) and /export (docker export).
//
// Paths are resolved inside the container's root filesystem with openat2(RESOLVE_IN_ROOT)
// (common/path.hpp): the directory part follows symlinks as the container would see them, the
// last component is never followed unless the path ends in "/" or "/.", and nothing can lead
// outside the rootfs. A running container's rootfs mount is used as is; a stopped one's layers
// are mounted on a private directory for the duration of the request (holding the container's
// operation lock, so it cannot start meanwhile). As in dockerd, volumes and bind mounts are
// part of that view: when the container has any, the rootfs is bound on a private directory and
// each mount's source is bound at its destination (missing mount points are created, read-only
// mounts stay read-only), so `docker cp` reads and writes through them. tmpfs mounts are not
// (dockerd does not see them either).
#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <set>

#include "common/base64.hpp"
#include "common/file.hpp"
#include "common/mount_guard.hpp"
#include "common/path.hpp"
#include "common/strings.hpp"
#include "daemon/container_volumes.hpp"
#include "daemon/routes.hpp"
#include "daemon/spec.hpp"
#include "storage/reader.hpp"
#include "storage/tar_apply.hpp"
#include "storage/tar_write.hpp"

namespace berth::daemon {

namespace {

// Binds `m` (a volume or bind mount) at its destination inside the view whose root is root_fd.
Status bind_into_view(int root_fd, const MountPoint& m) {
  std::string source = m.source;
  if (m.type == "volume" && !m.subpath.empty()) source = TRY(secure_join(m.source, m.subpath));
  struct stat sst {};
  if (source.empty() || ::stat(source.c_str(), &sst) != 0) return ok();  // nothing to show there
  auto dest = open_in_root(root_fd, m.destination, O_PATH);
  if (!dest && dest.error().is(Errc::NotFound)) {
    // The runtime creates missing mount points at start; so does this view.
    if (S_ISDIR(sst.st_mode)) {
      dest = mkdir_all_in_root(root_fd, m.destination);
    } else {
      std::string dir = m.destination.substr(0, m.destination.rfind('/') + 1);
      std::string base = m.destination.substr(dir.size());
      auto parent = TRY(mkdir_all_in_root(root_fd, dir.empty() ? "/" : dir));
      UniqueFd f(::openat(parent.get(), base.c_str(), O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644));
      if (!f) return fail_errno("create mount point", m.destination);
      dest = open_in_root(root_fd, m.destination, O_PATH | O_NOFOLLOW);
    }
  }
  if (!dest) return fail(std::move(dest).error().context("mount point " + m.destination));
  std::string at = "/proc/self/fd/" + std::to_string(dest->get());
  if (::mount(source.c_str(), at.c_str(), nullptr, MS_BIND | (m.non_recursive ? 0 : MS_REC), nullptr) != 0)
    return fail_errno("bind " + source + " on", m.destination);
  if (!m.rw) {
    // The new mount is what the path leads to now.
    auto top = TRY(open_in_root(root_fd, m.destination, O_PATH | O_NOFOLLOW));
    std::string t = "/proc/self/fd/" + std::to_string(top.get());
    if (::mount(nullptr, t.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0)
      return fail_errno("remount read-only", m.destination);
  }
  return ok();
}

// The container's root filesystem for the length of one request.
class RootfsView {
 public:
  static Result<std::unique_ptr<RootfsView>> open(Daemon& d, const std::shared_ptr<Container>& c) {
    auto v = std::unique_ptr<RootfsView>(new RootfsView());
    // a copy into a container made ahead of its start would come after its user and mounts
    // were resolved: the start makes it anew
    d.drop_prepared(c);
    bool mounted;
    {
      std::lock_guard lk(d.mu);
      mounted = c->rootfs_mounted;
    }
    if (!mounted) {
      // Stopped: hold the operation lock so the container cannot start while its upper dir is
      // mounted here too, then look again.
      v->op_ = std::unique_lock(c->op);
      std::lock_guard lk(d.mu);
      mounted = c->rootfs_mounted;
    }
    std::vector<MountPoint> mps;
    if (auto all = d.mount_points(*c))
      for (auto& m : *all)
        if (m.type == "volume" || m.type == "bind") mps.push_back(std::move(m));
    std::string path = d.bundle_dir(c->id) + "/rootfs";
    if (!mounted || !mps.empty()) {
      std::string base = d.config().exec_root + "/tmp";
      TRY(mkdir_all(base, 0700));
      std::string tmpl = base + "/rootfs-XXXXXX";
      if (!::mkdtemp(tmpl.data())) return fail_errno("mkdtemp", tmpl);
      v->dir_ = tmpl;
      if (!mounted) {
        auto mounts = TRY(d.images().prepare_rootfs(c->image_id, c->id));
        for (const auto& m : mounts) {
          std::string data = join(m.options, ",");
          bool bind = m.type == "bind";
          v->mount_ = TRY(mount_guarded(m.source, tmpl, m.type.c_str(), bind ? MS_BIND | MS_REC : 0,
                                        bind ? nullptr : data.c_str()));
        }
      } else {
        v->mount_ = TRY(mount_guarded(path, tmpl, nullptr, MS_BIND, nullptr));
      }
      path = tmpl;
    }
    v->root_.reset(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!v->root_) return fail_errno("open container rootfs", path);
    v->path_ = path;
    if (!mps.empty()) {
      // Nothing mounted below the view may propagate to the container's own rootfs.
      if (::mount(nullptr, path.c_str(), nullptr, MS_PRIVATE, nullptr) != 0) return fail_errno("make private", path);
      // Parents before children, as the runtime mounts them.
      std::stable_sort(mps.begin(), mps.end(), [](const MountPoint& a, const MountPoint& b) {
        return std::count(a.destination.begin(), a.destination.end(), '/') <
               std::count(b.destination.begin(), b.destination.end(), '/');
      });
      for (const auto& m : mps) TRY(bind_into_view(v->root_.get(), m));
      v->mps_ = std::move(mps);
      // The root fd must see the mounts: reopen it above them.
      v->root_.reset(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (!v->root_) return fail_errno("open container rootfs", path);
    }
    return v;
  }
  ~RootfsView() {
    root_.reset();
    mount_ = MountGuard();  // MNT_DETACH: the binds below it go too
    if (!dir_.empty()) ::rmdir(dir_.c_str());
  }
  int fd() const { return root_.get(); }
  const std::string& path() const { return path_; }
  // The volume or bind mount that holds `abs` (a resolved path in the container), if any.
  const MountPoint* mount_of(const std::string& abs) const {
    const MountPoint* best = nullptr;
    for (const auto& m : mps_) {
      const std::string& dst = m.destination;
      bool under = abs == dst || dst == "/" || (abs.size() > dst.size() && abs.compare(0, dst.size(), dst) == 0 && abs[dst.size()] == '/');
      if (under && (!best || dst.size() > best->destination.size())) best = &m;
    }
    return best;
  }

 private:
  RootfsView() = default;
  std::unique_lock<std::mutex> op_;
  std::string dir_;
  MountGuard mount_;
  UniqueFd root_;
  std::string path_;
  std::vector<MountPoint> mps_;
};

// The requested path split as moby's ResolvePath does: absolute, cleaned, keeping a trailing
// "/" or "/." (which mean "the directory itself, following a symlink" / "its content").
struct SplitPath {
  std::string abs;   // "/etc/." "/etc" "/"
  std::string dir;   // directory part, resolved following symlinks
  std::string base;  // last component, never followed; "" or "." when the path names dir itself
  std::string name;  // Go's filepath.Base(abs): the name entries are rebased to
};

SplitPath split_path(const std::string& raw) {
  SplitPath s;
  std::string p = raw.empty() ? "/" : raw;
  bool dot = p.size() >= 2 && p.compare(p.size() - 2, 2, "/.") == 0;
  bool slash = p.back() == '/';
  s.abs = berth::clean_path("/" + p);
  if (dot && s.abs != "/") s.abs += "/.";
  else if (slash && s.abs != "/") s.abs += "/";
  auto cut = s.abs.rfind('/');
  s.dir = s.abs.substr(0, cut + 1);
  s.base = s.abs.substr(cut + 1);
  std::string trimmed = s.abs;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  s.name = trimmed == "/" ? "/" : trimmed.substr(trimmed.rfind('/') + 1);
  return s;
}

// Go's os.FileMode bits from a stat mode.
std::uint32_t go_mode(mode_t m) {
  std::uint32_t g = m & 0777;
  if (S_ISDIR(m)) g |= 1u << 31;
  if (S_ISLNK(m)) g |= 1u << 27;
  if (S_ISFIFO(m)) g |= 1u << 25;
  if (S_ISSOCK(m)) g |= 1u << 24;
  if (S_ISBLK(m)) g |= 1u << 26;
  if (S_ISCHR(m)) g |= (1u << 26) | (1u << 21);
  if (m & S_ISUID) g |= 1u << 23;
  if (m & S_ISGID) g |= 1u << 22;
  if (m & S_ISVTX) g |= 1u << 20;
  return g;
}

std::string rfc3339_nano(const timespec& ts) {
  struct tm tm {};
  time_t t = ts.tv_sec;
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  if (ts.tv_nsec) {
    char frac[16];
    std::snprintf(frac, sizeof frac, ".%09ld", ts.tv_nsec);
    std::string f = frac;
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  return out + "Z";
}

struct Resolved {
  UniqueFd parent;    // O_PATH directory holding the entry
  std::string entry;  // name in parent ("." for the directory itself)
  struct stat st {};
  json stat_json;
};

Error not_found(const std::string& path, const std::string& cname) {
  return Error(Errc::NotFound, "Could not find the file " + path + " in container " + cname);
}

Result<Resolved> resolve(const RootfsView& v, const std::string& raw, const std::string& cname) {
  SplitPath sp = split_path(raw);
  Resolved r;
  auto parent = open_in_root(v.fd(), sp.dir, O_PATH | O_DIRECTORY);
  if (!parent) {
    if (parent.error().is(Errc::NotFound) || parent.error().sys_errno() == ENOTDIR) return fail(not_found(raw, cname));
    return fail(std::move(parent).error());
  }
  r.parent = std::move(*parent);
  r.entry = sp.base.empty() ? "." : sp.base;
  if (::fstatat(r.parent.get(), r.entry.c_str(), &r.st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return fail(not_found(raw, cname));
    return fail_errno("stat", raw);
  }
  std::string link;
  if (S_ISLNK(r.st.st_mode)) {
    // Where it leads, as a path inside the container.
    std::string joined = sp.dir + sp.base;
    if (auto t = open_in_root(v.fd(), joined, O_PATH)) {
      auto full = fd_path(t->get());
      auto root = fd_path(v.fd());
      if (full && root && full->rfind(*root, 0) == 0) {
        link = full->substr(root->size());
        if (link.empty()) link = "/";
      }
    }
    if (link.empty()) {
      char buf[4096];
      ssize_t k = ::readlinkat(r.parent.get(), r.entry.c_str(), buf, sizeof buf - 1);
      if (k > 0) link = berth::clean_path(buf[0] == '/' ? std::string(buf, k) : sp.dir + std::string(buf, k));
    }
  }
  r.stat_json = {{"name", sp.name},
                 {"size", static_cast<std::int64_t>(r.st.st_size)},
                 {"mode", go_mode(r.st.st_mode)},
                 {"mtime", rfc3339_nano(r.st.st_mtim)},
                 {"linkTarget", link}};
  return r;
}

std::string container_name(Daemon& d, const Container& c) {
  std::lock_guard lk(d.mu);
  return c.name;
}

void archive_get(Daemon& d, http::Request& q, http::ResponseWriter& w) {
  auto c = d.find(q.param("id"));
  if (!c) return send_error(w, c.error());
  auto path = q.query_value("path");
  if (!path || path->empty()) return send_error(w, 400, "bad parameter: path cannot be empty");
  auto v = RootfsView::open(d, *c);
  if (!v) return send_error(w, v.error());
  auto r = resolve(**v, *path, container_name(d, **c));
  if (!r) return send_error(w, r.error());
  w.set_header("X-Docker-Container-Path-Stat", base64_encode(r->stat_json.dump()));
  if (q.method == "HEAD") return (void)w.send(200, {}, "application/json");
  std::string as = split_path(*path).name;
  if (as == "/") as = ".";
  int pfd = r->parent.get();
  std::string entry = r->entry;
  auto st = stream_from(w, "application/x-tar", [&](int fd) { return storage::write_tar_entry(pfd, entry, as, fd); });
  if (!st) return send_error(w, st.error());
  d.emit("container", "archive-path", (*c)->id, {{"path", *path}});
}

void archive_put(Daemon& d, http::Request& q, http::ResponseWriter& w) {
  auto c = d.find(q.param("id"));
  if (!c) return send_error(w, c.error());
  auto path = q.query_value("path");
  if (!path || path->empty()) return send_error(w, 400, "bad parameter: path cannot be empty");
  bool read_only, copy_owner = q.query_bool("copyUIDGID");
  std::string user;
  {
    std::lock_guard lk(d.mu);
    read_only = (*c)->host_config.value("ReadonlyRootfs", false);
    user = (*c)->config.value("User", "");
  }
  auto v = RootfsView::open(d, *c);
  if (!v) return send_error(w, v.error());
  std::string cname = container_name(d, **c);
  // The extraction point: the whole path resolved, symlinks followed inside the rootfs.
  auto dir = open_in_root((*v)->fd(), berth::clean_path("/" + *path), O_PATH);
  if (!dir) {
    if (dir.error().is(Errc::NotFound)) return send_error(w, not_found(*path, cname));
    return send_error(w, dir.error());
  }
  struct stat st {};
  if (::fstat(dir->get(), &st) != 0) return send_error(w, Error::from_errno(errno, "stat", *path));
  if (!S_ISDIR(st.st_mode)) return send_error(w, 400, "extraction point is not a directory");
  // dockerd: a path in a volume may be written unless that volume is read-only, whatever the
  // rootfs; elsewhere, not when the rootfs is read-only. The resolved path decides.
  std::string resolved = "/";
  if (auto full = fd_path(dir->get()); full && full->rfind((*v)->path(), 0) == 0)
    resolved = berth::clean_path("/" + full->substr((*v)->path().size()));
  const MountPoint* in = (*v)->mount_of(resolved);
  if (in && !in->rw) return send_error(w, 400, "mounted volume is marked read-only");
  if (!in && read_only) return send_error(w, 403, "container rootfs is marked read-only");
  storage::ApplyOptions o;
  o.whiteouts = storage::WhiteoutMode::Delete;
  o.no_overwrite_dir_nondir = q.query_bool("noOverwriteDirNonDir");
  if (copy_owner && !user.empty()) {
    auto u = resolve_user((*v)->path(), user);
    if (!u) return send_error(w, u.error());
    o.chown_uid = u->uid;
    o.chown_gid = u->gid;
  }
  std::string target = "/proc/self/fd/" + std::to_string(dir->get());
  Status applied = ok();
  auto st2 = with_body_fd(q, w, [&](int fd) -> Status {
    auto in = storage::decompressed(storage::fd_reader(fd));
    if (!in) {
      applied = fail(Errc::InvalidArgument, "invalid archive: " + in.error().message());
      return ok();
    }
    auto res = storage::apply_tar(**in, target, o);
    if (!res) applied = fail(res.error());
    return ok();
  });
  if (!st2) return send_error(w, st2.error());
  if (!applied) {
    auto e = applied.error();
    return send_error(w, e.is(Errc::Internal) ? 500 : http_status(e) == 500 ? 400 : http_status(e), e.message());
  }
  d.emit("container", "extract-to-dir", (*c)->id, {{"path", *path}});
  (void)w.send(200);
}

}  // namespace

void cleanup_rootfs_views(const std::string& exec_root) {
  std::string base = exec_root + "/tmp";
  DIR* dp = ::opendir(base.c_str());
  if (!dp) return;
  std::vector<std::string> names;
  while (auto* e = ::readdir(dp))
    if (std::string_view(e->d_name).starts_with("rootfs-")) names.emplace_back(e->d_name);
  ::closedir(dp);
  for (auto& n : names) {
    std::string p = base + "/" + n;
    ::umount2(p.c_str(), MNT_DETACH);
    ::rmdir(p.c_str());
  }
}

void register_archive_routes(Daemon& d, http::Router& r) {
  r.add("GET", "/containers/{id}/archive", [&d](http::Request& q, http::ResponseWriter& w) { archive_get(d, q, w); });
  r.add("PUT", "/containers/{id}/archive", [&d](http::Request& q, http::ResponseWriter& w) { archive_put(d, q, w); });
  r.add("GET", "/containers/{id}/changes", [&d](http::Request& q, http::ResponseWriter& w) {
    auto c = d.find(q.param("id"));
    if (!c) return send_error(w, c.error());
    auto ch = d.images().changes((*c)->id);
    json out = json::array();
    if (!ch) {
      if (!ch.error().is(Errc::NotFound)) return send_error(w, ch.error());
    } else {
      // The mount points berthd creates for /etc/{hostname,hosts,resolv.conf} are not the
      // container's changes (dockerd keeps them in an init layer).
      static const std::set<std::string> kMountPoints = {"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"};
      bool etc_other = false;
      for (auto& [p, k] : *ch)
        if (p.starts_with("/etc/") && !kMountPoints.count(p)) etc_other = true;
      for (auto& [p, k] : *ch) {
        if (kMountPoints.count(p) && k == 1) continue;
        if (p == "/etc" && k == 0 && !etc_other) continue;
        out.push_back({{"Path", p}, {"Kind", k}});
      }
    }
    send_json(w, 200, out);
  });
  r.add("GET", "/containers/{id}/export", [&d](http::Request& q, http::ResponseWriter& w) {
    auto c = d.find(q.param("id"));
    if (!c) return send_error(w, c.error());
    std::string id = (*c)->id, image_id = (*c)->image_id;
    if (auto m = d.images().prepare_rootfs(image_id, id); !m) return send_error(w, m.error());
    auto st = stream_from(w, "application/x-tar", [&](int fd) { return d.images().export_rootfs(id, fd); });
    if (!st) return send_error(w, st.error());
    d.emit("container", "export", id);
  });
}

}  // namespace berth::daemon
