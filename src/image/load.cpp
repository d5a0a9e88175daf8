// SPDX-License-Identifier: Apache-2.0
// docker load: docker-archive (manifest.json + repositories; Docker 25+ writes it over an OCI
// layout) and plain OCI layout tarballs. The archive is unpacked (confined) into a temp dir
// under the data root, blobs are verified and moved into the content store, layers are
// extracted (in parallel for overlay2) and verified against the config's diff ids, and only then
// is the image registered and tagged.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/file.hpp"
#include "common/path.hpp"
#include "image/service_impl.hpp"
#include "oci/media_types.hpp"
#include "oci/reference.hpp"
#include "storage/tar_apply.hpp"

namespace berth::image {

using json = nlohmann::json;

namespace {

struct FileReader : storage::Reader {
  UniqueFd fd;
  Result<std::size_t> read(void* b, std::size_t n) override {
    for (;;) {
      ssize_t r = ::read(fd.get(), b, n);
      if (r >= 0) return static_cast<std::size_t>(r);
      if (errno != EINTR) return fail_errno("read layer");
    }
  }
};

std::function<Result<std::unique_ptr<storage::Reader>>()> file_opener(std::string path) {
  return [path]() -> Result<std::unique_ptr<storage::Reader>> {
    auto r = std::make_unique<FileReader>();
    r->fd = TRY(open_file(path, O_RDONLY));
    return std::unique_ptr<storage::Reader>(std::move(r));
  };
}

std::string layer_media_type(const std::string& path) {
  auto fd = open_file(path, O_RDONLY);
  unsigned char b[4] = {};
  if (fd) (void)read_full(fd->get(), b, 4);
  if (b[0] == 0x1f && b[1] == 0x8b) return std::string(oci::media::kDockerLayerGzip);
  if (b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
    return std::string(oci::media::kOciLayerZstd);
  return std::string(oci::media::kDockerLayer);
}

struct PendingImage {
  std::string config_path;
  std::vector<std::string> layer_paths;
  std::vector<std::string> layer_media_types;  // may be empty: sniffed
  std::vector<std::string> tags;               // canonical
  std::string manifest_raw;
};

}  // namespace

Result<std::vector<std::string>> ServiceImpl::load(int fd, const ProgressFn& progress) {
  std::lock_guard load_lk(load_mu_);
  auto td = TRY(TempDir::create(tmp_dir(), "load-"));
  const std::string base = td.path();
  {
    auto dec = TRY(storage::decompressed(storage::fd_reader(fd)));
    storage::ApplyOptions ao;
    ao.whiteouts = storage::WhiteoutMode::Delete;
    ao.preserve_owner = false;
    TRYC(storage::apply_tar(*dec, base, ao), "read image archive");
  }
  auto in_archive = [&](const std::string& rel) -> Result<std::string> {
    return secure_join(base, rel);
  };

  std::vector<PendingImage> pending;
  TRY(([&]() -> Status {
    try {
      if (path_exists(base + "/manifest.json")) {
        json m = json::parse(TRY(read_file(base + "/manifest.json")));
        if (!m.is_array()) return fail(Errc::InvalidArgument, "manifest.json is not an array");
        for (auto& e : m) {
          PendingImage p;
          p.config_path = TRY(in_archive(e.at("Config").get<std::string>()));
          for (auto& l : e.value("Layers", json::array()))
            p.layer_paths.push_back(TRY(in_archive(l.get<std::string>())));
          if (auto rt = e.find("RepoTags"); rt != e.end() && rt->is_array()) {
            for (auto& t : *rt) {
              auto r = TRY(oci::parse_reference(t.get<std::string>()));
              p.tags.push_back(oci::with_default_tag(r).str());
            }
          }
          pending.push_back(std::move(p));
        }
        return ok();
      }
      if (!path_exists(base + "/index.json"))
        return fail(Errc::InvalidArgument,
                    "invalid archive: does not contain a manifest.json or an OCI index.json");
      auto blob = [&](const Digest& d) -> Result<std::string> {
        return in_archive(fmt::format("blobs/{}/{}", d.algo_name(), d.hex()));
      };
      std::function<Status(const std::string&, std::vector<std::string>)> visit;
      visit = [&](const std::string& raw, std::vector<std::string> names) -> Status {
        auto idx = TRY(oci::parse_index(raw));
        auto host = oci::host_platform();
        bool nested_done = false;
        for (auto& d : idx.manifests) {
          std::vector<std::string> tags = names;
          if (auto it = d.annotations.find("io.containerd.image.name"); it != d.annotations.end()) {
            if (auto r = oci::parse_reference(it->second); r) tags.push_back(oci::with_default_tag(*r).str());
          } else if (auto it2 = d.annotations.find("org.opencontainers.image.ref.name");
                     it2 != d.annotations.end()) {
            if (auto r = oci::parse_reference(it2->second); r && it2->second.find('/') != std::string::npos)
              tags.push_back(oci::with_default_tag(*r).str());
          }
          std::string body = TRY(read_file(TRY(blob(d.digest))));
          if (digest_of(body, d.digest.algo()) != d.digest)
            return fail(Errc::DataLoss, fmt::format("blob {} does not match its digest", d.digest.str()));
          if (oci::media::is_index(d.media_type)) {
            TRY(visit(body, tags));
            continue;
          }
          if (d.platform && !oci::platform_matches(host, *d.platform)) continue;
          if (nested_done && !names.empty()) continue;  // one platform per nested index
          auto man = TRY(oci::parse_manifest(body));
          PendingImage p;
          p.config_path = TRY(blob(man.config.digest));
          for (auto& l : man.layers) {
            if (oci::media::is_nondistributable(l.media_type) && !path_exists(TRY(blob(l.digest))))
              return fail(Errc::Unimplemented, "foreign layers are not supported by load");
            p.layer_paths.push_back(TRY(blob(l.digest)));
            p.layer_media_types.push_back(l.media_type);
          }
          p.tags = tags;
          p.manifest_raw = body;
          pending.push_back(std::move(p));
          nested_done = true;
        }
        return ok();
      };
      return visit(TRY(read_file(base + "/index.json")), {});
    } catch (const std::exception& e) {
      return fail(Errc::InvalidArgument, fmt::format("invalid archive manifest: {}", e.what()));
    }
  }()));

  std::vector<std::string> loaded;
  for (auto& p : pending) {
    std::string raw = TRYC(read_file(p.config_path), "read image config");
    auto cfg = TRY(oci::parse_image_config(raw));
    if (cfg.diff_ids.size() != p.layer_paths.size())
      return fail(Errc::InvalidArgument,
                  fmt::format("invalid archive: {} layers listed, the config has {} diff ids",
                              p.layer_paths.size(), cfg.diff_ids.size()));
    std::vector<LayerInput> inputs;
    for (std::size_t i = 0; i < p.layer_paths.size(); ++i)
      inputs.push_back({file_opener(p.layer_paths[i]), cfg.diff_ids[i], cfg.diff_ids[i].short_id()});
    TRY(register_layers(std::move(inputs), progress));

    ImageMeta meta;
    meta.id = TRY(content_->put(raw));
    for (std::size_t i = 0; i < p.layer_paths.size(); ++i) {
      oci::Descriptor d;
      d.media_type = i < p.layer_media_types.size() ? p.layer_media_types[i]
                                                    : layer_media_type(p.layer_paths[i]);
      struct stat st {};
      ::stat(p.layer_paths[i].c_str(), &st);
      d.size = st.st_size;
      // The same blob may be listed twice (identical layers): adopt once.
      auto dg = digest_file(p.layer_paths[i]);
      if (!dg) return fail(std::move(dg.error()));
      d.digest = *dg;
      if (!content_->exists(d.digest)) TRY(content_->adopt_file(p.layer_paths[i], d.digest));
      meta.layers.push_back(std::move(d));
    }
    if (!p.manifest_raw.empty()) meta.manifest_digest = TRY(content_->put(p.manifest_raw)).str();
    TRY(register_image(meta, p.tags));
    if (p.tags.empty()) {
      loaded.push_back(meta.id.str());
      if (progress) progress({json({{"stream", "Loaded image ID: " + meta.id.str() + "\n"}}).dump()});
    }
    for (auto& t : p.tags) {
      std::string fam = oci::parse_canonical(t)->familiar();
      loaded.push_back(fam);
      if (progress) progress({json({{"stream", "Loaded image: " + fam + "\n"}}).dump()});
    }
  }
  return loaded;
}

}  // namespace berth::image
