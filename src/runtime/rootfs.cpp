// SPDX-License-Identifier: Apache-2.0
// Container rootfs: mounts (resolved inside the rootfs without following symlinks out, then
// mounted through the /proc/self/fd magic link of the resolved O_PATH fd), devices, pivot_root,
// masked and read-only paths. Runs in the container's init, in its new mount namespace.
#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>

#include "common/file.hpp"
#include "common/path.hpp"
#include "common/strings.hpp"
#include "runtime/linux.hpp"

namespace berth::runtime {
namespace {

struct MountOpts {
  unsigned long flags = 0;
  unsigned long prop = 0;
  std::string data;
  std::uint64_t attr_set = 0, attr_clr = 0;  // recursive mount_setattr (rro, rnosuid, ...)
  bool bind = false;
};

Result<MountOpts> parse_opts(const std::vector<std::string>& opts) {
  struct F {
    const char* name;
    bool clear;
    unsigned long flag;
  };
  static const F kFlags[] = {
      {"ro", false, MS_RDONLY},        {"rw", true, MS_RDONLY},        {"nosuid", false, MS_NOSUID},
      {"suid", true, MS_NOSUID},       {"nodev", false, MS_NODEV},     {"dev", true, MS_NODEV},
      {"noexec", false, MS_NOEXEC},    {"exec", true, MS_NOEXEC},      {"sync", false, MS_SYNCHRONOUS},
      {"async", true, MS_SYNCHRONOUS}, {"dirsync", false, MS_DIRSYNC}, {"remount", false, MS_REMOUNT},
      {"mand", false, MS_MANDLOCK},    {"nomand", true, MS_MANDLOCK},  {"atime", true, MS_NOATIME},
      {"noatime", false, MS_NOATIME},  {"diratime", true, MS_NODIRATIME}, {"nodiratime", false, MS_NODIRATIME},
      {"relatime", false, MS_RELATIME}, {"norelatime", true, MS_RELATIME}, {"strictatime", false, MS_STRICTATIME},
      {"nostrictatime", true, MS_STRICTATIME}, {"silent", false, MS_SILENT}, {"loud", true, MS_SILENT},
      {"lazytime", false, MS_LAZYTIME}, {"nolazytime", true, MS_LAZYTIME}, {"iversion", false, MS_I_VERSION},
      {"noiversion", true, MS_I_VERSION}, {"bind", false, MS_BIND},   {"rbind", false, MS_BIND | MS_REC}};
  static const F kProp[] = {{"private", false, MS_PRIVATE},       {"rprivate", false, MS_PRIVATE | MS_REC},
                            {"shared", false, MS_SHARED},         {"rshared", false, MS_SHARED | MS_REC},
                            {"slave", false, MS_SLAVE},           {"rslave", false, MS_SLAVE | MS_REC},
                            {"unbindable", false, MS_UNBINDABLE}, {"runbindable", false, MS_UNBINDABLE | MS_REC}};
  struct A {
    const char* name;
    bool clear;
    std::uint64_t attr;
  };
  static const A kAttr[] = {{"rro", false, MOUNT_ATTR_RDONLY},   {"rrw", true, MOUNT_ATTR_RDONLY},
                            {"rnosuid", false, MOUNT_ATTR_NOSUID}, {"rsuid", true, MOUNT_ATTR_NOSUID},
                            {"rnodev", false, MOUNT_ATTR_NODEV},   {"rdev", true, MOUNT_ATTR_NODEV},
                            {"rnoexec", false, MOUNT_ATTR_NOEXEC}, {"rexec", true, MOUNT_ATTR_NOEXEC},
                            {"rnodiratime", false, MOUNT_ATTR_NODIRATIME}, {"rdiratime", true, MOUNT_ATTR_NODIRATIME}};
  MountOpts m;
  for (auto& o : opts) {
    bool done = false;
    for (auto& f : kFlags)
      if (o == f.name) {
        if (f.clear) m.flags &= ~f.flag;
        else m.flags |= f.flag;
        done = true;
        break;
      }
    if (done) continue;
    for (auto& f : kProp)
      if (o == f.name) {
        m.prop = f.flag;
        done = true;
        break;
      }
    if (done) continue;
    for (auto& a : kAttr)
      if (o == a.name) {
        if (a.clear) m.attr_clr |= a.attr;
        else m.attr_set |= a.attr;
        done = true;
        break;
      }
    if (done) continue;
    if (o == "idmap" || o == "ridmap") return fail(Errc::Unimplemented, "mount option " + o + " (idmapped mounts) is not supported by berth-runtime");
    if (o == "tmpcopyup") return fail(Errc::Unimplemented, "mount option tmpcopyup is not supported by berth-runtime");
    if (!m.data.empty()) m.data += ",";
    m.data += o;
  }
  m.bind = (m.flags & MS_BIND) != 0;
  return m;
}

std::string fdpath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

Status do_mount(const char* src, const std::string& target, const char* type, unsigned long flags,
                const char* data, const std::string& what) {
  if (::mount(src, target.c_str(), type, flags, data) != 0)
    return fail(Error::from_errno(errno, "mount " + std::string(src ? src : "") + " on", what));
  return ok();
}

unsigned long locked_flags(const std::string& target) {
  struct statvfs sv {};
  if (::statvfs(target.c_str(), &sv) != 0) return 0;
  unsigned long f = 0;
  if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (sv.f_flag & ST_RDONLY) f |= MS_RDONLY;
  if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
  return f;
}

// Opens (creating if missing) the mount destination inside the rootfs; a directory unless
// `file` is set. Never leaves the rootfs: open_in_root resolves symlinks with the rootfs as "/".
Result<UniqueFd> open_dest(const std::string& rootfs, int root_fd, const std::string& dest, bool file) {
  auto r = open_in_root(root_fd, dest, O_PATH);
  if (r) return r;
  if (!r.error().is(Errc::NotFound)) return r;
  // Usually only the last component is missing (/dev/pts in the fresh /dev tmpfs): make it in
  // its parent, opened inside the rootfs. Anything in the way (a dangling symlink, a race)
  // makes the mkdir or the no-follow open fail, and the full walk below decides.
  std::string clean = clean_path("/" + dest), base = basename(clean);
  if (clean != "/" && base != "." && base != "..") {
    if (auto parent = open_in_root(root_fd, dirname(clean), O_PATH | O_DIRECTORY)) {
      int pfd = parent->get(), made = -1;
      if (!file) {
        made = ::mkdirat(pfd, base.c_str(), 0755);
      } else if (int fd = ::openat(pfd, base.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644); fd >= 0) {
        ::close(fd);
        made = 0;
      }
      if (made == 0) {
        int fd = ::openat(pfd, base.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC | (file ? 0 : O_DIRECTORY));
        if (fd >= 0) return UniqueFd(fd);
      }
    }
  }
  // Resolve symlinks (inside the rootfs) first so that a dangling symlink's target is what
  // gets created -- inside the rootfs, never outside.
  auto joined = TRY(secure_join(rootfs, dest));
  std::string rel = joined.size() > rootfs.size() ? joined.substr(rootfs.size()) : "/";
  if (!file) {
    TRY(mkdir_all_in_root(root_fd, rel, 0755));
  } else {
    auto parent = TRY(mkdir_all_in_root(root_fd, dirname(rel), 0755));
    int fd = ::openat(parent.get(), basename(rel).c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0 && errno != EEXIST) return fail_errno("create mount point", dest);
    if (fd >= 0) ::close(fd);
  }
  return open_in_root(root_fd, dest, O_PATH);
}

// One v1 hierarchy bound into the cgroup tmpfs we have just mounted (dir_fd, its root): the
// tmpfs is ours alone, so a plain mkdirat + no-follow open is safe there, and the new mount
// API clones, restricts and places the tree without resolving the target twice. false (and
// nothing mounted) when that API is missing or refuses: the caller does it the classic way.
bool bind_cgroup_v1(int dir_fd, const std::string& name, const std::string& source, unsigned long flags) {
  if (::mkdirat(dir_fd, name.c_str(), 0755) != 0 && errno != EEXIST) return false;
  UniqueFd target(::openat(dir_fd, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!target) return false;
  UniqueFd tree(static_cast<int>(::syscall(SYS_open_tree, AT_FDCWD, source.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE)));
  if (!tree) return false;
  mount_attr attr{};
  if (flags & MS_RDONLY) attr.attr_set |= MOUNT_ATTR_RDONLY;
  if (flags & MS_NOSUID) attr.attr_set |= MOUNT_ATTR_NOSUID;
  if (flags & MS_NODEV) attr.attr_set |= MOUNT_ATTR_NODEV;
  if (flags & MS_NOEXEC) attr.attr_set |= MOUNT_ATTR_NOEXEC;
  if (flags & (MS_RELATIME | MS_NOATIME | MS_STRICTATIME)) {
    attr.attr_clr |= MOUNT_ATTR__ATIME;
    attr.attr_set |= (flags & MS_NOATIME) ? MOUNT_ATTR_NOATIME : (flags & MS_STRICTATIME) ? MOUNT_ATTR_STRICTATIME : MOUNT_ATTR_RELATIME;
  }
  if (::syscall(SYS_mount_setattr, tree.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) != 0) return false;
  return ::syscall(SYS_move_mount, tree.get(), "", target.get(), "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) == 0;
}

Status mount_cgroup(InitConfig& c, int root_fd, const Mount& m, const MountOpts& o) {
  if (!c.cgroup) return fail(Errc::Unavailable, "cgroup mount without a cgroup");
  auto& cg = *c.cgroup;
  unsigned long base = o.flags & ~(MS_RDONLY | MS_BIND | MS_REC | MS_REMOUNT);
  auto dfd = TRY(open_dest(c.rootfs, root_fd, m.destination, false));
  if (cg.mode() == cgroups::Mode::V2) {
    if (c.new_cgroupns) return do_mount("cgroup2", fdpath(dfd.get()), "cgroup2", base | (o.flags & MS_RDONLY), nullptr, m.destination);
    TRY(do_mount((cg.unified_root() + cg.path()).c_str(), fdpath(dfd.get()), nullptr, MS_BIND | MS_REC, nullptr, m.destination));
    auto again = TRY(open_in_root(root_fd, m.destination, O_PATH));
    return do_mount(nullptr, fdpath(again.get()), nullptr, MS_BIND | MS_REMOUNT | base | (o.flags & MS_RDONLY), nullptr, m.destination);
  }
  // v1: a tmpfs holding one directory per hierarchy, like runc.
  TRY(do_mount("tmpfs", fdpath(dfd.get()), "tmpfs", base, "mode=755", m.destination));
  auto tfd = TRY(open_in_root(root_fd, m.destination, O_PATH | O_DIRECTORY));
  std::map<std::string, std::vector<std::string>> by_mp;
  for (auto& [ctrl, mp] : cg.v1_mounts()) by_mp[mp].push_back(ctrl);
  for (auto& [mp, ctrls] : by_mp) {
    std::string name = basename(mp);
    std::string sub = m.destination + "/" + name;
    if (!c.new_cgroupns && bind_cgroup_v1(tfd.get(), name, mp + cg.path(), base | (o.flags & MS_RDONLY))) {
      // done with the new mount API in the fresh tmpfs
    } else {
      auto sfd = TRY(open_dest(c.rootfs, root_fd, sub, false));
      if (c.new_cgroupns) {
        std::string data = join(ctrls, ",");
        if (data.rfind("name=", 0) == 0) {
          data = "none," + data;
        }
        TRY(do_mount("cgroup", fdpath(sfd.get()), "cgroup", base | (o.flags & MS_RDONLY), data.c_str(), sub));
      } else {
        TRY(do_mount((mp + cg.path()).c_str(), fdpath(sfd.get()), nullptr, MS_BIND | MS_REC, nullptr, sub));
        auto again = TRY(open_in_root(root_fd, sub, O_PATH));
        TRY(do_mount(nullptr, fdpath(again.get()), nullptr, MS_BIND | MS_REMOUNT | base | (o.flags & MS_RDONLY), nullptr, sub));
      }
    }
    // "cpu,cpuacct" also reachable as "cpu" and "cpuacct".
    if (ctrls.size() > 1 || name != ctrls[0])
      for (auto& ctl : ctrls)
        if (ctl != name && ctl.find('=') == std::string::npos) (void)::symlinkat(name.c_str(), tfd.get(), ctl.c_str());
  }
  // tfd is the tmpfs's root: remount it read-only through it.
  if (o.flags & MS_RDONLY) TRY(do_mount(nullptr, fdpath(tfd.get()), nullptr, MS_REMOUNT | MS_RDONLY | base, nullptr, m.destination));
  return ok();
}

Status mount_one(InitConfig& c, int root_fd, const Mount& m, int src_fd, bool* dev_is_bind) {
  auto o = TRYC(parse_opts(m.options), "mount " + m.destination);
  if (m.type == "cgroup") return mount_cgroup(c, root_fd, m, o);
  bool bind = o.bind || m.type == "bind";
  std::string src = m.source;
  if (bind) {
    // A relative source is relative to the bundle: the runtime runs with the bundle as cwd.
    struct stat st {};
    // src_fd: the source's mount tree, cloned by the parent (user namespace): moved into
    // place, whatever the permissions on the source's path.
    int r = src_fd >= 0 ? ::fstat(src_fd, &st) : ::stat(src.c_str(), &st);
    if (r != 0) return fail_errno("mount source", src);
    if (m.destination == "/dev") *dev_is_bind = true;
    auto dfd = TRY(open_dest(c.rootfs, root_fd, m.destination, !S_ISDIR(st.st_mode)));
    if (src_fd >= 0) {
      if (::syscall(SYS_move_mount, src_fd, "", dfd.get(), "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
        return fail(Error::from_errno(errno, "move mount " + src + " to", m.destination));
    } else {
      TRY(do_mount(src.c_str(), fdpath(dfd.get()), nullptr, MS_BIND | (o.flags & MS_REC), nullptr, m.destination));
    }
    unsigned long extra = o.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
    if (extra) {
      auto again = TRY(open_in_root(root_fd, m.destination, O_PATH));
      unsigned long fl = MS_BIND | MS_REMOUNT | extra;
      if (c.in_userns) fl |= locked_flags(fdpath(again.get())) & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME);
      TRY(do_mount(nullptr, fdpath(again.get()), nullptr, fl, nullptr, m.destination));
    }
  } else {
    auto dfd = TRY(open_dest(c.rootfs, root_fd, m.destination, false));
    unsigned long fl = o.flags & ~(MS_REC);
    if (clean_path(m.destination) == "/dev" && (fl & MS_RDONLY)) {
      // Devices, /dev/pts, /dev/shm and the console still go in: read-only at the end (as runc).
      fl &= ~MS_RDONLY;
      c.dev_readonly = true;
    }
    const char* data = o.data.empty() ? nullptr : o.data.c_str();
    if (m.type == "mqueue" || m.type == "sysfs" || m.type == "proc") {
      auto st = do_mount(src.empty() ? m.type.c_str() : src.c_str(), fdpath(dfd.get()), m.type.c_str(), fl, data, m.destination);
      if (!st && m.type == "sysfs" && (st.error().sys_errno() == EPERM || st.error().sys_errno() == EINVAL)) {
        // No netns of our own (or a userns without one): bind the host's /sys instead, as runc does.
        TRY(do_mount("/sys", fdpath(dfd.get()), nullptr, MS_BIND | MS_REC, nullptr, m.destination));
        auto again = TRY(open_in_root(root_fd, m.destination, O_PATH));
        TRY(do_mount(nullptr, fdpath(again.get()), nullptr, MS_BIND | MS_REMOUNT | (fl & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)), nullptr, m.destination));
      } else if (!st) {
        return st;
      }
    } else {
      TRY(do_mount(src.empty() ? m.type.c_str() : src.c_str(), fdpath(dfd.get()), m.type.empty() ? nullptr : m.type.c_str(), fl, data, m.destination));
    }
  }
  if (o.prop || o.attr_set || o.attr_clr) {
    auto again = TRY(open_in_root(root_fd, m.destination, O_PATH));
    if (o.prop) TRY(do_mount(nullptr, fdpath(again.get()), nullptr, o.prop, nullptr, m.destination));
    if (o.attr_set || o.attr_clr) {
      mount_attr a{};
      a.attr_set = o.attr_set;
      a.attr_clr = o.attr_clr;
      if (::syscall(SYS_mount_setattr, again.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a) != 0)
        return fail_errno("mount_setattr", m.destination);
    }
  }
  return ok();
}

Status make_device(InitConfig& c, int root_fd, const Device& d) {
  std::string path = clean_path("/" + d.path);
  auto parent = TRY(mkdir_all_in_root(root_fd, dirname(path), 0755));
  std::string name = basename(path);
  mode_t mode = d.file_mode.value_or(0666) & 07777;
  if (c.in_userns) {
    // mknod is not allowed in a user namespace: bind the host's node instead.
    int fd = ::openat(parent.get(), name.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) return fail_errno("create device", path);
    ::close(fd);
    auto t = TRY(open_in_root(root_fd, path, O_PATH | O_NOFOLLOW));
    return do_mount(d.path.c_str(), fdpath(t.get()), nullptr, MS_BIND, nullptr, path);
  }
  mode_t type = 0;
  if (d.type == "c" || d.type == "u") type = S_IFCHR;
  else if (d.type == "b") type = S_IFBLK;
  else if (d.type == "p") type = S_IFIFO;
  if (::mknodat(parent.get(), name.c_str(), type | mode, makedev(d.major, d.minor)) != 0) {
    if (errno != EEXIST) return fail_errno("mknod", path);
    // Replace whatever was there (rootfs files are not trusted to be device nodes).
    if (::unlinkat(parent.get(), name.c_str(), 0) != 0) return fail_errno("unlink", path);
    if (::mknodat(parent.get(), name.c_str(), type | mode, makedev(d.major, d.minor)) != 0) return fail_errno("mknod", path);
  }
  if (::fchmodat(parent.get(), name.c_str(), mode, 0) != 0) return fail_errno("chmod", path);
  if (::fchownat(parent.get(), name.c_str(), d.uid.value_or(0), d.gid.value_or(0), AT_SYMLINK_NOFOLLOW) != 0)
    return fail_errno("chown", path);
  return ok();
}

Status setup_dev(InitConfig& c, int root_fd, bool dev_is_bind) {
  const Linux* lx = c.spec->linux_ ? &*c.spec->linux_ : nullptr;
  if (!dev_is_bind) {
    static const Device kDefault[] = {
        {"/dev/null", "c", 1, 3, 0666, 0, 0},    {"/dev/zero", "c", 1, 5, 0666, 0, 0},
        {"/dev/full", "c", 1, 7, 0666, 0, 0},    {"/dev/random", "c", 1, 8, 0666, 0, 0},
        {"/dev/urandom", "c", 1, 9, 0666, 0, 0}, {"/dev/tty", "c", 5, 0, 0666, 0, 0}};
    for (auto& d : kDefault) {
      bool overridden = false;
      if (lx)
        for (auto& u : lx->devices) overridden = overridden || clean_path(u.path) == d.path;
      if (!overridden) TRYC(make_device(c, root_fd, d), "default device");
    }
    auto devfd = open_in_root(root_fd, "/dev", O_PATH | O_DIRECTORY);
    if (devfd) {
      static const std::pair<const char*, const char*> kLinks[] = {
          {"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
          {"/proc/self/fd/2", "stderr"}};
      for (auto& [to, from] : kLinks)
        if (::symlinkat(to, devfd->get(), from) != 0 && errno != EEXIST) return fail_errno("symlink /dev/", from);
      if (path_exists("/proc/kcore")) (void)::symlinkat("/proc/kcore", devfd->get(), "core");
      // /dev/ptmx -> pts/ptmx so that the container's devpts instance is used.
      ::unlinkat(devfd->get(), "ptmx", 0);
      if (::symlinkat("pts/ptmx", devfd->get(), "ptmx") != 0) return fail_errno("symlink /dev/ptmx");
    }
  }
  if (lx)
    for (auto& d : lx->devices) TRYC(make_device(c, root_fd, d), "linux.devices " + d.path);
  return ok();
}

Result<unsigned long> propagation_of(const std::string& p) {
  if (p.empty()) return 0;
  if (p == "private") return MS_PRIVATE;
  if (p == "rprivate") return MS_PRIVATE | MS_REC;
  if (p == "shared") return MS_SHARED;
  if (p == "rshared") return MS_SHARED | MS_REC;
  if (p == "slave") return MS_SLAVE;
  if (p == "rslave") return MS_SLAVE | MS_REC;
  if (p == "unbindable") return MS_UNBINDABLE;
  if (p == "runbindable") return MS_UNBINDABLE | MS_REC;
  return fail(Errc::InvalidArgument, "linux.rootfsPropagation: unknown value " + p);
}

}  // namespace

Status prepare_rootfs(InitConfig& c) {
  const Linux* lx = c.spec->linux_ ? &*c.spec->linux_ : nullptr;
  auto prop = TRY(propagation_of(lx ? lx->rootfs_propagation : ""));
  // Nothing we mount may propagate back to the host.
  unsigned long root_prop = (prop & (MS_SLAVE | MS_PRIVATE)) ? prop | MS_REC : MS_SLAVE | MS_REC;
  TRY(do_mount(nullptr, "/", nullptr, root_prop, nullptr, "/ (propagation)"));
  if (prop & MS_SHARED) {
    // pivot_root refuses a shared parent: keep "/" private, set shared on the new root later.
    TRY(do_mount(nullptr, "/", nullptr, MS_PRIVATE | MS_REC, nullptr, "/ (propagation)"));
  }
  TRY(do_mount(c.rootfs.c_str(), c.rootfs, nullptr, MS_BIND | MS_REC, nullptr, "rootfs " + c.rootfs));
  int rfd = ::open(c.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rfd < 0) return fail_errno("open rootfs", c.rootfs);
  UniqueFd root_fd(rfd);
  bool dev_is_bind = false, has_dev_mount = false;
  const auto& mounts = c.spec->mounts;
  // With late_cgroup the cgroup mounts wait for our cgroup (cgroup_ready) and come last, where
  // that changes nothing: no later mount is above, below or at the same place.
  auto later = [&](std::size_t i) {
    if (!c.late_cgroup || mounts[i].type != "cgroup") return false;
    std::string d = clean_path(mounts[i].destination);
    for (std::size_t j = i + 1; j < mounts.size(); ++j) {
      std::string e = clean_path(mounts[j].destination);
      if (e == d || e.rfind(d + "/", 0) == 0 || d.rfind(e == "/" ? e : e + "/", 0) == 0) return false;
    }
    return true;
  };
  std::vector<std::size_t> deferred;
  for (std::size_t i = 0; i < mounts.size(); ++i) {
    const Mount& m = mounts[i];
    if (clean_path(m.destination) == "/dev") has_dev_mount = true;
    if (later(i)) {
      deferred.push_back(i);
      continue;
    }
    if (mounts[i].type == "cgroup") TRY(cgroup_ready(c));
    int src_fd = i < c.mount_src_fds.size() ? c.mount_src_fds[i] : -1;
    TRYC(mount_one(c, root_fd.get(), m, src_fd, &dev_is_bind), "mount " + m.destination);
    if (src_fd >= 0) {
      ::close(src_fd);
      c.mount_src_fds[i] = -1;
    }
  }
  // /dev's nodes first: the parent may still be making the cgroup the deferred mounts wait for
  // (deferred mounts are cgroup mounts, none at or below /dev)
  if (has_dev_mount || (lx && !lx->devices.empty())) TRY(setup_dev(c, root_fd.get(), dev_is_bind || !has_dev_mount));
  if (!deferred.empty()) TRY(cgroup_ready(c));
  for (std::size_t i : deferred) TRYC(mount_one(c, root_fd.get(), mounts[i], -1, &dev_is_bind), "mount " + mounts[i].destination);
  return ok();
}

namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_mountinfo(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3') {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

// --no-pivot leaves the host's mounts reachable under the chroot, and the kernel allows a new
// procfs/sysfs mount (e.g. from a nested user namespace) only where a full, uncovered instance
// is visible in the mount namespace. Detach (or, when that is refused, cover) every full proc
// and sysfs mount outside the rootfs first, as runc does, so the container cannot mount a bare
// /proc.
Status hide_host_proc_and_sys(const std::string& rootfs) {
  auto info = TRY(read_file("/proc/self/mountinfo"));
  std::vector<std::string> targets;
  for (auto line : split(info, '\n')) {
    // id parent major:minor root mountpoint options [optional...] - fstype source superopts
    auto f = split(line, ' ');
    if (f.size() < 10) continue;
    std::size_t dash = 6;
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (dash + 1 >= f.size()) continue;
    const std::string& type = f[dash + 1];
    if (f[3] != "/" || (type != "proc" && type != "sysfs")) continue;
    std::string mp = unescape_mountinfo(f[4]);
    if (mp == rootfs || mp.rfind(rootfs + "/", 0) == 0) continue;
    targets.push_back(mp);
  }
  for (auto& p : targets) {
    if (::mount(nullptr, p.c_str(), nullptr, MS_SLAVE | MS_REC, nullptr) != 0) {
      if (errno == ENOENT || errno == EINVAL) continue;  // under an already detached parent
      return fail_errno("make rslave", p);
    }
    if (::umount2(p.c_str(), MNT_DETACH) == 0) continue;
    if (errno != EINVAL && errno != EPERM) return fail_errno("unmount", p);
    if (::mount("tmpfs", p.c_str(), "tmpfs", 0, nullptr) != 0) return fail_errno("cover with tmpfs", p);
  }
  return ok();
}

}  // namespace

Status pivot_into(const std::string& rootfs, bool no_pivot) {
  if (no_pivot) {
    TRYC(hide_host_proc_and_sys(rootfs), "--no-pivot");
    if (::chdir(rootfs.c_str()) != 0) return fail_errno("chdir", rootfs);
    if (::mount(rootfs.c_str(), "/", nullptr, MS_MOVE, nullptr) != 0) return fail_errno("mount --move rootfs on /");
    if (::chroot(".") != 0) return fail_errno("chroot");
    if (::chdir("/") != 0) return fail_errno("chdir /");
    return ok();
  }
  int old_root = ::open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (old_root < 0) return fail_errno("open /");
  UniqueFd oldfd(old_root);
  int new_root = ::open(rootfs.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (new_root < 0) return fail_errno("open", rootfs);
  UniqueFd newfd(new_root);
  if (::fchdir(newfd.get()) != 0) return fail_errno("fchdir rootfs");
  if (::syscall(SYS_pivot_root, ".", ".") != 0) return fail_errno("pivot_root", rootfs);
  // The old root is now stacked under "."; detach it without propagating to the host.
  if (::fchdir(oldfd.get()) != 0) return fail_errno("fchdir old root");
  if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) != 0) return fail_errno("make old root rslave");
  if (::umount2(".", MNT_DETACH) != 0) return fail_errno("unmount old root");
  if (::chdir("/") != 0) return fail_errno("chdir /");
  return ok();
}

Status finalize_rootfs(InitConfig& c) {
  const Linux* lx = c.spec->linux_ ? &*c.spec->linux_ : nullptr;
  if (lx) {
    for (auto& p : lx->masked_paths) {
      struct stat st {};
      if (::stat(p.c_str(), &st) != 0) {
        if (errno == ENOENT) continue;
        return fail_errno("maskedPaths", p);
      }
      if (S_ISDIR(st.st_mode)) {
        TRYC(do_mount("tmpfs", p, "tmpfs", MS_RDONLY, nullptr, p), "maskedPaths");
      } else {
        TRYC(do_mount("/dev/null", p, nullptr, MS_BIND, nullptr, p), "maskedPaths");
      }
    }
    for (auto& p : lx->readonly_paths) {
      if (::mount(p.c_str(), p.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
        if (errno == ENOENT) continue;
        return fail_errno("readonlyPaths", p);
      }
      unsigned long fl = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC | (locked_flags(p) & (MS_NOSUID | MS_NODEV | MS_NOEXEC));
      if (::mount(nullptr, p.c_str(), nullptr, fl, nullptr) != 0) return fail_errno("remount read-only", p);
    }
  }
  if (c.dev_readonly) {
    unsigned long fl = MS_BIND | MS_REMOUNT | MS_RDONLY | (locked_flags("/dev") & (MS_NOSUID | MS_NODEV | MS_NOEXEC));
    if (::mount(nullptr, "/dev", nullptr, fl, nullptr) != 0) return fail_errno("remount /dev read-only");
  }
  if (c.spec->root_readonly) {
    unsigned long fl = MS_BIND | MS_REMOUNT | MS_RDONLY | (locked_flags("/") & (MS_NOSUID | MS_NODEV | MS_NOEXEC));
    if (::mount(nullptr, "/", nullptr, fl, nullptr) != 0) return fail_errno("remount / read-only");
  }
  if (lx && !lx->rootfs_propagation.empty()) {
    auto prop = TRY(propagation_of(lx->rootfs_propagation));
    if (::mount(nullptr, "/", nullptr, prop, nullptr) != 0) return fail_errno("set rootfs propagation");
  }
  return ok();
}

}  // namespace berth::runtime
