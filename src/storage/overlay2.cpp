// SPDX-License-Identifier: Apache-2.0
// overlay2 driver: <home>/<id>/{diff,work,link,parent}, <home>/l/<link> -> ../<id>/diff.
// The lower chain is derived from the "parent" files at mount time, so a layer can be extracted
// before its parent is (parallel pulls); only mounting needs the whole chain. A container's
// layer (create_rw) is never a lower: it has no link (nor l/ entry), two inodes less per
// container. A layer is complete once its directory has its name (staged in tmp/, renamed).
#include <dirent.h>
#include <fcntl.h>
#include <sys/xattr.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <fmt/format.h>

#include "common/digest.hpp"
#include "common/file.hpp"
#include "common/strings.hpp"
#include "storage/driver.hpp"
#include "storage/fs_util.hpp"
#include "storage/quota.hpp"
#include "storage/tar_write.hpp"

namespace berth::storage {
namespace {

constexpr int kMaxDepth = 125;  // as Docker: overlay's lowerdir stack limit


std::string link_name(const std::string& id) {
  return to_upper(digest_of(id).hex().substr(0, 26));
}

class Overlay2 : public Driver {
 public:
  explicit Overlay2(std::string home) : home_(std::move(home)) {}

  Status init() {
    TRY(mkdir_all(home_ + "/l", 0700));
    TRY(remove_all(home_ + "/tmp"));
    TRY(mkdir_all(home_ + "/tmp", 0700));
    // A crash in finish() (link made, rename not done) or remove() (link gone, dir not yet
    // renamed) leaves a dangling link or a layer without one: repair both.
    for (auto& n : list_dir(home_ + "/l")) {
      struct stat st {};
      if (::stat((home_ + "/l/" + n).c_str(), &st) != 0) ::unlink((home_ + "/l/" + n).c_str());
    }
    for (auto& id : TRY(list())) {
      if (!exists(id)) {
        (void)remove_all(home_ + "/" + id);  // not one of ours
        continue;
      }
      if (!path_exists(home_ + "/" + id + "/link")) continue;  // a container's layer
      std::string link = home_ + "/l/" + link_name(id);
      if (!path_exists(link)) (void)::symlink(("../" + id + "/diff").c_str(), link.c_str());
    }
    if (auto q = ProjectQuota::open(home_)) quota_ = std::move(*q);
    return ok();
  }

  std::vector<std::string> check() override {
    std::vector<std::string> out;
    for (auto& n : list_dir(home_ + "/tmp")) out.push_back("overlay2: staging leftover tmp/" + n);
    for (auto& n : list_dir(home_ + "/l")) {
      struct stat st {};
      if (::stat((home_ + "/l/" + n).c_str(), &st) != 0) out.push_back("overlay2: dangling link l/" + n);
    }
    auto ids = list();
    if (!ids) return {ids.error().message()};
    for (auto& id : *ids) {
      std::string d = home_ + "/" + id;
      if (!path_exists(d + "/parent") || !path_exists(d + "/diff"))
        out.push_back("overlay2: incomplete layer " + id);
      else if (path_exists(d + "/link") && !path_exists(home_ + "/l/" + link_name(id)))
        out.push_back("overlay2: layer " + id + " has no link in l/");
    }
    return out;
  }

  std::string name() const override { return "overlay2"; }

  Status check_size_limit() const override {
    if (!quota_)
      return fail(Errc::InvalidArgument, "--storage-opt is supported only for overlay over xfs with 'pquota' mount option");
    return ok();
  }

  Status set_size_limit(const std::string& id, std::uint64_t bytes) override {
    TRY(check_size_limit());
    std::string dir = home_ + "/" + id;
    return quota_->limit({dir, dir + "/diff", dir + "/work"}, bytes);
  }
  bool independent_layers() const override { return true; }

  Result<LayerStats> create_from_tar(const std::string& id, const std::string& parent, Reader& tar,
                                     const ApplyOptions& opts) override {
    std::string tmp = TRY(stage(id, parent));
    ApplyOptions o = opts;
    o.whiteouts = WhiteoutMode::Overlay;
    auto st = apply_tar(tar, tmp + "/diff", o);
    if (!st) {
      (void)remove_all(tmp);
      return fail(std::move(st.error()).context(fmt::format("apply layer {}", id)));
    }
    TRY(finish(id, tmp));
    return LayerStats{st->entries, st->bytes};
  }

  Status create_rw(const std::string& id, const std::string& parent) override {
    std::string tmp = TRY(stage(id, parent, Kind::Container));
    return finish(id, tmp, Kind::Container);
  }

  bool exists(const std::string& id) const override {
    return valid_layer_id(id) && path_exists(home_ + "/" + id + "/parent");
  }

  Status remove(const std::string& id) override {
    if (!valid_layer_id(id)) return fail(Errc::InvalidArgument, "invalid layer id");
    std::string dir = home_ + "/" + id;
    if (auto link = read_file(dir + "/link")) ::unlink((home_ + "/l/" + std::string(trim(*link))).c_str());
    // Rename first so a crash mid-removal never leaves a half layer under its real name.
    std::string gone = home_ + "/tmp/rm-" + id;
    if (::rename(dir.c_str(), gone.c_str()) != 0) {
      if (errno == ENOENT) return ok();
      return fail_errno("rename", dir);
    }
    return remove_all(gone);
  }

  Result<std::vector<Mount>> mounts(const std::string& id) override {
    if (!exists(id)) return fail(Errc::NotFound, fmt::format("layer {} does not exist", id));
    std::vector<std::string> lowers = TRY(lower_chain(id));
    std::string dir = home_ + "/" + id;
    if (lowers.empty()) return std::vector<Mount>{{"bind", dir + "/diff", {"rbind", "rw"}}};
    std::string lowerdir;
    for (auto& l : lowers) lowerdir += (lowerdir.empty() ? "" : ":") + home_ + "/l/" + l;
    return std::vector<Mount>{{"overlay",
                               "overlay",
                               {"index=off", "lowerdir=" + lowerdir, "upperdir=" + dir + "/diff",
                                "workdir=" + dir + "/work"}}};
  }

  std::string diff_dir(const std::string& id) const override { return home_ + "/" + id + "/diff"; }

  Result<std::vector<Change>> changes(const std::string& id) override {
    std::vector<std::string> lowers = TRY(lower_chain(id));
    std::vector<std::string> lower_dirs;
    for (auto& l : lowers) lower_dirs.push_back(home_ + "/l/" + l);
    auto raw = TRY(compare_trees(diff_dir(id), ""));
    std::vector<Change> out;
    for (auto& c : raw) {
      struct stat st {};
      std::string p = diff_dir(id) + c.path;
      if (::lstat(p.c_str(), &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == 0) {
        out.push_back({c.path, ChangeKind::Deleted});
        continue;
      }
      bool in_lower = false;
      for (auto& l : lower_dirs) {
        if (::lstat((l + c.path).c_str(), &st) == 0) {
          in_lower = true;
          break;
        }
      }
      out.push_back({c.path, in_lower ? ChangeKind::Modified : ChangeKind::Added});
    }
    return out;
  }

  Status diff_tar(const std::string& id, int out_fd) override {
    return write_tar(diff_dir(id), out_fd, {WhiteoutSource::Overlay, {}, {}});
  }

  Result<std::int64_t> usage(const std::string& id) override { return tree_usage(diff_dir(id)); }

  Result<std::vector<std::string>> list() override {
    std::vector<std::string> out;
    UniqueFd d(::open(home_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!d) return fail_errno("open", home_);
    DIR* dir = ::fdopendir(d.release());
    while (auto* de = ::readdir(dir)) {
      std::string n = de->d_name;
      if (n == "." || n == ".." || n == "l" || n == "tmp") continue;
      out.push_back(n);
    }
    ::closedir(dir);
    return out;
  }

 private:
  // An image's layer is synced and linked (a link file and its l/ entry: others stack on it). A
  // container's is neither (as dockerd's, not synced: it is made right before the container
  // runs, and one lost in a host crash is made anew at the next start; never a lower).
  enum class Kind { Image, Container };

  Result<std::string> stage(const std::string& id, const std::string& parent, Kind kind = Kind::Image) {
    if (!valid_layer_id(id)) return fail(Errc::InvalidArgument, fmt::format("invalid layer id {}", id));
    if (path_exists(home_ + "/" + id))
      return fail(Errc::AlreadyExists, fmt::format("layer {} already exists", id));
    std::string tmp = home_ + "/tmp/" + id + "-" + random_hex(8);
    TRY(mkdir_all(tmp + "/diff", 0755));
    TRY(mkdir_all(tmp + "/work", 0700));
    TRY(write_file(tmp + "/parent", parent));
    if (kind == Kind::Image) TRY(write_file(tmp + "/link", link_name(id)));
    return tmp;
  }

  Status finish(const std::string& id, const std::string& tmp, Kind kind = Kind::Image) {
    std::string dir = home_ + "/" + id;
    bool sync = kind == Kind::Image;
    if (kind == Kind::Image) {
      std::string link = home_ + "/l/" + link_name(id);
      ::unlink(link.c_str());
      if (::symlink(("../" + id + "/diff").c_str(), link.c_str()) != 0) return fail_errno("symlink", link);
    }
    if (sync) (void)fsync_dir(tmp);
    if (::rename(tmp.c_str(), dir.c_str()) != 0) {
      int e = errno;
      (void)remove_all(tmp);
      return fail(Error::from_errno(e, "rename", dir));
    }
    return sync ? fsync_dir(home_) : ok();
  }

  // Link names of all ancestors, nearest first.
  Result<std::vector<std::string>> lower_chain(const std::string& id) {
    std::vector<std::string> out;
    std::string cur = TRY(read_file(home_ + "/" + id + "/parent"));
    while (!cur.empty()) {
      if (out.size() >= kMaxDepth)
        return fail(Errc::InvalidArgument, fmt::format("max depth exceeded for layer {}", id));
      if (!exists(cur)) return fail(Errc::NotFound, fmt::format("parent layer {} missing", cur));
      auto link = read_file(home_ + "/" + cur + "/link");
      if (!link) return fail(Errc::InvalidArgument, fmt::format("layer {} is a container's layer: it cannot be a lower", cur));
      out.push_back(std::string(trim(*link)));
      cur = TRY(read_file(home_ + "/" + cur + "/parent"));
    }
    return out;
  }

  std::string home_;
  std::unique_ptr<ProjectQuota> quota_;  // set when home is on xfs with project quotas enforced
};

}  // namespace

Result<std::unique_ptr<Driver>> open_overlay2(const std::string& home) {
  auto d = std::make_unique<Overlay2>(home);
  TRY(d->init());
  return std::unique_ptr<Driver>(std::move(d));
}

bool overlay_supported(const std::string& dir) {
  if (::geteuid() != 0) return false;
  auto t = TempDir::create(dir, "overlay-probe-");
  if (!t) return false;
  std::string p = t->path();
  for (auto s : {"/l", "/u", "/w", "/m"}) (void)mkdir_all(p + s, 0700);
  if (::setxattr((p + "/u").c_str(), "trusted.overlay.opaque", "y", 1, 0) != 0) return false;
  std::string data = fmt::format("lowerdir={0}/l,upperdir={0}/u,workdir={0}/w", p);
  if (::mount("overlay", (p + "/m").c_str(), "overlay", 0, data.c_str()) != 0) return false;
  ::umount2((p + "/m").c_str(), MNT_DETACH);
  return true;
}

}  // namespace berth::storage
