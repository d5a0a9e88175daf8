// SPDX-License-Identifier: Apache-2.0
// vfs driver: <home>/dir/<id> is a full copy of the parent plus the layer's diff;
// <home>/meta/<id> holds the parent id (copy_driver.hpp). Works on any filesystem; layers build
// in order.
#include <fmt/format.h>

#include "common/file.hpp"
#include "storage/copy_driver.hpp"
#include "storage/fs_util.hpp"

namespace berth::storage {
namespace {

class Vfs : public CopyLayerDriver {
 public:
  explicit Vfs(std::string home) : CopyLayerDriver(std::move(home), "dir") {}

  Status init() { return open_layout(); }
  std::string name() const override { return "vfs"; }

 protected:
  Status make_tree(const std::string& tmp_dir, const std::string& name, const std::string& parent) override {
    std::string dir = path_join(tmp_dir, name);
    TRY(mkdir_all(dir, 0755));
    if (!parent.empty()) TRY(copy_tree(diff_dir(parent), dir));
    return ok();
  }
  Status destroy_tree(const std::string& dir, const std::string& name) override {
    return remove_all(path_join(dir, name));
  }
};

}  // namespace

Result<std::unique_ptr<Driver>> open_vfs(const std::string& home) {
  auto d = std::make_unique<Vfs>(home);
  TRY(d->init());
  return std::unique_ptr<Driver>(std::move(d));
}

}  // namespace berth::storage
