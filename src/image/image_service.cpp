// SPDX-License-Identifier: Apache-2.0
// ImageService core: metadata (layers, images, references, containers), resolve, list,
// inspect, history, tag, remove, prune, and layer/image registration.
#include "image/service_impl.hpp"

#include <dirent.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/file.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "oci/reference.hpp"

namespace berth::image {

using json = nlohmann::json;

namespace {

template <class F>
auto guarded(std::string_view what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    return fail(Errc::Internal, fmt::format("{}: {}", what, e.what()));
  }
}


json descriptor_json(const oci::Descriptor& d) { return json::parse(oci::to_json(d)); }

bool valid_container_id(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
  return true;
}

}  // namespace

std::int64_t parse_rfc3339(const std::string& s) {
  struct tm tm {};
  const char* p = ::strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!p) return 0;
  std::int64_t t = ::timegm(&tm);
  while (*p == '.' || (*p >= '0' && *p <= '9')) ++p;
  if (*p == '+' || *p == '-') {
    int sign = *p == '-' ? -1 : 1;
    int hh = 0, mm = 0;
    if (std::sscanf(p + 1, "%d:%d", &hh, &mm) >= 1) t -= sign * (hh * 3600 + mm * 60);
  }
  return t;
}

std::string now_rfc3339() {
  struct timespec ts {};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm {};
  ::gmtime_r(&ts.tv_sec, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:09d}Z", buf, ts.tv_nsec);
}

Result<std::unique_ptr<ImageService>> ImageService::open(const ServiceOptions& opts_in) {
  ServiceOptions opts = opts_in;
  if (opts.root.empty()) return fail(Errc::InvalidArgument, "image service: empty root");
  TRY(mkdir_all(opts.root, 0711));
  auto cs = TRYC(content::Store::open(opts.root + "/content"), "open content store");
  auto drv = TRYC(storage::open_driver(opts.driver, opts.root), "open storage driver");
  auto svc = std::make_unique<ServiceImpl>(opts, std::move(cs), std::move(drv));
  TRY(svc->init());
  return std::unique_ptr<ImageService>(std::move(svc));
}

ServiceImpl::ServiceImpl(ServiceOptions opts, std::unique_ptr<content::Store> cs,
                         std::unique_ptr<storage::Driver> drv)
    : opts_(std::move(opts)), content_(std::move(cs)), driver_(std::move(drv)) {}

Status ServiceImpl::init() {
  for (auto sub : {"/layers", "/images", "/containers"}) TRY(mkdir_all(meta_dir() + sub, 0700));
  TRY(remove_all(tmp_dir()));
  TRY(mkdir_all(tmp_dir(), 0700));
  std::string refs_path = meta_dir() + "/repositories.json";
  if (path_exists(refs_path)) {
    std::string s = TRY(read_file(refs_path));
    TRY(guarded("parse repositories.json", [&]() -> Status {
      json j = json::parse(s);
      for (auto& [k, v] : j.at("refs").items()) refs_[k] = v.get<std::string>();
      return ok();
    }));
  }
  // References to images whose record is missing are dropped (cannot happen with the write
  // order, but a hand-edited store should still open).
  for (auto it = refs_.begin(); it != refs_.end();) {
    auto d = Digest::parse(it->second);
    if (!d || !path_exists(meta_dir() + "/images/" + d->hex() + ".json")) it = refs_.erase(it);
    else ++it;
  }
  std::lock_guard lk(mu_);
  return collect_garbage();
}

std::vector<Digest> ServiceImpl::chain_ids(const std::vector<Digest>& diff_ids) {
  std::vector<Digest> out;
  for (auto& d : diff_ids) {
    if (out.empty()) out.push_back(d);
    else out.push_back(digest_of(out.back().str() + " " + d.str()));
  }
  return out;
}

Result<LayerMeta> ServiceImpl::layer_meta(const Digest& chain) const {
  std::string p = meta_dir() + "/layers/" + chain.hex() + ".json";
  auto s = read_file(p);
  if (!s) {
    if (s.error().is(Errc::NotFound))
      return fail(Errc::NotFound, fmt::format("layer {} not found", chain.str()));
    return fail(std::move(s.error()));
  }
  return guarded("parse layer metadata", [&]() -> Result<LayerMeta> {
    json j = json::parse(*s);
    LayerMeta m;
    m.chain_id = chain;
    m.diff_id = TRY(Digest::parse(j.at("diff_id").get<std::string>()));
    m.parent = j.value("parent", "");
    m.cache_id = j.at("cache_id").get<std::string>();
    m.size = j.value("size", std::int64_t{0});
    return m;
  });
}

Result<ImageMeta> ServiceImpl::image_meta(const Digest& id) const {
  auto s = read_file(meta_dir() + "/images/" + id.hex() + ".json");
  if (!s) {
    if (s.error().is(Errc::NotFound))
      return fail(Errc::NotFound, fmt::format("No such image: {}", id.str()));
    return fail(std::move(s.error()));
  }
  return guarded("parse image metadata", [&]() -> Result<ImageMeta> {
    json j = json::parse(*s);
    ImageMeta m;
    m.id = id;
    for (auto& l : j.value("layers", json::array()))
      m.layers.push_back(TRY(oci::parse_descriptor(l.dump())));
    m.manifest_digest = j.value("manifest", "");
    m.last_tag_time = j.value("last_tag_time", "");
    return m;
  });
}

Result<oci::ImageConfig> ServiceImpl::image_config(const Digest& id) const {
  std::string raw = TRY(content_->read(id));
  return oci::parse_image_config(raw);
}

Result<std::vector<Digest>> ServiceImpl::all_images() const {
  std::vector<Digest> out;
  for (auto& n : list_dir(meta_dir() + "/images", ".json")) {
    auto d = Digest::parse("sha256:" + n);
    if (d) out.push_back(*d);
  }
  return out;
}

std::vector<std::string> ServiceImpl::tags_of(const Digest& id) const {
  std::vector<std::string> out;
  std::string ids = id.str();
  for (auto& [ref, v] : refs_) {
    if (v != ids) continue;
    auto r = oci::parse_canonical(ref);
    if (r && !r->tag.empty() && r->digest.empty()) out.push_back(r->familiar());
  }
  return out;
}

std::vector<std::string> ServiceImpl::digests_of(const Digest& id) const {
  std::vector<std::string> out;
  std::string ids = id.str();
  for (auto& [ref, v] : refs_) {
    if (v != ids) continue;
    auto r = oci::parse_canonical(ref);
    if (r && !r->digest.empty()) out.push_back(r->familiar());
  }
  return out;
}

Status ServiceImpl::write_refs() {
  json j = {{"refs", refs_}};
  return atomic_write_file(meta_dir() + "/repositories.json", j.dump(), 0600);
}

Result<Digest> ServiceImpl::resolve_id(const std::string& s) const {
  std::string q = s;
  if (q.starts_with("sha256:") && q.size() == 71) {
    auto d = TRY(Digest::parse(q));
    if (path_exists(meta_dir() + "/images/" + d.hex() + ".json")) return d;
    return fail(Errc::NotFound, fmt::format("No such image: {}", s));
  }
  if (auto r = oci::parse_reference(q); r) {
    auto full = oci::with_default_tag(*r);
    if (auto it = refs_.find(full.str()); it != refs_.end()) return Digest::parse(it->second);
    if (!full.digest.empty()) {
      oci::Reference by_digest = full;
      by_digest.tag.clear();
      if (auto it = refs_.find(by_digest.str()); it != refs_.end()) return Digest::parse(it->second);
      // Any repository digest of the same repository.
    }
  }
  // Id prefix ("sha256:" optional).
  std::string prefix = q.starts_with("sha256:") ? q.substr(7) : q;
  bool hex = !prefix.empty() && prefix.size() <= 64 &&
             prefix.find_first_not_of("0123456789abcdef") == std::string::npos;
  if (hex) {
    std::vector<Digest> hits;
    for (auto& d : TRY(all_images()))
      if (d.hex().starts_with(prefix)) hits.push_back(d);
    if (hits.size() == 1) return hits[0];
    if (hits.size() > 1)
      return fail(Errc::InvalidArgument,
                  fmt::format("ambiguous image id prefix {}: {} images match", prefix, hits.size()));
  }
  if (auto r = oci::parse_reference(q); !r && !hex) return fail(std::move(r.error()));
  return fail(Errc::NotFound, fmt::format("No such image: {}", s));
}

Result<ResolvedImage> ServiceImpl::resolve(const std::string& name_or_id) {
  std::lock_guard lk(mu_);
  Digest id = TRY(resolve_id(name_or_id));
  ResolvedImage r;
  r.id = id.str();
  r.config_json = TRY(content_->read(id));
  r.config = TRY(oci::parse_image_config(r.config_json));
  r.repo_tags = tags_of(id);
  return r;
}

std::int64_t ServiceImpl::image_size(const oci::ImageConfig& c) const {
  std::int64_t total = 0;
  for (auto& ch : chain_ids(c.diff_ids)) {
    auto m = layer_meta(ch);
    if (m) total += m->size;
  }
  return total;
}

Result<std::vector<ImageSummary>> ServiceImpl::list(const ListFilters& f) {
  std::lock_guard lk(mu_);
  std::int64_t before = INT64_MAX, since = INT64_MIN;
  auto created_of = [&](const std::string& ref) -> Result<std::int64_t> {
    Digest id = TRY(resolve_id(ref));
    auto c = TRY(image_config(id));
    return parse_rfc3339(c.created);
  };
  if (!f.before.empty()) before = TRY(created_of(f.before));
  if (!f.since.empty()) since = TRY(created_of(f.since));
  std::vector<ImageSummary> out;
  for (auto& id : TRY(all_images())) {
    auto cfg = image_config(id);
    if (!cfg) continue;
    ImageSummary s;
    s.id = id.str();
    s.parent_id = cfg->parent;
    s.repo_tags = tags_of(id);
    s.repo_digests = digests_of(id);
    s.created = parse_rfc3339(cfg->created);
    for (auto& ch : chain_ids(cfg->diff_ids)) {
      auto m = layer_meta(ch);
      s.layers.emplace_back(ch.str(), m ? m->size : 0);
      s.size += m ? m->size : 0;
    }
    s.labels = cfg->config.labels;
    bool dangling = s.repo_tags.empty();
    if (f.dangling && *f.dangling != dangling) continue;
    if (s.created >= before || s.created <= since) continue;
    bool keep = true;
    for (auto& l : f.labels) {
      auto [k, v] = split_once(l, '=');
      auto it = s.labels.find(std::string(k));
      if (it == s.labels.end() || (l.find('=') != std::string::npos && it->second != v)) keep = false;
    }
    if (!keep) continue;
    if (!f.references.empty()) {
      // dockerd keeps only the matching tags (and digests) of a matching image.
      auto matches = [&](const std::string& r) {
        auto pr = oci::parse_reference(r);
        std::string name = pr ? pr->familiar_name() : r;
        for (auto& pat : f.references)
          if (::fnmatch(pat.c_str(), r.c_str(), 0) == 0 || ::fnmatch(pat.c_str(), name.c_str(), 0) == 0) return true;
        return false;
      };
      std::vector<std::string> tags, digests;
      for (auto& t : s.repo_tags)
        if (matches(t)) tags.push_back(t);
      for (auto& d : s.repo_digests)
        if (matches(d)) digests.push_back(d);
      if (tags.empty() && digests.empty()) continue;
      s.repo_tags = std::move(tags);
      s.repo_digests = std::move(digests);
    }
    if (s.repo_tags.empty() && !f.all && !f.dangling && !s.repo_digests.empty()) {
      // untagged but pulled by digest: docker shows it as <none>:<none>
    }
    if (s.repo_tags.empty() && s.repo_digests.empty()) {
      s.repo_tags = {};  // API shows [] (the CLI prints <none>)
    }
    out.push_back(std::move(s));
  }
  // newest first; ties (images made in the same second) in a stable order
  std::sort(out.begin(), out.end(),
            [](auto& a, auto& b) { return a.created != b.created ? a.created > b.created : a.id < b.id; });
  return out;
}

Result<std::string> ServiceImpl::inspect(const std::string& name_or_id) {
  std::lock_guard lk(mu_);
  Digest id = TRY(resolve_id(name_or_id));
  std::string raw = TRY(content_->read(id));
  auto meta = TRY(image_meta(id));
  auto cfg = TRY(oci::parse_image_config(raw));
  return guarded("inspect", [&]() -> Result<std::string> {
    json rawj = json::parse(raw);
    json c = {{"Hostname", ""},   {"Domainname", ""},  {"User", ""},          {"AttachStdin", false},
              {"AttachStdout", false}, {"AttachStderr", false}, {"Tty", false},
              {"OpenStdin", false}, {"StdinOnce", false}, {"Env", nullptr},    {"Cmd", nullptr},
              {"Image", ""},      {"Volumes", nullptr}, {"WorkingDir", ""},  {"Entrypoint", nullptr},
              {"OnBuild", nullptr}, {"Labels", nullptr}};
    if (auto it = rawj.find("config"); it != rawj.end() && it->is_object())
      for (auto& [k, v] : it->items()) c[k] = v;
    json layers = json::array();
    for (auto& d : cfg.diff_ids) layers.push_back(d.str());
    json gd = {{"Name", driver_->name()}, {"Data", json::object()}};
    auto chains = chain_ids(cfg.diff_ids);
    if (!chains.empty()) {
      auto top = layer_meta(chains.back());
      if (top) {
        if (driver_->name() == "overlay2") {
          gd["Data"]["UpperDir"] = driver_->diff_dir(top->cache_id);
          gd["Data"]["WorkDir"] = dirname(driver_->diff_dir(top->cache_id)) + "/work";
          gd["Data"]["MergedDir"] = dirname(driver_->diff_dir(top->cache_id)) + "/merged";
        } else {
          gd["Data"]["Dir"] = driver_->diff_dir(top->cache_id);
        }
      }
    }
    json j = {
        {"Id", id.str()},
        {"RepoTags", tags_of(id)},
        {"RepoDigests", digests_of(id)},
        {"Parent", cfg.parent},
        {"Comment", cfg.comment},
        {"Created", cfg.created},
        {"DockerVersion", cfg.docker_version},
        {"Author", cfg.author},
        {"Config", c},
        {"Architecture", cfg.architecture},
        {"Os", cfg.os},
        {"Size", image_size(cfg)},
        {"GraphDriver", gd},
        {"RootFS", {{"Type", "layers"}, {"Layers", layers}}},
        {"Metadata", {{"LastTagTime", meta.last_tag_time.empty() ? "0001-01-01T00:00:00Z"
                                                                 : meta.last_tag_time}}},
    };
    if (!cfg.variant.empty()) j["Variant"] = cfg.variant;
    if (!cfg.os_version.empty()) j["OsVersion"] = cfg.os_version;
    return j.dump();
  });
}

Result<std::vector<HistoryItem>> ServiceImpl::history(const std::string& name_or_id) {
  std::lock_guard lk(mu_);
  Digest id = TRY(resolve_id(name_or_id));
  auto cfg = TRY(image_config(id));
  auto chains = chain_ids(cfg.diff_ids);
  std::vector<HistoryItem> out;
  std::size_t layer = 0;
  for (auto& h : cfg.history) {
    HistoryItem it;
    it.id = "<missing>";
    it.created = parse_rfc3339(h.created);
    it.created_by = h.created_by;
    it.comment = h.comment;
    if (!h.empty_layer && layer < chains.size()) {
      auto m = layer_meta(chains[layer]);
      if (m) it.size = m->size;
      ++layer;
    }
    out.push_back(std::move(it));
  }
  std::reverse(out.begin(), out.end());
  if (!out.empty()) {
    out[0].id = id.str();
    out[0].tags = tags_of(id);
  }
  return out;
}

Status ServiceImpl::tag(const std::string& source, const std::string& target) {
  std::lock_guard lk(mu_);
  Digest id = TRY(resolve_id(source));
  auto r = TRY(oci::parse_reference(target));
  if (!r.digest.empty())
    return fail(Errc::InvalidArgument, "refusing to create a tag with a digest reference");
  r = oci::with_default_tag(r);
  refs_[r.str()] = id.str();
  TRY(write_refs());
  // LastTagTime
  auto meta = image_meta(id);
  if (meta) {
    meta->last_tag_time = now_rfc3339();
    json j = {{"layers", json::array()}, {"manifest", meta->manifest_digest},
              {"last_tag_time", meta->last_tag_time}};
    for (auto& l : meta->layers) j["layers"].push_back(descriptor_json(l));
    TRY(atomic_write_file(meta_dir() + "/images/" + id.hex() + ".json", j.dump(), 0600));
  }
  return ok();
}

std::vector<std::string> ServiceImpl::users_of(const std::string& image_id) {
  std::vector<std::string> out;
  if (in_use_) out = in_use_(image_id);
  for (auto& n : list_dir(meta_dir() + "/containers", ".json")) {
    auto m = container_meta(n);
    if (m && m->image_id == image_id && std::find(out.begin(), out.end(), n) == out.end())
      out.push_back(n);
  }
  return out;
}

Result<std::vector<DeleteItem>> ServiceImpl::remove(const std::string& name_or_id, bool force,
                                                    bool /*prune_parents*/) {
  // Lock order load_mu_ -> mu_: garbage collection must not run while a load/pull/commit has
  // layers on disk that are not recorded yet.
  std::lock_guard load_lk(load_mu_);
  std::lock_guard lk(mu_);
  Digest id = TRY(resolve_id(name_or_id));
  std::vector<DeleteItem> out;
  // Was it named by a reference (not by id)?
  std::string ref_key;
  if (auto r = oci::parse_reference(name_or_id); r) {
    auto full = oci::with_default_tag(*r);
    if (refs_.count(full.str())) ref_key = full.str();
    else if (!full.digest.empty()) {
      full.tag.clear();
      if (refs_.count(full.str())) ref_key = full.str();
    }
  }
  std::vector<std::string> all_refs;
  for (auto& [k, v] : refs_)
    if (v == id.str()) all_refs.push_back(k);
  auto users = users_of(id.str());
  auto short_id = id.short_id();

  if (!ref_key.empty()) {
    bool last = all_refs.size() == 1;
    if (last && !users.empty() && !force)
      return fail(Errc::Conflict,
                  fmt::format("conflict: unable to remove repository reference \"{}\" (must force) "
                              "- container {} is using its referenced image {}",
                              name_or_id, users[0].substr(0, 12), short_id));
    refs_.erase(ref_key);
    out.push_back({oci::parse_canonical(ref_key)->familiar(), ""});
    // The last tag of a repository goes: its digest references go too (dockerd's rule).
    auto removed = oci::parse_canonical(ref_key);
    if (removed && removed->digest.empty()) {
      bool tag_left = false;
      std::vector<std::string> digest_refs;
      for (auto& r : all_refs) {
        if (r == ref_key) continue;
        auto pr = oci::parse_canonical(r);
        if (!pr || pr->name() != removed->name()) continue;
        if (pr->digest.empty()) tag_left = true;
        else digest_refs.push_back(r);
      }
      if (!tag_left)
        for (auto& r : digest_refs) {
          refs_.erase(r);
          out.push_back({oci::parse_canonical(r)->familiar(), ""});
        }
    }
    TRY(write_refs());
    bool any_left = false;
    for (auto& [k, v] : refs_) any_left |= v == id.str();
    if (any_left || !users.empty()) return out;
  } else {
    if (!users.empty())
      return fail(Errc::Conflict,
                  fmt::format("conflict: unable to delete {} (must be forced) - image is being used "
                              "by stopped container {}",
                              short_id, users[0].substr(0, 12)));
    std::size_t tags = 0;
    for (auto& r : all_refs)
      if (oci::parse_canonical(r)->digest.empty()) ++tags;
    if (tags > 1 && !force)
      return fail(Errc::Conflict,
                  fmt::format("conflict: unable to delete {} (must be forced) - image is "
                              "referenced in multiple repositories",
                              short_id));
    for (auto& r : all_refs) {
      refs_.erase(r);
      out.push_back({oci::parse_canonical(r)->familiar(), ""});
    }
    if (!all_refs.empty()) TRY(write_refs());
  }
  // Digest references of a deleted image go too.
  for (auto it = refs_.begin(); it != refs_.end();) {
    if (it->second == id.str()) {
      out.push_back({oci::parse_canonical(it->first)->familiar(), ""});
      it = refs_.erase(it);
    } else {
      ++it;
    }
  }
  TRY(write_refs());
  TRY(delete_image(id));
  out.push_back({"", id.str()});
  return out;
}

Status ServiceImpl::delete_image(const Digest& id) {
  if (::unlink((meta_dir() + "/images/" + id.hex() + ".json").c_str()) != 0 && errno != ENOENT)
    return fail_errno("remove image record", id.str());
  return collect_garbage();
}

// Removes layers, driver dirs and blobs that no image or container references. Runs at open
// (cleaning up after a crash) and after deletions. mu_ held.
Status ServiceImpl::collect_garbage() {
  std::set<std::string> live_chains, live_cache, live_blobs;
  for (auto& id : TRY(all_images())) {
    live_blobs.insert(id.str());
    auto meta = image_meta(id);
    if (meta) {
      for (auto& l : meta->layers) live_blobs.insert(l.digest.str());
      if (!meta->manifest_digest.empty()) live_blobs.insert(meta->manifest_digest);
    }
    auto cfg = image_config(id);
    if (!cfg) continue;
    for (auto& c : chain_ids(cfg->diff_ids)) live_chains.insert(c.hex());
  }
  for (auto& n : list_dir(meta_dir() + "/containers", ".json")) {
    auto m = container_meta(n);
    if (!m) continue;
    live_cache.insert(m->layer);
    auto d = Digest::parse(m->image_id);
    if (!d) continue;
    auto cfg = image_config(*d);
    if (cfg)
      for (auto& c : chain_ids(cfg->diff_ids)) live_chains.insert(c.hex());
  }
  for (auto& n : list_dir(meta_dir() + "/layers", ".json")) {
    auto d = Digest::parse("sha256:" + n);
    if (!d) continue;
    auto m = layer_meta(*d);
    if (!m) continue;
    if (live_chains.count(n)) {
      live_cache.insert(m->cache_id);
      continue;
    }
    ::unlink((meta_dir() + "/layers/" + n + ".json").c_str());
  }
  for (auto& id : TRY(driver_->list())) {
    if (live_cache.count(id)) continue;
    if (auto s = driver_->remove(id); !s) log::warn("remove unused layer {}: {}", id, s.error().message());
  }
  TRY(content_->gc(live_blobs));
  return ok();
}

Result<std::pair<std::vector<DeleteItem>, std::int64_t>> ServiceImpl::prune(bool all) {
  std::vector<Digest> victims;
  std::int64_t reclaimed = 0;
  {
    std::lock_guard lk(mu_);
    for (auto& id : TRY(all_images())) {
      bool tagged = !tags_of(id).empty();
      if (tagged && !all) continue;
      if (!users_of(id.str()).empty()) continue;
      victims.push_back(id);
    }
  }
  std::vector<DeleteItem> out;
  for (auto& id : victims) {
    std::int64_t sz = 0;
    {
      std::lock_guard lk(mu_);
      auto cfg = image_config(id);
      if (cfg) sz = image_size(*cfg);
    }
    auto r = remove(id.str(), true, true);
    if (!r) continue;
    reclaimed += sz;
    for (auto& i : *r) out.push_back(i);
  }
  return std::make_pair(out, reclaimed);
}

Result<std::vector<LayerMeta>> ServiceImpl::register_layers(std::vector<LayerInput> inputs,
                                                            const ProgressFn& progress) {
  std::vector<Digest> diffs;
  for (auto& i : inputs) diffs.push_back(i.expected_diff_id);
  auto chains = chain_ids(diffs);
  const std::size_t n = inputs.size();
  std::vector<LayerMeta> metas(n);
  std::vector<bool> have(n, false);
  {
    std::lock_guard lk(mu_);
    for (std::size_t i = 0; i < n; ++i) {
      auto m = layer_meta(chains[i]);
      if (m && driver_->exists(m->cache_id)) {
        metas[i] = *m;
        have[i] = true;
      } else {
        metas[i].chain_id = chains[i];
        metas[i].diff_id = diffs[i];
        metas[i].parent = i ? chains[i - 1].str() : "";
        metas[i].cache_id = random_hex(64);
      }
    }
  }
  std::vector<Status> results(n);
  auto work = [&](std::size_t i) {
    if (have[i]) return;
    results[i] = [&]() -> Status {
      auto raw = TRY(inputs[i].open());
      auto dec = TRY(storage::decompressed(std::move(raw)));
      storage::HashingReader h(*dec);
      std::string parent = i ? metas[i - 1].cache_id : "";
      auto st = TRY(driver_->create_from_tar(metas[i].cache_id, parent, h));
      Digest got = TRY(h.drain_and_finish());
      if (got != diffs[i]) {
        (void)driver_->remove(metas[i].cache_id);
        return fail(Errc::DataLoss, fmt::format("layer {}: content digest {} does not match the "
                                                "image config's diff id {}",
                                                inputs[i].label, got.str(), diffs[i].str()));
      }
      metas[i].size = static_cast<std::int64_t>(st.bytes);
      if (progress)
        progress({json({{"status", "Loading layer"}, {"progressDetail", json::object()},
                        {"id", diffs[i].short_id()}})
                      .dump()});
      return ok();
    }();
  };
  if (driver_->independent_layers() && n > 1) {
    std::atomic<std::size_t> next{0};
    int workers = std::max(1, std::min<int>(opts_.max_concurrent_downloads, static_cast<int>(n)));
    std::vector<std::thread> ts;
    for (int w = 0; w < workers; ++w)
      ts.emplace_back([&] {
        for (std::size_t i; (i = next++) < n;) work(i);
      });
    for (auto& t : ts) t.join();
  } else {
    for (std::size_t i = 0; i < n; ++i) {
      work(i);
      if (!results[i]) break;
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (results[i]) continue;
    for (std::size_t j = 0; j < n; ++j)
      if (!have[j]) (void)driver_->remove(metas[j].cache_id);
    return fail(std::move(results[i].error()));
  }
  std::lock_guard lk(mu_);
  for (std::size_t i = 0; i < n; ++i) {
    if (have[i]) continue;
    json j = {{"diff_id", metas[i].diff_id.str()}, {"parent", metas[i].parent},
              {"cache_id", metas[i].cache_id}, {"size", metas[i].size}};
    TRY(atomic_write_file(meta_dir() + "/layers/" + chains[i].hex() + ".json", j.dump(), 0600));
  }
  return metas;
}

Status ServiceImpl::register_image(const ImageMeta& meta, const std::vector<std::string>& tags) {
  std::lock_guard lk(mu_);
  auto cfg = TRY(image_config(meta.id));
  for (auto& c : chain_ids(cfg.diff_ids)) TRYC(layer_meta(c), "register image");
  json j = {{"layers", json::array()}, {"manifest", meta.manifest_digest},
            {"last_tag_time", tags.empty() ? "" : now_rfc3339()}};
  for (auto& l : meta.layers) j["layers"].push_back(descriptor_json(l));
  TRY(atomic_write_file(meta_dir() + "/images/" + meta.id.hex() + ".json", j.dump(), 0600));
  for (auto& t : tags) refs_[t] = meta.id.str();
  if (!tags.empty()) TRY(write_refs());
  return ok();
}

Result<ContainerMeta> ServiceImpl::container_meta(const std::string& cid) const {
  if (!valid_container_id(cid)) return fail(Errc::InvalidArgument, "invalid container id");
  auto s = read_file(meta_dir() + "/containers/" + cid + ".json");
  if (!s) {
    if (s.error().is(Errc::NotFound))
      return fail(Errc::NotFound, fmt::format("no root filesystem for container {}", cid));
    return fail(std::move(s.error()));
  }
  return guarded("parse container layer", [&]() -> Result<ContainerMeta> {
    json j = json::parse(*s);
    return ContainerMeta{cid, j.at("image").get<std::string>(), j.at("layer").get<std::string>()};
  });
}

}  // namespace berth::image
