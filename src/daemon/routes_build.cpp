// SPDX-License-Identifier: Apache-2.0
// POST /build (the legacy builder API the docker CLI uses with DOCKER_BUILDKIT=0 or against a
// daemon whose /_ping says Builder-Version: 1), POST /build/prune, and the build cache part of
// GET /system/df. The context tar (plain, gzip or zstd) is extracted securely into a scratch
// directory, .dockerignore is applied again, and build::Executor runs the plan against
// daemon/build_backend.cpp. The response is dockerd's JSON message stream.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <thread>

#include <nlohmann/json.hpp>

#include "build/context.hpp"
#include "build/executor.hpp"
#include "builder/cache_key.hpp"
#include "builder/dockerignore.hpp"
#include "common/file.hpp"
#include "common/log.hpp"
#include "common/path.hpp"
#include "common/strings.hpp"
#include "daemon/build_backend.hpp"
#include "daemon/daemon.hpp"
#include "image/image_service.hpp"
#include "oci/reference.hpp"
#include "storage/reader.hpp"
#include "storage/tar_apply.hpp"

namespace berth::daemon {

using json = nlohmann::json;

namespace {

void send_err(http::ResponseWriter& w, int status, const std::string& msg) {
  (void)w.send(status, json{{"message", msg}}.dump() + "\n", "application/json");
}

std::string short_hex(const std::string& id) {
  std::string h = id.rfind("sha256:", 0) == 0 ? id.substr(7) : id;
  return h.substr(0, 12);
}

std::string rfc3339(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char b[64];
  std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return b;
}

// Removes what .dockerignore excludes (the docker CLI already filtered; other clients may not).
Status apply_dockerignore(const std::string& root, const std::vector<std::string>& patterns,
                          const std::string& dockerfile) {
  if (patterns.empty()) return ok();
  auto pm = TRY(builder::PatternMatcher::create(patterns));
  std::vector<std::string> stack{""};
  while (!stack.empty()) {
    std::string rel = stack.back();
    stack.pop_back();
    DIR* d = ::opendir((root + (rel.empty() ? "" : "/" + rel)).c_str());
    if (!d) continue;
    std::vector<std::pair<std::string, bool>> ents;
    while (auto* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      ents.emplace_back(n, e->d_type == DT_DIR);
    }
    ::closedir(d);
    for (auto& [n, is_dir] : ents) {
      std::string r = rel.empty() ? n : rel + "/" + n;
      if (r == dockerfile || r == ".dockerignore") continue;
      bool ex = TRY(pm.matches_or_parent_matches(r));
      if (ex && !(is_dir && pm.exclusions())) {
        TRY(remove_all(root + "/" + r));
        continue;
      }
      if (is_dir) stack.push_back(r);
    }
  }
  return ok();
}

class StreamProgress final : public build::Progress {
 public:
  StreamProgress(http::ResponseWriter& w, bool quiet) : w_(w), quiet_(quiet) {}
  void stream(std::string_view t) override {
    if (quiet_ || t.empty() || dead_) return;
    if (!w_.write(json{{"stream", std::string(t)}}.dump() + "\n")) dead_ = true;
  }
  void aux_id(const std::string& id) override {
    if (!dead_ && !w_.write(json{{"aux", {{"ID", id}}}}.dump() + "\n")) dead_ = true;
  }
  void raw(const json& j) {
    if (!dead_ && !w_.write(j.dump() + "\n")) dead_ = true;
  }
  void always(std::string_view t) {
    if (!dead_ && !w_.write(json{{"stream", std::string(t)}}.dump() + "\n")) dead_ = true;
  }

 private:
  http::ResponseWriter& w_;
  bool quiet_;
  bool dead_ = false;
};

std::atomic<std::int64_t> g_last_gc{0};

void maybe_gc(Daemon& d) {
  auto now = static_cast<std::int64_t>(std::time(nullptr));
  std::int64_t last = g_last_gc.load();
  if (now - last < 60 || !g_last_gc.compare_exchange_strong(last, now)) return;
  auto* svc = &d.images();
  auto cache = build_cache(d);
  if (!svc || !cache) return;
  std::thread([svc, c = *cache, &d] {
    auto r = c->gc(
        build_cache_limit(), [svc](const build::CacheEntry& e) { return build_cache_entry_size(*svc, e); },
        [svc](const std::string& id) {
          auto ri = svc->resolve(id);
          if (!ri || !ri->repo_tags.empty()) return false;
          return static_cast<bool>(svc->remove(id, false, false));
        });
    if (r && !r->second.empty())
      log::info("build cache gc: {} entries, {} bytes reclaimed", r->second.size(), r->first);
    (void)d;
  }).detach();
}

json parse_json_param(const http::Request& q, const char* name, json def) {
  auto v = q.query_value(name);
  if (!v || v->empty()) return def;
  try {
    return json::parse(*v);
  } catch (...) {
    return def;
  }
}

void handle_build(Daemon& d, http::Request& q, http::ResponseWriter& w) {
  if (q.query_value("version").value_or("1") == "2")
    return send_err(w, 400, "BuildKit (version=2) is not supported by this daemon: use the legacy builder (DOCKER_BUILDKIT=0)");
  if (auto remote = q.query_value("remote"); remote && !remote->empty())
    return send_err(w, 400, "remote build contexts (" + *remote + ") are not supported: send the context as the request body");
  std::vector<std::string> tags;
  for (auto& t : q.query_values("t")) {
    if (t.empty()) continue;
    auto r = oci::parse_reference(t);
    if (!r) return send_err(w, 400, "invalid reference format: " + t);
    tags.push_back(t);
  }
  build::BuildRequest req;
  std::string dockerfile = q.query_value("dockerfile").value_or("Dockerfile");
  if (dockerfile.empty()) dockerfile = "Dockerfile";
  json ba = parse_json_param(q, "buildargs", json::object());
  if (ba.is_object())
    for (auto& [k, v] : ba.items())
      if (v.is_string()) req.build_args.emplace_back(k, v.get<std::string>());
  json labels = parse_json_param(q, "labels", json::object());
  if (labels.is_object())
    for (auto& [k, v] : labels.items())
      if (v.is_string()) req.labels[k] = v.get<std::string>();
  req.target = q.query_value("target").value_or("");
  req.no_cache = q.query_bool("nocache");
  req.pull = q.query_bool("pull");
  bool quiet = q.query_bool("q");
  bool forcerm = q.query_bool("forcerm");
  (void)forcerm;  // intermediate snapshots are always removed
  std::string net = q.query_value("networkmode").value_or("default");
  if (net.empty() || net == "bridge") net = "default";
  // Any other name is a network RUN steps join (checked when a RUN needs it, as dockerd does).
  if (net.rfind("container:", 0) == 0)
    return send_err(w, 400, "network mode \"" + net + "\" is not supported for builds (default, none, host or a network)");
  req.network = net;
  req.platform = q.query_value("platform").value_or("");
  json cf = parse_json_param(q, "cachefrom", json::array());
  if (cf.is_array())
    for (auto& v : cf)
      if (v.is_string()) req.cache_from.push_back(v.get<std::string>());
  for (auto& eh : q.query_values("extrahosts"))
    for (auto& x : split(eh, ','))
      if (!x.empty()) req.extra_hosts.push_back(x);
  if (auto s = q.query_value("shmsize"); s && !s->empty()) {
    char* end = nullptr;
    long long v = std::strtoll(s->c_str(), &end, 10);
    if (!end || *end || v < 0) return send_err(w, 400, "invalid shmsize: " + *s);
    req.shm_size = v;
  }

  auto backend = make_build_backend(d);
  if (!backend) return send_err(w, 500, backend.error().message());
  auto tmp = (*backend)->temp_dir();
  if (!tmp) return send_err(w, 500, tmp.error().message());
  // The context is read once: indexed and hashed from the stream, spooled to one file, and
  // extracted only when a step needs its files (a fully cached build never does).
  std::string ctx = *tmp + "/context", spool = *tmp + "/context.tar";
  std::string df_rel = clean_path("/" + dockerfile).substr(1);
  build::ContextIndex idx;
  {
    UniqueFd fd(::open(spool.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd) return send_err(w, 500, "build context spool " + spool + ": " + strerror(errno));
    struct BodyAdapter : storage::Reader {
      http::Request& q;
      explicit BodyAdapter(http::Request& r) : q(r) {}
      Result<std::size_t> read(void* b, std::size_t n) override { return q.body().read(static_cast<char*>(b), n); }
    };
    auto src = std::make_unique<BodyAdapter>(q);
    auto dec = storage::decompressed(std::move(src));
    if (!dec) return send_err(w, 400, "failed to read build context: " + dec.error().message());
    auto r = build::index_context_tar(**dec, fd.get(), {df_rel, "dockerfile", ".dockerignore"});
    if (!r) return send_err(w, 400, "failed to read build context: " + r.error().message());
    idx = std::move(*r);
  }
  if (auto it = idx.files.find(".dockerignore"); it != idx.files.end())
    req.ignore_patterns = builder::read_dockerignore(it->second);
  auto materialize = [ctx, spool, patterns = req.ignore_patterns](const std::string& df) -> Status {
    TRY(mkdir_all(ctx, 0755));
    auto fd = TRY(open_file(spool, O_RDONLY));
    auto rd = storage::fd_reader(fd.get());
    storage::ApplyOptions ao;
    ao.whiteouts = storage::WhiteoutMode::Delete;
    ao.preserve_owner = false;
    auto st = storage::apply_tar(*rd, ctx, ao);
    if (!st) return fail(Errc::InvalidArgument, "failed to extract build context: " + st.error().message());
    // Removes what .dockerignore excludes (the docker CLI already filtered; other clients may not).
    return apply_dockerignore(ctx, patterns, df);
  };
  std::string text;
  if (auto it = idx.files.find(df_rel); it != idx.files.end()) {
    text = it->second;
  } else if (idx.links.count(df_rel)) {
    // A symlinked Dockerfile: read it through the extracted context (confined to it).
    if (auto st = materialize(df_rel); !st) return send_err(w, 400, st.error().message());
    auto h = secure_join(ctx, df_rel);
    auto t = h ? read_file(*h, 16u << 20) : Result<std::string>(fail(Errc::NotFound, "missing"));
    if (!t) return send_err(w, 500, "Cannot locate specified Dockerfile: " + dockerfile);
    text = std::move(*t);
    req.context_dir = ctx;
  } else if (auto lc = idx.files.find("dockerfile"); lc != idx.files.end() && dockerfile == "Dockerfile") {
    // dockerd also accepts a lower-case "dockerfile".
    text = lc->second;
    df_rel = "dockerfile";
  } else {
    return send_err(w, 500, "Cannot locate specified Dockerfile: " + dockerfile);
  }
  auto hasher = builder::DirContextHasher::from_index(std::move(idx.entries), req.ignore_patterns);
  if (!hasher) return send_err(w, 400, "invalid .dockerignore: " + hasher.error().message());
  req.context_hasher = std::shared_ptr<builder::ContextHasher>(std::move(*hasher));
  if (req.context_dir.empty()) {
    req.prepare_context = [materialize, df = df_rel] { return materialize(df); };
  }
  req.context_dir = ctx;
  req.dockerfile = std::move(text);

  auto cache = build_cache(d);
  if (!w.begin_stream(200, "application/json")) return;
  StreamProgress out(w, quiet);
  build::Executor ex(**backend, cache ? *cache : nullptr);
  auto res = ex.build(req, out);
  if (!res) {
    int code = ex.last_exit_code();
    json err = {{"errorDetail", {{"message", res.error().message()}}}, {"error", res.error().message()}};
    if (code) err["errorDetail"]["code"] = code;
    out.raw(err);
    (void)w.end_stream();
    return;
  }
  out.aux_id(res->image_id);
  if (quiet) out.always(res->image_id + "\n");
  else out.stream("Successfully built " + short_hex(res->image_id) + "\n");
  auto* svc = &d.images();
  for (auto& t : tags) {
    auto s = svc->tag(res->image_id, t);
    if (!s) {
      out.raw(json{{"errorDetail", {{"message", s.error().message()}}}, {"error", s.error().message()}});
      (void)w.end_stream();
      return;
    }
    auto r = oci::parse_reference(t);
    std::string shown = r ? normalize_ref(oci::with_default_tag(*r).str()) : t;
    d.emit("image", "tag", res->image_id, {{"name", shown}});
    out.stream("Successfully tagged " + shown + "\n");
  }
  (void)w.end_stream();
  maybe_gc(d);
}

void handle_prune(Daemon& d, http::Request& q, http::ResponseWriter& w) {
  auto* svc = &d.images();
  auto cache = build_cache(d);
  if (!svc || !cache) return send_err(w, 500, "build cache unavailable");
  // No (or a zero) keep-storage prunes every entry: with a limit of 0 the GC would stop once the
  // sizes summed to 0 and leave the metadata-only steps (size 0) behind.
  std::int64_t keep = -1;
  for (const char* k : {"keep-storage", "reserved-space"})
    if (auto v = q.query_value(k); v && !v->empty()) {
      std::int64_t n = std::strtoll(v->c_str(), nullptr, 10);
      if (n > 0) keep = n;
    }
  std::vector<std::string> deleted;
  auto r = (*cache)->gc(
      keep, [svc](const build::CacheEntry& e) { return build_cache_entry_size(*svc, e); },
      [svc, &deleted](const std::string& id) {
        auto ri = svc->resolve(id);
        if (!ri || !ri->repo_tags.empty()) return false;
        bool ok = static_cast<bool>(svc->remove(id, false, false));
        if (ok) deleted.push_back(id);
        return ok;
      });
  if (!r) return send_err(w, 500, r.error().message());
  json ids = json::array();
  for (auto& e : r->second) ids.push_back(e.key.substr(e.key.rfind(':') + 1).substr(0, 25));
  (void)w.send(200, json{{"CachesDeleted", ids}, {"SpaceReclaimed", r->first}}.dump() + "\n", "application/json");
}

}  // namespace

std::string build_cache_df_json(Daemon& d) {
  json arr = json::array();
  auto* svc = &d.images();
  auto cache = build_cache(d);
  if (!svc || !cache) return arr.dump();
  for (auto& e : (*cache)->entries()) {
    arr.push_back({{"ID", e.key.substr(e.key.rfind(':') + 1).substr(0, 25)},
                   {"Parents", json::array()},
                   {"Type", "regular"},
                   {"Description", e.description},
                   {"InUse", false},
                   {"Shared", false},
                   {"Size", build_cache_entry_size(*svc, e)},
                   {"CreatedAt", rfc3339(e.created)},
                   {"LastUsedAt", rfc3339(e.last_used)},
                   {"UsageCount", e.usage_count}});
  }
  return arr.dump();
}

std::set<std::string> build_intermediate_ids(Daemon& d, bool all) {
  std::set<std::string> out;
  if (all) return out;
  auto cache = build_cache(d);
  if (!cache) return out;
  for (auto& e : (*cache)->entries()) out.insert(e.image_id);
  return out;
}

void register_build_routes(Daemon& d, http::Router& r) {
  r.add("POST", "/build", [&d](http::Request& q, http::ResponseWriter& w) { handle_build(d, q, w); });
  r.add("POST", "/build/prune", [&d](http::Request& q, http::ResponseWriter& w) { handle_prune(d, q, w); });
}

}  // namespace berth::daemon
