// SPDX-License-Identifier: Apache-2.0
#include "daemon/images.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/digest.hpp"
#include "common/file.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#ifdef BERTH_HAVE_IMAGE_SERVICE
#include "image/image_service.hpp"
#endif

namespace berth::daemon {

using nlohmann::json;

std::string normalize_ref(const std::string& ref) {
  std::string r = ref;
  for (const char* p : {"docker.io/library/", "index.docker.io/library/", "docker.io/", "library/"})
    if (r.rfind(p, 0) == 0) r = r.substr(std::strlen(p));
  if (r.find('@') != std::string::npos) return r;
  auto slash = r.rfind('/');
  auto colon = r.rfind(':');
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) r += ":latest";
  return r;
}

static Status run_cmd(const std::vector<std::string>& argv) {
  pid_t pid = ::fork();
  if (pid < 0) return fail_errno("fork");
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0);
    ::dup2(null, 1);
    std::vector<char*> a;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    ::execvp(a[0], a.data());
    ::_exit(127);
  }
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    return fail(Errc::Internal, argv[0] + " " + (argv.size() > 1 ? argv[1] : "") + " failed");
  return ok();
}

#ifdef BERTH_HAVE_IMAGE_SERVICE
struct ImageStore::Service {
  std::unique_ptr<image::ImageService> svc;
};
#else
struct ImageStore::Service {};
#endif

ImageStore::~ImageStore() = default;

std::string ImageStore::backend() const { return svc_ ? "image-service" : "builtin"; }

Result<std::unique_ptr<ImageStore>> ImageStore::open(const std::string& data_root, const std::string& driver) {
  auto s = std::unique_ptr<ImageStore>(new ImageStore());
#ifdef BERTH_HAVE_IMAGE_SERVICE
  if (!std::getenv("BERTH_BUILTIN_IMAGES")) {
    image::ServiceOptions o;
    o.root = data_root;
    o.driver = driver;
    auto svc = TRYC(image::ImageService::open(o), "open image service");
    s->svc_ = std::make_unique<Service>();
    s->svc_->svc = std::move(svc);
    s->root_ = data_root;
    TRY(mkdir_all(data_root + "/tmp", 0700));
    return s;
  }
#else
  (void)driver;
#endif
  std::string root = data_root + "/images-builtin";
  s->root_ = root;
  TRY(mkdir_all(root + "/images", 0700));
  TRY(mkdir_all(root + "/containers", 0700));
  if (path_exists(root + "/repositories.json")) {
    auto text = TRY(read_file(root + "/repositories.json"));
    try {
      auto j = json::parse(text);
      for (auto& [k, v] : j.items()) s->repos_[k] = v.get<std::string>();
    } catch (const std::exception& e) {
      return fail(Errc::DataLoss, std::string("repositories.json: ") + e.what());
    }
  }
  return s;
}

Status ImageStore::save_repos() {
  json j = json::object();
  for (auto& [k, v] : repos_) j[k] = v;
  return atomic_write_file(root_ + "/repositories.json", j.dump());
}

// Applies whiteouts of a layer already extracted over `dir`: ".wh.x" removes x, ".wh..wh..opq"
// empties the directory (done before extraction is impossible with tar; approximated by
// deleting entries older than the layer: we extract each layer to staging first instead).
static Status apply_layer(const std::string& layer_tar, const std::string& dir, const std::string& staging) {
  TRY(remove_all(staging));
  TRY(mkdir_all(staging, 0755));
  TRY(run_cmd({"tar", "-xf", layer_tar, "-C", staging, "--numeric-owner", "--same-permissions"}));
  // walk staging: process whiteouts, then copy the rest over dir
  std::vector<std::string> stack{""};
  std::vector<std::string> whiteouts;
  while (!stack.empty()) {
    std::string rel = stack.back();
    stack.pop_back();
    DIR* d = ::opendir((staging + rel).c_str());
    if (!d) continue;
    while (auto* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      std::string r = rel + "/" + n;
      if (n.rfind(".wh.", 0) == 0) {
        whiteouts.push_back(r);
        continue;
      }
      if (e->d_type == DT_DIR) stack.push_back(r);
    }
    ::closedir(d);
  }
  for (const auto& w : whiteouts) {
    std::string parent = dirname(w), name = basename(w);
    if (name == ".wh..wh..opq") {
      // remove everything of that directory in the lower layers
      std::string target = dir + parent;
      DIR* d = ::opendir(target.c_str());
      if (d) {
        std::vector<std::string> kill;
        while (auto* e = ::readdir(d)) {
          std::string n = e->d_name;
          if (n != "." && n != "..") kill.push_back(target + "/" + n);
        }
        ::closedir(d);
        for (auto& k : kill) (void)remove_all(k);
      }
    } else {
      (void)remove_all(dir + parent + "/" + name.substr(4));
    }
    ::unlink((staging + w).c_str());
  }
  TRY(run_cmd({"cp", "-a", staging + "/.", dir + "/"}));
  return remove_all(staging);
}

Result<std::vector<std::string>> ImageStore::load(int fd) {
  return load_from([fd](char* buf, std::size_t n) -> Result<std::size_t> {
    for (;;) {
      ssize_t r = ::read(fd, buf, n);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return fail_errno("read image archive");
      return static_cast<std::size_t>(r);
    }
  });
}

Result<std::vector<std::string>> ImageStore::load_from(
    const std::function<Result<std::size_t>(char*, std::size_t)>& rd) {
#ifdef BERTH_HAVE_IMAGE_SERVICE
  if (svc_) {
    auto tmp = TRY(TempDir::create(root_ + "/tmp", "load-"));
    std::string p = tmp.path() + "/archive.tar";
    {
      auto out = TRY(open_file(p, O_WRONLY | O_CREAT | O_TRUNC, 0600));
      std::string buf(65536, '\0');
      for (;;) {
        std::size_t n = TRY(rd(buf.data(), buf.size()));
        if (n == 0) break;
        TRY(write_all(out.get(), std::string_view(buf.data(), n)));
      }
    }
    auto in = TRY(open_file(p, O_RDONLY));
    auto refs = TRY(svc_->svc->load(in.get(), nullptr));
    std::vector<std::string> out;
    for (auto& r : refs) out.push_back(r.rfind("sha256:", 0) == 0 ? r : normalize_ref(r));
    return out;
  }
#endif

  auto tmp = TRY(TempDir::create(root_, "load-"));
  std::string tarpath = tmp.path() + "/archive.tar";
  {
    auto out = TRY(open_file(tarpath, O_WRONLY | O_CREAT | O_TRUNC, 0600));
    std::string buf(65536, '\0');
    for (;;) {
      std::size_t n = TRY(rd(buf.data(), buf.size()));
      if (n == 0) break;
      TRY(write_all(out.get(), std::string_view(buf.data(), n)));
    }
  }
  std::string ex = tmp.path() + "/x";
  TRY(mkdir_all(ex, 0700));
  if (!run_cmd({"tar", "-xf", tarpath, "-C", ex})) return fail(Errc::InvalidArgument, "invalid tar archive");
  ::unlink(tarpath.c_str());
  if (!path_exists(ex + "/manifest.json"))
    return fail(Errc::InvalidArgument, "invalid archive: manifest.json not found (OCI layouts without it are not supported yet)");
  json manifest;
  try {
    manifest = json::parse(TRY(read_file(ex + "/manifest.json")));
  } catch (const std::exception& e) {
    return fail(Errc::InvalidArgument, std::string("invalid manifest.json: ") + e.what());
  }
  std::vector<std::string> loaded;
  try {
    for (const auto& m : manifest) {
      std::string cfg_rel = m.at("Config").get<std::string>();
      if (cfg_rel.find("..") != std::string::npos) return fail(Errc::InvalidArgument, "invalid config path");
      std::string cfg = TRY(read_file(ex + "/" + cfg_rel, 16 << 20));
      std::string id = digest_of(cfg).str();
      std::string hex = id.substr(7);
      std::string idir = root_ + "/images/" + hex;
      if (!path_exists(idir + "/config.json")) {
        std::string staging_img = idir + ".partial";
        TRY(remove_all(staging_img));
        TRY(mkdir_all(staging_img + "/rootfs", 0755));
        for (const auto& l : m.at("Layers")) {
          std::string lr = l.get<std::string>();
          if (lr.find("..") != std::string::npos) return fail(Errc::InvalidArgument, "invalid layer path");
          TRYC(apply_layer(ex + "/" + lr, staging_img + "/rootfs", tmp.path() + "/layer"), "unpack layer " + lr);
        }
        TRY(atomic_write_file(staging_img + "/config.json", cfg));
        TRY(atomic_write_file(staging_img + "/loaded", std::to_string(std::time(nullptr))));
        TRY(remove_all(idir));
        if (::rename(staging_img.c_str(), idir.c_str()) < 0) return fail_errno("rename", idir);
      }
      std::lock_guard lk(mu_);
      bool tagged = false;
      if (m.contains("RepoTags") && m["RepoTags"].is_array())
        for (const auto& t : m["RepoTags"]) {
          std::string ref = normalize_ref(t.get<std::string>());
          repos_[ref] = id;
          loaded.push_back(ref);
          tagged = true;
        }
      if (!tagged) loaded.push_back(id);
      TRY(save_repos());
    }
  } catch (const std::exception& e) {
    return fail(Errc::InvalidArgument, std::string("invalid manifest.json: ") + e.what());
  }
  return loaded;
}

static std::int64_t dir_size(const std::string& dir) {
  std::int64_t total = 0;
  std::vector<std::string> stack{dir};
  while (!stack.empty()) {
    std::string d = stack.back();
    stack.pop_back();
    DIR* dp = ::opendir(d.c_str());
    if (!dp) continue;
    while (auto* e = ::readdir(dp)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      struct stat st{};
      std::string p = d + "/" + n;
      if (::lstat(p.c_str(), &st) != 0) continue;
      if (S_ISDIR(st.st_mode)) stack.push_back(p);
      else if (S_ISREG(st.st_mode)) total += st.st_size;
    }
    ::closedir(dp);
  }
  return total;
}

std::vector<ImageRecord> ImageStore::list() {
#ifdef BERTH_HAVE_IMAGE_SERVICE
  if (svc_) {
    std::vector<ImageRecord> out;
    auto l = svc_->svc->list(image::ListFilters{});
    if (!l) return out;
    for (auto& i : *l) {
      ImageRecord r;
      r.id = i.id;
      r.tags = i.repo_tags;
      r.created = i.created;
      r.size = i.size;
      json labels = json::object();
      for (auto& [k, v] : i.labels) labels[k] = v;
      r.config_json = json{{"config", {{"Labels", labels}}}}.dump();
      out.push_back(std::move(r));
    }
    return out;
  }
#endif

  std::vector<ImageRecord> out;
  std::lock_guard lk(mu_);
  DIR* d = ::opendir((root_ + "/images").c_str());
  if (!d) return out;
  while (auto* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.size() != 64) continue;
    ImageRecord r;
    r.id = "sha256:" + n;
    auto cfg = read_file(root_ + "/images/" + n + "/config.json");
    if (!cfg) continue;
    r.config_json = *cfg;
    for (auto& [k, v] : repos_)
      if (v == r.id) r.tags.push_back(k);
    try {
      auto j = json::parse(r.config_json);
      std::string created = j.value("created", "");
      struct tm tm{};
      if (!created.empty() && strptime(created.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) r.created = timegm(&tm);
    } catch (...) {
    }
    auto sz = read_file(root_ + "/images/" + n + "/size");
    if (sz) r.size = parse_int(*sz).value_or(0);
    else {
      r.size = dir_size(root_ + "/images/" + n + "/rootfs");
      (void)write_file(root_ + "/images/" + n + "/size", std::to_string(r.size));
    }
    out.push_back(std::move(r));
  }
  ::closedir(d);
  return out;
}

Result<ImageRecord> ImageStore::resolve(const std::string& name) {
#ifdef BERTH_HAVE_IMAGE_SERVICE
  if (svc_) {
    auto ri = svc_->svc->resolve(name);
    if (!ri) {
      if (ri.error().is(Errc::NotFound)) return fail(Errc::NotFound, "No such image: " + normalize_ref(name));
      return fail(std::move(ri).error());
    }
    ImageRecord r;
    r.id = ri->id;
    r.tags = ri->repo_tags;
    r.config_json = ri->config_json;
    return r;
  }
#endif

  std::string id;
  {
    std::lock_guard lk(mu_);
    auto it = repos_.find(normalize_ref(name));
    if (it != repos_.end()) id = it->second;
  }
  if (id.empty()) {
    std::string hex = name.rfind("sha256:", 0) == 0 ? name.substr(7) : name;
    bool hexok = !hex.empty() && hex.size() <= 64 && hex.find_first_not_of("0123456789abcdef") == std::string::npos;
    if (hexok) {
      for (auto& r : list())
        if (r.id.compare(7, hex.size(), hex) == 0) {
          if (!id.empty()) return fail(Errc::InvalidArgument, "ambiguous image id " + name);
          id = r.id;
        }
    }
  }
  if (id.empty()) return fail(Errc::NotFound, "No such image: " + normalize_ref(name));
  for (auto& r : list())
    if (r.id == id) return r;
  return fail(Errc::NotFound, "No such image: " + name);
}

Result<std::string> ImageStore::inspect(const std::string& name) {
#ifdef BERTH_HAVE_IMAGE_SERVICE
  if (svc_) {
    auto j = svc_->svc->inspect(name);
    if (!j && j.error().is(Errc::NotFound)) return fail(Errc::NotFound, "No such image: " + normalize_ref(name));
    return j;
  }
#endif

  auto r = TRY(resolve(name));
  json cfg;
  try {
    cfg = json::parse(r.config_json);
  } catch (...) {
    cfg = json::object();
  }
  json j;
  j["Id"] = r.id;
  j["RepoTags"] = r.tags;
  j["RepoDigests"] = json::array();
  j["Parent"] = "";
  j["Comment"] = "";
  j["Created"] = cfg.value("created", "");
  j["DockerVersion"] = "";
  j["Author"] = cfg.value("author", "");
  j["Config"] = cfg.value("config", json::object());
  j["Architecture"] = cfg.value("architecture", "amd64");
  j["Os"] = cfg.value("os", "linux");
  j["Size"] = r.size;
  j["GraphDriver"] = {{"Name", "builtin"}, {"Data", json::object()}};
  j["RootFS"] = cfg.value("rootfs", json::object());
  j["Metadata"] = {{"LastTagTime", "0001-01-01T00:00:00Z"}};
  return j.dump();
}

Result<std::vector<std::string>> ImageStore::remove(const std::string& name, bool force_) {
#ifdef BERTH_HAVE_IMAGE_SERVICE
  if (svc_) {
    auto items = TRY(svc_->svc->remove(name, force_));
    std::vector<std::string> out;
    for (auto& i : items) {
      if (!i.untagged.empty()) out.push_back("untagged:" + i.untagged);
      if (!i.deleted.empty()) out.push_back("deleted:" + i.deleted);
    }
    return out;
  }
#endif

  (void)force_;
  auto r = TRY(resolve(name));
  std::vector<std::string> out;
  std::lock_guard lk(mu_);
  std::string norm = normalize_ref(name);
  if (repos_.count(norm)) {
    repos_.erase(norm);
    out.push_back("untagged:" + norm);
  }
  bool still = false;
  for (auto& [k, v] : repos_)
    if (v == r.id) still = true;
  if (!still) {
    TRY(remove_all(root_ + "/images/" + r.id.substr(7)));
    out.push_back("deleted:" + r.id);
  }
  TRY(save_repos());
  return out;
}

Result<std::vector<RootfsMount>> ImageStore::prepare_rootfs(const std::string& image_id,
                                                             const std::string& container_id) {
#ifdef BERTH_HAVE_IMAGE_SERVICE
  if (svc_) {
    auto ms = TRY(svc_->svc->prepare_rootfs(image_id, container_id));
    std::vector<RootfsMount> out;
    for (auto& m : ms) out.push_back(RootfsMount{m.type, m.source, m.options});
    return out;
  }
#endif

  std::string lower = root_ + "/images/" + image_id.substr(image_id.rfind(':') + 1) + "/rootfs";
  if (!path_exists(lower)) return fail(Errc::NotFound, "No such image: " + image_id);
  std::string c = root_ + "/containers/" + container_id;
  TRY(mkdir_all(c + "/diff", 0755));
  TRY(mkdir_all(c + "/work", 0700));
  return std::vector<RootfsMount>{
      {"overlay", "overlay", {"lowerdir=" + lower, "upperdir=" + c + "/diff", "workdir=" + c + "/work"}}};
}

Status ImageStore::remove_rootfs(const std::string& container_id) {
#ifdef BERTH_HAVE_IMAGE_SERVICE
  if (svc_) return svc_->svc->remove_rootfs(container_id);
#endif

  return remove_all(root_ + "/containers/" + container_id);
}

}  // namespace berth::daemon
