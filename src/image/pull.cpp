// SPDX-License-Identifier: Apache-2.0
// docker pull / push. Pull streams every layer straight from the network into decompression and
// extraction (no temp file): a download thread feeds the compressed bytes, as they arrive, both
// to the content store ingest (kept for save/push) and to a socket the extractor reads from.
// The blob digest is checked when the download ends and the diff id when extraction ends; a
// mismatch discards the layer. Layers run in parallel (max_concurrent_downloads) on drivers
// whose layers are independent (overlay2); registration stays ordered.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/base64.hpp"
#include "common/file.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "distribution/client.hpp"
#include "image/service_impl.hpp"
#include "oci/media_types.hpp"
#include "oci/reference.hpp"

namespace berth::image {

using json = nlohmann::json;

namespace {

void emit(const ProgressFn& p, json j) {
  if (p) p({j.dump()});
}

void status(const ProgressFn& p, const std::string& s, const std::string& id = {}) {
  json j = {{"status", s}};
  if (!id.empty()) {
    j["progressDetail"] = json::object();
    j["id"] = id;
  }
  emit(p, j);
}

// State shared by a download thread and the reader the extractor pulls from.
struct Download {
  std::thread t;
  Status result;
  std::atomic<bool> done{false};
};

class SocketReader : public storage::Reader {
 public:
  SocketReader(UniqueFd fd, std::shared_ptr<Download> dl) : fd_(std::move(fd)), dl_(std::move(dl)) {}
  ~SocketReader() override {
    fd_.reset();  // the writer gets EPIPE and stops
    if (dl_->t.joinable()) dl_->t.join();
  }
  Result<std::size_t> read(void* buf, std::size_t n) override {
    for (;;) {
      ssize_t k = ::read(fd_.get(), buf, n);
      if (k > 0) return static_cast<std::size_t>(k);
      if (k < 0 && errno == EINTR) continue;
      if (k < 0) return fail_errno("read layer stream");
      if (dl_->t.joinable()) dl_->t.join();
      if (!dl_->result) return fail(dl_->result.error());
      return 0;
    }
  }

 private:
  UniqueFd fd_;
  std::shared_ptr<Download> dl_;
};

struct BlobFileSource : distribution::BlobSource {
  UniqueFd fd;
  Result<std::size_t> read(void* b, std::size_t n) override {
    for (;;) {
      ssize_t r = ::read(fd.get(), b, n);
      if (r >= 0) return static_cast<std::size_t>(r);
      if (errno != EINTR) return fail_errno("read blob");
    }
  }
};

struct StringSource : distribution::BlobSource {
  std::string s;
  std::size_t pos = 0;
  Result<std::size_t> read(void* b, std::size_t n) override {
    std::size_t k = std::min(n, s.size() - pos);
    std::memcpy(b, s.data() + pos, k);
    pos += k;
    return k;
  }
};

distribution::ClientOptions client_options(const ServiceOptions& so, const std::string& auth_b64) {
  distribution::ClientOptions o;
  o.insecure_registries = so.insecure_registries;
  o.mirrors = so.mirrors;
  o.upload_chunk_size = so.upload_chunk_size;
  o.certs_dirs = so.certs_dirs;
  if (!auth_b64.empty()) {
    try {
      auto j = json::parse(base64_decode(auth_b64).value_or(""));
      distribution::Credentials c;
      c.username = j.value("username", "");
      c.password = j.value("password", "");
      c.identity_token = j.value("identitytoken", "");
      if (!c.username.empty() || !c.identity_token.empty()) o.credentials = c;
    } catch (const std::exception&) {
    }
  }
  return o;
}

}  // namespace

Result<std::string> ServiceImpl::pull(const std::string& ref_s, const PullOptions& opts,
                                      const ProgressFn& progress) {
  auto ref = oci::with_default_tag(TRY(oci::parse_reference(ref_s)));
  auto platform = opts.platform.empty() ? oci::host_platform() : TRY(oci::parse_platform(opts.platform));
  distribution::Client client(client_options(opts_, opts.auth_base64));
  status(progress, "Pulling from " + ref.familiar_name(),
         ref.digest.empty() ? ref.tag : ref.digest);
  auto man = TRY(client.get_manifest(ref, platform));
  const auto& cfg_desc = man.parsed.config;
  if (!content_->exists(cfg_desc.digest)) {
    std::string raw = TRY(client.get_blob_bytes(ref, cfg_desc));
    TRY(content_->put(raw, cfg_desc.digest));
  }
  auto cfg = TRY(image_config(cfg_desc.digest));
  std::vector<oci::Descriptor> layers;
  for (auto& l : man.parsed.layers) {
    if (oci::media::is_nondistributable(l.media_type) && l.urls.empty()) continue;
    layers.push_back(l);
  }
  if (layers.size() != cfg.diff_ids.size())
    return fail(Errc::InvalidArgument, fmt::format("image {} has {} layers but {} diff ids", ref.familiar(),
                                                   layers.size(), cfg.diff_ids.size()));
  for (auto& l : layers) {
    if (oci::media::layer_compression(l.media_type) == oci::media::Compression::Unknown &&
        !l.media_type.empty())
      return fail(Errc::InvalidArgument, fmt::format("unsupported layer media type {}", l.media_type));
  }
  std::string lease = "pull-" + random_hex(12);
  TRY(content_->lease_add(lease, cfg_desc.digest));
  struct DropLease {
    content::Store* s;
    std::string l;
    ~DropLease() { (void)s->lease_drop(l); }
  } drop{content_.get(), lease};

  std::lock_guard load_lk(load_mu_);
  std::vector<LayerInput> inputs;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    oci::Descriptor desc = layers[i];
    std::string id = desc.digest.short_id();
    status(progress, "Pulling fs layer", id);
    (void)content_->lease_add(lease, desc.digest);
    inputs.push_back({[this, &client, &ref, desc, id, &progress]() -> Result<std::unique_ptr<storage::Reader>> {
                        if (content_->exists(desc.digest)) {
                          struct FileR : storage::Reader {
                            UniqueFd fd;
                            Result<std::size_t> read(void* b, std::size_t n) override {
                              ssize_t r = ::read(fd.get(), b, n);
                              if (r < 0) return fail_errno("read blob");
                              return static_cast<std::size_t>(r);
                            }
                          };
                          auto r = std::make_unique<FileR>();
                          r->fd = TRY(content_->open_blob(desc.digest));
                          return std::unique_ptr<storage::Reader>(std::move(r));
                        }
                        int sv[2];
                        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
                          return fail_errno("socketpair");
                        int bufsz = 1 << 20;
                        ::setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof bufsz);
                        ::setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof bufsz);
                        UniqueFd rd(sv[0]);
                        auto dl = std::make_shared<Download>();
                        dl->t = std::thread([this, &client, &ref, desc, id, &progress, wfd = sv[1], dl] {
                          UniqueFd w(wfd);
                          dl->result = [&]() -> Status {
                            // The ingest is named after the digest, so a download a killed
                            // process began resumes here (another pull of the same blob in
                            // this process has it locked: then a private one).
                            auto wr = content_->writer(desc.digest.str());
                            if (!wr && wr.error().is(Errc::Unavailable))
                              wr = content_->writer(desc.digest.str() + "-" + random_hex(6));
                            auto writer = TRY(std::move(wr));
                            std::int64_t start = writer->offset();
                            if (start > 0 && (desc.size <= 0 || start > desc.size)) {
                              TRY(writer->truncate());
                              start = 0;
                            }
                            auto to_extractor = [&](const void* d, std::size_t n) -> Status {
                              const char* p = static_cast<const char*>(d);
                              while (n > 0) {
                                ssize_t k = ::send(w.get(), p, n, MSG_NOSIGNAL);
                                if (k < 0) {
                                  if (errno == EINTR) continue;
                                  return fail(Errc::Cancelled, "layer extraction stopped");
                                }
                                p += k;
                                n -= static_cast<std::size_t>(k);
                              }
                              return ok();
                            };
                            if (start > 0) {  // replay the bytes already on disk
                              auto in = TRY(open_file(writer->data_path(), O_RDONLY));
                              std::vector<char> buf(1 << 20);
                              for (std::int64_t left = start; left > 0;) {
                                ssize_t k = ::read(in.get(), buf.data(),
                                                   static_cast<std::size_t>(std::min<std::int64_t>(left, 1 << 20)));
                                if (k < 0 && errno == EINTR) continue;
                                if (k <= 0) return fail_errno("read resumed ingest");
                                TRY(to_extractor(buf.data(), static_cast<std::size_t>(k)));
                                left -= k;
                              }
                            }
                            auto last = std::chrono::steady_clock::now();
                            if (start < desc.size || desc.size <= 0)
                              TRY(client.get_blob(
                                  ref, desc,
                                  [&](const void* d, std::size_t n) -> Status {
                                    TRY(writer->write(d, n));
                                    return to_extractor(d, n);
                                  },
                                  [&](std::int64_t done, std::int64_t total) {
                                    auto now = std::chrono::steady_clock::now();
                                    if (now - last < std::chrono::milliseconds(200) && done != total) return;
                                    last = now;
                                    emit(progress, {{"status", "Downloading"},
                                                    {"progressDetail", {{"current", done}, {"total", total}}},
                                                    {"id", id}});
                                  },
                                  start));
                            TRY(writer->commit(desc.digest, desc.size));
                            status(progress, "Download complete", id);
                            return ok();
                          }();
                          dl->done = true;
                        });
                        return std::unique_ptr<storage::Reader>(
                            std::make_unique<SocketReader>(std::move(rd), dl));
                      },
                      cfg.diff_ids[i], id});
  }
  TRY(register_layers(std::move(inputs), nullptr));
  for (auto& l : layers) status(progress, "Pull complete", l.digest.short_id());

  ImageMeta meta;
  meta.id = cfg_desc.digest;
  meta.layers = layers;
  meta.manifest_digest = TRY(content_->put(man.raw)).str();
  std::vector<std::string> tags;
  oci::Reference by_digest = ref;
  by_digest.tag.clear();
  by_digest.digest = man.top_digest.str();
  bool existed;
  {
    std::lock_guard lk(mu_);
    auto it = refs_.find(ref.str());
    existed = it != refs_.end() && it->second == meta.id.str();
  }
  if (ref.digest.empty()) tags.push_back(ref.str());
  tags.push_back(by_digest.str());
  TRY(register_image(meta, tags));
  status(progress, "Digest: " + man.top_digest.str());
  status(progress, existed ? "Status: Image is up to date for " + ref.familiar()
                           : "Status: Downloaded newer image for " + ref.familiar());
  return meta.id.str();
}

Status ServiceImpl::push(const std::string& ref_s, const std::string& auth_base64,
                         const ProgressFn& progress) {
  auto ref = oci::with_default_tag(TRY(oci::parse_reference(ref_s)));
  Digest id;
  ImageMeta meta;
  {
    std::lock_guard lk(mu_);
    id = TRY(resolve_id(ref.str()));
    meta = TRY(image_meta(id));
  }
  std::string cfg_raw = TRY(content_->read(id));
  distribution::Client client(client_options(opts_, auth_base64));
  status(progress, "The push refers to repository [" + ref.name() + "]");
  // Layers in parallel (up to max_concurrent_uploads).
  std::vector<Status> results(meta.layers.size());
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i; (i = next++) < meta.layers.size();) {
      auto& l = meta.layers[i];
      std::string sid = l.digest.short_id();
      results[i] = [&]() -> Status {
        if (!content_->exists(l.digest))
          return fail(Errc::NotFound, fmt::format("layer blob {} is not in the store", l.digest.str()));
        if (TRY(client.blob_exists(ref, l.digest))) {
          status(progress, "Layer already exists", sid);
          return ok();
        }
        status(progress, "Pushing", sid);
        TRY(client.put_blob(ref, l.digest, l.size, [&]() -> Result<std::unique_ptr<distribution::BlobSource>> {
          auto s = std::make_unique<BlobFileSource>();
          s->fd = TRY(content_->open_blob(l.digest));
          return std::unique_ptr<distribution::BlobSource>(std::move(s));
        }));
        status(progress, "Pushed", sid);
        return ok();
      }();
    }
  };
  std::vector<std::thread> ts;
  int n = std::max(1, std::min<int>(opts_.max_concurrent_uploads, static_cast<int>(meta.layers.size())));
  for (int i = 0; i < n; ++i) ts.emplace_back(work);
  for (auto& t : ts) t.join();
  for (auto& r : results)
    if (!r) return fail(r.error());
  if (!TRY(client.blob_exists(ref, id))) {
    TRY(client.put_blob(ref, id, static_cast<std::int64_t>(cfg_raw.size()),
                        [&]() -> Result<std::unique_ptr<distribution::BlobSource>> {
                          auto s = std::make_unique<StringSource>();
                          s->s = cfg_raw;
                          return std::unique_ptr<distribution::BlobSource>(std::move(s));
                        }));
  }
  bool docker = !meta.layers.empty();
  for (auto& l : meta.layers)
    if (!l.media_type.starts_with("application/vnd.docker.")) docker = false;
  oci::Manifest m;
  m.media_type = std::string(docker ? oci::media::kDockerManifest : oci::media::kOciManifest);
  m.config.media_type = std::string(docker ? oci::media::kDockerConfig : oci::media::kOciConfig);
  m.config.digest = id;
  m.config.size = static_cast<std::int64_t>(cfg_raw.size());
  for (auto l : meta.layers) {
    l.annotations.clear();
    l.platform.reset();
    m.layers.push_back(l);
  }
  // Reuse the manifest we pulled when it describes the same image (keeps the digest stable).
  std::string raw = oci::to_json(m);
  if (!meta.manifest_digest.empty()) {
    auto d = Digest::parse(meta.manifest_digest);
    if (d) {
      auto prev = content_->read(*d);
      if (prev) {
        auto pm = oci::parse_manifest(*prev);
        auto pmt = oci::sniff_media_type(*prev);
        if (pm && pmt && pm->config.digest == id) {
          raw = *prev;
          m.media_type = *pmt;
        }
      }
    }
  }
  TRY(client.put_manifest(ref, m.media_type, raw));
  Digest md = digest_of(raw);
  oci::Reference by_digest = ref;
  by_digest.tag.clear();
  by_digest.digest = md.str();
  {
    std::lock_guard lk(mu_);
    refs_[by_digest.str()] = id.str();
    TRY(write_refs());
  }
  status(progress, fmt::format("{}: digest: {} size: {}", ref.tag, md.str(), raw.size()));
  return ok();
}

}  // namespace berth::image
