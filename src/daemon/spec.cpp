// SPDX-License-Identifier: Apache-2.0
#include "daemon/spec.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "common/file.hpp"
#include "common/strings.hpp"

namespace berth::daemon {

using nlohmann::json;

extern const char* const kSeccompDefaultJson;  // generated from seccomp_default.json

namespace {

bool blkio_weight_supported() {
  for (const char* f : {"/sys/fs/cgroup/blkio/blkio.weight", "/sys/fs/cgroup/blkio/blkio.bfq.weight"})
    if (path_exists(f)) return true;
  // cgroup v2: io.weight comes with the io controller (BFQ or iocost behind it).
  auto ctl = read_file("/sys/fs/cgroup/cgroup.controllers", 4096);
  return ctl && (" " + std::string(trim(*ctl)) + " ").find(" io ") != std::string::npos;
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string norm_cap(const std::string& c) {
  std::string u = upper(c);
  if (u == "ALL") return u;
  return u.rfind("CAP_", 0) == 0 ? u : "CAP_" + u;
}

const std::vector<std::string>& all_capabilities() {
  static const std::vector<std::string> caps = {
      "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
      "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
      "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
      "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
      "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
      "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
      "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
      "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"};
  return caps;
}

// What `--privileged` and `--cap-add ALL` give: the capabilities this berthd may hand on (its
// bounding set), as dockerd's GetAllCapabilities. One outside it (a sandbox may have dropped
// CAP_SYS_RESOURCE, as here) would make the runtime's capset fail with EPERM.
const std::vector<std::string>& available_capabilities() {
  static const std::vector<std::string> caps = [] {
    std::uint64_t bounding = ~std::uint64_t{0};
    if (auto st = read_file("/proc/self/status", 1 << 16))
      for (auto& line : split(*st, '\n'))
        if (line.rfind("CapBnd:", 0) == 0) bounding = std::strtoull(std::string(trim(line.substr(7))).c_str(), nullptr, 16);
    std::vector<std::string> out;
    const auto& all = all_capabilities();  // in the kernel's order: index = capability number
    for (std::size_t i = 0; i < all.size(); ++i)
      if ((bounding >> i) & 1) out.push_back(all[i]);
    return out;
  }();
  return caps;
}

std::string host_seccomp_arch() {
#if defined(__x86_64__)
  return "SCMP_ARCH_X86_64";
#elif defined(__aarch64__)
  return "SCMP_ARCH_AARCH64";
#else
  return "";
#endif
}

// Docker's HostConfig value or a default.
template <class T>
T hc(const json& h, const char* key, T def) {
  auto it = h.find(key);
  if (it == h.end() || it->is_null()) return def;
  try {
    return it->get<T>();
  } catch (...) {
    return def;
  }
}

}  // namespace

std::vector<std::string> default_masked_paths() {
  return {"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
          "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
          "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"};
}

std::vector<std::string> default_readonly_paths() {
  return {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
}

std::vector<std::string> default_capabilities() {
  return {"CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",     "CAP_FOWNER",           "CAP_MKNOD",
          "CAP_NET_RAW", "CAP_SETGID",      "CAP_SETUID",     "CAP_SETFCAP",          "CAP_SETPCAP",
          "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"};
}

Result<std::vector<std::string>> effective_capabilities(const json& h) {
  if (hc<bool>(h, "Privileged", false)) return available_capabilities();
  std::vector<std::string> caps = default_capabilities();
  auto known = [](const std::string& c) {
    const auto& all = all_capabilities();
    return c == "ALL" || std::find(all.begin(), all.end(), c) != all.end();
  };
  auto drops = hc<std::vector<std::string>>(h, "CapDrop", {});
  auto adds = hc<std::vector<std::string>>(h, "CapAdd", {});
  for (auto& d : drops) {
    std::string c = norm_cap(d);
    if (!known(c)) return fail(Errc::InvalidArgument, "unknown capability drop: \"" + d + "\"");
    if (c == "ALL") caps.clear();
    else std::erase(caps, c);
  }
  for (auto& a : adds) {
    std::string c = norm_cap(a);
    if (!known(c)) return fail(Errc::InvalidArgument, "unknown capability: \"" + a + "\"");
    if (c == "ALL") {
      caps = available_capabilities();
      continue;
    }
    if (std::find(caps.begin(), caps.end(), c) == caps.end()) caps.push_back(c);
  }
  return caps;
}

Result<json> convert_seccomp(const std::string& profile, const std::vector<std::string>& caps) {
  json p;
  try {
    p = json::parse(profile);
  } catch (const std::exception& e) {
    return fail(Errc::InvalidArgument, std::string("Decoding seccomp profile failed: ") + e.what());
  }
  try {
    json out;
    out["defaultAction"] = p.value("defaultAction", "SCMP_ACT_ERRNO");
    if (p.contains("defaultErrnoRet")) out["defaultErrnoRet"] = p["defaultErrnoRet"];
    std::string arch = host_seccomp_arch();
    json arches = json::array();
    if (p.contains("archMap")) {
      for (const auto& m : p["archMap"]) {
        if (m.value("architecture", "") != arch) continue;
        arches.push_back(arch);
        for (const auto& s : m.value("subArchitectures", json::array())) arches.push_back(s);
      }
    } else if (p.contains("architectures")) {
      arches = p["architectures"];
    }
    out["architectures"] = arches;
    std::set<std::string> capset(caps.begin(), caps.end());
    json rules = json::array();
    for (const auto& s : p.value("syscalls", json::array())) {
      auto inc = s.value("includes", json::object());
      auto exc = s.value("excludes", json::object());
      bool ok_rule = true;
      for (const auto& c : inc.value("caps", json::array()))
        if (!capset.count(c.get<std::string>())) ok_rule = false;
      if (inc.contains("arches")) {
        bool any = false;
        for (const auto& a : inc["arches"]) {
          std::string an = a.get<std::string>();
          if (an == "amd64" && arch == "SCMP_ARCH_X86_64") any = true;
          if (an == "x86_64" && arch == "SCMP_ARCH_X86_64") any = true;
          if (an == "arm64" && arch == "SCMP_ARCH_AARCH64") any = true;
        }
        if (!any) ok_rule = false;
      }
      for (const auto& c : exc.value("caps", json::array()))
        if (capset.count(c.get<std::string>())) ok_rule = false;
      if (exc.contains("arches")) {
        for (const auto& a : exc["arches"]) {
          std::string an = a.get<std::string>();
          if ((an == "amd64" || an == "x86_64") && arch == "SCMP_ARCH_X86_64") ok_rule = false;
          if (an == "arm64" && arch == "SCMP_ARCH_AARCH64") ok_rule = false;
        }
      }
      if (!ok_rule) continue;
      json r;
      if (s.contains("names")) r["names"] = s["names"];
      else if (s.contains("name")) r["names"] = json::array({s["name"]});
      r["action"] = s.value("action", "SCMP_ACT_ALLOW");
      if (s.contains("errnoRet")) r["errnoRet"] = s["errnoRet"];
      if (s.contains("args") && s["args"].is_array() && !s["args"].empty()) r["args"] = s["args"];
      rules.push_back(std::move(r));
    }
    out["syscalls"] = std::move(rules);
    return out;
  } catch (const std::exception& e) {
    return fail(Errc::InvalidArgument, std::string("invalid seccomp profile: ") + e.what());
  }
}

Result<json> default_seccomp(const std::vector<std::string>& caps) {
  return convert_seccomp(kSeccompDefaultJson, caps);
}

// The same as text, spliced into the spec's text by generate_spec. The profile is the same for
// every container with the same capabilities: parsed, filtered and dumped once per capability
// set (a parse of the 30 kB profile was most of a spec's cost; it is three quarters of a spec).
static Result<std::string> default_seccomp_text(const std::vector<std::string>& caps) {
  static std::mutex mu;
  static std::map<std::string, std::string> cache;
  std::string key = join(caps, ",");
  {
    std::lock_guard lk(mu);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
  }
  std::string text = TRY(default_seccomp(caps)).dump();
  std::lock_guard lk(mu);
  if (cache.size() < 64) cache.emplace(key, text);
  return text;
}

static Result<std::vector<std::vector<std::string>>> read_colon_file(const std::string& path) {
  std::vector<std::vector<std::string>> out;
  auto text = read_file(path, 4 << 20);
  if (!text) return out;
  for (const auto& line : split(*text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    out.push_back(split(line, ':'));
  }
  return out;
}

Result<ResolvedUser> resolve_user(const std::string& rootfs, const std::string& user,
                                  const std::vector<std::string>& group_add) {
  ResolvedUser r;
  auto passwd = TRY(read_colon_file(rootfs + "/etc/passwd"));
  auto groups = TRY(read_colon_file(rootfs + "/etc/group"));
  auto [u, g] = split_once(user, ':');
  std::string uname;
  if (!u.empty()) {
    if (auto n = parse_uint(u)) {
      r.uid = static_cast<uid_t>(*n);
      for (const auto& p : passwd)
        if (p.size() >= 4 && p[2] == u) {
          r.gid = static_cast<gid_t>(parse_uint(p[3]).value_or(0));
          uname = p[0];
        }
    } else {
      bool found = false;
      for (const auto& p : passwd)
        if (p.size() >= 4 && p[0] == u) {
          r.uid = static_cast<uid_t>(parse_uint(p[2]).value_or(0));
          r.gid = static_cast<gid_t>(parse_uint(p[3]).value_or(0));
          uname = p[0];
          found = true;
        }
      if (!found)
        return fail(Errc::InvalidArgument,
                    "unable to find user " + std::string(u) + ": no matching entries in passwd file");
    }
  }
  if (!g.empty()) {
    if (auto n = parse_uint(g)) {
      r.gid = static_cast<gid_t>(*n);
    } else {
      bool found = false;
      for (const auto& gr : groups)
        if (gr.size() >= 3 && gr[0] == g) {
          r.gid = static_cast<gid_t>(parse_uint(gr[2]).value_or(0));
          found = true;
        }
      if (!found)
        return fail(Errc::InvalidArgument,
                    "unable to find group " + std::string(g) + ": no matching entries in group file");
    }
  } else if (!uname.empty()) {
    // supplementary groups of the user
    for (const auto& gr : groups) {
      if (gr.size() < 4) continue;
      for (const auto& m : split(gr[3], ','))
        if (m == uname) r.additional_gids.push_back(static_cast<gid_t>(parse_uint(gr[2]).value_or(0)));
    }
  }
  for (const auto& ga : group_add) {
    if (auto n = parse_uint(ga)) {
      r.additional_gids.push_back(static_cast<gid_t>(*n));
      continue;
    }
    bool found = false;
    for (const auto& gr : groups)
      if (gr.size() >= 3 && gr[0] == ga) {
        r.additional_gids.push_back(static_cast<gid_t>(parse_uint(gr[2]).value_or(0)));
        found = true;
      }
    if (!found) return fail(Errc::InvalidArgument, "Unable to find group " + ga);
  }
  return r;
}

static json mount(const std::string& dst, const std::string& type, const std::string& src,
                  std::vector<std::string> opts) {
  return json{{"destination", dst}, {"type", type}, {"source", src}, {"options", opts}};
}

static std::optional<int> rlimit_known(const std::string& name) {
  static const std::set<std::string> names = {"core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue",
                                              "nice", "nofile", "nproc", "rss", "rtprio", "rttime",
                                              "sigpending", "stack", "as"};
  return names.count(name) ? std::optional<int>(1) : std::nullopt;
}

Result<std::string> generate_spec(const SpecInput& in, std::vector<std::string>* warnings) {
  const json& c = *in.config;
  const json& h = *in.host_config;
  try {
    bool privileged = hc<bool>(h, "Privileged", false);
    json spec;
    spec["ociVersion"] = "1.0.2";
    json proc;
    // Tty: the runtime sends the pty master to berth-shim's console socket
    proc["terminal"] = hc<bool>(c, "Tty", false);
    if (proc["terminal"].get<bool>()) {
      auto cs = hc<json>(h, "ConsoleSize", json::array());
      if (cs.is_array() && cs.size() == 2 && cs[0].is_number_unsigned() && cs[1].is_number_unsigned() &&
          cs[0].get<unsigned>() > 0 && cs[1].get<unsigned>() > 0)
        proc["consoleSize"] = {{"height", cs[0]}, {"width", cs[1]}};
    }
    proc["user"] = {{"uid", in.user.uid}, {"gid", in.user.gid}};
    if (!in.user.additional_gids.empty()) proc["user"]["additionalGids"] = in.user.additional_gids;
    std::vector<std::string> args;
    for (const auto& k : {"Entrypoint", "Cmd"}) {
      if (c.contains(k) && c[k].is_array())
        for (const auto& a : c[k]) args.push_back(a.get<std::string>());
    }
    if (args.empty()) return fail(Errc::InvalidArgument, "no command specified");
    if (hc<bool>(h, "Init", false) && !in.init_path.empty()) args.insert(args.begin(), {"/sbin/docker-init", "--"});
    proc["args"] = args;
    std::vector<std::string> env = hc<std::vector<std::string>>(c, "Env", {});
    for (auto it = in.link_env.rbegin(); it != in.link_env.rend(); ++it) {
      std::string key = it->substr(0, it->find('=') + 1);
      if (std::none_of(env.begin(), env.end(), [&](const std::string& e) { return e.rfind(key, 0) == 0; }))
        env.insert(env.begin(), *it);
    }
    bool has_path = false, has_home = false;
    for (const auto& e : env) {
      if (e.rfind("PATH=", 0) == 0) has_path = true;
      if (e.rfind("HOME=", 0) == 0) has_home = true;
    }
    if (!has_path) env.insert(env.begin(), "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    if (!in.hostname.empty()) env.insert(env.begin() + 1, "HOSTNAME=" + in.hostname);
    if (!has_home) env.push_back(in.user.uid == 0 ? "HOME=/root" : "HOME=/");
    if (hc<bool>(c, "Tty", false) &&
        std::none_of(env.begin(), env.end(), [](const std::string& e) { return e.rfind("TERM=", 0) == 0; }))
      env.push_back("TERM=xterm");
    proc["env"] = env;
    std::string cwd = hc<std::string>(c, "WorkingDir", "");
    proc["cwd"] = cwd.empty() ? "/" : cwd;
    auto caps = TRY(effective_capabilities(h));
    proc["capabilities"] = {{"bounding", caps}, {"effective", caps}, {"permitted", caps}};
    json rlimits = json::array();
    for (const auto& u : hc<json>(h, "Ulimits", json::array())) {
      std::string n = u.value("Name", "");
      if (!rlimit_known(n)) return fail(Errc::InvalidArgument, "invalid ulimit type: " + n);
      rlimits.push_back({{"type", "RLIMIT_" + upper(n)}, {"soft", u.value("Soft", 0LL)}, {"hard", u.value("Hard", 0LL)}});
    }
    if (!rlimits.empty()) proc["rlimits"] = rlimits;
    if (h.contains("OomScoreAdj") && h["OomScoreAdj"].is_number() && h["OomScoreAdj"].get<int>() != 0)
      proc["oomScoreAdj"] = h["OomScoreAdj"];
    bool nnp = false;
    std::string seccomp_mode = privileged ? "unconfined" : "default";
    std::string seccomp_profile;
    for (const auto& so : hc<std::vector<std::string>>(h, "SecurityOpt", {})) {
      auto [k, v] = split_once(so, so.find('=') != std::string::npos ? '=' : ':');
      if (k == "no-new-privileges") {
        nnp = v.empty() || v == "true";
      } else if (k == "seccomp") {
        if (v == "unconfined") seccomp_mode = "unconfined";
        else {
          seccomp_mode = "custom";
          seccomp_profile = std::string(v);
        }
      } else if (k == "apparmor" || k == "label") {
        if (warnings) warnings->push_back("security option " + std::string(k) + " is not supported and was ignored");
      } else {
        return fail(Errc::InvalidArgument, "invalid --security-opt: " + so);
      }
    }
    proc["noNewPrivileges"] = nnp;
    spec["process"] = proc;
    spec["root"] = {{"path", in.rootfs}, {"readonly", hc<bool>(h, "ReadonlyRootfs", false)}};
    spec["hostname"] = in.hostname;

    // ---- mounts ----
    json mounts = json::array();
    std::int64_t shm = hc<std::int64_t>(h, "ShmSize", 0);
    if (shm <= 0) shm = 64 << 20;
    mounts.push_back(mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}));
    mounts.push_back(mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}));
    mounts.push_back(mount("/dev/pts", "devpts", "devpts",
                           {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}));
    mounts.push_back(mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", privileged ? "rw" : "ro"}));
    mounts.push_back(mount("/sys/fs/cgroup", "cgroup", "cgroup",
                           {"nosuid", "noexec", "nodev", "relatime", privileged ? "rw" : "ro"}));
    mounts.push_back(mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}));
    mounts.push_back(mount("/dev/shm", "tmpfs", "shm",
                           {"nosuid", "noexec", "nodev", "mode=1777", "size=" + std::to_string(shm)}));
    if (hc<bool>(h, "Init", false) && !in.init_path.empty())
      mounts.push_back(mount("/sbin/docker-init", "bind", in.init_path, {"bind", "ro", "nosuid", "nodev"}));
    std::set<std::string> user_dsts;
    json user_mounts = json::array();
    if (in.user_mounts)
      for (const auto& m : *in.user_mounts) {
        user_dsts.insert(m.value("destination", ""));
        user_mounts.push_back(m);
      }
    auto etc = [&](const std::string& dst, const std::string& src) {
      if (src.empty() || user_dsts.count(dst)) return;
      mounts.push_back(mount(dst, "bind", src, {"rbind", "rprivate", hc<bool>(h, "ReadonlyRootfs", false) ? "ro" : "rw"}));
    };
    etc("/etc/resolv.conf", in.resolv_path);
    etc("/etc/hostname", in.hostname_path);
    etc("/etc/hosts", in.hosts_path);
    for (auto& m : user_mounts) mounts.push_back(std::move(m));
    spec["mounts"] = mounts;

    // ---- linux ----
    json lin;
    json ns = json::array({{{"type", "mount"}}});
    auto ns_mode = [&](const char* key, const char* type, bool default_private) -> Status {
      std::string mode = hc<std::string>(h, key, "");
      if (std::string(type) == "network" && !in.netns_path.empty()) {
        ns.push_back({{"type", type}, {"path", in.netns_path}});
        return ok();
      }
      if (mode == "host") return ok();
      if (mode.rfind("container:", 0) == 0) {
        if (!in.container_pid) return fail(Errc::InvalidArgument, std::string(key) + " container mode unsupported");
        int pid = TRY(in.container_pid(mode.substr(10)));
        ns.push_back({{"type", type}, {"path", "/proc/" + std::to_string(pid) + "/ns/" +
                                                  (std::string(type) == "network" ? "net" : type)}});
        return ok();
      }
      if (default_private || mode.empty() || mode == "private" || mode == "shareable" || mode == "none" ||
          mode == "bridge" || mode == "default")
        ns.push_back({{"type", type}});
      return ok();
    };
    TRY(ns_mode("PidMode", "pid", false));
    TRY(ns_mode("IpcMode", "ipc", false));
    TRY(ns_mode("UTSMode", "uts", false));
    TRY(ns_mode("NetworkMode", "network", false));
    // --cgroupns host: the host's cgroup namespace (the container sees its path below the root)
    if (hc<std::string>(h, "CgroupnsMode", "") != "host") ns.push_back({{"type", "cgroup"}});
    lin["namespaces"] = ns;
    json res;
    json devices = json::array();
    if (privileged) {
      devices.push_back({{"allow", true}, {"access", "rwm"}});
    } else {
      devices.push_back({{"allow", false}, {"access", "rwm"}});
      // Docker's default allow list (runc adds the device nodes themselves).
      struct D { const char* type; int major, minor; const char* access; };
      static const D defs[] = {{"c", -1, -1, "m"}, {"b", -1, -1, "m"}, {"c", 1, 3, "rwm"},  {"c", 1, 8, "rwm"},
                               {"c", 1, 7, "rwm"}, {"c", 5, 0, "rwm"}, {"c", 1, 5, "rwm"},  {"c", 1, 9, "rwm"},
                               {"c", 136, -1, "rwm"}, {"c", 5, 2, "rwm"}, {"c", 10, 200, "rwm"}};
      for (const auto& d : defs) {
        json r{{"allow", true}, {"type", d.type}, {"access", d.access}};
        if (d.major >= 0) r["major"] = d.major;
        if (d.minor >= 0) r["minor"] = d.minor;
        devices.push_back(r);
      }
    }
    json lin_devices = json::array();
    for (const auto& d : hc<json>(h, "Devices", json::array())) {
      std::string host = d.value("PathOnHost", ""), ctr = d.value("PathInContainer", "");
      std::string perms = d.value("CgroupPermissions", "rwm");
      if (ctr.empty()) ctr = host;
      struct stat st{};
      if (host.empty() || ::stat(host.c_str(), &st) != 0 || !(S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)))
        return fail(Errc::InvalidArgument, "error gathering device information while adding custom device \"" + host + "\": not a device node");
      std::string t = S_ISCHR(st.st_mode) ? "c" : "b";
      lin_devices.push_back({{"path", ctr}, {"type", t}, {"major", major(st.st_rdev)}, {"minor", minor(st.st_rdev)},
                             {"fileMode", st.st_mode & 07777}, {"uid", 0}, {"gid", 0}});
      devices.push_back({{"allow", true}, {"type", t}, {"major", major(st.st_rdev)}, {"minor", minor(st.st_rdev)}, {"access", perms}});
    }
    for (const auto& rule : hc<std::vector<std::string>>(h, "DeviceCgroupRules", {})) {
      // "c 1:3 rwm"
      auto parts = split(rule, ' ');
      if (parts.size() != 3) return fail(Errc::InvalidArgument, "invalid device cgroup rule: " + rule);
      auto [mj, mn] = split_once(parts[1], ':');
      json r{{"allow", true}, {"type", parts[0]}, {"access", parts[2]}};
      if (mj != "*") r["major"] = parse_int(mj).value_or(0);
      if (mn != "*") r["minor"] = parse_int(mn).value_or(0);
      devices.push_back(r);
    }
    if (!lin_devices.empty()) lin["devices"] = lin_devices;
    res["devices"] = devices;
    json mem;
    auto i64 = [&](const char* k) { return hc<std::int64_t>(h, k, 0); };
    if (i64("Memory") > 0) mem["limit"] = i64("Memory");
    if (i64("MemorySwap") != 0) mem["swap"] = i64("MemorySwap");
    else if (i64("Memory") > 0) mem["swap"] = i64("Memory") * 2;
    if (i64("MemoryReservation") > 0) mem["reservation"] = i64("MemoryReservation");
    if (!mem.empty()) res["memory"] = mem;
    json cpu;
    if (i64("NanoCpus") > 0) {
      if (i64("CpuQuota") > 0 || i64("CpuPeriod") > 0)
        return fail(Errc::InvalidArgument, "Conflicting options: Nano CPUs and CPU Period/Quota cannot both be set");
      cpu["period"] = 100000;
      cpu["quota"] = i64("NanoCpus") * 100000 / 1000000000;
    }
    if (i64("CpuQuota") > 0) cpu["quota"] = i64("CpuQuota");
    if (i64("CpuPeriod") > 0) cpu["period"] = i64("CpuPeriod");
    if (i64("CpuShares") > 0) cpu["shares"] = i64("CpuShares");
    if (!hc<std::string>(h, "CpusetCpus", "").empty()) cpu["cpus"] = h["CpusetCpus"];
    if (!hc<std::string>(h, "CpusetMems", "").empty()) cpu["mems"] = h["CpusetMems"];
    if (!cpu.empty()) res["cpu"] = cpu;
    if (h.contains("PidsLimit") && h["PidsLimit"].is_number() && h["PidsLimit"].get<std::int64_t>() != 0)
      res["pids"] = {{"limit", h["PidsLimit"].get<std::int64_t>()}};
    if (i64("BlkioWeight") > 0) {
      // dockerd's rule: without a weight file (no BFQ/CFQ scheduler) the weight is dropped with
      // a warning rather than failing the start.
      if (blkio_weight_supported())
        res["blockIO"] = {{"weight", i64("BlkioWeight")}};
      else if (warnings)
        warnings->push_back("Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.");
    }
    lin["resources"] = res;
    if (!in.cgroups_path.empty()) lin["cgroupsPath"] = in.cgroups_path;
    if (h.contains("Sysctls") && h["Sysctls"].is_object() && !h["Sysctls"].empty()) lin["sysctl"] = h["Sysctls"];
    if (!privileged) {
      // HostConfig's lists when the client set them (the docker CLI sends empty ones for
      // `--security-opt systempaths=unconfined`), dockerd's defaults otherwise.
      auto paths = [&](const char* key, std::vector<std::string> dflt) -> json {
        if (!h.contains(key) || h[key].is_null()) return dflt;
        if (!h[key].is_array()) throw std::invalid_argument(std::string(key) + " must be a list of paths");
        for (const auto& p : h[key])
          if (!p.is_string() || p.get<std::string>().empty() || p.get<std::string>()[0] != '/')
            throw std::invalid_argument(std::string(key) + ": not an absolute path: " + p.dump());
        return h[key];
      };
      lin["maskedPaths"] = paths("MaskedPaths", default_masked_paths());
      lin["readonlyPaths"] = paths("ReadonlyPaths", default_readonly_paths());
    }
    std::string seccomp_text;
    if (seccomp_mode == "default") seccomp_text = TRY(default_seccomp_text(caps));
    else if (seccomp_mode == "custom") lin["seccomp"] = TRY(convert_seccomp(seccomp_profile, caps));
    spec["linux"] = std::move(lin);
    std::string out = spec.dump();
    if (!seccomp_text.empty()) {
      // `"linux":{` is that key and nothing else: a quote inside a string is escaped, and only
      // the top level has a "linux" member.
      static constexpr std::string_view kLinux = "\"linux\":{";
      auto at = out.find(kLinux);
      if (at == std::string::npos) return fail(Errc::Internal, "spec without a linux section");
      at += kLinux.size();
      out.insert(at, "\"seccomp\":" + seccomp_text + (out[at] == '}' ? "" : ","));
    }
    return out;
  } catch (const std::exception& e) {
    return fail(Errc::InvalidArgument, std::string("invalid container configuration: ") + e.what());
  }
}

}  // namespace berth::daemon
