// SPDX-License-Identifier: Apache-2.0
// berth-registry: an OCI distribution registry.
//   berth-registry serve [--config FILE] [--addr HOST:PORT] [--root DIR] [--delete] [--readonly]
//                        [--log-level L] [--no-accesslog]
//   berth-registry garbage-collect [--dry-run] [--delete-untagged] [--grace DUR]
//                                  [--config FILE | --root DIR]
#include <signal.h>

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "common/log.hpp"
#include "http/http.hpp"
#include "registry/api.hpp"
#include "registry/auth.hpp"
#include "registry/config.hpp"
#include "registry/mirror.hpp"
#include "registry/storage.hpp"

using namespace berth;
using namespace berth::registry;

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: berth-registry serve [--config FILE] [--addr HOST:PORT] [--root DIR] [--delete] "
               "[--readonly] [--log-level L] [--no-accesslog]\n"
               "       berth-registry garbage-collect [--dry-run] [--delete-untagged] [--grace DUR] "
               "[--config FILE | --root DIR]\n");
  return 2;
}

struct Args {
  std::string config, addr, root, log_level, grace;
  bool del = false, readonly = false, no_accesslog = false, dry_run = false, delete_untagged = false;
};

bool parse_args(int argc, char** argv, Args* a) {
  for (int i = 2; i < argc; ++i) {
    std::string k = argv[i];
    std::string v;
    if (auto eq = k.find('='); eq != std::string::npos && k.starts_with("--")) {
      v = k.substr(eq + 1);
      k = k.substr(0, eq);
    }
    auto val = [&](std::string* out) {
      if (!v.empty()) *out = v;
      else if (i + 1 < argc) *out = argv[++i];
      else return false;
      return true;
    };
    if (k == "--config" || k == "-c") { if (!val(&a->config)) return false; }
    else if (k == "--addr") { if (!val(&a->addr)) return false; }
    else if (k == "--root") { if (!val(&a->root)) return false; }
    else if (k == "--log-level") { if (!val(&a->log_level)) return false; }
    else if (k == "--grace") { if (!val(&a->grace)) return false; }
    else if (k == "--delete") a->del = true;
    else if (k == "--readonly") a->readonly = true;
    else if (k == "--no-accesslog") a->no_accesslog = true;
    else if (k == "--dry-run" || k == "-d") a->dry_run = true;
    else if (k == "--delete-untagged" || k == "-m") a->delete_untagged = true;
    else if (!k.starts_with("-") && a->config.empty()) a->config = k;  // distribution: `serve config.yml`
    else return false;
  }
  return true;
}

Result<Config> make_config(const Args& a) {
  Config c;
  if (!a.config.empty()) c = TRY(load_config(a.config));
  if (!a.addr.empty()) c.addr = a.addr;
  if (!a.root.empty()) c.root = a.root;
  if (!a.log_level.empty()) c.log_level = a.log_level;
  if (a.del) c.delete_enabled = true;
  if (a.readonly) c.readonly = true;
  if (a.no_accesslog) c.accesslog = false;
  return c;
}

StorageOptions storage_options(const Config& c) {
  StorageOptions o;
  o.root = c.root;
  o.delete_enabled = c.delete_enabled;
  o.readonly = c.readonly;
  o.upload_ttl = c.upload_purge_age;
  return o;
}

int serve(const Args& a) {
  auto cfg = make_config(a);
  if (!cfg) {
    log::error("{}", cfg.error().message());
    return 1;
  }
  log::Level lvl;
  if (log::parse_level(cfg->log_level, &lvl)) log::set_level(lvl);
  auto storage = Storage::open(storage_options(*cfg));
  if (!storage) {
    log::error("storage: {}", storage.error().message);
    return 1;
  }
  Storage& st = **storage;
  if (auto n = st.purge_uploads(cfg->upload_purge_age)) log::info("purged {} stale uploads", n);
  auto auth = Auth::create(*cfg);
  if (!auth) {
    log::error("auth: {}", auth.error().message());
    return 1;
  }
  std::unique_ptr<Mirror> mirror;
  if (!cfg->proxy_remoteurl.empty())
    mirror = std::make_unique<Mirror>(
        MirrorOptions{cfg->proxy_remoteurl, cfg->proxy_username, cfg->proxy_password, cfg->proxy_ttl, ""});
  ApiOptions ao;
  ao.auth = auth->get();
  ao.mirror = mirror.get();
  ao.accesslog = cfg->accesslog;
  Api api(st, ao);

  // Signals are handled by sigwait on this thread; block them before any thread starts.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  auto hp = split_addr(cfg->addr);
  if (!hp) {
    log::error("http.addr: {}", hp.error().message());
    return 1;
  }
  http::Server server([&api](http::Request& q, http::ResponseWriter& w) { api.handle(q, w); });
  http::TlsServerConfig tls{cfg->tls_certificate, cfg->tls_key, "", false};
  bool use_tls = !cfg->tls_certificate.empty();
  std::string host = hp->first.empty() ? "0.0.0.0" : hp->first;
  auto port = server.listen_tcp(host, hp->second, use_tls ? &tls : nullptr);
  if (!port) {
    log::error("listen {}: {}", cfg->addr, port.error().message());
    return 1;
  }
  if (auto r = server.start(); !r) {
    log::error("start: {}", r.error().message());
    return 1;
  }
  log::info("berth-registry listening on {}:{} ({}), root {}", host, *port, use_tls ? "https" : "http", cfg->root);

  // Maintenance: stale upload purge and online GC, concurrent with traffic.
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::thread maint([&] {
    auto next_gc = std::chrono::steady_clock::now() + cfg->gc_interval;
    auto next_purge = std::chrono::steady_clock::now() + std::chrono::minutes(10);
    std::unique_lock lk(mu);
    while (!stopping) {
      auto wake = next_purge;
      if (cfg->gc_interval.count() > 0) wake = std::min(wake, next_gc);
      cv.wait_until(lk, wake, [&] { return stopping; });
      if (stopping) break;
      lk.unlock();
      auto now = std::chrono::steady_clock::now();
      if (now >= next_purge) {
        st.purge_uploads(cfg->upload_purge_age);
        next_purge = now + std::chrono::minutes(10);
      }
      if (cfg->gc_interval.count() > 0 && now >= next_gc && !cfg->readonly) {
        GcOptions g;
        g.grace = cfg->gc_grace;
        auto r = st.collect_garbage(g);
        if (r) log::info("online gc: {} blobs marked, {} deleted ({} bytes)", r->blobs_marked, r->blobs_deleted, r->bytes_freed);
        else log::warn("online gc: {}", r.error().message);
        next_gc = now + cfg->gc_interval;
      }
      lk.lock();
    }
  });
  int sig = 0;
  sigwait(&set, &sig);
  log::info("signal {}: shutting down", sig);
  {
    std::lock_guard lk(mu);
    stopping = true;
  }
  cv.notify_all();
  maint.join();
  server.stop();
  return 0;
}

int garbage_collect(const Args& a) {
  auto cfg = make_config(a);
  if (!cfg) {
    log::error("{}", cfg.error().message());
    return 1;
  }
  StorageOptions so = storage_options(*cfg);
  so.delete_enabled = true;  // offline GC may delete untagged manifests
  so.readonly = false;
  auto storage = Storage::open(so);
  if (!storage) {
    log::error("storage: {}", storage.error().message);
    return 1;
  }
  GcOptions g;
  g.dry_run = a.dry_run;
  g.delete_untagged = a.delete_untagged;
  g.grace = std::chrono::seconds(0);
  if (!a.grace.empty()) {
    auto d = parse_duration(a.grace);
    if (!d) {
      log::error("--grace: {}", d.error().message());
      return 2;
    }
    g.grace = *d;
  }
  auto r = (*storage)->collect_garbage(g);
  if (!r) {
    log::error("garbage-collect: {}", r.error().message);
    return 1;
  }
  for (auto& d : r->deleted) std::printf("%s %s\n", a.dry_run ? "would delete" : "deleted", d.c_str());
  std::printf("%zu blobs marked, %zu blobs %s (%llu bytes), %zu manifests %s\n", r->blobs_marked, r->blobs_deleted,
              a.dry_run ? "eligible for deletion" : "deleted", static_cast<unsigned long long>(r->bytes_freed),
              r->manifests_deleted, a.dry_run ? "eligible for deletion" : "deleted");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  log::set_tag("berth-registry");
  if (argc < 2) return usage();
  std::string cmd = argv[1];
  Args a;
  if (!parse_args(argc, argv, &a)) return usage();
  if (cmd == "serve") return serve(a);
  if (cmd == "garbage-collect" || cmd == "gc") return garbage_collect(a);
  if (cmd == "--version" || cmd == "version") {
    std::printf("berth-registry 0.1.0\n");
    return 0;
  }
  return usage();
}
