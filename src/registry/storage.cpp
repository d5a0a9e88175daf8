// SPDX-License-Identifier: Apache-2.0
#include "registry/storage.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <set>

#include <nlohmann/json.hpp>

#include "common/defer.hpp"
#include "common/file.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "oci/media_types.hpp"
#include "registry/names.hpp"

namespace berth::registry {

namespace media = oci::media;

struct Storage::Session {
  std::mutex mu;
  std::string repo;
  std::string dir;
  Hasher hasher{DigestAlgo::Sha256};
  std::uint64_t hashed = 0;  // bytes of data fed to hasher
};

namespace {

constexpr std::size_t kIoBuf = 256 * 1024;
constexpr std::uint64_t kWritebackChunk = 8u << 20;

bool is_dir(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Names in a directory (no "." / ".." / temp files); empty if it does not exist.
std::vector<std::string> list_dir(const std::string& p) {
  std::vector<std::string> out;
  DIR* d = ::opendir(p.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n == "." || n == ".." || n.find(".tmp-") != n.npos) continue;
    out.emplace_back(n);
  }
  ::closedir(d);
  return out;
}

bool valid_uuid(std::string_view u) {
  if (u.size() != 32) return false;
  return std::all_of(u.begin(), u.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string strip_params(std::string_view ct) {
  auto p = ct.find(';');
  return std::string(trim(ct.substr(0, p)));
}

bool known_manifest_type(std::string_view mt) {
  return mt == media::kOciManifest || mt == media::kOciIndex || mt == media::kDockerManifest ||
         mt == media::kDockerManifestList;
}

}  // namespace

Storage::Storage(StorageOptions o) : opts_(std::move(o)) {}
Storage::~Storage() = default;

RResult<std::unique_ptr<Storage>> Storage::open(StorageOptions o) {
  if (o.root.empty()) return rfail(Code::Internal, "storage root not set");
  for (const char* sub : {"blobs", "repositories", "uploads", "tmp"})
    RTRY(mkdir_all(path_join(o.root, sub)));
  // Temp files of writes interrupted by a crash are garbage.
  std::string tmp = path_join(o.root, "tmp");
  for (auto& n : list_dir(tmp)) (void)remove_all(path_join(tmp, n));
  std::unique_ptr<Storage> s(new Storage(std::move(o)));
  // The one tree walk: a directory holding a `_` entry is a repository.
  std::set<std::string> found;
  std::function<void(const std::string&, const std::string&)> walk = [&](const std::string& dir,
                                                                         const std::string& name) {
    bool is_repo = false;
    for (auto& n : list_dir(dir)) {
      if (n[0] == '_') {
        is_repo = true;
        continue;
      }
      if (is_dir(dir + "/" + n)) walk(dir + "/" + n, name.empty() ? n : name + "/" + n);
    }
    if (is_repo && !name.empty()) found.insert(name);
  };
  walk(path_join(s->opts_.root, "repositories"), "");
  s->repos_.reset(std::move(found));
  return s;
}

std::string Storage::blob_path(const Digest& d) const {
  std::string p = opts_.root;
  p += "/blobs/";
  p += d.algo_name();
  p += '/';
  p += d.hex().substr(0, 2);
  p += '/';
  p += d.hex();
  return p;
}

std::string Storage::repo_dir(const std::string& repo) const { return opts_.root + "/repositories/" + repo; }

RResult<void> Storage::check_writable() const {
  if (opts_.readonly) return rfail(Code::Unsupported, "registry is in read-only mode");
  return {};
}

void Storage::touch_blob(const Digest& d) const {
  ::utimensat(AT_FDCWD, blob_path(d).c_str(), nullptr, 0);
  std::lock_guard lk(touched_mu_);
  if (gc_running_) touched_.insert(d.str());
}

RResult<void> Storage::link_file(const std::string& path, std::string_view content) {
  RTRY(mkdir_all(dirname(path)));
  // Every link lives in repositories/<name>/_<kind>/...: keep the catalog index current.
  std::string prefix = opts_.root + "/repositories/";
  if (path.starts_with(prefix)) {
    auto end = path.find("/_", prefix.size());
    if (end != std::string::npos) {
      std::string name = path.substr(prefix.size(), end - prefix.size());
      if (!repos_.contains(name)) repos_.add(name);
    }
  }
  if (opts_.fsync) {
    RTRY(atomic_write_file(path, content));
    return {};
  }
  std::string tmp = path + ".tmp-" + random_hex(8);
  RTRY(write_file(tmp, content));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return fail_errno("rename", path);
  }
  return {};
}

bool Storage::have_blob(const Digest& d) const {
  struct stat st;
  return ::stat(blob_path(d).c_str(), &st) == 0;
}

bool Storage::repo_exists(const std::string& repo) const {
  std::string d = repo_dir(repo);
  return is_dir(d + "/_manifests") || is_dir(d + "/_layers") || is_dir(d + "/_tags");
}

RResult<BlobStat> Storage::stat_blob(const std::string& repo, const Digest& d) const {
  std::string link = repo_dir(repo) + "/_layers/" + std::string(d.algo_name()) + "/" + d.hex();
  struct stat st;
  if (::stat(link.c_str(), &st) != 0) {
    // Manifests may be fetched through the blob endpoint too.
    std::string mlink = repo_dir(repo) + "/_manifests/" + std::string(d.algo_name()) + "/" + d.hex();
    if (::stat(mlink.c_str(), &st) != 0) return rfail(Code::BlobUnknown, "blob unknown to registry");
  }
  BlobStat b{blob_path(d), 0};
  if (::stat(b.path.c_str(), &st) != 0) return rfail(Code::BlobUnknown, "blob unknown to registry");
  b.size = static_cast<std::uint64_t>(st.st_size);
  return b;
}

// Moves a verified temp file into blobs/ (or drops it when the content is already there).
// Caller holds gc_mu_ shared.
RResult<BlobStat> Storage::commit_blob_file(const std::string& tmp_path, const Digest& d) {
  std::string dst = blob_path(d);
  struct stat st;
  if (::stat(dst.c_str(), &st) == 0) {
    ::unlink(tmp_path.c_str());
    touch_blob(d);
    return BlobStat{dst, static_cast<std::uint64_t>(st.st_size)};
  }
  std::string dir = dirname(dst);
  RTRY(mkdir_all(dir));
  if (::rename(tmp_path.c_str(), dst.c_str()) != 0) return fail_errno("rename blob", dst);
  touch_blob(d);  // the data may have been written long ago (slow upload): it is new content now
  if (opts_.fsync) RTRY(fsync_dir(dir));
  if (::stat(dst.c_str(), &st) != 0) return fail_errno("stat blob", dst);
  return BlobStat{dst, static_cast<std::uint64_t>(st.st_size)};
}

RResult<BlobStat> Storage::mount_blob(const std::string& repo, const Digest& d, const std::string& from) {
  RTRY(check_writable());
  if (!from.empty()) {
    if (!valid_repo_name(from)) return rfail(Code::NameInvalid, "invalid source repository name");
    RTRY(stat_blob(from, d));
  }
  std::shared_lock lk(gc_mu_);
  if (!have_blob(d)) return rfail(Code::BlobUnknown, "blob unknown to registry");
  touch_blob(d);
  RTRY(link_file(repo_dir(repo) + "/_layers/" + std::string(d.algo_name()) + "/" + d.hex(), ""));
  return stat_blob(repo, d);
}

RResult<void> Storage::delete_blob(const std::string& repo, const Digest& d) {
  RTRY(check_writable());
  if (!opts_.delete_enabled) return rfail(Code::Unsupported, "deletion is disabled");
  std::string link = repo_dir(repo) + "/_layers/" + std::string(d.algo_name()) + "/" + d.hex();
  if (::unlink(link.c_str()) != 0) return rfail(Code::BlobUnknown, "blob unknown to registry");
  if (opts_.fsync) (void)fsync_dir(dirname(link));
  return {};
}

RResult<BlobStat> Storage::put_blob(const std::string& repo, const Digest& d, const ByteSource& src) {
  RTRY(check_writable());
  auto st = RTRY(start_upload(repo));
  auto cleanup = [&] { (void)cancel_upload(repo, st.uuid); };
  auto r = append_upload(repo, st.uuid, 0, std::nullopt, src);
  if (!r) {
    cleanup();
    return tl::unexpected(r.error());
  }
  auto b = finish_upload(repo, st.uuid, d);
  if (!b) cleanup();
  return b;
}

// ---- uploads ----

RResult<UploadStatus> Storage::start_upload(const std::string& repo) {
  RTRY(check_writable());
  std::string uuid = random_hex(32);
  std::string dir = opts_.root + "/uploads/" + uuid;
  RTRY(mkdir_all(dir));
  RTRY(write_file(dir + "/repo", repo));
  UniqueFd fd = RTRY(open_file(dir + "/data", O_WRONLY | O_CREAT | O_TRUNC, 0644));
  auto s = std::make_shared<Session>();
  s->repo = repo;
  s->dir = dir;
  std::lock_guard lk(sessions_mu_);
  sessions_[uuid] = std::move(s);
  return UploadStatus{uuid, 0};
}

RResult<std::shared_ptr<Storage::Session>> Storage::session(const std::string& repo, const std::string& uuid) {
  if (!valid_uuid(uuid)) return rfail(Code::BlobUploadUnknown, "blob upload unknown to registry");
  std::lock_guard lk(sessions_mu_);
  auto it = sessions_.find(uuid);
  if (it != sessions_.end()) {
    if (it->second->repo != repo) return rfail(Code::BlobUploadUnknown, "blob upload unknown to registry");
    return it->second;
  }
  // After a restart: the session lives on disk; the hasher catches up on demand.
  std::string dir = opts_.root + "/uploads/" + uuid;
  auto owner = read_file(dir + "/repo", 4096);
  if (!owner || *owner != repo || !path_exists(dir + "/data"))
    return rfail(Code::BlobUploadUnknown, "blob upload unknown to registry");
  auto s = std::make_shared<Session>();
  s->repo = repo;
  s->dir = dir;
  sessions_[uuid] = s;
  return s;
}

RResult<UploadStatus> Storage::upload_status(const std::string& repo, const std::string& uuid) {
  auto s = RTRY(session(repo, uuid));
  std::lock_guard lk(s->mu);
  struct stat st;
  if (::stat((s->dir + "/data").c_str(), &st) != 0)
    return rfail(Code::BlobUploadUnknown, "blob upload unknown to registry");
  return UploadStatus{uuid, static_cast<std::uint64_t>(st.st_size)};
}

RResult<UploadStatus> Storage::append_upload(const std::string& repo, const std::string& uuid,
                                             std::optional<std::uint64_t> range_start,
                                             std::optional<std::uint64_t> expected_len,
                                             const ByteSource& src) {
  RTRY(check_writable());
  auto s = RTRY(session(repo, uuid));
  std::lock_guard lk(s->mu);
  auto fdr = open_file(s->dir + "/data", O_WRONLY);
  if (!fdr) return rfail(Code::BlobUploadUnknown, "blob upload unknown to registry");
  UniqueFd fd = std::move(*fdr);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return fail_errno("fstat upload");
  const std::uint64_t start = static_cast<std::uint64_t>(st.st_size);
  if (range_start && *range_start != start)
    return rfail(Code::RangeInvalid, "content range does not start at the upload offset",
                 "{\"offset\":" + std::to_string(start) + "}");
  std::vector<char> buf(kIoBuf);
  std::uint64_t off = start;
  bool hash_along = s->hashed == start;
  std::uint64_t kicked = start;
  auto rollback = [&] {
    if (::ftruncate(fd.get(), static_cast<off_t>(start)) != 0) log::warn("truncate upload {}: {}", uuid, errno);
    if (s->hashed > start) {  // the hasher saw bytes we dropped: start it over
      s->hasher = Hasher(DigestAlgo::Sha256);
      s->hashed = 0;
    }
  };
  while (true) {
    std::size_t want = buf.size();
    if (expected_len) want = static_cast<std::size_t>(std::min<std::uint64_t>(want, start + *expected_len - off));
    if (want == 0) break;
    auto n = src(buf.data(), want);
    if (!n) {
      rollback();
      return rfail(Code::BlobUploadInvalid, "reading request body: " + n.error().message());
    }
    if (*n == 0) break;
    std::size_t done = 0;
    while (done < *n) {
      ssize_t w = ::pwrite(fd.get(), buf.data() + done, *n - done, static_cast<off_t>(off + done));
      if (w < 0) {
        if (errno == EINTR) continue;
        int e = errno;
        rollback();
        return fail(Error::from_errno(e, "write upload", uuid));
      }
      done += static_cast<std::size_t>(w);
    }
    if (hash_along) {
      s->hasher.update(buf.data(), *n);
      s->hashed += *n;
    }
    off += *n;
    // Start writeback of what we have while the body is still arriving, so the fdatasync
    // before the 201 waits for the tail only (does not wait, does not change durability).
    if (opts_.fsync && off - kicked >= kWritebackChunk) {
      (void)::sync_file_range(fd.get(), static_cast<off_t>(kicked), static_cast<off_t>(off - kicked),
                              SYNC_FILE_RANGE_WRITE);
      kicked = off;
    }
  }
  if (expected_len && off - start != *expected_len) {
    rollback();
    return rfail(Code::BlobUploadInvalid, "body shorter than Content-Length/Content-Range");
  }
  return UploadStatus{uuid, off};
}

RResult<BlobStat> Storage::finish_upload(const std::string& repo, const std::string& uuid, const Digest& d) {
  RTRY(check_writable());
  auto s = RTRY(session(repo, uuid));
  std::unique_lock lk(s->mu);
  std::string data = s->dir + "/data";
  UniqueFd fd = RTRY(open_file(data, O_RDONLY));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return fail_errno("fstat upload");
  const std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
  Digest got;
  if (d.algo() == DigestAlgo::Sha256 && s->hashed <= size) {
    // Catch up on bytes not hashed yet (session recovered after restart, or after a rollback).
    std::vector<char> buf(kIoBuf);
    while (s->hashed < size) {
      ssize_t n = ::pread(fd.get(), buf.data(), std::min<std::uint64_t>(buf.size(), size - s->hashed),
                          static_cast<off_t>(s->hashed));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return fail_errno("read upload", uuid);
      s->hasher.update(buf.data(), static_cast<std::size_t>(n));
      s->hashed += static_cast<std::uint64_t>(n);
    }
    got = s->hasher.finish();
    s->hasher = Hasher(DigestAlgo::Sha256);
    s->hashed = 0;
  } else {
    got = RTRY(digest_file(data, d.algo()));
    s->hasher = Hasher(DigestAlgo::Sha256);
    s->hashed = 0;
  }
  if (!(got == d))
    return rfail(Code::DigestInvalid, "provided digest did not match uploaded content",
                 "{\"expected\":\"" + d.str() + "\",\"actual\":\"" + got.str() + "\"}");
  if (opts_.fsync && ::fdatasync(fd.get()) != 0) return fail_errno("fsync upload", uuid);
  fd.reset();
  BlobStat b;
  {
    std::shared_lock g(gc_mu_);
    b = RTRY(commit_blob_file(data, d));
    RTRY(link_file(repo_dir(repo) + "/_layers/" + std::string(d.algo_name()) + "/" + d.hex(), ""));
  }
  (void)remove_all(s->dir);
  lk.unlock();
  std::lock_guard g(sessions_mu_);
  sessions_.erase(uuid);
  return b;
}

RResult<void> Storage::cancel_upload(const std::string& repo, const std::string& uuid) {
  auto s = RTRY(session(repo, uuid));
  {
    std::lock_guard lk(s->mu);
    (void)remove_all(s->dir);
  }
  std::lock_guard g(sessions_mu_);
  sessions_.erase(uuid);
  return {};
}

std::size_t Storage::purge_uploads(std::chrono::seconds older_than) {
  std::string up = opts_.root + "/uploads";
  std::size_t n = 0;
  time_t cutoff = ::time(nullptr) - static_cast<time_t>(older_than.count());
  for (auto& u : list_dir(up)) {
    std::string dir = up + "/" + u;
    struct stat st;
    // The data file's mtime is the last activity.
    std::string data = dir + "/data";
    if (::stat(data.c_str(), &st) != 0 && ::stat(dir.c_str(), &st) != 0) continue;
    if (st.st_mtime > cutoff) continue;
    std::shared_ptr<Session> s;
    {
      std::lock_guard lk(sessions_mu_);
      auto it = sessions_.find(u);
      if (it != sessions_.end()) s = it->second;
    }
    if (s) {
      std::lock_guard lk(s->mu);
      (void)remove_all(dir);
    } else {
      (void)remove_all(dir);
    }
    {
      std::lock_guard lk(sessions_mu_);
      sessions_.erase(u);
    }
    ++n;
  }
  return n;
}

// ---- manifests ----

RResult<Digest> Storage::resolve_ref(const std::string& repo, const std::string& reference) const {
  if (looks_like_digest(reference)) {
    auto d = Digest::parse(reference);
    if (!d) return rfail(Code::DigestInvalid, "invalid digest");
    std::string link = repo_dir(repo) + "/_manifests/" + std::string(d->algo_name()) + "/" + d->hex();
    if (::access(link.c_str(), F_OK) != 0) return rfail(Code::ManifestUnknown, "manifest unknown to registry");
    return *d;
  }
  // No manifest can exist under an invalid tag: 404 (as distribution, whose routes do not match).
  if (!valid_tag(reference)) return rfail(Code::ManifestUnknown, "manifest unknown to registry (invalid tag)");
  auto s = read_file(repo_dir(repo) + "/_tags/" + reference, 1024);
  if (!s) {
    if (!repo_exists(repo)) return rfail(Code::NameUnknown, "repository name not known to registry");
    return rfail(Code::ManifestUnknown, "manifest unknown to registry");
  }
  auto d = Digest::parse(trim(*s));
  if (!d) return rfail(Code::Internal, "corrupt tag file");
  return *d;
}

RResult<ManifestData> Storage::resolve_manifest(const std::string& repo, const std::string& reference,
                                                std::uint64_t* size) const {
  Digest d = RTRY(resolve_ref(repo, reference));
  auto mt = read_file(repo_dir(repo) + "/_manifests/" + std::string(d.algo_name()) + "/" + d.hex(), 4096);
  if (!mt) return rfail(Code::ManifestUnknown, "manifest unknown to registry");
  struct stat st;
  if (::stat(blob_path(d).c_str(), &st) != 0) return rfail(Code::ManifestUnknown, "manifest content missing");
  if (size) *size = static_cast<std::uint64_t>(st.st_size);
  return ManifestData{d, std::move(*mt), {}};
}

RResult<ManifestData> Storage::get_manifest(const std::string& repo, const std::string& reference) const {
  ManifestData m = RTRY(resolve_manifest(repo, reference, nullptr));
  auto c = read_file(blob_path(m.digest), opts_.max_manifest_bytes + 1);
  if (!c) return rfail(Code::ManifestUnknown, "manifest content missing");
  m.content = std::move(*c);
  return m;
}

RResult<PutManifestResult> Storage::put_manifest(const std::string& repo, const std::string& reference,
                                                 const std::string& content_type, std::string content,
                                                 bool verify_refs) {
  RTRY(check_writable());
  if (content.size() > opts_.max_manifest_bytes)
    return rfail(Code::ManifestTooLarge, "manifest exceeds " + std::to_string(opts_.max_manifest_bytes) + " bytes");
  std::optional<Digest> by_digest;
  if (looks_like_digest(reference)) {
    auto d = Digest::parse(reference);
    if (!d) return rfail(Code::DigestInvalid, "invalid digest");
    by_digest = *d;
  } else if (!valid_tag(reference)) {
    return rfail(Code::ManifestInvalid, "invalid tag");
  }
  ManifestRefs refs = RTRY(parse_manifest(content));
  std::string ct = strip_params(content_type);
  std::string mt = refs.media_type;
  if (!ct.empty() && ct != "application/octet-stream" && ct != "application/json") {
    if (refs.media_type_explicit && mt != ct)
      return rfail(Code::ManifestInvalid, "mediaType does not match Content-Type");
    mt = ct;
  }
  if (!known_manifest_type(mt)) return rfail(Code::UnsupportedMediaType, "unsupported manifest media type: " + mt);
  Digest d = digest_of(content, by_digest ? by_digest->algo() : DigestAlgo::Sha256);
  if (by_digest && !(*by_digest == d))
    return rfail(Code::DigestInvalid, "manifest digest does not match content",
                 "{\"expected\":\"" + by_digest->str() + "\",\"actual\":\"" + d.str() + "\"}");

  std::shared_lock g(gc_mu_);
  for (std::size_t i = 0; i < refs.blobs.size() && verify_refs; ++i) {
    if (refs.blob_optional[i]) continue;
    if (!stat_blob(repo, refs.blobs[i]))
      return rfail(Code::ManifestBlobUnknown, "blob unknown to registry",
                   "{\"digest\":\"" + refs.blobs[i].str() + "\"}");
    touch_blob(refs.blobs[i]);
  }
  for (auto& m : refs.manifests) {
    if (!verify_refs) break;
    std::string link = repo_dir(repo) + "/_manifests/" + std::string(m.algo_name()) + "/" + m.hex();
    if (::access(link.c_str(), F_OK) != 0)
      return rfail(Code::ManifestBlobUnknown, "manifest unknown to registry", "{\"digest\":\"" + m.str() + "\"}");
    touch_blob(m);
  }
  // Content first (temp + fsync + rename), then the link, then referrers, then the tag: a crash
  // in between leaves at worst an unreferenced blob for GC.
  std::string tmp = opts_.root + "/tmp/m-" + random_hex(16);
  {
    UniqueFd fd = RTRY(open_file(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644));
    RTRY(write_all(fd.get(), content));
    if (opts_.fsync && ::fdatasync(fd.get()) != 0) return fail_errno("fsync manifest");
  }
  RTRY(commit_blob_file(tmp, d));
  RTRY(link_file(repo_dir(repo) + "/_manifests/" + std::string(d.algo_name()) + "/" + d.hex(), mt));
  if (refs.subject) {
    nlohmann::json desc = {{"mediaType", mt}, {"digest", d.str()}, {"size", content.size()}};
    if (!refs.artifact_type.empty()) desc["artifactType"] = refs.artifact_type;
    if (!refs.annotations_json.empty())
      desc["annotations"] = nlohmann::json::parse(refs.annotations_json, nullptr, false);
    RTRY(link_file(repo_dir(repo) + "/_referrers/" + std::string(refs.subject->algo_name()) + "/" +
                      refs.subject->hex() + "/" + std::string(d.algo_name()) + "-" + d.hex(),
                  desc.dump()));
  }
  if (!by_digest) RTRY(link_file(repo_dir(repo) + "/_tags/" + reference, d.str()));
  return PutManifestResult{d, refs.subject};
}

RResult<void> Storage::put_tag(const std::string& repo, const std::string& tag, const Digest& manifest) {
  RTRY(check_writable());
  if (!valid_tag(tag)) return rfail(Code::ManifestInvalid, "invalid tag");
  std::string link = repo_dir(repo) + "/_manifests/" + std::string(manifest.algo_name()) + "/" + manifest.hex();
  if (::access(link.c_str(), F_OK) != 0) return rfail(Code::ManifestUnknown, "manifest unknown to registry");
  return link_file(repo_dir(repo) + "/_tags/" + tag, manifest.str());
}

RResult<void> Storage::delete_manifest(const std::string& repo, const std::string& reference) {
  RTRY(check_writable());
  if (!opts_.delete_enabled) return rfail(Code::Unsupported, "deletion is disabled");
  if (!looks_like_digest(reference)) {
    if (!valid_tag(reference)) return rfail(Code::ManifestUnknown, "manifest unknown to registry (invalid tag)");
    std::string t = repo_dir(repo) + "/_tags/" + reference;
    if (::unlink(t.c_str()) != 0) return rfail(Code::ManifestUnknown, "manifest unknown to registry");
    if (opts_.fsync) (void)fsync_dir(dirname(t));
    return {};
  }
  Digest d = RTRY(resolve_ref(repo, reference));
  if (auto c = read_file(blob_path(d), opts_.max_manifest_bytes + 1)) {
    if (auto refs = parse_manifest(*c); refs && refs->subject) {
      std::string f = repo_dir(repo) + "/_referrers/" + std::string(refs->subject->algo_name()) + "/" +
                      refs->subject->hex() + "/" + std::string(d.algo_name()) + "-" + d.hex();
      ::unlink(f.c_str());
    }
  }
  std::string tags = repo_dir(repo) + "/_tags";
  for (auto& t : list_dir(tags)) {
    auto v = read_file(tags + "/" + t, 1024);
    if (v && trim(*v) == d.str()) ::unlink((tags + "/" + t).c_str());
  }
  std::string link = repo_dir(repo) + "/_manifests/" + std::string(d.algo_name()) + "/" + d.hex();
  if (::unlink(link.c_str()) != 0) return rfail(Code::ManifestUnknown, "manifest unknown to registry");
  if (opts_.fsync) {
    (void)fsync_dir(dirname(link));
    (void)fsync_dir(tags);
  }
  return {};
}

RResult<std::vector<std::string>> Storage::list_tags(const std::string& repo) const {
  if (!repo_exists(repo)) return rfail(Code::NameUnknown, "repository name not known to registry");
  auto v = list_dir(repo_dir(repo) + "/_tags");
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<std::string> Storage::catalog() const { return repos_.all(); }

std::vector<std::string> Storage::catalog_page(const std::optional<std::string>& last, std::optional<std::size_t> n,
                                               bool* more) const {
  return repos_.page(last, n, more);
}

RResult<std::string> Storage::referrers(const std::string& repo, const Digest& subject,
                                        const std::string& artifact_type) const {
  std::string dir = repo_dir(repo) + "/_referrers/" + std::string(subject.algo_name()) + "/" + subject.hex();
  nlohmann::json idx = {{"schemaVersion", 2}, {"mediaType", std::string(media::kOciIndex)},
                        {"manifests", nlohmann::json::array()}};
  auto names = list_dir(dir);
  std::sort(names.begin(), names.end());
  for (auto& n : names) {
    auto c = read_file(dir + "/" + n, 1 << 20);
    if (!c) continue;
    auto j = nlohmann::json::parse(*c, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;
    if (!artifact_type.empty() && j.value("artifactType", "") != artifact_type) continue;
    idx["manifests"].push_back(std::move(j));
  }
  return idx.dump();
}

// ---- garbage collection ----

RResult<GcReport> Storage::collect_garbage(const GcOptions& o) {
  GcReport rep;
  if (!o.dry_run) RTRY(check_writable());
  // Barrier: puts that checked their blobs before this point have also written their links
  // (they hold gc_mu_ shared throughout), so the mark phase sees them; puts after it touch
  // their blobs with an mtime >= started, which the sweep never deletes (grace >= 0).
  timespec started{};
  {
    std::unique_lock g(gc_mu_);
    ::clock_gettime(CLOCK_REALTIME_COARSE, &started);
    std::lock_guard lk(touched_mu_);
    gc_running_ = true;
    touched_.clear();
  }
  auto done = defer([this] {
    std::lock_guard lk(touched_mu_);
    gc_running_ = false;
    touched_.clear();
  });
  const std::int64_t cutoff_ns = (static_cast<std::int64_t>(started.tv_sec) - std::max<std::int64_t>(0, o.grace.count())) *
                                     1000000000LL + started.tv_nsec;
  std::set<std::string> marked;  // "algo:hex"
  std::set<std::string> dropped_manifests;
  for (const std::string& repo : catalog()) {
    std::string rd = repo_dir(repo);
    // Manifests of this repository: digest -> refs.
    std::vector<std::pair<Digest, ManifestRefs>> mans;
    for (auto& algo : list_dir(rd + "/_manifests")) {
      for (auto& hex : list_dir(rd + "/_manifests/" + algo)) {
        auto d = Digest::parse(algo + ":" + hex);
        if (!d) continue;
        auto c = read_file(blob_path(*d), opts_.max_manifest_bytes + 1);
        if (!c) {
          marked.insert(d->str());  // unreadable: never make it worse
          continue;
        }
        auto refs = parse_manifest(*c);
        mans.emplace_back(*d, refs ? std::move(*refs) : ManifestRefs{});
      }
    }
    std::set<std::string> keep;
    if (!o.delete_untagged) {
      for (auto& [d, r] : mans) keep.insert(d.str());
    } else {
      for (auto& t : list_dir(rd + "/_tags"))
        if (auto v = read_file(rd + "/_tags/" + t, 1024)) keep.insert(std::string(trim(*v)));
      for (bool changed = true; changed;) {  // index children and referrers of kept manifests
        changed = false;
        for (auto& [d, r] : mans) {
          bool k = keep.count(d.str()) > 0;
          if (!k && r.subject && keep.count(r.subject->str())) {
            keep.insert(d.str());
            changed = true;
            k = true;
          }
          if (k)
            for (auto& c : r.manifests)
              if (keep.insert(c.str()).second) changed = true;
        }
      }
    }
    for (auto& [d, r] : mans) {
      if (!keep.count(d.str())) {
        ++rep.manifests_deleted;
        if (!o.dry_run) (void)delete_manifest(repo, d.str());
        continue;
      }
      marked.insert(d.str());
      for (auto& b : r.blobs) marked.insert(b.str());
    }
  }
  rep.blobs_marked = marked.size();
  // Sweep: content neither marked nor young.
  std::string broot = opts_.root + "/blobs";
  for (auto& algo : list_dir(broot)) {
    for (auto& pre : list_dir(broot + "/" + algo)) {
      for (auto& hex : list_dir(broot + "/" + algo + "/" + pre)) {
        std::string key = algo + ":" + hex;
        if (marked.count(key)) continue;
        std::string p = broot + "/" + algo + "/" + pre + "/" + hex;
        std::unique_lock g(gc_mu_);
        struct stat st;
        if (::stat(p.c_str(), &st) != 0) continue;
        std::int64_t mt = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
        if (mt >= cutoff_ns) continue;  // young, or touched since the GC started
        {
          std::lock_guard lk(touched_mu_);
          if (touched_.count(key)) continue;  // made reachable by a request during this run
        }
        rep.deleted.push_back(key);
        ++rep.blobs_deleted;
        rep.bytes_freed += static_cast<std::uint64_t>(st.st_size);
        if (!o.dry_run) ::unlink(p.c_str());
      }
    }
  }
  if (o.dry_run) return rep;
  // Links whose content is gone.
  for (const std::string& repo : catalog()) {
    std::string ld = repo_dir(repo) + "/_layers";
    for (auto& algo : list_dir(ld)) {
      for (auto& hex : list_dir(ld + "/" + algo)) {
        auto d = Digest::parse(algo + ":" + hex);
        if (!d) continue;
        std::unique_lock g(gc_mu_);
        if (have_blob(*d)) continue;
        if (::unlink((ld + "/" + algo + "/" + hex).c_str()) == 0) ++rep.links_deleted;
      }
    }
  }
  return rep;
}

}  // namespace berth::registry
