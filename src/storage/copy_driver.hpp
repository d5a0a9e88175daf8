// SPDX-License-Identifier: Apache-2.0
// The layout shared by the drivers whose every layer is a whole tree (internal to storage):
//   <home>/<layers>/<id>  the layer's full root (vfs: a copy; btrfs: a snapshot subvolume)
//   <home>/meta/<id>      the parent id (written last: a layer exists once its meta does)
//   <home>/tmp/           staging; a layer is built there and renamed into place
// A crash leaves only tmp/ debris or a tree without meta, both removed at open. Subclasses say
// how a staged tree is made from its parent and how a tree is destroyed.
#pragma once

#include <string>
#include <vector>

#include "common/result.hpp"
#include "storage/driver.hpp"

namespace berth::storage {

class CopyLayerDriver : public Driver {
 public:
  CopyLayerDriver(std::string home, std::string layers_subdir)
      : home_(std::move(home)), layers_(home_ + "/" + std::move(layers_subdir)) {}

  bool independent_layers() const override { return false; }
  Result<LayerStats> create_from_tar(const std::string& id, const std::string& parent, Reader& tar,
                                     const ApplyOptions& opts) override;
  Status create_rw(const std::string& id, const std::string& parent) override;
  bool exists(const std::string& id) const override;
  Status remove(const std::string& id) override;
  Result<std::vector<Mount>> mounts(const std::string& id) override;
  std::string diff_dir(const std::string& id) const override { return layers_ + "/" + id; }
  Result<std::vector<Change>> changes(const std::string& id) override;
  Status diff_tar(const std::string& id, int out_fd) override;
  // Bytes of the whole tree (btrfs: extents shared with the parent counted, as `du` would).
  Result<std::int64_t> usage(const std::string& id) override;
  Result<std::vector<std::string>> list() override;
  std::vector<std::string> check() override;

 protected:
  // Creates the directories and repairs what a crash left (staging debris, trees without meta).
  Status open_layout();
  // Makes tmp_dir/name: an empty tree (parent "") or a copy of the parent's tree.
  virtual Status make_tree(const std::string& tmp_dir, const std::string& name, const std::string& parent) = 0;
  // Destroys dir/name (missing is fine).
  virtual Status destroy_tree(const std::string& dir, const std::string& name) = 0;

  std::string home_, layers_;

 private:
  Result<std::string> stage(const std::string& id, const std::string& parent);
  Status finish(const std::string& id, const std::string& parent, const std::string& staged);
};

}  // namespace berth::storage
