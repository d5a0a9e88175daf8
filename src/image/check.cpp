// SPDX-License-Identifier: Apache-2.0
// ImageService::check (fsck): walks the on-disk store and reports what a consistent store never
// has. Used by the kill -9 tests after every reopen; meaningful while no operation runs.
#include <filesystem>

#include <fmt/format.h>

#include "common/file.hpp"
#include "image/service_impl.hpp"

namespace berth::image {

Result<std::vector<std::string>> ServiceImpl::check(bool deep) {
  std::lock_guard load_lk(load_mu_);
  std::lock_guard lk(mu_);
  std::vector<std::string> bad;
  auto problem = [&](std::string s) { bad.push_back(std::move(s)); };

  for (auto& [ref, id] : refs_) {
    auto d = Digest::parse(id);
    if (!d || !path_exists(meta_dir() + "/images/" + d->hex() + ".json"))
      problem(fmt::format("reference {} names missing image {}", ref, id));
  }

  std::set<std::string> chains_used, cache_used, blobs_used;
  for (auto& id : TRY(all_images())) {
    blobs_used.insert(id.str());
    auto meta = image_meta(id);
    if (!meta) {
      problem(fmt::format("image {}: unreadable record: {}", id.str(), meta.error().message()));
      continue;
    }
    for (auto& l : meta->layers) blobs_used.insert(l.digest.str());
    if (!meta->manifest_digest.empty()) {
      blobs_used.insert(meta->manifest_digest);
      auto md = Digest::parse(meta->manifest_digest);
      if (!md || !content_->exists(*md))
        problem(fmt::format("image {}: manifest blob {} missing", id.str(), meta->manifest_digest));
    }
    auto cfg = image_config(id);
    if (!cfg) {
      problem(fmt::format("image {}: config: {}", id.str(), cfg.error().message()));
      continue;
    }
    for (auto& c : chain_ids(cfg->diff_ids)) {
      chains_used.insert(c.hex());
      if (!path_exists(meta_dir() + "/layers/" + c.hex() + ".json"))
        problem(fmt::format("image {}: layer {} has no record", id.str(), c.str()));
    }
  }
  for (auto& n : list_dir(meta_dir() + "/containers", ".json")) {
    auto m = container_meta(n);
    if (!m) {
      problem(fmt::format("container {}: {}", n, m.error().message()));
      continue;
    }
    cache_used.insert(m->layer);
    if (!driver_->exists(m->layer)) problem(fmt::format("container {}: rw layer {} missing", n, m->layer));
    auto d = Digest::parse(m->image_id);
    if (!d) continue;
    if (auto cfg = image_config(*d))
      for (auto& c : chain_ids(cfg->diff_ids)) chains_used.insert(c.hex());
  }
  for (auto& n : list_dir(meta_dir() + "/layers", ".json")) {
    auto d = Digest::parse("sha256:" + n);
    auto m = d ? layer_meta(*d) : Result<LayerMeta>(fail(Errc::InvalidArgument, "bad name"));
    if (!m) {
      problem(fmt::format("layer record {}: {}", n, m.error().message()));
      continue;
    }
    cache_used.insert(m->cache_id);
    if (!chains_used.count(n)) problem(fmt::format("layer {}: no image or container uses it", n));
    if (!driver_->exists(m->cache_id))
      problem(fmt::format("layer {}: driver layer {} missing", n, m->cache_id));
    if (!m->parent.empty()) {
      auto p = Digest::parse(m->parent);
      if (!p || !path_exists(meta_dir() + "/layers/" + p->hex() + ".json"))
        problem(fmt::format("layer {}: parent {} has no record", n, m->parent));
    }
  }
  for (auto& id : TRY(driver_->list()))
    if (!cache_used.count(id)) problem(fmt::format("driver layer {}: no record references it", id));
  for (auto& p : driver_->check()) problem(p);

  for (auto& l : content_->leases()) problem("content: lease left over: " + l);
  for (auto& b : TRY(content_->list())) {
    if (!blobs_used.count(b.str())) problem(fmt::format("blob {}: nothing references it", b.str()));
    if (deep) {
      auto got = digest_file(content_->blob_path(b), b.algo());
      if (!got) problem(fmt::format("blob {}: {}", b.str(), got.error().message()));
      else if (*got != b) problem(fmt::format("blob {}: content hashes to {}", b.str(), got->str()));
    }
  }
  for (auto& i : content_->ingests())
    if (!content::Store::resumable_ingest(i)) problem("content: scratch ingest left over: " + i);
  for (auto& t : list_dir(tmp_dir())) problem("tmp/ not empty: " + t);
  return bad;
}

}  // namespace berth::image
