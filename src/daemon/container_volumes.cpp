// SPDX-License-Identifier: Apache-2.0
// Containers' mounts: parsing (-v, --mount, --tmpfs, --volumes-from, image VOLUMEs) and the
// daemon side of volumes (create/acquire at container create, copy-up and host mounts at start,
// unmount at stop, release / anonymous removal at remove).
#include "daemon/container_volumes.hpp"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "common/defer.hpp"
#include "common/file.hpp"
#include "common/log.hpp"
#include "common/path.hpp"
#include "common/strings.hpp"
#include "daemon/daemon.hpp"
#include "daemon/lazy_sync.hpp"
#include "storage/quota.hpp"
#include "volume/volume.hpp"

namespace berth::daemon {

using nlohmann::json;

namespace {

const std::set<std::string> kPropagations = {"shared", "rshared", "slave", "rslave", "private", "rprivate"};

std::string mount_err(const std::string& type, const std::string& msg) {
  return "invalid mount config for type \"" + type + "\": " + msg;
}

std::size_t depth(const std::string& p) { return static_cast<std::size_t>(std::count(p.begin(), p.end(), '/')); }

bool is_mounted(const std::string& path) {
  auto mi = read_file("/proc/self/mountinfo", 16 << 20);
  if (!mi) return false;
  for (const auto& line : split(*mi, '\n')) {
    auto f = split(line, ' ');
    if (f.size() > 4 && f[4] == path) return true;
  }
  return false;
}

bool is_running(const std::string& s) { return s == "running" || s == "paused" || s == "restarting"; }

// One -v/Binds entry: src:dst[:mode].
Result<MountPoint> parse_bind_spec(const std::string& spec) {
  std::string bad = "invalid volume specification: '" + spec + "'";
  auto parts = split(spec, ':');
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty())
    return fail(Errc::InvalidArgument, bad);
  MountPoint m;
  m.type = parts[0][0] == '/' ? "bind" : "volume";
  if (parts[1][0] != '/')
    return fail(Errc::InvalidArgument,
                bad + ": " + mount_err(m.type, "invalid mount path: '" + parts[1] + "' mount path must be absolute"));
  m.destination = clean_path(parts[1]);
  if (m.destination == "/")
    return fail(Errc::InvalidArgument, bad + ": " + mount_err(m.type, "invalid specification: destination can't be '/'"));
  m.mode = parts.size() == 3 ? parts[2] : "";
  bool rw_seen = false, nocopy = false;
  for (const auto& x : split(m.mode, ',')) {
    if (x.empty()) continue;
    if (x == "ro" || x == "rw") {
      if (rw_seen) return fail(Errc::InvalidArgument, "invalid mode: " + m.mode);
      rw_seen = true;
      m.rw = x == "rw";
    } else if (x == "z" || x == "Z") {
      // SELinux relabeling: accepted, nothing to do without SELinux.
    } else if (x == "nocopy" && m.type == "volume") {
      nocopy = true;
    } else if (kPropagations.count(x) && m.type == "bind") {
      m.propagation = x;
    } else {
      return fail(Errc::InvalidArgument, "invalid mode: " + m.mode);
    }
  }
  if (m.type == "bind") {
    m.source = clean_path(parts[0]);
    m.create_source = true;  // dockerd creates a missing host directory for -v
    if (m.propagation.empty()) m.propagation = "rprivate";
  } else {
    if (auto st = volume::validate_name(parts[0]); !st)
      return fail(Errc::InvalidArgument, bad + ": " + st.error().message());
    m.name = parts[0];
    m.driver = "local";
    m.copy_data = !nocopy;
    if (m.mode.empty()) m.mode = "z";
  }
  return m;
}

Result<MountPoint> parse_api_mount(const json& j) {
  if (!j.is_object()) return fail(Errc::InvalidArgument, "invalid mount config: expected an object");
  auto str = [&](const char* k) { return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string(); };
  auto obj = [&](const char* k) { return j.contains(k) && j[k].is_object() ? j[k] : json(nullptr); };
  MountPoint m;
  m.type = str("Type");
  std::string src = str("Source"), target = str("Target");
  bool ro = j.contains("ReadOnly") && j["ReadOnly"].is_boolean() && j["ReadOnly"].get<bool>();
  m.rw = !ro;
  json bo = obj("BindOptions"), vo = obj("VolumeOptions"), to = obj("TmpfsOptions");
  if (m.type != "bind" && m.type != "volume" && m.type != "tmpfs") {
    if (m.type.empty()) return fail(Errc::InvalidArgument, "invalid mount config: field Type must not be empty");
    return fail(Errc::InvalidArgument, mount_err(m.type, "mount type unknown"));
  }
  if (target.empty()) return fail(Errc::InvalidArgument, mount_err(m.type, "field Target must not be empty"));
  if (target[0] != '/')
    return fail(Errc::InvalidArgument, mount_err(m.type, "invalid mount path: '" + target + "' mount path must be absolute"));
  m.destination = clean_path(target);
  auto not_allowed = [&](const json& o, const char* field) -> Status {
    if (!o.is_null()) return fail(Errc::InvalidArgument, mount_err(m.type, std::string("field ") + field + " must not be specified"));
    return ok();
  };
  if (m.type == "bind") {
    TRY(not_allowed(vo, "VolumeOptions"));
    TRY(not_allowed(to, "TmpfsOptions"));
    if (src.empty()) return fail(Errc::InvalidArgument, mount_err("bind", "field Source must not be empty"));
    if (src[0] != '/')
      return fail(Errc::InvalidArgument, mount_err("bind", "invalid mount path: '" + src + "' mount path must be absolute"));
    m.source = clean_path(src);
    m.propagation = "rprivate";
    bool create = false;
    if (!bo.is_null()) {
      std::string p = bo.value("Propagation", "");
      if (!p.empty()) {
        if (!kPropagations.count(p)) return fail(Errc::InvalidArgument, mount_err("bind", "invalid propagation mode: " + p));
        m.propagation = p;
      }
      m.non_recursive = bo.value("NonRecursive", false);
      m.ro_non_recursive = bo.value("ReadOnlyNonRecursive", false);
      m.ro_force_recursive = bo.value("ReadOnlyForceRecursive", false);
      create = bo.value("CreateMountpoint", false);
      if ((m.ro_non_recursive || m.ro_force_recursive) && m.rw)
        return fail(Errc::InvalidArgument, mount_err("bind", "option ReadOnlyNonRecursive and ReadOnlyForceRecursive require ReadOnly"));
      if (m.ro_non_recursive && m.ro_force_recursive)
        return fail(Errc::InvalidArgument, mount_err("bind", "option ReadOnlyNonRecursive conflicts with ReadOnlyForceRecursive"));
      if (m.ro_force_recursive && m.non_recursive)
        return fail(Errc::InvalidArgument, mount_err("bind", "option ReadOnlyForceRecursive conflicts with NonRecursive"));
    }
    if (!path_exists(m.source)) {
      if (!create) return fail(Errc::InvalidArgument, mount_err("bind", "bind source path does not exist: " + m.source));
      m.create_source = true;
    }
  } else if (m.type == "volume") {
    TRY(not_allowed(bo, "BindOptions"));
    TRY(not_allowed(to, "TmpfsOptions"));
    m.driver = "local";
    m.mode = "z";
    bool nocopy = false;
    if (!src.empty()) {
      if (auto st = volume::validate_name(src); !st) return fail(Errc::InvalidArgument, mount_err("volume", st.error().message()));
      m.name = src;
    } else {
      m.anonymous = true;
    }
    if (!vo.is_null()) {
      nocopy = vo.value("NoCopy", false);
      if (vo.contains("Labels") && vo["Labels"].is_object())
        for (auto& [k, v] : vo["Labels"].items())
          if (v.is_string()) m.labels[k] = v.get<std::string>();
      if (vo.contains("DriverConfig") && vo["DriverConfig"].is_object()) {
        const json& dc = vo["DriverConfig"];
        std::string dn = dc.value("Name", "");
        if (!dn.empty()) m.driver = dn;
        if (dc.contains("Options") && dc["Options"].is_object())
          for (auto& [k, v] : dc["Options"].items())
            if (v.is_string()) m.driver_opts[k] = v.get<std::string>();
      }
      m.subpath = vo.value("Subpath", "");
      if (!m.subpath.empty()) {
        std::string sp = m.subpath;
        bool escapes = sp[0] == '/';
        for (const auto& part : split(sp, '/')) escapes |= part == "..";
        if (escapes) return fail(Errc::InvalidArgument, mount_err("volume", "subpath must be a relative path within the volume"));
      }
    }
    m.copy_data = !nocopy && m.subpath.empty();
  } else {  // tmpfs
    if (!src.empty()) return fail(Errc::InvalidArgument, mount_err("tmpfs", "field Source must not be specified"));
    TRY(not_allowed(bo, "BindOptions"));
    TRY(not_allowed(vo, "VolumeOptions"));
    if (!to.is_null()) {
      if (to.contains("SizeBytes") && to["SizeBytes"].is_number()) {
        auto sz = to["SizeBytes"].get<std::int64_t>();
        if (sz < 0) return fail(Errc::InvalidArgument, mount_err("tmpfs", "invalid tmpfs size " + std::to_string(sz)));
        if (sz > 0) m.tmpfs_options.push_back("size=" + std::to_string(sz));
      }
      if (to.contains("Mode") && to["Mode"].is_number_integer() && to["Mode"].get<long long>() > 0) {
        char b[24];
        std::snprintf(b, sizeof b, "mode=%llo", to["Mode"].get<long long>() & 07777);
        m.tmpfs_options.push_back(b);
      }
      if (to.contains("Options") && to["Options"].is_array())
        for (const auto& o : to["Options"]) {
          if (!o.is_array() || o.empty() || o.size() > 2) continue;
          std::string s = o[0].get<std::string>();
          if (o.size() == 2) s += "=" + o[1].get<std::string>();
          m.tmpfs_options.push_back(s);
        }
    }
  }
  return m;
}

std::string mounts_file(const std::string& data_root, const std::string& id) {
  return data_root + "/containers/" + id + "/mounts.json";
}

Result<std::vector<MountPoint>> read_mounts(const std::string& data_root, const Container& c) {
  auto text = read_file(mounts_file(data_root, c.id));
  if (!text) {
    // created before mounts.json existed: binds and tmpfs only
    if (text.error().is(Errc::NotFound)) return parse_mounts(c.host_config, {});
    return fail(std::move(text).error());
  }
  std::vector<MountPoint> out;
  try {
    for (const auto& m : json::parse(*text)) out.push_back(mount_point_from_json(m));
  } catch (const std::exception& e) {
    return fail(Errc::DataLoss, std::string("mounts.json: ") + e.what());
  }
  return out;
}

Status write_mounts(const std::string& data_root, const std::string& id, const std::vector<MountPoint>& ms) {
  json j = json::array();
  for (const auto& m : ms) j.push_back(to_json(m));
  TRY(mkdir_all(data_root + "/containers/" + id, 0710));
  // No mounts, no file (read_mounts' fallback finds none in the HostConfig either): one inode
  // less per container, which on ext4 without a journal is a scan past recently freed ones.
  if (ms.empty()) {
    std::string f = mounts_file(data_root, id);
    if (::unlink(f.c_str()) != 0 && errno != ENOENT) return fail_errno("remove", f);
    return ok();
  }
  // Like the container record: atomic now, fsynced in the background (lazy_sync.hpp).
  return write_record(mounts_file(data_root, id), j.dump(), 0600);
}

}  // namespace

std::string clean_path(const std::string& p) {
  std::vector<std::string> out;
  for (const auto& part : split(p, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!out.empty()) out.pop_back();
      continue;
    }
    out.push_back(part);
  }
  return "/" + join(out, "/");
}

Result<std::pair<std::string, std::string>> parse_volumes_from(const std::string& spec) {
  auto [ctr, mode] = split_once(spec, ':');
  if (ctr.empty()) return fail(Errc::InvalidArgument, "invalid volumes-from specification: '" + spec + "'");
  std::string m(mode);
  if (!m.empty() && m != "ro" && m != "rw" && m != "z" && m != "Z")
    return fail(Errc::InvalidArgument, "invalid mode: " + m);
  return std::make_pair(std::string(ctr), m);
}

Result<std::vector<MountPoint>> parse_mounts(const json& hc, const std::vector<std::string>& anonymous_paths,
                                             std::vector<MountPoint> taken) {
  std::vector<MountPoint> explicit_mounts;
  std::set<std::string> dsts;
  auto add = [&](MountPoint m) -> Status {
    if (!dsts.insert(m.destination).second)
      return fail(Errc::InvalidArgument, "Duplicate mount point: " + m.destination);
    explicit_mounts.push_back(std::move(m));
    return ok();
  };
  if (hc.contains("Binds") && hc["Binds"].is_array())
    for (const auto& b : hc["Binds"]) {
      if (!b.is_string()) return fail(Errc::InvalidArgument, "invalid volume specification");
      TRY(add(TRY(parse_bind_spec(b.get<std::string>()))));
    }
  if (hc.contains("Mounts") && hc["Mounts"].is_array())
    for (const auto& j : hc["Mounts"]) TRY(add(TRY(parse_api_mount(j))));
  if (hc.contains("Tmpfs") && hc["Tmpfs"].is_object())
    for (const auto& [dst, optv] : hc["Tmpfs"].items()) {
      if (dst.empty() || dst[0] != '/')
        return fail(Errc::InvalidArgument, "invalid tmpfs mount path: '" + dst + "' mount path must be absolute");
      MountPoint m;
      m.type = "tmpfs";
      m.tmpfs_flag = true;
      m.destination = clean_path(dst);
      for (const auto& x : split(optv.is_string() ? optv.get<std::string>() : "", ','))
        if (!x.empty()) {
          if (x == "ro") m.rw = false;
          else if (x != "rw") m.tmpfs_options.push_back(x);
        }
      TRY(add(std::move(m)));
    }
  std::vector<MountPoint> out;
  for (auto& t : taken)
    if (!dsts.count(t.destination) && dsts.insert(t.destination).second) out.push_back(std::move(t));
  for (auto& m : explicit_mounts) out.push_back(std::move(m));
  for (const auto& p : anonymous_paths) {
    if (p.empty() || p[0] != '/') return fail(Errc::InvalidArgument, "invalid volume specification: '" + p + "'");
    std::string d = clean_path(p);
    if (d == "/") return fail(Errc::InvalidArgument, "invalid volume specification: '" + p + "': destination can't be '/'");
    if (!dsts.insert(d).second) continue;
    MountPoint m;
    m.type = "volume";
    m.destination = d;
    m.driver = "local";
    m.anonymous = true;
    m.copy_data = true;
    out.push_back(std::move(m));
  }
  // parents before children (a volume at /a must be mounted before one at /a/b)
  std::stable_sort(out.begin(), out.end(), [](const MountPoint& a, const MountPoint& b) {
    return depth(a.destination) < depth(b.destination);
  });
  return out;
}

json to_json(const MountPoint& m) {
  return json{{"Type", m.type},
              {"Name", m.name},
              {"Source", m.source},
              {"Destination", m.destination},
              {"Driver", m.driver},
              {"Mode", m.mode},
              {"RW", m.rw},
              {"Propagation", m.propagation},
              {"Anonymous", m.anonymous},
              {"CopyData", m.copy_data},
              {"Subpath", m.subpath},
              {"NonRecursive", m.non_recursive},
              {"ReadOnlyNonRecursive", m.ro_non_recursive},
              {"ReadOnlyForceRecursive", m.ro_force_recursive},
              {"CreateSource", m.create_source},
              {"DriverOpts", m.driver_opts},
              {"Labels", m.labels},
              {"TmpfsOptions", m.tmpfs_options},
              {"TmpfsFlag", m.tmpfs_flag}};
}

MountPoint mount_point_from_json(const json& j) {
  MountPoint m;
  m.type = j.value("Type", "");
  m.name = j.value("Name", "");
  m.source = j.value("Source", "");
  m.destination = j.value("Destination", "");
  m.driver = j.value("Driver", "");
  m.mode = j.value("Mode", "");
  m.rw = j.value("RW", true);
  m.propagation = j.value("Propagation", "");
  m.anonymous = j.value("Anonymous", false);
  m.copy_data = j.value("CopyData", false);
  m.subpath = j.value("Subpath", "");
  m.non_recursive = j.value("NonRecursive", false);
  m.ro_non_recursive = j.value("ReadOnlyNonRecursive", false);
  m.ro_force_recursive = j.value("ReadOnlyForceRecursive", false);
  m.create_source = j.value("CreateSource", false);
  m.driver_opts = j.value("DriverOpts", std::map<std::string, std::string>{});
  m.labels = j.value("Labels", std::map<std::string, std::string>{});
  m.tmpfs_options = j.value("TmpfsOptions", std::vector<std::string>{});
  m.tmpfs_flag = j.value("TmpfsFlag", false);
  return m;
}

json oci_mount(const MountPoint& m, const std::string& source) {
  std::vector<std::string> o;
  if (m.type == "tmpfs") {
    o = {"nosuid", "nodev", "noexec"};
    for (const auto& x : m.tmpfs_options) o.push_back(x);
    if (!m.rw) o.push_back("ro");
    return json{{"destination", m.destination}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", o}};
  }
  o.push_back(m.non_recursive ? "bind" : "rbind");
  o.push_back(m.rw ? "rw" : "ro");
  if (m.ro_force_recursive) o.push_back("rro");
  o.push_back(m.propagation.empty() ? "rprivate" : m.propagation);
  return json{{"destination", m.destination}, {"type", "bind"}, {"source", source}, {"options", o}};
}

json inspect_mount(const MountPoint& m) {
  json j{{"Type", m.type}};
  if (m.type == "volume") {
    j["Name"] = m.name;
    j["Source"] = m.source;
    j["Destination"] = m.destination;
    j["Driver"] = m.driver;
  } else {
    j["Source"] = m.type == "bind" ? m.source : "";
    j["Destination"] = m.destination;
  }
  j["Mode"] = m.mode;
  j["RW"] = m.rw;
  j["Propagation"] = m.type == "bind" ? m.propagation : "";
  return j;
}

// ---------------- daemon side ----------------

Status Daemon::setup_volumes(Container& c, const std::string& image_config_json) {
  std::vector<std::string> anon;
  std::set<std::string> anon_seen;
  auto collect = [&](const json& vols) {
    if (!vols.is_object()) return;
    for (auto& [k, v] : vols.items())
      if (anon_seen.insert(k).second) anon.push_back(k);
  };
  if (c.config.contains("Volumes")) collect(c.config["Volumes"]);
  try {
    auto ic = json::parse(image_config_json).value("config", json::object());
    if (ic.contains("Volumes")) collect(ic["Volumes"]);
  } catch (...) {
  }
  // --volumes-from: the other container's volumes and binds (not tmpfs)
  std::vector<MountPoint> taken;
  if (c.host_config.contains("VolumesFrom") && c.host_config["VolumesFrom"].is_array())
    for (const auto& vf : c.host_config["VolumesFrom"]) {
      auto [ref, mode] = TRY(parse_volumes_from(vf.is_string() ? vf.get<std::string>() : ""));
      auto other = TRY(find(ref));
      if (other->id == c.id) return fail(Errc::InvalidArgument, "cannot mount volumes of a container into itself");
      for (auto m : TRY(read_mounts(cfg_.data_root, *other))) {
        if (m.type == "tmpfs") continue;
        if (mode == "ro" || mode == "rw") {
          m.rw = mode == "rw";
          m.mode = mode;
        }
        m.copy_data = false;
        taken.push_back(std::move(m));
      }
    }
  auto mps = TRY(parse_mounts(c.host_config, anon, std::move(taken)));

  std::lock_guard lk(volume_mu);
  std::vector<std::string> acquired, created_anon;
  bool done = false;
  auto undo = defer([&] {
    if (done) return;
    for (auto& n : acquired) (void)volumes_->release(n, c.id);
    for (auto& n : created_anon) (void)volumes_->remove(n, false);
  });
  for (auto& m : mps) {
    if (m.type != "volume") continue;
    auto labels = m.labels;
    if (m.anonymous && m.name.empty()) labels.emplace("com.docker.volume.anonymous", "");
    auto v = volumes_->create(m.name, m.driver, m.driver_opts, labels);
    if (!v) return fail(std::move(v).error());
    if (m.name.empty()) created_anon.push_back(v->name);
    m.name = v->name;
    m.source = v->mountpoint;
    TRY(volumes_->acquire(m.name, c.id));
    acquired.push_back(m.name);
  }
  TRY(write_mounts(cfg_.data_root, c.id, mps));
  done = true;
  if (!anon.empty()) {
    json vols = json::object();
    for (auto& p : anon) vols[p] = json::object();
    c.config["Volumes"] = vols;
  }
  return ok();
}

Status Daemon::setup_storage_opts(Container& c) {
  const json& so = c.host_config.value("StorageOpt", json::object());
  if (!so.is_object() || so.empty()) return ok();
  std::map<std::string, std::string> opts;
  for (auto& [k, v] : so.items()) opts[k] = v.is_string() ? v.get<std::string>() : v.dump();
  std::uint64_t size = TRY(storage::parse_storage_opts(opts));
  if (size == 0) return ok();
  TRY(images_->prepare_rootfs(c.image_id, c.id, size));
  return ok();
}

Result<json> Daemon::start_volumes(Container& c, const std::string& rootfs) {
  auto mps = TRY(read_mounts(cfg_.data_root, c));
  json out = json::array();
  bool dirty = false;
  std::vector<std::pair<std::string, std::map<std::string, std::string>>> events;
  for (auto& m : mps) {
    if (m.type == "tmpfs") {
      out.push_back(oci_mount(m, "tmpfs"));
      continue;
    }
    if (m.type == "bind") {
      if (!path_exists(m.source)) {
        if (!m.create_source)
          return fail(Errc::InvalidArgument, mount_err("bind", "bind source path does not exist: " + m.source));
        TRYC(mkdir_all(m.source, 0755), "create bind source");
      }
      out.push_back(oci_mount(m, m.source));
      continue;
    }
    std::lock_guard lk(volume_mu);
    auto spec = volumes_->mount_spec(m.name);
    if (!spec) return fail(std::move(spec).error().context("error while mounting volume '" + m.name + "'"));
    if (spec->needs_host_mount) {
      if (!is_mounted(spec->source)) {
        const char* dev = spec->device.empty() ? nullptr : spec->device.c_str();
        if (::mount(dev, spec->source.c_str(), spec->fstype.empty() ? nullptr : spec->fstype.c_str(), spec->flags,
                    spec->data.empty() ? nullptr : spec->data.c_str()) != 0)
          return fail(Error::from_errno(errno, "error while mounting volume '" + spec->source +
                                                   "': failed to mount local volume: mount " + spec->device + ":" +
                                                   spec->source));
      }
    }
    if (m.copy_data) {  // a volume with driver options is filled in place, now that it is mounted
      auto src = secure_join(rootfs, m.destination);
      if (!src) return fail(std::move(src).error());
      TRYC(volumes_->copy_up(m.name, *src), "copy image content into volume " + m.name);
    }
    if (m.copy_data) {
      m.copy_data = false;
      dirty = true;
    }
    std::string source = spec->source;
    if (!m.subpath.empty()) {
      auto sp = secure_join(spec->source, m.subpath);
      if (!sp) return fail(std::move(sp).error());
      struct stat st{};
      if (::stat(sp->c_str(), &st) != 0)
        return fail(Errc::InvalidArgument, "cannot access path " + *sp + ": " + std::strerror(errno));
      source = *sp;
    }
    m.source = spec->source;
    out.push_back(oci_mount(m, source));
    events.push_back({m.name, {{"container", c.id}, {"destination", m.destination}, {"driver", m.driver},
                               {"propagation", m.propagation}, {"read/write", m.rw ? "true" : "false"}}});
  }
  if (dirty) TRY(write_mounts(cfg_.data_root, c.id, mps));
  for (auto& [n, a] : events) emit("volume", "mount", n, a);
  return out;
}

void Daemon::stop_volumes(const Container& c) {
  auto mps = read_mounts(cfg_.data_root, c);
  if (!mps) return;
  std::vector<std::string> host_mounted;
  for (const auto& m : *mps) {
    if (m.type != "volume") continue;
    emit("volume", "unmount", m.name, {{"container", c.id}, {"driver", m.driver}});
    std::lock_guard lk(volume_mu);
    auto spec = volumes_->mount_spec(m.name);
    if (spec && spec->needs_host_mount) host_mounted.push_back(m.name);
  }
  if (host_mounted.empty()) return;
  // Unmount a volume's host mount when no other running container uses it.
  std::set<std::string> busy;
  for (auto& o : all()) {
    if (o->id == c.id) continue;
    {
      std::lock_guard lk(mu);
      if (!is_running(o->state.status)) continue;
    }
    if (auto om = read_mounts(cfg_.data_root, *o))
      for (const auto& m : *om)
        if (m.type == "volume") busy.insert(m.name);
  }
  std::lock_guard lk(volume_mu);
  for (const auto& n : host_mounted) {
    if (busy.count(n)) continue;
    auto spec = volumes_->mount_spec(n);
    if (spec && is_mounted(spec->source) && ::umount2(spec->source.c_str(), MNT_DETACH) != 0)
      log::warn("unmount volume {}: {}", n, std::strerror(errno));
  }
}

void Daemon::release_volumes(const Container& c, bool remove_anonymous) {
  auto mps = read_mounts(cfg_.data_root, c);
  if (!mps) return;
  std::vector<std::string> removed;
  {
    std::lock_guard lk(volume_mu);
    for (const auto& m : *mps) {
      if (m.type != "volume" || m.name.empty()) continue;
      if (auto st = volumes_->release(m.name, c.id); !st && !st.error().is(Errc::NotFound))
        log::warn("release volume {}: {}", m.name, st.error().message());
      if (remove_anonymous && m.anonymous && volumes_->remove(m.name, false)) removed.push_back(m.name);
    }
  }
  for (auto& n : removed) emit("volume", "destroy", n, {{"driver", "local"}});
}

json Daemon::mounts_json(const Container& c) {
  json out = json::array();
  auto mps = read_mounts(cfg_.data_root, c);
  if (!mps) return out;
  for (const auto& m : *mps)
    if (!m.tmpfs_flag) out.push_back(inspect_mount(m));
  return out;
}

Result<std::vector<MountPoint>> Daemon::mount_points(const Container& c) { return read_mounts(cfg_.data_root, c); }

}  // namespace berth::daemon
