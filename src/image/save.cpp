// SPDX-License-Identifier: Apache-2.0
// docker save: an OCI image layout that is also a docker-archive (what Docker 25+ writes):
//   oci-layout, index.json, blobs/sha256/*, manifest.json, repositories.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <set>

#include "common/defer.hpp"
#include "common/file.hpp"
#include "image/service_impl.hpp"
#include "oci/media_types.hpp"
#include "oci/reference.hpp"

namespace berth::image {

using json = nlohmann::json;

namespace {

Status add_bytes(struct archive* a, const std::string& name, std::string_view data) {
  struct archive_entry* e = archive_entry_new();
  auto f = defer([&] { archive_entry_free(e); });
  archive_entry_set_pathname(e, name.c_str());
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
  if (archive_write_header(a, e) != ARCHIVE_OK ||
      archive_write_data(a, data.data(), data.size()) < 0)
    return fail(Errc::Internal, fmt::format("tar: {}", archive_error_string(a)));
  return ok();
}

Status add_dir(struct archive* a, const std::string& name) {
  struct archive_entry* e = archive_entry_new();
  auto f = defer([&] { archive_entry_free(e); });
  archive_entry_set_pathname(e, name.c_str());
  archive_entry_set_filetype(e, AE_IFDIR);
  archive_entry_set_perm(e, 0755);
  if (archive_write_header(a, e) != ARCHIVE_OK)
    return fail(Errc::Internal, fmt::format("tar: {}", archive_error_string(a)));
  return ok();
}

Status add_file(struct archive* a, const std::string& name, const std::string& path) {
  auto fd = TRY(open_file(path, O_RDONLY));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail_errno("stat", path);
  struct archive_entry* e = archive_entry_new();
  auto f = defer([&] { archive_entry_free(e); });
  archive_entry_set_pathname(e, name.c_str());
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, st.st_size);
  if (archive_write_header(a, e) != ARCHIVE_OK)
    return fail(Errc::Internal, fmt::format("tar: {}", archive_error_string(a)));
  std::vector<char> buf(1 << 20);
  for (;;) {
    ssize_t k = ::read(fd.get(), buf.data(), buf.size());
    if (k < 0) return fail_errno("read", path);
    if (k == 0) break;
    if (archive_write_data(a, buf.data(), static_cast<size_t>(k)) < 0)
      return fail(Errc::Internal, fmt::format("tar: {}", archive_error_string(a)));
  }
  return ok();
}

}  // namespace

Status ServiceImpl::save(const std::vector<std::string>& refs, int out_fd) {
  struct Item {
    Digest id;
    ImageMeta meta;
    std::vector<std::string> tags;  // canonical
  };
  std::vector<Item> items;
  {
    std::lock_guard lk(mu_);
    for (auto& r : refs) {
      Item it;
      it.id = TRY(resolve_id(r));
      it.meta = TRY(image_meta(it.id));
      if (auto p = oci::parse_reference(r); p && !(r.starts_with("sha256:"))) {
        auto full = oci::with_default_tag(*p);
        if (refs_.count(full.str()) && full.digest.empty()) it.tags.push_back(full.str());
      }
      for (auto& l : it.meta.layers)
        if (!content_->exists(l.digest))
          return fail(Errc::NotFound, fmt::format("layer blob {} of image {} is not in the store",
                                                  l.digest.str(), it.id.short_id()));
      bool merged = false;
      for (auto& x : items) {
        if (x.id == it.id) {
          for (auto& t : it.tags) x.tags.push_back(t);
          merged = true;
        }
      }
      if (!merged) items.push_back(std::move(it));
    }
  }
  struct archive* a = archive_write_new();
  auto free_a = defer([&] { archive_write_free(a); });
  archive_write_set_format_pax_restricted(a);
  if (archive_write_open_fd(a, out_fd) != ARCHIVE_OK)
    return fail(Errc::Internal, fmt::format("tar: {}", archive_error_string(a)));
  TRY(add_dir(a, "blobs"));
  TRY(add_dir(a, "blobs/sha256"));
  std::set<std::string> written;
  json index = {{"schemaVersion", 2}, {"mediaType", oci::media::kOciIndex}, {"manifests", json::array()}};
  json manifest_json = json::array();
  json repositories = json::object();
  for (auto& it : items) {
    std::string cfg_raw = TRY(content_->read(it.id));
    bool docker = !it.meta.layers.empty();
    for (auto& l : it.meta.layers)
      if (!l.media_type.starts_with("application/vnd.docker.")) docker = false;
    oci::Manifest m;
    m.media_type = std::string(docker ? oci::media::kDockerManifest : oci::media::kOciManifest);
    m.config.media_type = std::string(docker ? oci::media::kDockerConfig : oci::media::kOciConfig);
    m.config.digest = it.id;
    m.config.size = static_cast<std::int64_t>(cfg_raw.size());
    json layer_paths = json::array();
    for (auto& l : it.meta.layers) {
      oci::Descriptor d = l;
      d.annotations.clear();
      d.platform.reset();
      m.layers.push_back(d);
      std::string name = "blobs/sha256/" + l.digest.hex();
      layer_paths.push_back(name);
      if (written.insert(name).second) TRY(add_file(a, name, content_->blob_path(l.digest)));
    }
    std::string cfg_name = "blobs/sha256/" + it.id.hex();
    if (written.insert(cfg_name).second) TRY(add_bytes(a, cfg_name, cfg_raw));
    std::string man_raw = oci::to_json(m);
    Digest man_d = digest_of(man_raw);
    std::string man_name = "blobs/sha256/" + man_d.hex();
    if (written.insert(man_name).second) TRY(add_bytes(a, man_name, man_raw));
    json tags = json::array();
    auto add_index = [&](const std::string& canonical) {
      json desc = {{"mediaType", m.media_type}, {"digest", man_d.str()},
                   {"size", man_raw.size()}};
      if (!canonical.empty()) {
        auto r = oci::parse_canonical(canonical);
        desc["annotations"] = {{"io.containerd.image.name", canonical},
                               {"org.opencontainers.image.ref.name", r->tag}};
      }
      index["manifests"].push_back(desc);
    };
    if (it.tags.empty()) add_index("");
    for (auto& t : it.tags) {
      add_index(t);
      auto r = oci::parse_canonical(t);
      tags.push_back(r->familiar());
      repositories[r->familiar_name()][r->tag] = it.id.hex();
    }
    manifest_json.push_back({{"Config", cfg_name},
                             {"RepoTags", tags.empty() ? json(nullptr) : tags},
                             {"Layers", layer_paths}});
  }
  TRY(add_bytes(a, "index.json", index.dump()));
  TRY(add_bytes(a, "manifest.json", manifest_json.dump()));
  TRY(add_bytes(a, "oci-layout", R"({"imageLayoutVersion":"1.0.0"})"));
  if (!repositories.empty()) TRY(add_bytes(a, "repositories", repositories.dump()));
  if (archive_write_close(a) != ARCHIVE_OK)
    return fail(Errc::Internal, fmt::format("tar: {}", archive_error_string(a)));
  return ok();
}

}  // namespace berth::image
