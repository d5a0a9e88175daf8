// SPDX-License-Identifier: Apache-2.0
// vfs driver: <home>/dir/<id> is a full copy of the parent plus the layer's diff;
// <home>/meta/<id> holds the parent id. Works on any filesystem; layers build in order.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "common/file.hpp"
#include "common/strings.hpp"
#include "storage/driver.hpp"
#include "storage/fs_util.hpp"
#include "storage/tar_write.hpp"

namespace berth::storage {
namespace {

class Vfs : public Driver {
 public:
  explicit Vfs(std::string home) : home_(std::move(home)) {}

  Status init() {
    TRY(mkdir_all(home_ + "/dir", 0700));
    TRY(mkdir_all(home_ + "/meta", 0700));
    TRY(remove_all(home_ + "/tmp"));
    TRY(mkdir_all(home_ + "/tmp", 0700));
    // A crash between the rename into dir/ and the meta write leaves a directory nothing lists.
    for (auto& id : list_dir(home_ + "/dir"))
      if (!exists(id)) (void)remove_all(home_ + "/dir/" + id);
    return ok();
  }

  std::vector<std::string> check() override {
    std::vector<std::string> out;
    for (auto& n : list_dir(home_ + "/tmp")) out.push_back("vfs: staging leftover tmp/" + n);
    for (auto& id : list_dir(home_ + "/dir"))
      if (!exists(id)) out.push_back("vfs: layer dir without meta " + id);
    for (auto& id : list_dir(home_ + "/meta"))
      if (!path_exists(home_ + "/dir/" + id)) out.push_back("vfs: meta without layer dir " + id);
    return out;
  }

  std::string name() const override { return "vfs"; }
  bool independent_layers() const override { return false; }

  Result<LayerStats> create_from_tar(const std::string& id, const std::string& parent, Reader& tar,
                                     const ApplyOptions& opts) override {
    std::string tmp = TRY(stage(id, parent));
    ApplyOptions o = opts;
    o.whiteouts = WhiteoutMode::Delete;
    auto st = apply_tar(tar, tmp, o);
    if (!st) {
      (void)remove_all(tmp);
      return fail(std::move(st.error()).context(fmt::format("apply layer {}", id)));
    }
    TRY(finish(id, parent, tmp));
    return LayerStats{st->entries, st->bytes};
  }

  Status create_rw(const std::string& id, const std::string& parent) override {
    std::string tmp = TRY(stage(id, parent));
    return finish(id, parent, tmp);
  }

  bool exists(const std::string& id) const override {
    return valid_layer_id(id) && path_exists(home_ + "/meta/" + id);
  }

  Status remove(const std::string& id) override {
    if (!valid_layer_id(id)) return fail(Errc::InvalidArgument, "invalid layer id");
    ::unlink((home_ + "/meta/" + id).c_str());
    std::string gone = home_ + "/tmp/rm-" + id;
    std::string dir = home_ + "/dir/" + id;
    if (::rename(dir.c_str(), gone.c_str()) != 0) {
      if (errno == ENOENT) return ok();
      return fail_errno("rename", dir);
    }
    return remove_all(gone);
  }

  Result<std::vector<Mount>> mounts(const std::string& id) override {
    if (!exists(id)) return fail(Errc::NotFound, fmt::format("layer {} does not exist", id));
    return std::vector<Mount>{{"bind", home_ + "/dir/" + id, {"rbind", "rw"}}};
  }

  std::string diff_dir(const std::string& id) const override { return home_ + "/dir/" + id; }

  Result<std::vector<Change>> changes(const std::string& id) override {
    std::string parent = TRY(read_file(home_ + "/meta/" + id));
    return compare_trees(diff_dir(id), parent.empty() ? "" : diff_dir(parent));
  }

  Status diff_tar(const std::string& id, int out_fd) override {
    return write_changes_tar(diff_dir(id), TRY(changes(id)), out_fd);
  }

  Result<std::int64_t> usage(const std::string& id) override { return tree_usage(diff_dir(id)); }

  Result<std::vector<std::string>> list() override { return list_dir(home_ + "/meta"); }

 private:
  Result<std::string> stage(const std::string& id, const std::string& parent) {
    if (!valid_layer_id(id)) return fail(Errc::InvalidArgument, fmt::format("invalid layer id {}", id));
    if (exists(id)) return fail(Errc::AlreadyExists, fmt::format("layer {} already exists", id));
    (void)remove_all(home_ + "/dir/" + id);  // leftover of a crash before meta was written
    std::string tmp = home_ + "/tmp/" + id + "-" + random_hex(8);
    TRY(mkdir_all(tmp, 0755));
    if (!parent.empty()) {
      if (!exists(parent)) {
        (void)remove_all(tmp);
        return fail(Errc::NotFound, fmt::format("parent layer {} does not exist", parent));
      }
      if (auto s = copy_tree(diff_dir(parent), tmp); !s) {
        (void)remove_all(tmp);
        return fail(std::move(s.error()).context("copy parent layer"));
      }
    }
    return tmp;
  }

  Status finish(const std::string& id, const std::string& parent, const std::string& tmp) {
    std::string dir = home_ + "/dir/" + id;
    if (::rename(tmp.c_str(), dir.c_str()) != 0) {
      int e = errno;
      (void)remove_all(tmp);
      return fail(Error::from_errno(e, "rename", dir));
    }
    return atomic_write_file(home_ + "/meta/" + id, parent, 0600);
  }

  std::string home_;
};

}  // namespace

Result<std::unique_ptr<Driver>> open_vfs(const std::string& home) {
  auto d = std::make_unique<Vfs>(home);
  TRY(d->init());
  return std::unique_ptr<Driver>(std::move(d));
}

}  // namespace berth::storage
