// SPDX-License-Identifier: Apache-2.0
// Container root filesystems: prepare (rw layer on the image), mounts, remove, changes, usage,
// export and commit.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/file.hpp"
#include "common/strings.hpp"
#include "image/service_impl.hpp"
#include "oci/media_types.hpp"
#include "oci/reference.hpp"
#include "storage/tar_write.hpp"

namespace berth::image {

using json = nlohmann::json;

namespace {
std::vector<Mount> convert(const std::vector<storage::Mount>& in) {
  std::vector<Mount> out;
  for (auto& m : in) out.push_back({m.type, m.source, m.options});
  return out;
}
}  // namespace

Result<std::vector<Mount>> ServiceImpl::prepare_rootfs(const std::string& image_id,
                                                       const std::string& cid, std::uint64_t size_limit) {
  std::lock_guard lk(mu_);
  if (auto m = container_meta(cid); m) {
    if (driver_->exists(m->layer)) return convert(TRY(driver_->mounts(m->layer)));
    // (the record without its layer: both are written without fsync, see below) made anew
  } else if (!m.error().is(Errc::NotFound)) {
    return fail(std::move(m.error()));
  }
  Digest id = TRY(resolve_id(image_id));
  auto cfg = TRY(image_config(id));
  auto chains = chain_ids(cfg.diff_ids);
  std::string parent;
  if (!chains.empty()) parent = TRY(layer_meta(chains.back())).cache_id;
  std::string layer = cid + "-rw";
  if (driver_->exists(layer)) TRY(driver_->remove(layer));  // leftover without a record
  if (size_limit > 0) TRY(driver_->check_size_limit());
  TRYC(driver_->create_rw(layer, parent), "create container layer");
  if (size_limit > 0)
    if (auto s = driver_->set_size_limit(layer, size_limit); !s) {
      (void)driver_->remove(layer);
      return fail(std::move(s.error()));
    }
  json j = {{"image", id.str()}, {"layer", layer}};
  // Not synced, like the layer itself: made right before the container's start, and made anew
  // at the next start when a host crash lost either.
  if (auto s = atomic_write_file(meta_dir() + "/containers/" + cid + ".json", j.dump(), 0600, Durability::Deferred); !s) {
    (void)driver_->remove(layer);
    return fail(std::move(s.error()));
  }
  return convert(TRY(driver_->mounts(layer)));
}

Result<std::vector<Mount>> ServiceImpl::rootfs_mounts(const std::string& cid) {
  std::lock_guard lk(mu_);
  auto m = TRY(container_meta(cid));
  return convert(TRY(driver_->mounts(m.layer)));
}

Status ServiceImpl::remove_rootfs(const std::string& cid) {
  std::lock_guard lk(mu_);
  auto m = container_meta(cid);
  if (!m) {
    if (m.error().is(Errc::NotFound)) return ok();
    return fail(std::move(m.error()));
  }
  // Record first: a crash after this leaves an unreferenced driver layer, which GC removes.
  if (::unlink((meta_dir() + "/containers/" + cid + ".json").c_str()) != 0 && errno != ENOENT)
    return fail_errno("remove container layer record", cid);
  TRY(driver_->remove(m->layer));
  return ok();
}

Result<std::vector<std::pair<std::string, int>>> ServiceImpl::changes(const std::string& cid) {
  std::string layer;
  {
    std::lock_guard lk(mu_);
    layer = TRY(container_meta(cid)).layer;
  }
  std::vector<std::pair<std::string, int>> out;
  for (auto& c : TRY(driver_->changes(layer))) out.emplace_back(c.path, static_cast<int>(c.kind));
  return out;
}

Result<std::int64_t> ServiceImpl::rootfs_usage(const std::string& cid) {
  std::string layer;
  {
    std::lock_guard lk(mu_);
    layer = TRY(container_meta(cid)).layer;
  }
  return driver_->usage(layer);
}

Status ServiceImpl::export_rootfs(const std::string& cid, int out_fd) {
  std::string layer;
  std::vector<std::string> dirs;  // top first
  {
    std::lock_guard lk(mu_);
    auto m = TRY(container_meta(cid));
    layer = m.layer;
    if (driver_->name() == "vfs") {
      dirs.push_back(driver_->diff_dir(layer));
    } else {
      dirs.push_back(driver_->diff_dir(layer));
      auto cfg = TRY(image_config(*Digest::parse(m.image_id)));
      auto chains = chain_ids(cfg.diff_ids);
      for (auto it = chains.rbegin(); it != chains.rend(); ++it)
        dirs.push_back(driver_->diff_dir(TRY(layer_meta(*it)).cache_id));
    }
  }
  if (dirs.size() == 1) return storage::write_tar(dirs[0], out_fd);
  return storage::write_merged_tar(dirs, out_fd);
}

Result<std::string> ServiceImpl::commit(const std::string& cid, const CommitOptions& opts) {
  std::lock_guard load_lk(load_mu_);
  ContainerMeta cm;
  oci::ImageConfig cfg;
  std::string parent_chain;
  {
    std::lock_guard lk(mu_);
    cm = TRY(container_meta(cid));
    cfg = TRY(image_config(*Digest::parse(cm.image_id)));
  }
  // The diff as an uncompressed layer tar in the content store (its digest is the diff id).
  std::string tmp = tmp_dir() + "/commit-" + random_hex(8) + ".tar";
  {
    UniqueFd fd(::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd) return fail_errno("create", tmp);
    TRYC(driver_->diff_tar(cm.layer, fd.get()), "write container diff");
  }
  auto cleanup_tmp = [&] { ::unlink(tmp.c_str()); };
  auto writer = content_->writer("commit-" + random_hex(16));
  if (!writer) {
    cleanup_tmp();
    return fail(std::move(writer.error()));
  }
  Digest diff_id;
  std::int64_t blob_size = 0;
  {
    auto fd = TRY(open_file(tmp, O_RDONLY));
    std::vector<char> buf(1 << 20);
    for (;;) {
      ssize_t k = ::read(fd.get(), buf.data(), buf.size());
      if (k < 0) return fail_errno("read", tmp);
      if (k == 0) break;
      TRY((*writer)->write(buf.data(), static_cast<std::size_t>(k)));
      blob_size += k;
    }
    diff_id = TRY((*writer)->commit(std::nullopt));
  }
  // Register the layer on top of the image's chain.
  std::vector<LayerInput> inputs;
  for (auto& d : cfg.diff_ids) inputs.push_back({[] { return Result<std::unique_ptr<storage::Reader>>(fail(Errc::Internal, "unused")); }, d, d.short_id()});
  inputs.push_back({[&]() -> Result<std::unique_ptr<storage::Reader>> {
                      auto fd = TRY(open_file(tmp, O_RDONLY));
                      struct Owning : storage::Reader {
                        UniqueFd fd;
                        std::unique_ptr<storage::Reader> r;
                        Result<std::size_t> read(void* b, std::size_t n) override { return r->read(b, n); }
                      };
                      auto o = std::make_unique<Owning>();
                      o->r = storage::fd_reader(fd.get());
                      o->fd = std::move(fd);
                      return std::unique_ptr<storage::Reader>(std::move(o));
                    },
                    diff_id, diff_id.short_id()});
  auto metas = register_layers(std::move(inputs), nullptr);
  cleanup_tmp();
  if (!metas) return fail(std::move(metas.error()));

  oci::ImageConfig nc = cfg;
  nc.diff_ids.push_back(diff_id);
  nc.created = now_rfc3339();
  nc.parent = cm.image_id;
  if (!opts.author.empty()) nc.author = opts.author;
  nc.comment = opts.comment;
  if (opts.config) nc.config = *opts.config;
  TRY(apply_changes(nc.config, opts.changes));
  nc.history.push_back({nc.created, opts.created_by, opts.author, opts.comment, false});
  std::string raw = oci::to_json(nc);
  Digest id = TRY(content_->put(raw));
  ImageMeta meta;
  meta.id = id;
  {
    std::lock_guard lk(mu_);
    auto base = image_meta(*Digest::parse(cm.image_id));
    if (base) meta.layers = base->layers;
  }
  oci::Descriptor ld;
  ld.media_type = std::string(oci::media::kDockerLayer);
  ld.digest = diff_id;
  ld.size = blob_size;
  meta.layers.push_back(ld);
  std::vector<std::string> tags;
  if (!opts.reference.empty()) {
    auto r = TRY(oci::parse_reference(opts.reference));
    tags.push_back(oci::with_default_tag(r).str());
  }
  TRY(register_image(meta, tags));
  return id.str();
}

Result<std::string> ServiceImpl::commit_config(const std::string& parent_id, const CommitOptions& opts) {
  std::lock_guard load_lk(load_mu_);
  oci::ImageConfig nc;
  ImageMeta meta;
  if (!parent_id.empty()) {
    std::lock_guard lk(mu_);
    Digest pid = TRY(resolve_id(parent_id));
    nc = TRY(image_config(pid));
    if (auto base = image_meta(pid); base) meta.layers = base->layers;
    nc.parent = pid.str();
  } else {
    auto hp = oci::host_platform();
    nc.architecture = hp.architecture;
    nc.os = hp.os;
    nc.variant = hp.variant;
  }
  nc.created = now_rfc3339();
  if (!opts.author.empty()) nc.author = opts.author;
  nc.comment = opts.comment;
  if (opts.config) nc.config = *opts.config;
  TRY(apply_changes(nc.config, opts.changes));
  if (opts.layer_index >= 0) {
    std::lock_guard lk(mu_);
    Digest sid = TRY(resolve_id(opts.layer_from));
    auto sc = TRY(image_config(sid));
    auto li = static_cast<std::size_t>(opts.layer_index);
    if (li != nc.diff_ids.size() || li >= sc.diff_ids.size() ||
        !std::equal(nc.diff_ids.begin(), nc.diff_ids.end(), sc.diff_ids.begin()))
      return fail(Errc::InvalidArgument, fmt::format("image {} does not extend the layers of {} at layer {}",
                                                     sid.str(), parent_id, li));
    nc.diff_ids.push_back(sc.diff_ids[li]);
    if (!layer_meta(chain_ids(nc.diff_ids).back()))
      return fail(Errc::NotFound, fmt::format("layer {} of {} is not registered", li, sid.str()));
    auto sm = image_meta(sid);
    if (sm && sm->layers.size() == sc.diff_ids.size() && meta.layers.size() == li) meta.layers.push_back(sm->layers[li]);
  }
  if (opts.history) nc.history.push_back(*opts.history);
  else nc.history.push_back({nc.created, opts.created_by, opts.author, opts.comment, opts.layer_index < 0});
  std::string raw = oci::to_json(nc);
  Digest id = TRY(content_->put(raw));
  meta.id = id;
  std::vector<std::string> tags;
  if (!opts.reference.empty()) {
    auto r = TRY(oci::parse_reference(opts.reference));
    tags.push_back(oci::with_default_tag(r).str());
  }
  TRY(register_image(meta, tags));
  return id.str();
}

}  // namespace berth::image
