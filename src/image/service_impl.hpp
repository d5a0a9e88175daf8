// SPDX-License-Identifier: Apache-2.0
// Internal: the ImageService implementation shared by the per-verb source files.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "content/store.hpp"
#include "image/image_service.hpp"
#include "oci/image.hpp"
#include "storage/driver.hpp"

namespace berth::image {

// A committed layer (Docker's layer store entry), keyed by chain id.
struct LayerMeta {
  Digest chain_id;
  Digest diff_id;
  std::string parent;    // parent chain id string, "" for a base layer
  std::string cache_id;  // storage driver id
  std::int64_t size = 0;
};

// Per-image record. The image id is the config digest; the config blob lives in content/.
struct ImageMeta {
  Digest id;
  std::vector<oci::Descriptor> layers;  // blobs as distributed (may be absent from content/)
  std::string manifest_digest;          // "" if unknown
  std::string last_tag_time;
};

struct ContainerMeta {
  std::string container_id;
  std::string image_id;
  std::string layer;  // driver id of the rw layer
};

// One layer to register: a reader of its (compressed or not) tar and the expected diff id.
struct LayerInput {
  std::function<Result<std::unique_ptr<storage::Reader>>()> open;  // raw (maybe compressed) bytes
  Digest expected_diff_id;
  std::string label;  // for progress ("Loading layer", short id)
};

class ServiceImpl : public ImageService {
 public:
  ServiceImpl(ServiceOptions opts, std::unique_ptr<content::Store> cs,
              std::unique_ptr<storage::Driver> drv);
  Status init();

  std::string driver_name() const override { return driver_->name(); }
  void set_in_use_hook(InUseFn fn) override {
    std::lock_guard lk(mu_);
    in_use_ = std::move(fn);
  }

  Result<std::vector<std::string>> load(int fd, const ProgressFn& progress) override;
  Status save(const std::vector<std::string>& refs, int out_fd) override;
  Result<std::vector<ImageSummary>> list(const ListFilters& filters) override;
  Result<std::string> inspect(const std::string& name_or_id) override;
  Result<ResolvedImage> resolve(const std::string& name_or_id) override;
  Result<std::vector<HistoryItem>> history(const std::string& name_or_id) override;
  Status tag(const std::string& source, const std::string& target) override;
  Result<std::vector<DeleteItem>> remove(const std::string& name_or_id, bool force,
                                         bool prune_parents) override;
  Result<std::pair<std::vector<DeleteItem>, std::int64_t>> prune(bool all) override;
  Result<std::string> import(int fd, const ImportOptions& opts) override;
  Result<std::string> pull(const std::string& ref, const PullOptions& opts,
                           const ProgressFn& progress) override;
  Status push(const std::string& ref, const std::string& auth_base64,
              const ProgressFn& progress) override;

  Result<std::vector<Mount>> prepare_rootfs(const std::string& image_id, const std::string& container_id,
                                            std::uint64_t size_limit = 0) override;
  Result<std::vector<Mount>> rootfs_mounts(const std::string& container_id) override;
  Status remove_rootfs(const std::string& container_id) override;
  Result<std::vector<std::pair<std::string, int>>> changes(const std::string& container_id) override;
  Status export_rootfs(const std::string& container_id, int out_fd) override;
  Result<std::string> commit(const std::string& container_id, const CommitOptions& opts) override;
  Result<std::string> commit_config(const std::string& parent_id, const CommitOptions& opts) override;
  Result<std::int64_t> rootfs_usage(const std::string& container_id) override;
  Result<std::vector<std::string>> check(bool deep) override;

  // ---- shared helpers (callers hold mu_ where noted) ----
  std::string meta_dir() const { return opts_.root + "/image"; }
  std::string tmp_dir() const { return opts_.root + "/tmp"; }

  // Registers layers (extracting in parallel when the driver allows); returns the chain ids.
  Result<std::vector<LayerMeta>> register_layers(std::vector<LayerInput> inputs,
                                                 const ProgressFn& progress);
  // Stores config (already in content/) + meta and points `tags` at it. Needs every layer.
  Status register_image(const ImageMeta& meta, const std::vector<std::string>& tags);
  Result<ImageMeta> image_meta(const Digest& id) const;
  Result<LayerMeta> layer_meta(const Digest& chain) const;
  Result<oci::ImageConfig> image_config(const Digest& id) const;
  // Resolves to an image id (mu_ held).
  Result<Digest> resolve_id(const std::string& name_or_id) const;
  std::vector<std::string> tags_of(const Digest& id) const;
  std::vector<std::string> digests_of(const Digest& id) const;
  Result<std::vector<Digest>> all_images() const;
  Status write_refs();
  Result<ContainerMeta> container_meta(const std::string& cid) const;
  std::int64_t image_size(const oci::ImageConfig& c) const;
  static std::vector<Digest> chain_ids(const std::vector<Digest>& diff_ids);
  // Deletes an image record and then any layer / blob nothing references any more.
  Status delete_image(const Digest& id);
  Status collect_garbage();
  std::vector<std::string> users_of(const std::string& image_id);

  ServiceOptions opts_;
  std::unique_ptr<content::Store> content_;
  std::unique_ptr<storage::Driver> driver_;
  mutable std::mutex mu_;        // metadata
  std::mutex load_mu_;           // one registering operation (load/pull/import/commit/remove) at a time
  std::map<std::string, std::string> refs_;  // canonical reference -> image id string
  InUseFn in_use_;
};

// RFC 3339 <-> unix seconds.
std::int64_t parse_rfc3339(const std::string& s);
std::string now_rfc3339();
// Applies Dockerfile-style --change instructions (ENV, CMD, ENTRYPOINT, WORKDIR, USER, EXPOSE,
// LABEL, VOLUME, STOPSIGNAL) to a container config.
Status apply_changes(oci::ContainerConfig& c, const std::vector<std::string>& changes);

}  // namespace berth::image
