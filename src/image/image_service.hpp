// SPDX-License-Identifier: Apache-2.0
// ImageService: the facade berthd calls for everything about images and container root
// filesystems. No JSON library in this header: Docker-shaped JSON comes back as strings.
//
// On-disk layout under `root` (e.g. /var/lib/berth):
//   content/            content-addressed blobs (configs, manifests, compressed layers) + ingests
//   <driver>/           storage driver data (overlay2/ or vfs/)
//   image/layers/<chain-id hex>/{diff_id,cache_id,size,parent}   committed layers
//   image/images/<id hex>.json    per-image metadata (manifest digest, repo digests, created)
//   image/repositories.json       tag/digest references -> image id (atomic rewrite)
//   image/containers/<container id>.json   rw layer record of each prepared rootfs
// Crash safety: data first (blob renamed into place, layer dir renamed from a staging name),
// metadata last, with atomic_write_file; open() removes staging leftovers. An image is
// registered when its repositories.json / images/<id>.json entry exists, never before.
//
// Thread safety: all methods may be called concurrently; mutations are serialized internally.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "oci/image.hpp"

namespace berth::image {

// A mount the runtime performs for a container rootfs (containerd's mount.Mount shape):
// overlay: type "overlay", source "overlay", options {"lowerdir=..","upperdir=..","workdir=.."}
// vfs:     type "bind",    source "<dir>",  options {"rbind","rw"}
struct Mount {
  std::string type;
  std::string source;
  std::vector<std::string> options;
};

// One Docker JSON progress message ({"status":..,"progressDetail":{..},"id":..}); `json` is the
// complete line as the Engine API streams it (no trailing newline).
struct Progress {
  std::string json;
};
using ProgressFn = std::function<void(const Progress&)>;

struct ImageSummary {  // GET /images/json item
  std::string id;      // "sha256:<hex>"
  std::string parent_id;
  std::vector<std::string> repo_tags;     // familiar: "busybox:latest"
  std::vector<std::string> repo_digests;  // "busybox@sha256:..."
  std::int64_t created = 0;               // unix seconds
  std::int64_t size = 0;                  // bytes of all layers (uncompressed)
  // (chain id, uncompressed size) of each layer, bottom first: shared sizes, system df
  std::vector<std::pair<std::string, std::int64_t>> layers;
  std::map<std::string, std::string> labels;
  int containers = -1;
};

struct ListFilters {
  std::optional<bool> dangling;
  std::vector<std::string> labels;      // "key" or "key=value"
  std::vector<std::string> references;  // glob on familiar names ("busy*", "busybox:1*")
  std::string before, since;            // image references/ids
  bool all = false;
};

// Everything the daemon needs to create a container from an image.
struct ResolvedImage {
  std::string id;  // "sha256:<hex>"
  oci::ImageConfig config;
  std::string config_json;  // raw config blob
  std::vector<std::string> repo_tags;
};

struct DeleteItem {  // DELETE /images/{name} response entries
  std::string untagged;  // familiar reference, or empty
  std::string deleted;   // "sha256:..." id, or empty
};

struct HistoryItem {  // GET /images/{name}/history
  std::string id;  // image id for the top entry, "<missing>" otherwise
  std::int64_t created = 0;
  std::string created_by;
  std::vector<std::string> tags;
  std::int64_t size = 0;
  std::string comment;
};

struct CommitOptions {
  std::string reference;  // "repo:tag" or empty
  std::string comment, author;
  std::optional<oci::ContainerConfig> config;  // replaces the image's config when set
  std::vector<std::string> changes;            // Dockerfile instructions (ENV, CMD, ...)
  bool pause = true;
  std::string created_by;                      // history entry (builds: the instruction)
  // commit_config only, for build cache restores (`docker build --cache-from`): `history`
  // is the new history entry verbatim, and when layer_index >= 0 layer `layer_index` of image
  // `layer_from` (whose layers must start with the parent's) is appended to the parent's.
  std::optional<oci::HistoryEntry> history;
  std::string layer_from;
  int layer_index = -1;
};

struct ImportOptions {
  std::string reference;
  std::string message;
  std::vector<std::string> changes;
  std::string platform;
};

struct PullOptions {
  std::string platform;       // "" = host
  std::string auth_base64;    // X-Registry-Auth header value, "" = config.json / anonymous
  bool all_tags = false;
};

struct ServiceOptions {
  std::string root;                    // data root, e.g. /var/lib/berth
  std::string driver = "overlay2";     // "overlay2" | "vfs"; "" = overlay2 when supported else vfs
  std::vector<std::string> insecure_registries;
  std::map<std::string, std::vector<std::string>> mirrors;  // registry host -> mirror URLs
  int max_concurrent_downloads = 3;
  int max_concurrent_uploads = 5;
  std::int64_t upload_chunk_size = 32 << 20;  // see distribution::ClientOptions
  std::vector<std::string> certs_dirs = {"/etc/berth/certs.d", "/etc/docker/certs.d"};
};

// Called before removing an image: returns the container ids using it (remove refuses without
// force, Docker's "conflict: unable to remove repository reference ... container ... is using").
using InUseFn = std::function<std::vector<std::string>(const std::string& image_id)>;

class ImageService {
 public:
  static Result<std::unique_ptr<ImageService>> open(const ServiceOptions& opts);
  virtual ~ImageService() = default;

  virtual std::string driver_name() const = 0;
  virtual void set_in_use_hook(InUseFn fn) = 0;

  // ---- images ----
  // docker-archive (manifest.json + repositories, also Docker 25+ OCI-in-tar) or OCI layout tar.
  // Returns the loaded references ("Loaded image: busybox:latest" lines come via progress, too)
  // and the ids of untagged loaded images ("Loaded image ID: sha256:...").
  virtual Result<std::vector<std::string>> load(int fd, const ProgressFn& progress) = 0;
  // docker-archive that docker and skopeo load (OCI layout + manifest.json + repositories).
  virtual Status save(const std::vector<std::string>& refs, int out_fd) = 0;
  virtual Result<std::vector<ImageSummary>> list(const ListFilters& filters) = 0;
  // Docker's image inspect JSON (Id, RepoTags, RepoDigests, Parent, Comment, Created,
  // DockerVersion, Author, Config, Architecture, Variant, Os, Size, GraphDriver, RootFS, Metadata).
  virtual Result<std::string> inspect(const std::string& name_or_id) = 0;
  // name, "name:tag", "name@digest", full id, "sha256:" id, or unique id prefix.
  virtual Result<ResolvedImage> resolve(const std::string& name_or_id) = 0;
  virtual Result<std::vector<HistoryItem>> history(const std::string& name_or_id) = 0;
  virtual Status tag(const std::string& source, const std::string& target) = 0;
  virtual Result<std::vector<DeleteItem>> remove(const std::string& name_or_id, bool force,
                                                 bool prune_parents = true) = 0;
  // dangling only unless all; returns deleted items and reclaimed bytes.
  virtual Result<std::pair<std::vector<DeleteItem>, std::int64_t>> prune(bool all) = 0;
  // A tar of a root filesystem (optionally compressed) becomes a one-layer image; returns its id.
  virtual Result<std::string> import(int fd, const ImportOptions& opts) = 0;
  virtual Result<std::string> pull(const std::string& ref, const PullOptions& opts,
                                   const ProgressFn& progress) = 0;
  virtual Status push(const std::string& ref, const std::string& auth_base64,
                      const ProgressFn& progress) = 0;

  // ---- container filesystems ----
  // Creates (or returns the existing) rw layer of `container_id` on top of the image's layers;
  // a new one is capped at `size_limit` bytes when not 0 (--storage-opt size=; InvalidArgument
  // where the driver cannot enforce it).
  virtual Result<std::vector<Mount>> prepare_rootfs(const std::string& image_id,
                                                    const std::string& container_id,
                                                    std::uint64_t size_limit = 0) = 0;
  // Mounts of an already prepared container (after a daemon restart).
  virtual Result<std::vector<Mount>> rootfs_mounts(const std::string& container_id) = 0;
  virtual Status remove_rootfs(const std::string& container_id) = 0;
  // docker diff: {path, kind} with kind 0 = modified, 1 = added, 2 = deleted.
  virtual Result<std::vector<std::pair<std::string, int>>> changes(
      const std::string& container_id) = 0;
  // docker export: tar of the merged container filesystem written to fd.
  virtual Status export_rootfs(const std::string& container_id, int out_fd) = 0;
  // docker commit: the container's rw layer becomes a new image on top of its image.
  virtual Result<std::string> commit(const std::string& container_id, const CommitOptions& opts) = 0;
  // Builds: a new image with the layers of `parent_id` ("" = no layers) and opts.config, with
  // an empty-layer history entry (ENV, CMD, … steps). No container involved.
  virtual Result<std::string> commit_config(const std::string& parent_id, const CommitOptions& opts) = 0;
  // Bytes used by a container's rw layer (SizeRw).
  virtual Result<std::int64_t> rootfs_usage(const std::string& container_id) = 0;

  // ---- maintenance ----
  // fsck: every reference names an image record, every image's config (and manifest) blob is
  // present and each layer of its chain has a record whose driver layer exists; no record,
  // driver layer, blob, lease, scratch ingest or tmp/ entry is left that nothing references.
  // `deep` also re-hashes every blob. Returns the problems (empty = consistent). Meant for an
  // idle store (right after open, as the kill -9 tests use it).
  virtual Result<std::vector<std::string>> check(bool deep) = 0;
};

}  // namespace berth::image
