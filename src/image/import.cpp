// SPDX-License-Identifier: Apache-2.0
// docker import: a root filesystem tarball (optionally compressed) becomes a one-layer image.
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "common/file.hpp"
#include "common/strings.hpp"
#include "image/service_impl.hpp"
#include "oci/media_types.hpp"
#include "oci/reference.hpp"

namespace berth::image {

namespace {
struct FileReader : storage::Reader {
  UniqueFd fd;
  Result<std::size_t> read(void* b, std::size_t n) override {
    for (;;) {
      ssize_t r = ::read(fd.get(), b, n);
      if (r >= 0) return static_cast<std::size_t>(r);
      if (errno != EINTR) return fail_errno("read");
    }
  }
};
}  // namespace

Result<std::string> ServiceImpl::import(int fd, const ImportOptions& opts) {
  std::lock_guard load_lk(load_mu_);
  std::vector<std::string> tags;
  if (!opts.reference.empty()) {
    auto r = TRY(oci::parse_reference(opts.reference));
    tags.push_back(oci::with_default_tag(r).str());
  }
  oci::ImageConfig cfg;
  auto plat = opts.platform.empty() ? oci::host_platform() : TRY(oci::parse_platform(opts.platform));
  cfg.architecture = plat.architecture;
  cfg.os = plat.os;
  cfg.variant = plat.variant;
  cfg.created = now_rfc3339();
  cfg.comment = opts.message.empty() ? "Imported from -" : opts.message;
  TRY(apply_changes(cfg.config, opts.changes));

  // Decompressed stream -> content store (its digest is the diff id).
  auto dec = TRY(storage::decompressed(storage::fd_reader(fd)));
  auto w = TRY(content_->writer("import-" + random_hex(16)));
  std::vector<char> buf(1 << 20);
  std::int64_t size = 0;
  for (;;) {
    std::size_t k = TRY(dec->read(buf.data(), buf.size()));
    if (k == 0) break;
    TRY(w->write(buf.data(), k));
    size += static_cast<std::int64_t>(k);
  }
  Digest diff = TRY(w->commit(std::nullopt));
  cfg.diff_ids.push_back(diff);
  cfg.history.push_back({cfg.created, "", "", cfg.comment, false});
  std::string path = content_->blob_path(diff);
  std::vector<LayerInput> inputs;
  inputs.push_back({[path]() -> Result<std::unique_ptr<storage::Reader>> {
                      auto r = std::make_unique<FileReader>();
                      r->fd = TRY(open_file(path, O_RDONLY));
                      return std::unique_ptr<storage::Reader>(std::move(r));
                    },
                    diff, diff.short_id()});
  TRYC(register_layers(std::move(inputs), nullptr), "import layer");
  std::string raw = oci::to_json(cfg);
  ImageMeta meta;
  meta.id = TRY(content_->put(raw));
  oci::Descriptor d;
  d.media_type = std::string(oci::media::kDockerLayer);
  d.digest = diff;
  d.size = size;
  meta.layers.push_back(d);
  TRY(register_image(meta, tags));
  return meta.id.str();
}

}  // namespace berth::image
