// SPDX-License-Identifier: Apache-2.0
// Filesystem storage of the registry.
//
// Layout under the root (all writes are temp file + fsync + rename + fsync(dir), so an
// acknowledged push survives kill -9 or power loss):
//   blobs/<algo>/<hex[0:2]>/<hex>           content (layers, configs AND manifests), shared by
//                                            every repository (de-duplicated)
//   repositories/<name>/_layers/<algo>/<hex>     link: this repo may serve that blob (empty file)
//   repositories/<name>/_manifests/<algo>/<hex>  link to a manifest; holds its media type
//   repositories/<name>/_tags/<tag>              holds the manifest digest
//   repositories/<name>/_referrers/<algo>/<subject hex>/<algo>-<hex>  referrer descriptor JSON
//   uploads/<uuid>/{data,repo}                   upload sessions (purged after upload_ttl)
//   tmp/                                         temp files (purged at open)
//
// Upload state machine (POST -> PATCH* -> PUT, or POST?digest= monolithic):
//   start_upload -> session (offset 0); append(range?) requires range.start == offset, else
//   RangeInvalid (416) and nothing changes; a failed/short append truncates back to the old
//   offset; finish(digest) verifies digest (and size), moves data into blobs/ and links it.
//
// Online GC coordination: every operation that makes a blob reachable (finish upload, mount,
// manifest put) holds gc_mu_ shared and touches the blob's mtime; the sweeper takes gc_mu_
// exclusively per blob and only deletes blobs unreferenced at mark time AND older than the grace
// period. So a blob being linked concurrently is never swept.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/digest.hpp"
#include "registry/catalog.hpp"
#include "registry/errors.hpp"

namespace berth::registry {

// Pulls request bytes: fills buf, returns bytes read (0 = end of body).
using ByteSource = std::function<Result<std::size_t>(char* buf, std::size_t n)>;

struct StorageOptions {
  std::string root;
  bool delete_enabled = true;
  bool readonly = false;
  std::uint64_t max_manifest_bytes = 4u << 20;
  std::chrono::seconds upload_ttl{7 * 24 * 3600};
  bool fsync = true;  // tests of throughput may turn it off; never in production
};

struct BlobStat {
  std::string path;  // absolute path of the content file
  std::uint64_t size = 0;
};

struct UploadStatus {
  std::string uuid;
  std::uint64_t offset = 0;  // bytes received
};

struct ManifestData {
  Digest digest;
  std::string media_type;
  std::string content;
};

struct PutManifestResult {
  Digest digest;
  std::optional<Digest> subject;
};

struct GcOptions {
  bool dry_run = false;
  bool delete_untagged = false;
  std::chrono::seconds grace{3600};  // blobs younger than this are never swept
};

struct GcReport {
  std::size_t blobs_marked = 0;
  std::size_t blobs_deleted = 0;
  std::uint64_t bytes_freed = 0;
  std::size_t manifests_deleted = 0;
  std::size_t links_deleted = 0;
  std::vector<std::string> deleted;  // digests (also filled in dry-run: what would go)
};

class Storage {
 public:
  static RResult<std::unique_ptr<Storage>> open(StorageOptions o);
  ~Storage();

  const StorageOptions& options() const { return opts_; }
  void set_readonly(bool ro) { opts_.readonly = ro; }

  // ---- blobs ----
  // A blob this repository may serve.
  RResult<BlobStat> stat_blob(const std::string& repo, const Digest& d) const;
  // Whether the content exists at all (any repository).
  bool have_blob(const Digest& d) const;
  // Links an existing blob into repo (cross-repository mount). `from` empty: any repository.
  RResult<BlobStat> mount_blob(const std::string& repo, const Digest& d, const std::string& from);
  // Unlinks the blob from repo (content goes at the next GC).
  RResult<void> delete_blob(const std::string& repo, const Digest& d);
  // Stores content known by digest directly (mirror cache fills); verifies the digest.
  RResult<BlobStat> put_blob(const std::string& repo, const Digest& d, const ByteSource& src);

  // ---- uploads ----
  RResult<UploadStatus> start_upload(const std::string& repo);
  RResult<UploadStatus> upload_status(const std::string& repo, const std::string& uuid);
  // Appends src; range_start (from Content-Range) must equal the current offset. If
  // expected_len is set, exactly that many bytes must arrive.
  RResult<UploadStatus> append_upload(const std::string& repo, const std::string& uuid,
                                      std::optional<std::uint64_t> range_start,
                                      std::optional<std::uint64_t> expected_len,
                                      const ByteSource& src);
  // Completes: verifies digest, links blob, removes the session.
  RResult<BlobStat> finish_upload(const std::string& repo, const std::string& uuid,
                                  const Digest& d);
  RResult<void> cancel_upload(const std::string& repo, const std::string& uuid);
  // Removes sessions older than upload_ttl; returns how many.
  std::size_t purge_uploads(std::chrono::seconds older_than);

  // ---- manifests ----
  // reference: tag or digest. content_type: the request's Content-Type (may be empty).
  RResult<PutManifestResult> put_manifest(const std::string& repo, const std::string& reference,
                                          const std::string& content_type, std::string content,
                                          bool verify_refs = true);
  // Points tag at a manifest already stored in repo (PUT by digest with ?tag=).
  RResult<void> put_tag(const std::string& repo, const std::string& tag, const Digest& manifest);
  RResult<ManifestData> get_manifest(const std::string& repo, const std::string& reference) const;
  // Digest + media type + size without reading the content again (HEAD).
  RResult<ManifestData> resolve_manifest(const std::string& repo, const std::string& reference,
                                         std::uint64_t* size) const;
  // Tag: removes the tag. Digest: removes the manifest link, its tags and its referrer entry.
  RResult<void> delete_manifest(const std::string& repo, const std::string& reference);
  // Sorted lexically. NameUnknown if the repository does not exist.
  RResult<std::vector<std::string>> list_tags(const std::string& repo) const;
  // Every repository, sorted (from the in-memory index, see catalog.hpp).
  std::vector<std::string> catalog() const;
  // One page of the catalog after `last`; *more: further names exist.
  std::vector<std::string> catalog_page(const std::optional<std::string>& last, std::optional<std::size_t> n,
                                        bool* more) const;
  bool repo_exists(const std::string& repo) const;
  // OCI image index JSON listing the referrers of subject (filtered by artifact_type if set).
  RResult<std::string> referrers(const std::string& repo, const Digest& subject,
                                 const std::string& artifact_type) const;

  // ---- garbage collection ----
  RResult<GcReport> collect_garbage(const GcOptions& o);

  std::string blob_path(const Digest& d) const;

 private:
  explicit Storage(StorageOptions o);
  struct Session;
  RResult<void> check_writable() const;
  RResult<std::shared_ptr<Session>> session(const std::string& repo, const std::string& uuid);
  RResult<void> link_file(const std::string& path, std::string_view content);
  RResult<BlobStat> commit_blob_file(const std::string& tmp_path, const Digest& d);
  std::string repo_dir(const std::string& repo) const;
  RResult<Digest> resolve_ref(const std::string& repo, const std::string& reference) const;
  void touch_blob(const Digest& d) const;

  StorageOptions opts_;
  mutable std::shared_mutex gc_mu_;
  // Digests made reachable since the running GC's start barrier: never swept by that run.
  // Exact for this process; other writers are covered by the mtime grace period.
  mutable std::mutex touched_mu_;
  mutable bool gc_running_ = false;
  mutable std::unordered_set<std::string> touched_;
  RepoIndex repos_;
  std::mutex sessions_mu_;
  std::unordered_map<std::string, std::shared_ptr<Session>> sessions_;
};

// Parses a manifest body and lists what it references; used by put and by GC.
struct ManifestRefs {
  std::string media_type;   // mediaType of the content, else guessed from its shape
  bool media_type_explicit = false;
  std::vector<Digest> blobs;      // config + layers (image manifest)
  std::vector<Digest> manifests;  // children (index)
  std::optional<Digest> subject;
  std::string artifact_type;      // artifactType, or config.mediaType for image manifests
  std::string annotations_json;   // raw JSON object or empty
  std::vector<bool> blob_optional;  // parallel to blobs: non-distributable with urls
};
RResult<ManifestRefs> parse_manifest(std::string_view content);

}  // namespace berth::registry
