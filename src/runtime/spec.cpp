// SPDX-License-Identifier: Apache-2.0
#include "runtime/spec.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace berth::runtime {
namespace {

using json = nlohmann::json;

// The field being parsed, for error messages ("process.user.uid: type must be number").
struct Where {
  std::string path;
  std::string prefix;  // "process.user."
};

template <class T>
void get_to(const json& j, const char* key, T& out, Where& w) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  w.path = w.prefix + key;
  out = it->template get<T>();
}
template <class T>
void get_opt(const json& j, const char* key, std::optional<T>& out, Where& w) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  w.path = w.prefix + key;
  out = it->template get<T>();
}

std::vector<std::string> strs(const json& j, const char* key, Where& w) {
  std::vector<std::string> v;
  get_to(j, key, v, w);
  return v;
}

Process process_from(const json& j, Where& w) {
  Process p;
  w.prefix = "process.";
  get_to(j, "terminal", p.terminal, w);
  if (auto cs = j.find("consoleSize"); cs != j.end() && cs->is_object()) {
    w.path = "process.consoleSize";
    p.console_height = cs->value("height", 0u);
    p.console_width = cs->value("width", 0u);
  }
  if (auto u = j.find("user"); u != j.end() && u->is_object()) {
    w.prefix = "process.user.";
    get_to(*u, "uid", p.user.uid, w);
    get_to(*u, "gid", p.user.gid, w);
    get_opt(*u, "umask", p.user.umask, w);
    get_to(*u, "additionalGids", p.user.additional_gids, w);
    w.prefix = "process.";
  }
  get_to(j, "args", p.args, w);
  get_to(j, "env", p.env, w);
  get_to(j, "cwd", p.cwd, w);
  if (auto c = j.find("capabilities"); c != j.end() && c->is_object()) {
    w.path = "process.capabilities";
    Capabilities caps;
    caps.bounding = strs(*c, "bounding", w);
    caps.effective = strs(*c, "effective", w);
    caps.inheritable = strs(*c, "inheritable", w);
    caps.permitted = strs(*c, "permitted", w);
    caps.ambient = strs(*c, "ambient", w);
    p.capabilities = std::move(caps);
  }
  if (auto r = j.find("rlimits"); r != j.end() && r->is_array()) {
    for (auto& e : *r) {
      w.path = "process.rlimits";
      Rlimit rl;
      rl.type = e.at("type").get<std::string>();
      rl.resource = rlimit_from_name(rl.type);
      if (rl.resource < 0) throw std::invalid_argument("unknown rlimit " + rl.type);
      rl.soft = e.value("soft", std::uint64_t{0});
      rl.hard = e.value("hard", std::uint64_t{0});
      p.rlimits.push_back(std::move(rl));
    }
  }
  get_to(j, "noNewPrivileges", p.no_new_privileges, w);
  get_to(j, "apparmorProfile", p.apparmor_profile, w);
  get_to(j, "selinuxLabel", p.selinux_label, w);
  get_opt(j, "oomScoreAdj", p.oom_score_adj, w);
  if (auto io = j.find("ioPriority"); io != j.end() && io->is_object()) {
    w.path = "process.ioPriority";
    std::string cls = io->value("class", "");
    if (cls == "IOPRIO_CLASS_RT") p.io_priority_class = 1;
    else if (cls == "IOPRIO_CLASS_BE") p.io_priority_class = 2;
    else if (cls == "IOPRIO_CLASS_IDLE") p.io_priority_class = 3;
    else throw std::invalid_argument("unknown class " + cls);
    p.io_priority = io->value("priority", 0);
  }
  if (auto s = j.find("scheduler"); s != j.end() && s->is_object()) {
    w.path = "process.scheduler";
    p.scheduler_policy = s->value("policy", "");
    p.scheduler_priority = s->value("priority", 0);
    p.scheduler_nice = s->value("nice", 0);
  }
  w.prefix.clear();
  return p;
}

std::vector<Hook> hooks_from(const json& j, const char* key, Where& w) {
  std::vector<Hook> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (auto& h : *it) {
    w.path = std::string("hooks.") + key;
    Hook hk;
    hk.path = h.at("path").get<std::string>();
    get_to(h, "args", hk.args, w);
    get_to(h, "env", hk.env, w);
    get_opt(h, "timeout", hk.timeout, w);
    if (hk.timeout && *hk.timeout <= 0) throw std::invalid_argument("timeout must be positive");
    out.push_back(std::move(hk));
  }
  return out;
}

std::vector<cgroups::ThrottleDevice> throttle_from(const json& j, const char* key, Where& w) {
  std::vector<cgroups::ThrottleDevice> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  w.path = std::string("linux.resources.blockIO.") + key;
  for (auto& e : *it) out.push_back({e.at("major").get<std::int64_t>(), e.at("minor").get<std::int64_t>(), e.at("rate").get<std::uint64_t>()});
  return out;
}

cgroups::Resources resources_from(const json& r, Where& w) {
  cgroups::Resources res;
  std::string saved = w.prefix;
  w.prefix = "linux.resources.";
  if (auto m = r.find("memory"); m != r.end() && m->is_object()) {
    w.path = "linux.resources.memory";
    get_opt(*m, "limit", res.memory.limit, w);
    get_opt(*m, "reservation", res.memory.reservation, w);
    get_opt(*m, "swap", res.memory.swap, w);
    get_opt(*m, "kernel", res.memory.kernel, w);
    get_opt(*m, "kernelTCP", res.memory.kernel_tcp, w);
    get_opt(*m, "swappiness", res.memory.swappiness, w);
    get_opt(*m, "disableOOMKiller", res.memory.disable_oom_killer, w);
    get_opt(*m, "useHierarchy", res.memory.use_hierarchy, w);
    get_opt(*m, "checkBeforeUpdate", res.memory.check_before_update, w);
  }
  if (auto c = r.find("cpu"); c != r.end() && c->is_object()) {
    w.path = "linux.resources.cpu";
    get_opt(*c, "shares", res.cpu.shares, w);
    get_opt(*c, "quota", res.cpu.quota, w);
    get_opt(*c, "period", res.cpu.period, w);
    get_opt(*c, "realtimeRuntime", res.cpu.realtime_runtime, w);
    get_opt(*c, "realtimePeriod", res.cpu.realtime_period, w);
    get_opt(*c, "idle", res.cpu.idle, w);
    get_to(*c, "cpus", res.cpu.cpus, w);
    get_to(*c, "mems", res.cpu.mems, w);
  }
  if (auto p = r.find("pids"); p != r.end() && p->is_object()) {
    w.path = "linux.resources.pids";
    get_opt(*p, "limit", res.pids_limit, w);
  }
  if (auto b = r.find("blockIO"); b != r.end() && b->is_object()) {
    w.path = "linux.resources.blockIO";
    get_opt(*b, "weight", res.blkio.weight, w);
    get_opt(*b, "leafWeight", res.blkio.leaf_weight, w);
    if (auto wd = b->find("weightDevice"); wd != b->end() && wd->is_array())
      for (auto& e : *wd) {
        cgroups::WeightDevice d;
        d.major = e.at("major").get<std::int64_t>();
        d.minor = e.at("minor").get<std::int64_t>();
        get_opt(e, "weight", d.weight, w);
        get_opt(e, "leafWeight", d.leaf_weight, w);
        res.blkio.weight_device.push_back(d);
      }
    res.blkio.read_bps = throttle_from(*b, "throttleReadBpsDevice", w);
    res.blkio.write_bps = throttle_from(*b, "throttleWriteBpsDevice", w);
    res.blkio.read_iops = throttle_from(*b, "throttleReadIOPSDevice", w);
    res.blkio.write_iops = throttle_from(*b, "throttleWriteIOPSDevice", w);
  }
  if (auto h = r.find("hugepageLimits"); h != r.end() && h->is_array()) {
    w.path = "linux.resources.hugepageLimits";
    for (auto& e : *h) res.hugepages.push_back({e.at("pageSize").get<std::string>(), e.at("limit").get<std::uint64_t>()});
  }
  if (auto d = r.find("devices"); d != r.end() && d->is_array()) {
    w.path = "linux.resources.devices";
    for (auto& e : *d) {
      cgroups::DeviceRule rule;
      rule.allow = e.at("allow").get<bool>();
      std::string t = e.value("type", "a");
      if (t.empty()) t = "a";
      if (t != "a" && t != "c" && t != "b") throw std::invalid_argument("bad device type " + t);
      rule.type = t[0];
      if (e.contains("major") && !e["major"].is_null()) rule.major = e["major"].get<std::int64_t>();
      if (e.contains("minor") && !e["minor"].is_null()) rule.minor = e["minor"].get<std::int64_t>();
      // Like runc (its device-rule emulator reads access as a set of r/w/m): other letters
      // are ignored, and a rule left with no access grants or denies nothing.
      std::string access = e.value("access", "rwm");
      if (access.empty()) throw std::invalid_argument("device access cannot be empty");
      rule.access.clear();
      for (char want : {'r', 'w', 'm'})
        if (access.find(want) != std::string::npos) rule.access += want;
      if (rule.access.empty()) continue;
      res.devices.push_back(rule);
    }
  }
  if (auto n = r.find("network"); n != r.end() && n->is_object()) {
    w.path = "linux.resources.network";
    get_opt(*n, "classID", res.network.class_id, w);
    if (auto pr = n->find("priorities"); pr != n->end() && pr->is_array())
      for (auto& e : *pr) res.network.priorities.emplace_back(e.at("name").get<std::string>(), e.at("priority").get<std::uint32_t>());
  }
  if (auto rd = r.find("rdma"); rd != r.end() && rd->is_object() && !rd->empty())
    throw std::invalid_argument("rdma: not supported by berth-runtime");
  if (auto u = r.find("unified"); u != r.end() && u->is_object()) {
    w.path = "linux.resources.unified";
    res.unified = u->get<std::map<std::string, std::string>>();
  }
  w.prefix = saved;
  return res;
}

security::SeccompProfile seccomp_from(const json& s, Where& w) {
  security::SeccompProfile p;
  w.path = "linux.seccomp";
  p.default_action = s.at("defaultAction").get<std::string>();
  get_opt(s, "defaultErrnoRet", p.default_errno_ret, w);
  get_to(s, "architectures", p.architectures, w);
  get_to(s, "flags", p.flags, w);
  get_to(s, "listenerPath", p.listener_path, w);
  get_to(s, "listenerMetadata", p.listener_metadata, w);
  if (auto sc = s.find("syscalls"); sc != s.end() && sc->is_array()) {
    for (auto& e : *sc) {
      w.path = "linux.seccomp.syscalls";
      security::SeccompSyscall sy;
      sy.names = e.at("names").get<std::vector<std::string>>();
      sy.action = e.at("action").get<std::string>();
      get_opt(e, "errnoRet", sy.errno_ret, w);
      if (auto a = e.find("args"); a != e.end() && a->is_array())
        for (auto& x : *a)
          sy.args.push_back({x.at("index").get<unsigned>(), x.value("value", std::uint64_t{0}),
                             x.value("valueTwo", std::uint64_t{0}), x.at("op").get<std::string>()});
      p.syscalls.push_back(std::move(sy));
    }
  }
  return p;
}

Linux linux_from(const json& l, Where& w) {
  Linux lx;
  w.prefix = "linux.";
  if (auto ns = l.find("namespaces"); ns != l.end() && ns->is_array()) {
    for (auto& e : *ns) {
      w.path = "linux.namespaces";
      Namespace n{e.at("type").get<std::string>(), e.value("path", "")};
      static const char* kTypes[] = {"pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"};
      bool known = false;
      for (auto* t : kTypes) known = known || n.type == t;
      if (!known) throw std::invalid_argument("unknown namespace type " + n.type);
      for (auto& prev : lx.namespaces)
        if (prev.type == n.type) throw std::invalid_argument("duplicate namespace " + n.type);
      lx.namespaces.push_back(std::move(n));
    }
  }
  auto maps = [&](const char* key, std::vector<IdMapping>& out) {
    auto it = l.find(key);
    if (it == l.end() || !it->is_array()) return;
    w.path = std::string("linux.") + key;
    for (auto& e : *it)
      out.push_back({e.at("containerID").get<std::uint32_t>(), e.at("hostID").get<std::uint32_t>(), e.at("size").get<std::uint32_t>()});
  };
  maps("uidMappings", lx.uid_mappings);
  maps("gidMappings", lx.gid_mappings);
  if (auto t = l.find("timeOffsets"); t != l.end() && t->is_object()) {
    w.path = "linux.timeOffsets";
    for (auto& [k, v] : t->items()) {
      lx.time_offsets_secs[k] = v.value("secs", std::int64_t{0});
      lx.time_offsets_nanosecs[k] = v.value("nanosecs", std::int64_t{0});
    }
  }
  if (auto d = l.find("devices"); d != l.end() && d->is_array()) {
    for (auto& e : *d) {
      w.path = "linux.devices";
      Device dev;
      dev.path = e.at("path").get<std::string>();
      dev.type = e.at("type").get<std::string>();
      if (dev.type != "c" && dev.type != "b" && dev.type != "u" && dev.type != "p")
        throw std::invalid_argument("bad device type " + dev.type);
      dev.major = e.value("major", std::int64_t{0});
      dev.minor = e.value("minor", std::int64_t{0});
      get_opt(e, "fileMode", dev.file_mode, w);
      get_opt(e, "uid", dev.uid, w);
      get_opt(e, "gid", dev.gid, w);
      lx.devices.push_back(std::move(dev));
    }
  }
  get_to(l, "cgroupsPath", lx.cgroups_path, w);
  if (auto r = l.find("resources"); r != l.end() && r->is_object()) lx.resources = resources_from(*r, w);
  get_to(l, "sysctl", lx.sysctl, w);
  if (auto s = l.find("seccomp"); s != l.end() && s->is_object()) lx.seccomp = seccomp_from(*s, w);
  get_to(l, "rootfsPropagation", lx.rootfs_propagation, w);
  get_to(l, "maskedPaths", lx.masked_paths, w);
  get_to(l, "readonlyPaths", lx.readonly_paths, w);
  get_to(l, "mountLabel", lx.mount_label, w);
  if (auto p = l.find("personality"); p != l.end() && p->is_object()) {
    w.path = "linux.personality";
    lx.personality_domain = p->value("domain", "");
  }
  if (auto ip = l.find("intelRdt"); ip != l.end() && ip->is_object() && !ip->empty())
    throw std::invalid_argument("intelRdt: not supported by berth-runtime");
  return lx;
}

template <class F>
auto guarded(std::string_view what, F&& f) -> Result<decltype(f(std::declval<Where&>()))> {
  Where w;
  try {
    return f(w);
  } catch (const std::exception& e) {
    std::string msg = std::string(what);
    if (!w.path.empty()) msg += ": " + w.path;
    return fail(Errc::InvalidArgument, msg + ": " + e.what());
  }
}

}  // namespace

int rlimit_from_name(std::string_view n) {
  static const std::pair<std::string_view, int> kR[] = {
      {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_FSIZE", RLIMIT_FSIZE},     {"RLIMIT_DATA", RLIMIT_DATA},
      {"RLIMIT_STACK", RLIMIT_STACK},     {"RLIMIT_CORE", RLIMIT_CORE},       {"RLIMIT_RSS", RLIMIT_RSS},
      {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_NOFILE", RLIMIT_NOFILE},   {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
      {"RLIMIT_AS", RLIMIT_AS},           {"RLIMIT_LOCKS", RLIMIT_LOCKS},     {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
      {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},     {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
      {"RLIMIT_RTTIME", RLIMIT_RTTIME}};
  for (auto& [name, v] : kR)
    if (name == n) return v;
  return -1;
}

Result<Spec> parse_spec(std::string_view text) {
  return guarded("config.json", [&](Where& w) {
    w.path = "(syntax)";
    auto j = json::parse(text);
    Spec s;
    get_to(j, "ociVersion", s.oci_version, w);
    if (auto r = j.find("root"); r != j.end() && r->is_object()) {
      w.path = "root";
      s.root_path = r->at("path").get<std::string>();
      s.root_readonly = r->value("readonly", false);
    }
    get_to(j, "hostname", s.hostname, w);
    get_to(j, "domainname", s.domainname, w);
    if (auto p = j.find("process"); p != j.end() && p->is_object()) s.process = process_from(*p, w);
    if (auto m = j.find("mounts"); m != j.end() && m->is_array()) {
      for (auto& e : *m) {
        w.path = "mounts";
        Mount mt;
        mt.destination = e.at("destination").get<std::string>();
        get_to(e, "type", mt.type, w);
        get_to(e, "source", mt.source, w);
        get_to(e, "options", mt.options, w);
        if (mt.destination.empty() || mt.destination[0] != '/')
          throw std::invalid_argument("destination " + mt.destination + " is not absolute");
        s.mounts.push_back(std::move(mt));
      }
    }
    if (auto h = j.find("hooks"); h != j.end() && h->is_object()) {
      s.hooks.prestart = hooks_from(*h, "prestart", w);
      s.hooks.create_runtime = hooks_from(*h, "createRuntime", w);
      s.hooks.create_container = hooks_from(*h, "createContainer", w);
      s.hooks.start_container = hooks_from(*h, "startContainer", w);
      s.hooks.poststart = hooks_from(*h, "poststart", w);
      s.hooks.poststop = hooks_from(*h, "poststop", w);
    }
    get_to(j, "annotations", s.annotations, w);
    if (auto l = j.find("linux"); l != j.end() && l->is_object()) s.linux_ = linux_from(*l, w);
    return s;
  });
}

Result<Process> parse_process(std::string_view text) {
  return guarded("process.json", [&](Where& w) {
    auto j = json::parse(text);
    return process_from(j, w);
  });
}

Result<cgroups::Resources> parse_resources(std::string_view text) {
  return guarded("resources", [&](Where& w) {
    auto j = json::parse(text);
    return resources_from(j, w);
  });
}

std::string default_spec_json(bool rootless) {
  json caps = json::array({"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"});
  json j = {
      {"ociVersion", "1.0.2-dev"},
      {"process",
       {{"terminal", true},
        {"user", {{"uid", 0}, {"gid", 0}}},
        {"args", {"sh"}},
        {"env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"}},
        {"cwd", "/"},
        {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}, {"ambient", caps}}},
        {"rlimits", {{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}}},
        {"noNewPrivileges", true}}},
      {"root", {{"path", "rootfs"}, {"readonly", true}}},
      {"hostname", "runc"},
      {"mounts",
       {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
        {{"destination", "/dev"}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
        {{"destination", "/dev/pts"}, {"type", "devpts"}, {"source", "devpts"},
         {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}}},
        {{"destination", "/dev/shm"}, {"type", "tmpfs"}, {"source", "shm"}, {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}},
        {{"destination", "/dev/mqueue"}, {"type", "mqueue"}, {"source", "mqueue"}, {"options", {"nosuid", "noexec", "nodev"}}},
        {{"destination", "/sys"}, {"type", "sysfs"}, {"source", "sysfs"}, {"options", {"nosuid", "noexec", "nodev", "ro"}}},
        {{"destination", "/sys/fs/cgroup"}, {"type", "cgroup"}, {"source", "cgroup"}, {"options", {"nosuid", "noexec", "nodev", "relatime", "ro"}}}}},
      {"linux",
       {{"resources", {{"devices", {{{"allow", false}, {"access", "rwm"}}}}}},
        // runc 1.1's set: no cgroup namespace (its test suite depends on that).
        {"namespaces", {{{"type", "pid"}}, {{"type", "network"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}}},
        {"maskedPaths", {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                         "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"}},
        {"readonlyPaths", {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}}}}};
  if (rootless) {
    auto& l = j["linux"];
    l.erase("resources");
    // Like runc: the caller's ids.
    l["uidMappings"] = {{{"containerID", 0}, {"hostID", ::geteuid()}, {"size", 1}}};
    l["gidMappings"] = {{{"containerID", 0}, {"hostID", ::getegid()}, {"size", 1}}};
    l["namespaces"] = {{{"type", "pid"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}, {{"type", "user"}}};
    auto& mounts = j["mounts"];
    for (auto& m : mounts) {
      if (m["destination"] == "/sys") {
        m = {{"destination", "/sys"}, {"type", "none"}, {"source", "/sys"}, {"options", {"rbind", "nosuid", "noexec", "nodev", "ro"}}};
      }
      if (m["destination"] == "/dev/pts") m["options"] = {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"};
    }
  }
  return j.dump(1, '\t') + "\n";
}

}  // namespace berth::runtime
