// SPDX-License-Identifier: Apache-2.0
#include "daemon/build_backend.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/defer.hpp"
#include "common/digest.hpp"
#include "common/file.hpp"
#include "common/log.hpp"
#include "common/path.hpp"
#include "common/strings.hpp"
#include "daemon/container_volumes.hpp"
#include "daemon/daemon.hpp"
#include "daemon/networking.hpp"
#include "daemon/spec.hpp"
#include "http/http.hpp"
#include "image/image_service.hpp"

namespace berth::daemon {

using json = nlohmann::json;

namespace {

std::string rootless_hosts(const std::vector<std::string>& extra, bool host_net) {
  std::string s;
  if (host_net) {
    auto h = read_file("/etc/hosts");
    s = h ? *h : "127.0.0.1\tlocalhost\n";
  } else {
    s = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
  }
  for (const auto& x : extra) {
    auto c = x.find(':');
    if (c == std::string::npos) continue;
    s += x.substr(c + 1) + "\t" + x.substr(0, c) + "\n";
  }
  return s;
}

std::string resolv_conf() {
  std::string s;
  auto host = read_file("/etc/resolv.conf");
  if (host)
    for (const auto& line : split(*host, '\n')) {
      auto t = trim(line);
      if (t.rfind("nameserver 127.", 0) == 0 || t == "nameserver ::1") continue;
      s += std::string(t) + "\n";
    }
  if (s.find("nameserver") == std::string::npos) s += "nameserver 8.8.8.8\n";
  return s;
}

class DaemonSnapshot final : public build::Snapshot {
 public:
  DaemonSnapshot(image::ImageService& svc, std::string id, std::string dir)
      : svc_(svc), id_(std::move(id)), dir_(std::move(dir)), rootfs_(dir_ + "/rootfs") {}
  ~DaemonSnapshot() override {
    if (mounted_ && ::umount2(rootfs_.c_str(), MNT_DETACH) != 0) log::warn("build: umount {}: {}", rootfs_, strerror(errno));
    if (auto s = svc_.remove_rootfs(id_); !s) log::warn("build: remove snapshot {}: {}", id_, s.error().message());
    (void)remove_all(dir_);
  }
  const std::string& rootfs() const override { return rootfs_; }
  const std::string& id() const override { return id_; }
  const std::string& dir() const { return dir_; }
  bool mounted_ = false;

 private:
  image::ImageService& svc_;
  std::string id_, dir_, rootfs_;
};

class DaemonBackend final : public build::Backend {
 public:
  DaemonBackend(Daemon& d, image::ImageService& svc) : d_(d), svc_(svc) {}
  ~DaemonBackend() override {
    for (auto& t : temps_) (void)remove_all(t);
  }

  Result<build::ImageRef> resolve_image(const std::string& ref, const std::string& platform, bool pull,
                                        const build::OutputFn& progress) override {
    if (!pull) {
      auto r = svc_.resolve(ref);
      if (r) return build::ImageRef{r->id, r->config_json};
      if (!r.error().is(Errc::NotFound)) return fail(std::move(r).error());
    }
    image::PullOptions po;
    po.platform = platform;
    auto id = svc_.pull(ref, po, [&](const image::Progress& p) {
      try {
        auto j = json::parse(p.json);
        std::string s = j.value("status", "");
        std::string id = j.value("id", "");
        if (!s.empty() && !j.contains("progressDetail")) progress((id.empty() ? "" : id + ": ") + s + "\n");
        else if (!s.empty() && j["progressDetail"].empty()) progress((id.empty() ? "" : id + ": ") + s + "\n");
      } catch (...) {
      }
    });
    if (!id) {
      if (!pull) {
        return fail(Errc::NotFound, "pull access denied for " + ref +
                                        ", repository does not exist or may require 'docker login': " +
                                        id.error().message());
      }
      return fail(std::move(id).error());
    }
    auto r = TRY(svc_.resolve(*id));
    return build::ImageRef{r.id, r.config_json};
  }

  Result<build::ImageRef> image(const std::string& id) override {
    auto r = TRY(svc_.resolve(id));
    return build::ImageRef{r.id, r.config_json};
  }

  Result<std::unique_ptr<build::Snapshot>> prepare(const std::string& image_id_in) override {
    std::string image_id = image_id_in;
    if (image_id.empty()) {
      std::lock_guard lk(mu_);
      if (empty_image_.empty()) {
        image::CommitOptions o;
        o.config = oci::ContainerConfig{};
        empty_image_ = TRY(svc_.commit_config("", o));
      }
      image_id = empty_image_;
    }
    std::string id = random_hex(32);
    std::string dir = d_.config().exec_root + "/build/" + id;
    TRY(mkdir_all(dir + "/rootfs", 0711));
    auto snap = std::make_unique<DaemonSnapshot>(svc_, id, dir);
    auto mounts = TRY(svc_.prepare_rootfs(image_id, id));
    for (const auto& m : mounts) {
      std::string data = join(m.options, ",");
      unsigned long flags = 0;
      if (m.type == "bind") flags = MS_BIND | MS_REC;
      if (::mount(m.source.c_str(), snap->rootfs().c_str(), m.type.c_str(), flags,
                  m.type == "bind" ? nullptr : data.c_str()) < 0)
        return fail_errno("mount build rootfs", snap->rootfs());
      snap->mounted_ = true;
    }
    return std::unique_ptr<build::Snapshot>(std::move(snap));
  }

  Result<int> run(build::Snapshot& s, const build::RunSpec& spec, const build::OutputFn& out) override {
    auto& snap = static_cast<DaemonSnapshot&>(s);
    const std::string& dir = snap.dir();
    json config = {{"Cmd", spec.args}, {"Env", spec.env}, {"WorkingDir", spec.workdir}, {"User", spec.user}};
    // RUN --mount cache/bind/tmpfs as OCI mounts (the same shape container volumes take).
    json mounts = json::array();
    for (const auto& m : spec.mounts) {
      MountPoint mp;
      mp.type = m.type == "tmpfs" ? "tmpfs" : "bind";
      mp.destination = m.target;
      mp.rw = !m.readonly;
      if (mp.type == "tmpfs" && m.size > 0) mp.tmpfs_options.push_back("size=" + std::to_string(m.size));
      mounts.push_back(oci_mount(mp, m.source));
    }
    // "default" (the build's --network default: the default bridge), a user network, "host" or
    // "none": a RUN step gets the networking a `docker run --network <mode>` container gets.
    std::string net = spec.network.empty() || spec.network == "bridge" ? "default" : spec.network;
    bool sandbox_net = net != "host" && net != "none";
    json host_config = {{"NetworkMode", sandbox_net ? "default" : net}};
    if (spec.shm_size > 0) host_config["ShmSize"] = spec.shm_size;
    bool host_net = net == "host";
    std::string hostname = host_net ? "" : s.id().substr(0, 12);
    if (host_net) {
      char hn[256] = {0};
      ::gethostname(hn, sizeof hn - 1);
      hostname = hn;
    }
    NetSetup ns;
    auto teardown = defer([&] {
      if (!ns.netns_path.empty()) d_.networking().teardown(s.id());
    });
    if (sandbox_net) ns = TRY(d_.networking().setup_build(s.id(), net, hostname, spec.extra_hosts));
    else if (net == "none") ns = TRY(d_.networking().setup_loopback(s.id()));
    TRY(atomic_write_file(dir + "/hosts", !ns.hosts.empty() ? ns.hosts
                                                            : rootless_hosts(spec.extra_hosts, host_net) +
                                                                  (host_net ? "" : "127.0.0.1\t" + hostname + "\n")));
    TRY(atomic_write_file(dir + "/hostname", hostname + "\n"));
    TRY(atomic_write_file(dir + "/resolv.conf", !ns.resolv.empty() ? ns.resolv : resolv_conf()));
    // A missing workdir is created (as dockerd does for RUN).
    if (auto h = secure_join(s.rootfs(), spec.workdir); h && !path_exists(*h)) (void)mkdir_all(*h, 0755);
    auto user = TRY(resolve_user(s.rootfs(), spec.user));
    SpecInput in;
    in.id = s.id();
    in.config = &config;
    in.host_config = &host_config;
    in.rootfs = s.rootfs();
    in.hostname = hostname;
    in.hosts_path = dir + "/hosts";
    in.hostname_path = dir + "/hostname";
    in.resolv_path = dir + "/resolv.conf";
    in.user = user;
    in.cgroups_path = "/berth/build-" + s.id().substr(0, 12);
    in.user_mounts = &mounts;
    in.netns_path = ns.netns_path;
    std::vector<std::string> warnings;
    std::string cfg = TRY(generate_spec(in, &warnings));
    TRY(atomic_write_file(dir + "/config.json", cfg, 0600));

    std::string rt = d_.config().runtime_path("");
    std::string rt_root = d_.runtime_root(rt);
    TRY(mkdir_all(rt_root, 0700));
    int outp[2], inp[2];
    if (::pipe2(outp, O_CLOEXEC) < 0) return fail_errno("pipe");
    if (::pipe2(inp, O_CLOEXEC) < 0) {
      ::close(outp[0]);
      ::close(outp[1]);
      return fail_errno("pipe");
    }
    std::vector<std::string> argv = {rt, "--root", rt_root, "run", "--bundle", dir, "build-" + s.id()};
    pid_t pid = ::fork();
    if (pid < 0) return fail_errno("fork");
    if (pid == 0) {
      ::dup2(inp[0], 0);
      ::dup2(outp[1], 1);
      ::dup2(outp[1], 2);
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::setsid();
      std::vector<char*> a;
      for (const auto& x : argv) a.push_back(const_cast<char*>(x.c_str()));
      a.push_back(nullptr);
      ::execv(a[0], a.data());
      ::execvp(a[0], a.data());
      ::_exit(127);
    }
    ::close(outp[1]);
    ::close(inp[0]);
    UniqueFd rd(outp[0]);
    {
      // stdin content (RUN with a heredoc) in a thread-free way: small scripts fit the pipe;
      // larger ones are written as the process reads.
      UniqueFd wr(inp[1]);
      std::string_view rest = spec.stdin_data;
      ::fcntl(wr.get(), F_SETFL, O_NONBLOCK);
      char buf[8192];
      for (;;) {
        pollfd p[2] = {{rd.get(), POLLIN, 0}, {wr ? wr.get() : -1, POLLOUT, 0}};
        if (rest.empty() && wr) wr.reset();
        int n = ::poll(p, wr ? 2 : 1, -1);
        if (n < 0) {
          if (errno == EINTR) continue;
          break;
        }
        if (wr && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
          ssize_t k = ::write(wr.get(), rest.data(), rest.size());
          if (k > 0) rest.remove_prefix(static_cast<std::size_t>(k));
          else if (k < 0 && errno != EAGAIN) wr.reset();
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
          ssize_t k = ::read(rd.get(), buf, sizeof buf);
          if (k < 0 && errno == EINTR) continue;
          if (k <= 0) break;
          out(std::string_view(buf, static_cast<std::size_t>(k)));
        }
      }
    }
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    return 128 + WTERMSIG(st);
  }

  Result<std::string> commit(build::Snapshot& s, const std::string&, const oci::ContainerConfig& config,
                             const std::string& created_by) override {
    image::CommitOptions o;
    o.config = config;
    o.created_by = created_by;
    o.pause = false;
    return svc_.commit(s.id(), o);
  }

  Result<std::string> commit_config(const std::string& parent_id, const oci::ContainerConfig& config,
                                    const std::string& created_by) override {
    image::CommitOptions o;
    o.config = config;
    o.created_by = created_by;
    return svc_.commit_config(parent_id, o);
  }

  Result<std::string> restore(const std::string& parent_id, const oci::ContainerConfig& config,
                              const oci::HistoryEntry& h, const std::string& source_id, int layer_index) override {
    image::CommitOptions o;
    o.config = config;
    o.created_by = h.created_by;
    o.history = h;
    o.layer_from = source_id;
    o.layer_index = layer_index;
    return svc_.commit_config(parent_id, o);
  }

  Result<std::string> cache_mount_dir(const std::string& id) override {
    Hasher h;
    h.update(id);
    std::string d = d_.config().data_root + "/build/cache-mounts/" + h.finish().hex().substr(0, 32);
    TRY(mkdir_all(d, 0755));
    return d;
  }

  Result<std::string> temp_dir() override {
    std::string d = d_.config().data_root + "/tmp/build-" + random_hex(8);
    TRY(mkdir_all(d, 0700));
    std::lock_guard lk(mu_);
    temps_.push_back(d);
    return d;
  }

  Result<std::string> fetch_url(const std::string& url_in, const std::string& dest) override {
    std::string url = url_in;
    for (int redirects = 0; redirects < 5; ++redirects) {
      auto scheme_end = url.find("://");
      if (scheme_end == std::string::npos) return fail(Errc::InvalidArgument, "invalid URL " + url);
      auto path_start = url.find('/', scheme_end + 3);
      std::string base = url.substr(0, path_start);
      std::string path = path_start == std::string::npos ? "/" : url.substr(path_start);
      auto client = TRY(http::Client::from_url(base));
      auto resp = client.request("GET", path, {}, {}, 1u << 30);
      if (!resp) return fail(Errc::Unavailable, "failed to download " + url_in + ": " + resp.error().message());
      if (resp->status >= 300 && resp->status < 400 && !resp->header("Location").empty()) {
        std::string loc = resp->header("Location");
        url = loc.find("://") != std::string::npos ? loc : base + loc;
        continue;
      }
      if (resp->status != 200)
        return fail(Errc::Unavailable, "failed to GET " + url_in + " with status " + std::to_string(resp->status));
      TRY(write_file(dest, resp->body, 0600));
      std::string name;
      std::string cd = resp->header("Content-Disposition");
      if (auto p = cd.find("filename="); p != std::string::npos) {
        name = cd.substr(p + 9);
        if (!name.empty() && name[0] == '"') name = name.substr(1, name.find('"', 1) - 1);
        name = basename(name);
      }
      if (name.empty()) {
        std::string p = path.substr(0, path.find_first_of("?#"));
        name = basename(p);
      }
      if (name.empty() || name == "/" || name == "." || name == "..") name = "__unnamed__";
      return name;
    }
    return fail(Errc::Unavailable, "too many redirects fetching " + url_in);
  }

 private:
  Daemon& d_;
  image::ImageService& svc_;
  std::mutex mu_;
  std::string empty_image_;
  std::vector<std::string> temps_;
};

std::mutex g_cache_mu;
std::map<std::string, std::unique_ptr<build::CacheStore>> g_caches;  // data root -> index

}  // namespace

Result<std::unique_ptr<build::Backend>> make_build_backend(Daemon& d) {
  auto* svc = &d.images();
  if (!svc) return fail(Errc::Unimplemented, "builds need the image service (BERTH_BUILTIN_IMAGES is set)");
  TRY(mkdir_all(d.config().exec_root + "/build", 0711));
  return std::unique_ptr<build::Backend>(new DaemonBackend(d, *svc));
}

Result<build::CacheStore*> build_cache(Daemon& d) {
  std::lock_guard lk(g_cache_mu);
  auto& c = g_caches[d.config().data_root];
  if (!c) c = TRY(build::CacheStore::open(d.config().data_root + "/build"));
  return c.get();
}

std::int64_t build_cache_limit() {
  if (const char* e = std::getenv("BERTH_BUILD_CACHE_MAX_BYTES")) {
    char* end = nullptr;
    long long v = std::strtoll(e, &end, 10);
    if (end && *end == 0 && v >= 0) return v;
  }
  return std::int64_t{2} << 30;  // 2 GiB, like BuildKit's minimum default keep size
}

std::int64_t build_cache_entry_size(image::ImageService& svc, const build::CacheEntry& e) {
  auto size_of = [&](const std::string& id) -> std::int64_t {
    if (id.empty()) return 0;
    auto j = svc.inspect(id);
    if (!j) return 0;
    try {
      return json::parse(*j).value("Size", std::int64_t{0});
    } catch (...) {
      return 0;
    }
  };
  std::int64_t s = size_of(e.image_id) - size_of(e.parent_id);
  return s > 0 ? s : 0;
}

}  // namespace berth::daemon
