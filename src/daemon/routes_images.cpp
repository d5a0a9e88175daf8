// SPDX-License-Identifier: Apache-2.0
// Engine API image endpoints: /images/* (pull, import, push, tag, list, inspect, history,
// remove, save, load, prune, search), /commit and /auth. Everything goes through src/image's
// ImageService; this file maps the API's parameters, progress streams and errors onto it.
#include <fnmatch.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <ctime>
#include <mutex>
#include <set>
#include <thread>

#include "common/base64.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "daemon/build_backend.hpp"
#include "daemon/routes.hpp"
#include "distribution/client.hpp"
#include "oci/image.hpp"
#include "oci/reference.hpp"

namespace berth::daemon {

// ---------------- body / stream plumbing shared with routes_archive.cpp ----------------

Status with_body_fd(http::Request& q, http::ResponseWriter& w, const std::function<Status(int fd)>& consume) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return fail_errno("socketpair");
  UniqueFd rd(sv[0]);
  std::atomic<bool> body_complete{false};
  std::thread feeder([&q, wfd = sv[1], &body_complete] {
    UniqueFd out(wfd);
    std::string buf(1 << 17, '\0');
    for (;;) {
      auto n = q.body().read(buf.data(), buf.size());
      if (!n || *n == 0) {
        body_complete = n.has_value();
        return;
      }
      const char* p = buf.data();
      std::size_t left = *n;
      while (left > 0) {
        ssize_t k = ::send(out.get(), p, left, MSG_NOSIGNAL);
        if (k < 0) {
          if (errno == EINTR) continue;
          return;  // the consumer stopped reading
        }
        p += k;
        left -= static_cast<std::size_t>(k);
      }
    }
  });
  Status st = consume(rd.get());
  rd.reset();  // unblocks the feeder if the consumer stopped early
  feeder.join();
  if (!body_complete) w.close_after();  // unread request bytes: do not reuse the connection
  return st;
}

Status stream_from(http::ResponseWriter& w, const std::string& content_type,
                   const std::function<Status(int fd)>& produce) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return fail_errno("socketpair");
  UniqueFd rd(sv[0]);
  Status result = ok();
  std::thread producer([&result, &produce, wfd = sv[1]] {
    UniqueFd out(wfd);
    result = produce(out.get());
  });
  std::string buf(1 << 17, '\0');
  bool client_gone = false;
  for (;;) {
    ssize_t k = ::read(rd.get(), buf.data(), buf.size());
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    if (!w.started() && !w.begin_stream(200, content_type)) client_gone = true;
    if (client_gone || !w.write(std::string_view(buf.data(), static_cast<std::size_t>(k)))) {
      client_gone = true;
      break;
    }
  }
  rd.reset();
  producer.join();
  if (!result) {
    if (!w.started()) return result;
    log::warn("stream aborted: {}", result.error().message());
    w.close_after();
    return ok();
  }
  if (!w.started() && !client_gone) (void)w.begin_stream(200, content_type);
  return ok();
}

namespace {

using Filters = std::map<std::string, std::vector<std::string>>;

// Docker's JSON message stream. Lines may come from several threads. With `defer`, lines are
// held back until one that is not "Pulling from …" arrives, so that a pull failing at the
// manifest still answers with an HTTP error status (as dockerd does).
class JsonStream {
 public:
  JsonStream(http::ResponseWriter& w, bool defer) : w_(w), defer_(defer) {}

  void line(const std::string& j) {
    std::lock_guard lk(mu_);
    if (!w_.started() && defer_ && j.find("\"Pulling from ") != std::string::npos) {
      held_ += j + "\r\n";
      return;
    }
    start_locked();
    if (!broken_ && !w_.write(j + "\r\n")) broken_ = true;
  }
  void start() {
    std::lock_guard lk(mu_);
    start_locked();
  }
  // An error: an HTTP status before the stream started, an errorDetail line after.
  void error(const Error& e) {
    std::lock_guard lk(mu_);
    if (!w_.started()) return send_error(w_, e);
    json j{{"errorDetail", {{"message", e.message()}}}, {"error", e.message()}};
    if (!broken_) (void)w_.write(j.dump() + "\r\n");
  }

 private:
  void start_locked() {
    if (w_.started()) return;
    if (!w_.begin_stream(200, "application/json")) {
      broken_ = true;
      return;
    }
    if (!held_.empty() && !w_.write(held_)) broken_ = true;
    held_.clear();
  }
  http::ResponseWriter& w_;
  bool defer_;
  bool broken_ = false;
  std::string held_;
  std::mutex mu_;
};

std::string status_line(const std::string& s, const std::string& id = {}) {
  json j{{"status", s}};
  if (!id.empty()) j["id"] = id;
  return j.dump();
}

// X-Registry-Auth is base64url JSON; ImageService wants standard base64 (both decode here).
std::string registry_auth(const http::Request& q) { return std::string(trim(q.headers.value("X-Registry-Auth"))); }

bool truthy(const std::string& v) { return v == "1" || v == "true" || v == "True" || v == "TRUE"; }

Status check_filters(const Filters& f, std::initializer_list<const char*> allowed) {
  for (auto& [k, v] : f) {
    bool ok_key = false;
    for (auto a : allowed) ok_key |= k == a;
    if (!ok_key) return fail(Errc::InvalidArgument, "invalid filter '" + k + "'");
  }
  return ok();
}

// "1700000000", "1700000000.5", RFC3339 or a duration ("10m", "24h") before now; unix seconds.
std::optional<std::int64_t> parse_until(const std::string& s) {
  if (s.empty()) return std::nullopt;
  if (s.find('T') != std::string::npos || (s.size() == 10 && s[4] == '-')) {
    struct tm tm {};
    const char* rest = strptime(s.c_str(), s.size() == 10 ? "%Y-%m-%d" : "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest) return std::nullopt;
    return static_cast<std::int64_t>(timegm(&tm));
  }
  auto [a, b] = split_once(s, '.');
  if (auto sec = parse_int(a); sec && (b.empty() || parse_int(b))) return *sec;
  // Go durations: sums of <number><unit>, units h m s.
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t j = i;
    while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == '.')) ++j;
    if (j == i || j == s.size()) return std::nullopt;
    double n = std::atof(s.substr(i, j - i).c_str());
    char u = s[j];
    double mul = u == 'h' ? 3600 : u == 'm' ? 60 : u == 's' ? 1 : -1;
    if (mul < 0) return std::nullopt;
    total += static_cast<std::int64_t>(n * mul);
    i = j + 1;
  }
  return static_cast<std::int64_t>(std::time(nullptr)) - total;
}

// The filters of /images/json and /images/prune: the keys checked against `allowed`, "dangling"
// and "until" parsed (an invalid value is a 400, as dockerd answers).
struct ImageFilters {
  Filters f;
  std::optional<bool> dangling;
  std::optional<std::int64_t> until;
};

Result<ImageFilters> image_filters(const http::Request& q, std::initializer_list<const char*> allowed) {
  ImageFilters out;
  Error ferr;
  out.f = parse_filters(q, &ferr);
  if (!ferr.message().empty()) return fail(std::move(ferr));
  TRY(check_filters(out.f, allowed));
  if (out.f.count("dangling")) {
    const std::string& v = out.f["dangling"].front();
    if (v != "true" && v != "false" && v != "1" && v != "0")
      return fail(Errc::InvalidArgument, "invalid filter 'dangling=" + v + "'");
    out.dangling = truthy(v);
  }
  if (out.f.count("until")) {
    out.until = parse_until(out.f["until"].front());
    if (!out.until) return fail(Errc::InvalidArgument, "invalid filter 'until=" + out.f["until"].front() + "'");
  }
  return out;
}

bool label_match(const std::map<std::string, std::string>& labels, const std::string& l) {
  auto [k, v] = split_once(l, '=');
  auto it = labels.find(std::string(k));
  if (it == labels.end()) return false;
  return l.find('=') == std::string::npos || it->second == v;
}

// dockerd's SharedSize: the bytes of an image's layers that other listed images use too.
std::map<std::string, std::int64_t> shared_sizes(const std::vector<image::ImageSummary>& imgs) {
  std::map<std::string, int> refs;
  for (auto& i : imgs)
    for (auto& [chain, size] : i.layers) refs[chain]++;
  std::map<std::string, std::int64_t> out;
  for (auto& i : imgs) {
    std::int64_t shared = 0;
    for (auto& [chain, size] : i.layers)
      if (refs[chain] > 1) shared += size;
    out[i.id] = shared;
  }
  return out;
}

json summary_json(const image::ImageSummary& s, const ApiVersion& v, std::int64_t shared) {
  json labels = json::object();
  for (auto& [k, x] : s.labels) labels[k] = x;
  json j{{"Id", s.id},
         {"ParentId", s.parent_id},
         {"RepoTags", s.repo_tags},
         {"RepoDigests", s.repo_digests},
         {"Created", s.created},
         {"Size", s.size},
         {"SharedSize", shared},
         {"Labels", labels},
         {"Containers", -1}};
  if (v < *parse_api_version("1.44")) j["VirtualSize"] = s.size;
  return j;
}

// Ids of the images containers use.
std::map<std::string, int> image_users(Daemon& d) {
  std::map<std::string, int> out;
  for (auto& c : d.all()) {
    std::lock_guard lk(d.mu);
    if (!c->removed) out[c->image_id]++;
  }
  return out;
}

json delete_items_json(Daemon& d, const std::vector<image::DeleteItem>& items) {
  json out = json::array();
  for (auto& i : items) {
    if (!i.untagged.empty()) {
      out.push_back({{"Untagged", i.untagged}});
      d.emit("image", "untag", i.untagged);
    }
    if (!i.deleted.empty()) {
      out.push_back({{"Deleted", i.deleted}});
      d.emit("image", "delete", i.deleted);
    }
  }
  return out;
}

// Canonical repository name of a reference ("busybox" -> "docker.io/library/busybox").
std::string repo_name(const std::string& ref) {
  auto r = oci::parse_reference(ref);
  return r ? r->name() : ref;
}

void pull(Daemon& d, http::Request& q, http::ResponseWriter& w) {
  std::string from = q.query_value("fromImage").value_or("");
  std::string tag = q.query_value("tag").value_or("");
  std::string ref = from;
  if (!tag.empty()) ref += (tag.find(':') != std::string::npos ? "@" : ":") + tag;
  auto parsed = oci::parse_reference(ref);
  if (!parsed) return send_error(w, 400, "invalid reference format: " + parsed.error().message());
  if (tag.empty() && parsed->is_name_only())
    return send_error(w, 501, "pulling all tags of a repository (docker pull --all-tags) is not supported by berthd; name a tag");
  image::PullOptions o;
  o.platform = q.query_value("platform").value_or("");
  if (!o.platform.empty()) {
    if (auto p = oci::parse_platform(o.platform); !p) return send_error(w, 400, p.error().message());
  }
  o.auth_base64 = registry_auth(q);
  JsonStream js(w, true);
  auto id = d.images().pull(ref, o, [&js](const image::Progress& p) { js.line(p.json); });
  if (!id) return js.error(id.error());
  js.start();
  d.emit("image", "pull", oci::with_default_tag(*parsed).familiar());
}

void import(Daemon& d, http::Request& q, http::ResponseWriter& w) {
  std::string src = q.query_value("fromSrc").value_or("");
  if (src != "-")
    return send_error(w, 501, "importing from a URL is not supported by berthd: download it and pipe it in (curl -L " + src +
                                  " | docker import - …)");
  image::ImportOptions o;
  std::string repo = q.query_value("repo").value_or("");
  std::string tag = q.query_value("tag").value_or("");
  if (!repo.empty()) {
    o.reference = repo + (tag.empty() ? "" : ":" + tag);
    if (auto r = oci::parse_reference(o.reference); !r) return send_error(w, 400, "invalid reference format: " + r.error().message());
  }
  o.message = q.query_value("message").value_or("");
  o.changes = q.query_values("changes");
  o.platform = q.query_value("platform").value_or("");
  Result<std::string> id = fail(Errc::Internal, "import did not run");
  auto st = with_body_fd(q, w, [&](int fd) -> Status {
    id = d.images().import(fd, o);
    return ok();
  });
  if (!st) return send_error(w, st.error());
  if (!id) return send_error(w, id.error());
  d.emit("image", "import", *id);
  JsonStream js(w, false);
  js.line(status_line(*id));
}

void list(Daemon& d, http::Request& q, http::ResponseWriter& w) {
  auto filters = image_filters(q, {"dangling", "label", "label!", "reference", "before", "since", "until"});
  if (!filters) return send_error(w, filters.error());
  auto& f = filters->f;
  const auto& until = filters->until;
  image::ListFilters lf;
  lf.all = q.query_bool("all");
  lf.dangling = filters->dangling;
  if (f.count("label")) lf.labels = f["label"];
  if (f.count("reference")) lf.references = f["reference"];
  if (f.count("before")) lf.before = f["before"].front();
  if (f.count("since")) lf.since = f["since"].front();
  auto imgs = d.images().list(lf);
  if (!imgs) return send_error(w, imgs.error());
  std::set<std::string> parents;
  for (auto& i : *imgs)
    if (!i.parent_id.empty()) parents.insert(i.parent_id);
  auto build_steps = build_intermediate_ids(d, lf.all);  // builder cache images: docker images -a
  auto v = req_version(q);
  std::vector<image::ImageSummary> listed;
  for (auto& i : *imgs) {
    // Without all=1 dockerd hides untagged intermediate images (parents of other images).
    if (!lf.all && i.repo_tags.empty() && (parents.count(i.id) || build_steps.count(i.id))) continue;
    if (until && i.created >= *until) continue;
    bool drop = false;
    if (f.count("label!"))
      for (auto& l : f["label!"]) drop |= label_match(i.labels, l);
    if (drop) continue;
    listed.push_back(std::move(i));
  }
  std::map<std::string, std::int64_t> shared;
  if (q.query_bool("shared-size")) shared = shared_sizes(listed);
  json out = json::array();
  for (auto& i : listed) {
    auto it = shared.find(i.id);
    out.push_back(summary_json(i, v, it == shared.end() ? -1 : it->second));
  }
  send_json(w, 200, out);
}

void history(Daemon& d, const std::string& name, http::ResponseWriter& w) {
  auto h = d.images().history(name);
  if (!h) return send_error(w, h.error());
  json out = json::array();
  for (auto& i : *h)
    out.push_back({{"Id", i.id},
                   {"Created", i.created},
                   {"CreatedBy", i.created_by},
                   {"Tags", i.tags.empty() ? json(nullptr) : json(i.tags)},
                   {"Size", i.size},
                   {"Comment", i.comment}});
  send_json(w, 200, out);
}

void save(Daemon& d, std::vector<std::string> names, http::ResponseWriter& w) {
  if (names.empty()) return send_error(w, 400, "no images given: use names=<image>");
  for (auto& n : names)
    if (auto r = d.images().resolve(n); !r) return send_error(w, r.error());
  auto st = stream_from(w, "application/x-tar", [&](int fd) { return d.images().save(names, fd); });
  if (!st) return send_error(w, st.error());
  for (auto& n : names) d.emit("image", "save", n);
}

void tag(Daemon& d, const std::string& name, http::Request& q, http::ResponseWriter& w) {
  std::string repo = q.query_value("repo").value_or("");
  std::string t = q.query_value("tag").value_or("");
  if (repo.empty()) return send_error(w, 400, "repository name must have at least one component");
  if (t.find(':') != std::string::npos || t.find('@') != std::string::npos)
    return send_error(w, 400, "invalid tag format");
  std::string target = repo + (t.empty() ? "" : ":" + t);
  auto r = oci::parse_reference(target);
  if (!r) return send_error(w, 400, "invalid reference format: " + r.error().message());
  if (!r->digest.empty()) return send_error(w, 400, "refusing to create a tag with a digest reference");
  auto src = d.images().resolve(name);
  if (!src) return send_error(w, src.error());
  if (auto st = d.images().tag(name, target); !st) return send_error(w, st.error());
  d.emit("image", "tag", src->id, {{"name", oci::with_default_tag(*r).familiar()}});
  (void)w.send(201);
}

void push(Daemon& d, const std::string& name, http::Request& q, http::ResponseWriter& w) {
  std::string t = q.query_value("tag").value_or("");
  auto parsed = oci::parse_reference(name);
  if (!parsed) return send_error(w, 400, "invalid reference format: " + parsed.error().message());
  std::vector<std::string> refs;
  if (!t.empty() || !parsed->tag.empty() || !parsed->digest.empty()) {
    std::string ref = t.empty() ? name : parsed->name() + ":" + t;
    if (!d.images().resolve(ref)) return send_error(w, 404, "An image does not exist locally with the tag: " + oci::parse_reference(ref)->familiar_name());
    refs.push_back(ref);
  } else {
    // No tag: every tag of the repository (dockerd's behaviour).
    auto all = d.images().list(image::ListFilters{.all = true});
    if (!all) return send_error(w, all.error());
    for (auto& i : *all)
      for (auto& rt : i.repo_tags)
        if (repo_name(rt) == parsed->name()) refs.push_back(rt);
    if (refs.empty()) return send_error(w, 404, "An image does not exist locally with the tag: " + parsed->familiar_name());
  }
  JsonStream js(w, false);
  for (auto& ref : refs) {
    auto st = d.images().push(ref, registry_auth(q), [&js](const image::Progress& p) { js.line(p.json); });
    if (!st) return js.error(st.error());
    d.emit("image", "push", oci::with_default_tag(*oci::parse_reference(ref)).familiar());
  }
  js.start();
}

void remove(Daemon& d, const std::string& name, http::Request& q, http::ResponseWriter& w) {
  Daemon::SpareRootfsHold hold(d);  // its layer would keep the image in use
  auto res = d.images().remove(name, q.query_bool("force"), !q.query_bool("noprune"));
  if (!res) return send_error(w, res.error());
  send_json(w, 200, delete_items_json(d, *res));
}

void prune(Daemon& d, http::Request& q, http::ResponseWriter& w) {
  auto filters = image_filters(q, {"dangling", "label", "label!", "until"});
  if (!filters) return send_error(w, filters.error());
  auto& f = filters->f;
  const auto& until = filters->until;
  bool dangling_only = filters->dangling.value_or(true);
  Daemon::SpareRootfsHold hold(d);  // its layer would keep an image in use
  auto imgs = d.images().list(image::ListFilters{.all = true});
  if (!imgs) return send_error(w, imgs.error());
  auto users = image_users(d);
  std::set<std::string> parents;
  for (auto& i : *imgs)
    if (!i.parent_id.empty()) parents.insert(i.parent_id);
  json deleted = json::array();
  std::int64_t reclaimed = 0;
  // Newest first: a committed child goes before its parent.
  for (auto& i : *imgs) {
    if (users.count(i.id)) continue;
    if (dangling_only && !i.repo_tags.empty()) continue;
    if (until && i.created >= *until) continue;
    bool keep = false;
    if (f.count("label"))
      for (auto& l : f["label"]) keep |= !label_match(i.labels, l);
    if (f.count("label!"))
      for (auto& l : f["label!"]) keep |= label_match(i.labels, l);
    if (keep) continue;
    auto r = d.images().remove(i.id, true, true);
    if (!r) {
      log::warn("image prune: {}: {}", i.id, r.error().message());
      continue;
    }
    reclaimed += i.size;
    for (auto& x : delete_items_json(d, *r)) deleted.push_back(x);
  }
  d.emit("image", "prune", "", {{"reclaimed", std::to_string(reclaimed)}});
  send_json(w, 200, json{{"ImagesDeleted", deleted.empty() ? json(nullptr) : deleted}, {"SpaceReclaimed", reclaimed}});
}

distribution::ClientOptions registry_options(const Config& cfg) {
  distribution::ClientOptions o;
  o.insecure_registries = cfg.insecure_registries;
  if (!cfg.registry_mirrors.empty()) o.mirrors["docker.io"] = cfg.registry_mirrors;
  return o;
}

void search(Daemon& d, http::Request& q, http::ResponseWriter& w) {
  std::string term = q.query_value("term").value_or("");
  Error ferr;
  auto f = parse_filters(q, &ferr);
  if (!ferr.message().empty()) return send_error(w, ferr);
  if (auto s = check_filters(f, {"is-official", "is-automated", "stars"}); !s) return send_error(w, s.error());
  std::size_t limit = 25;
  if (auto l = q.query_value("limit"); l && !l->empty()) {
    auto n = parse_int(*l);
    if (!n || *n < 1 || *n > 100) return send_error(w, 400, "limit " + *l + " is outside the range of [1, 100]");
    limit = static_cast<std::size_t>(*n);
  }
  // A term naming a registry ("localhost:5000/busy", "registry.example.com/app") searches that
  // registry's catalog; Docker Hub's search service is not available to berthd.
  auto slash = term.find('/');
  std::string domain = slash == std::string::npos ? "" : term.substr(0, slash);
  bool is_registry = !domain.empty() && (domain.find('.') != std::string::npos ||
                                         domain.find(':') != std::string::npos || domain == "localhost");
  if (!is_registry || domain == "docker.io" || domain == "index.docker.io")
    return send_error(w, 501,
                      "searching Docker Hub is not supported by berthd; search a registry's catalog by naming it "
                      "in the term, e.g. 'docker search localhost:5000/" + (slash == std::string::npos ? term : term.substr(slash + 1)) + "'");
  std::string needle = term.substr(slash + 1);
  auto opts = registry_options(d.config());
  std::string auth = registry_auth(q);
  if (!auth.empty()) {
    std::string b = auth;
    auto dec = base64_decode(b);
    if (dec) {
      try {
        auto j = json::parse(*dec);
        distribution::Credentials c{j.value("username", ""), j.value("password", ""), j.value("identitytoken", "")};
        if (!c.username.empty() || !c.identity_token.empty()) opts.credentials = c;
      } catch (const std::exception&) {
      }
    }
  }
  distribution::Client client(opts);
  auto repos = client.catalog(domain, 10000);
  if (!repos) return send_error(w, http_status(repos.error()) == 404 ? 404 : 500,
                                "searching " + domain + ": " + repos.error().message());
  std::int64_t min_stars = 0;
  if (f.count("stars")) min_stars = parse_int(f["stars"].front()).value_or(0);
  bool want_official = f.count("is-official") && truthy(f["is-official"].front());
  bool want_automated = f.count("is-automated") && truthy(f["is-automated"].front());
  json out = json::array();
  for (auto& r : *repos) {
    if (out.size() >= limit) break;
    if (!needle.empty() && r.find(needle) == std::string::npos) continue;
    if (min_stars > 0 || want_official || want_automated) continue;
    out.push_back({{"name", domain + "/" + r}, {"description", ""}, {"star_count", 0},
                   {"is_official", false}, {"is_automated", false}});
  }
  send_json(w, 200, out);
}

void commit(Daemon& d, http::Request& q, http::ResponseWriter& w) {
  std::string cname = q.query_value("container").value_or("");
  auto c = d.find(cname);
  if (!c) return send_error(w, c.error());
  auto body = read_json(q);
  if (!body) return send_error(w, body.error());
  std::string repo = q.query_value("repo").value_or("");
  std::string t = q.query_value("tag").value_or("");
  image::CommitOptions o;
  if (!repo.empty()) {
    o.reference = repo + (t.empty() ? "" : ":" + t);
    auto r = oci::parse_reference(o.reference);
    if (!r) return send_error(w, 400, "invalid reference format: " + r.error().message());
    if (!r->digest.empty()) return send_error(w, 400, "invalid reference format: a commit cannot be tagged with a digest");
  } else if (!t.empty()) {
    return send_error(w, 400, "tag without a repository");
  }
  o.comment = q.query_value("comment").value_or("");
  o.author = q.query_value("author").value_or("");
  o.changes = q.query_values("changes");
  o.pause = q.query_bool("pause", true);
  // The image config: the container's config, with the request's fields on top.
  json cfg;
  std::string image_id, id;
  bool running;
  {
    std::lock_guard lk(d.mu);
    cfg = (*c)->config;
    image_id = (*c)->image_id;
    id = (*c)->id;
    running = (*c)->state.status == "running";
  }
  if (body->is_object())
    for (auto& [k, v] : body->items())
      if (!v.is_null()) cfg[k] = v;
  auto cc = oci::parse_docker_container_config(cfg.dump());
  if (!cc) return send_error(w, 400, cc.error().message());
  o.config = *cc;
  if (auto m = d.images().prepare_rootfs(image_id, id); !m) return send_error(w, m.error());
  bool paused = false;
  if (o.pause && running) paused = static_cast<bool>(d.pause(id, true));
  auto img = d.images().commit(id, o);
  if (paused) (void)d.pause(id, false);
  if (!img) return send_error(w, img.error());
  d.emit("container", "commit", id, {{"comment", o.comment}, {"imageID", *img}, {"imageRef", o.reference}});
  send_json(w, 201, json{{"Id", *img}});
}

void auth(Daemon& d, http::Request& q, http::ResponseWriter& w) {
  auto body = read_json(q);
  if (!body) return send_error(w, body.error());
  if (!body->is_object()) return send_error(w, 400, "missing login credentials");
  std::string server = body->value("serveraddress", "");
  distribution::Credentials c{body->value("username", ""), body->value("password", ""), body->value("identitytoken", "")};
  std::string domain = server;
  for (const char* p : {"https://", "http://"})
    if (domain.rfind(p, 0) == 0) domain = domain.substr(std::strlen(p));
  if (auto s = domain.find('/'); s != std::string::npos) domain = domain.substr(0, s);
  if (domain.empty() || domain == "index.docker.io" || domain == "registry-1.docker.io") domain = "docker.io";
  auto opts = registry_options(d.config());
  opts.credentials = c;
  opts.docker_config = "/nonexistent";  // only the given credentials count
  opts.retries = 1;
  distribution::Client client(opts);
  oci::Reference ref;
  ref.domain = domain;
  ref.path = "library/x";
  auto st = client.ping(ref);
  if (!st) {
    if (st.error().is(Errc::PermissionDenied))
      return send_error(w, 401, "login attempt to " + client.base_url(domain) +
                                    "/v2/ failed with status: 401 Unauthorized");
    return send_error(w, 500, st.error().message());
  }
  send_json(w, 200, json{{"Status", "Login Succeeded"}, {"IdentityToken", ""}});
}

// "<name>/json" -> "<name>" and true; false (name unchanged) when `name` does not end in `suf`
// or is nothing but it.
bool strip_suffix(std::string& name, std::string_view suf) {
  if (name.size() <= suf.size() || name.compare(name.size() - suf.size(), suf.size(), suf) != 0) return false;
  name.resize(name.size() - suf.size());
  return true;
}

}  // namespace

Result<json> images_df_json(Daemon& d, std::int64_t& layers_size) {
  std::map<std::string, int> users = image_users(d);
  auto list = TRY(d.images().list(image::ListFilters{.all = true}));
  auto shared = shared_sizes(list);
  std::map<std::string, std::int64_t> unique;  // every layer once
  json images = json::array();
  for (auto& img : list) {
    for (auto& [chain, size] : img.layers) unique[chain] = size;
    json labels = json::object();
    for (auto& [k, v] : img.labels) labels[k] = v;
    images.push_back({{"Id", img.id}, {"ParentId", img.parent_id}, {"RepoTags", img.repo_tags},
                      {"RepoDigests", img.repo_digests}, {"Created", img.created}, {"Size", img.size},
                      {"SharedSize", shared[img.id]}, {"VirtualSize", img.size}, {"Labels", labels},
                      {"Containers", users[img.id]}});
  }
  layers_size = 0;
  for (auto& [chain, size] : unique) layers_size += size;
  return images;
}

void register_image_routes(Daemon& d, http::Router& r) {
  r.add("POST", "/images/create", [&d](http::Request& q, http::ResponseWriter& w) {
    if (q.query_value("fromSrc")) return import(d, q, w);
    if (q.query_value("fromImage").value_or("").empty()) return send_error(w, 400, "fromImage or fromSrc is required");
    pull(d, q, w);
  });
  r.add("POST", "/images/load", [&d](http::Request& q, http::ResponseWriter& w) {
    bool quiet = q.query_bool("quiet");
    JsonStream js(w, false);
    Result<std::vector<std::string>> refs = fail(Errc::Internal, "load did not run");
    auto st = with_body_fd(q, w, [&](int fd) -> Status {
      refs = d.images().load(fd, [&](const image::Progress& p) {
        // The "Loaded image" lines are written below, once, quiet or not.
        if (!quiet && p.json.find("\"Loaded image") == std::string::npos) js.line(p.json);
      });
      return ok();
    });
    if (!st) return js.error(st.error());
    if (!refs) return js.error(refs.error());
    for (auto& ref : *refs) {
      bool id = ref.rfind("sha256:", 0) == 0;
      std::string name = id ? ref : oci::parse_reference(ref) ? oci::parse_reference(ref)->familiar() : ref;
      js.line(json{{"stream", (id ? "Loaded image ID: " : "Loaded image: ") + name + "\n"}}.dump());
      d.emit("image", "load", name);
    }
    js.start();
  });
  r.add("GET", "/images/json", [&d](http::Request& q, http::ResponseWriter& w) { list(d, q, w); });
  r.add("GET", "/images/get", [&d](http::Request& q, http::ResponseWriter& w) { save(d, q.query_values("names"), w); });
  r.add("POST", "/images/prune", [&d](http::Request& q, http::ResponseWriter& w) { prune(d, q, w); });
  r.add("GET", "/images/search", [&d](http::Request& q, http::ResponseWriter& w) { search(d, q, w); });
  // Names contain slashes ("localhost:5000/a/b"): one catch-all per method, suffix dispatched here.
  r.add("GET", "/images/{name*}", [&d](http::Request& q, http::ResponseWriter& w) {
    std::string name = q.param("name");
    if (strip_suffix(name, "/json")) {
      auto j = d.images().inspect(name);
      if (!j) return send_error(w, j.error());
      return (void)w.send(200, *j, "application/json");
    }
    if (strip_suffix(name, "/history")) return history(d, name, w);
    if (strip_suffix(name, "/get")) return save(d, {name}, w);
    send_error(w, 404, "page not found");
  });
  r.add("POST", "/images/{name*}", [&d](http::Request& q, http::ResponseWriter& w) {
    std::string name = q.param("name");
    if (strip_suffix(name, "/tag")) return tag(d, name, q, w);
    if (strip_suffix(name, "/push")) return push(d, name, q, w);
    send_error(w, 404, "page not found");
  });
  r.add("DELETE", "/images/{name*}", [&d](http::Request& q, http::ResponseWriter& w) { remove(d, q.param("name"), q, w); });
  r.add("POST", "/commit", [&d](http::Request& q, http::ResponseWriter& w) { commit(d, q, w); });
  r.add("POST", "/auth", [&d](http::Request& q, http::ResponseWriter& w) { auth(d, q, w); });
}

}  // namespace berth::daemon
