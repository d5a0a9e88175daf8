// SPDX-License-Identifier: Apache-2.0
#include "cgroups/cgroups.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <thread>

#include "common/file.hpp"
#include "common/path.hpp"
#include "common/strings.hpp"

namespace berth::cgroups {
namespace {

const char* const kV1Controllers[] = {"cpu",     "cpuacct",  "cpuset",     "memory",
                                      "pids",    "blkio",    "devices",    "freezer",
                                      "hugetlb", "net_cls",  "net_prio",   "perf_event",
                                      "rdma",    "misc",     "name=systemd"};

Status write_value(const std::string& dir, const std::string& file, const std::string& value) {
  std::string p = dir + "/" + file;
  int fd = ::open(p.c_str(), O_WRONLY | O_CLOEXEC | O_TRUNC);
  if (fd < 0) return fail_errno("open", p);
  ssize_t n = ::write(fd, value.data(), value.size());
  int err = errno;
  ::close(fd);
  if (n < 0) return fail(Error::from_errno(err, "write " + value + " to", p));
  return ok();
}

std::string read_trim(const std::string& p) {
  auto r = read_file(p, 1 << 20);
  if (!r) return {};
  return std::string(trim(*r));
}

std::uint64_t read_u64(const std::string& p) {
  auto v = parse_uint(read_trim(p));
  return v ? *v : 0;
}

// "key value" lines (memory.stat, cpu.stat).
void read_keyed(const std::string& p, std::map<std::string, std::uint64_t>* out) {
  for (auto& l : split(read_trim(p), '\n')) {
    auto [k, v] = split_once(l, ' ');
    if (auto n = parse_uint(v)) (*out)[std::string(k)] = *n;
  }
}

// cpu.stat throttling counters; v1 reports throttled_time in ns, v2 throttled_usec.
void read_throttling(const std::string& p, std::uint64_t usec_to_ns, Stats* s) {
  std::map<std::string, std::uint64_t> m;
  read_keyed(p, &m);
  s->throttle_periods = m["nr_periods"];
  s->throttled_periods = m["nr_throttled"];
  s->throttled_time_ns = usec_to_ns == 1 ? m["throttled_time"] : m["throttled_usec"] * usec_to_ns;
}

}  // namespace

std::uint64_t shares_to_weight(std::uint64_t shares) {
  if (shares == 0) return 0;
  if (shares < 2) shares = 2;
  if (shares > 262144) shares = 262144;
  return 1 + ((shares - 2) * 9999) / 262142;
}

std::string device_rule_string(const DeviceRule& r) {
  auto num = [](std::int64_t v) { return v < 0 ? std::string("*") : std::to_string(v); };
  std::string s(1, r.type);
  if (r.type == 'a') return "a *:* " + (r.access.empty() ? std::string("rwm") : r.access);
  s += " " + num(r.major) + ":" + num(r.minor) + " " + (r.access.empty() ? "rwm" : r.access);
  return s;
}

Result<Manager> Manager::open(const std::string& cgroups_path, const Options& opts) {
  Manager m;
  if (cgroups_path.find(':') != std::string::npos && cgroups_path.find('/') == std::string::npos)
    return fail(Errc::InvalidArgument,
                "linux.cgroupsPath " + cgroups_path + ": systemd cgroup paths need --systemd-cgroup, "
                "which berth-runtime does not support");
  m.path_ = clean_path("/" + cgroups_path);
  if (m.path_ == "/" ) return fail(Errc::InvalidArgument, "linux.cgroupsPath must not be the root cgroup");
  if (!opts.v2_root.empty()) {
    m.mode_ = Mode::V2;
    m.unified_ = opts.v2_root;
    return m;
  }
  struct statfs sf {};
  if (::statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC) {
    m.mode_ = Mode::V2;
    m.unified_ = "/sys/fs/cgroup";
    return m;
  }
  // v1: find the controllers' mount points in mountinfo.
  auto mi = TRYC(read_file("/proc/self/mountinfo"), "cgroups");
  for (auto& line : split(mi, '\n')) {
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    auto pre = split(line.substr(0, dash), ' ');
    auto post = split(line.substr(dash + 3), ' ');
    if (pre.size() < 5 || post.size() < 3) continue;
    const std::string& mp = pre[4];
    if (post[0] == "cgroup2") {
      if (m.unified_.empty()) m.unified_ = mp;
      continue;
    }
    if (post[0] != "cgroup") continue;
    for (auto& opt : split(post[2], ',')) {
      for (const char* c : kV1Controllers)
        if (opt == c && !m.v1_.count(opt)) m.v1_[opt] = mp;
    }
  }
  if (m.v1_.empty() && m.unified_.empty())
    return fail(Errc::Unavailable, "cgroups: no cgroup hierarchy is mounted");
  if (m.v1_.empty()) {
    m.mode_ = Mode::V2;
  } else {
    m.mode_ = m.unified_.empty() ? Mode::V1 : Mode::Hybrid;
  }
  return m;
}

std::string Manager::dir(const std::string& controller) const {
  if (mode_ == Mode::V2) return unified_ + path_;
  auto it = v1_.find(controller);
  if (it == v1_.end()) return {};
  return it->second + path_;
}

bool Manager::exists() const {
  if (mode_ == Mode::V2) return path_exists(unified_ + path_);
  for (auto& [c, mp] : v1_)
    if (path_exists(mp + path_)) return true;
  return false;
}

Status Manager::create() {
  if (mode_ == Mode::V2) {
    // Enable the controllers in every ancestor's subtree_control.
    std::string cur = unified_;
    auto parts = split(path_.substr(1), '/');
    for (std::size_t i = 0; i < parts.size(); ++i) {
      std::string ctl;
      for (auto& c : split(read_trim(cur + "/cgroup.controllers"), ' ')) {
        if (c.empty()) continue;
        ctl += (ctl.empty() ? "+" : " +") + c;
      }
      if (!ctl.empty()) (void)write_value(cur, "cgroup.subtree_control", ctl);
      cur += "/" + parts[i];
      bool made = ::mkdir(cur.c_str(), 0755) == 0;
      if (!made && errno != EEXIST) return fail_errno("mkdir cgroup", cur);
      fresh_ = made;
    }
    return ok();
  }
  // mkdir straight away (no stat first); a directory we made ourselves is known to be empty,
  // so callers can skip looking inside it (fresh()).
  fresh_ = true;
  std::vector<std::string> done;
  for (auto& [c, mp] : v1_) {
    if (std::find(done.begin(), done.end(), mp) != done.end()) continue;  // co-mounted
    done.push_back(mp);
    std::string d = mp + path_;
    if (c == "cpuset") {
      // Each new cpuset level must have cpus/mems before tasks can join.
      std::string cur = mp;
      for (auto& part : split(path_.substr(1), '/')) {
        std::string parent = cur;
        cur += "/" + part;
        bool made = ::mkdir(cur.c_str(), 0755) == 0;
        if (!made && errno != EEXIST) return fail_errno("mkdir cgroup", cur);
        if (!made && cur == d) fresh_ = false;
        for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
          if (made || read_trim(cur + "/" + f).empty()) {
            auto v = read_trim(parent + "/" + f);
            if (!v.empty()) TRY(write_value(cur, f, v));
          }
        }
      }
      continue;
    }
    if (::mkdir(d.c_str(), 0755) == 0) continue;
    if (errno == EEXIST) {
      fresh_ = false;
      continue;
    }
    if (errno != ENOENT) return fail(Error::from_errno(errno, "mkdir cgroup", d).context("create cgroup " + c));
    auto st = mkdir_all(d, 0755);
    if (!st) return fail(std::move(st.error()).context("create cgroup " + c));
  }
  if (mode_ == Mode::Hybrid) (void)mkdir_all(unified_ + path_, 0755);
  return ok();
}

Status Manager::apply(pid_t pid) {
  std::string p = std::to_string(pid);
  if (mode_ == Mode::V2) return write_value(unified_ + path_, "cgroup.procs", p);
  // A hierarchy without our directory is skipped (ENOENT from the write), no stat first.
  std::vector<std::string> done;
  for (auto& [c, mp] : v1_) {
    if (std::find(done.begin(), done.end(), mp) != done.end()) continue;  // co-mounted
    done.push_back(mp);
    auto st = write_value(mp + path_, "cgroup.procs", p);
    if (!st && !st.error().is(Errc::NotFound)) return fail(std::move(st.error()).context("join cgroup " + c));
  }
  if (mode_ == Mode::Hybrid) (void)write_value(unified_ + path_, "cgroup.procs", p);
  return ok();
}

Status Manager::apply_sub(pid_t pid, const std::map<std::string, std::string>& sub) {
  auto pick = [&](const std::string& c) {
    auto it = sub.find(c);
    if (it == sub.end()) it = sub.find("");
    return it == sub.end() ? std::string() : it->second;
  };
  for (auto& [c, s] : sub)
    if (!c.empty() && mode_ != Mode::V2 && !v1_.contains(c))
      return fail(Errc::InvalidArgument, "unknown controller " + c);
  std::string p = std::to_string(pid);
  auto join = [&](std::string d, const std::string& s) -> Status {
    if (!s.empty()) d += "/" + s;
    std::string f = d + "/cgroup.procs";
    int fd = ::open(f.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0 || ::write(fd, p.data(), p.size()) < 0) {
      int e = errno;
      if (fd >= 0) ::close(fd);
      // runc's wording (tools match it): lower-case errno text.
      std::string why = std::strerror(e);
      if (!why.empty()) why[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(why[0])));
      return fail(Error(Errc::Unavailable, "adding pid " + p + " to cgroups: " + (fd < 0 ? "open " : "write ") + f + ": " + why));
    }
    ::close(fd);
    return ok();
  };
  if (mode_ == Mode::V2) {
    std::string s = pick("");
    for (auto& [c, v] : sub)
      if (s.empty()) s = v;
    return join(unified_ + path_, s);
  }
  // Co-mounted controllers (cpu,cpuacct) share a directory: join each mount once, into the
  // sub-cgroup named for any of its controllers.
  std::map<std::string, std::string> per_mount;
  for (auto& [c, mp] : v1_) {
    auto& cur = per_mount[mp];
    if (auto sp = pick(c); cur.empty() || (sub.contains(c) && !sp.empty())) cur = sp;
  }
  for (auto& [mp, sp] : per_mount) {
    std::string d = mp + path_;
    if (!path_exists(d)) continue;
    TRY(join(d, sp));
  }
  if (mode_ == Mode::Hybrid && path_exists(unified_ + path_)) (void)join(unified_ + path_, "");
  return ok();
}

Status Manager::set(const Resources& r) {
  return mode_ == Mode::V2 ? set_v2(r) : set_v1(r);
}

Status Manager::set_v1(const Resources& r) {
  auto need = [&](const char* c) -> Result<std::string> {
    auto d = dir(c);
    if (d.empty()) return fail(Errc::Unavailable, std::string("cgroup controller ") + c + " is not mounted");
    return d;
  };
  const auto& m = r.memory;
  if (m.limit || m.swap || m.reservation || m.kernel || m.kernel_tcp || m.swappiness ||
      m.disable_oom_killer) {
    auto d = TRYC(need("memory"), "linux.resources.memory");
    if (m.reservation) TRY(write_value(d, "memory.soft_limit_in_bytes", std::to_string(*m.reservation)));
    // The order matters: memsw must stay >= limit at every step.
    if (m.limit) {
      auto cur_limit = read_u64(d + "/memory.limit_in_bytes");
      bool has_swap_file = path_exists(d + "/memory.memsw.limit_in_bytes");
      // Lifting the limit (-1) without a swap value lifts memory+swap too (runc's update), else
      // the kernel refuses a limit above memsw.
      auto swap = m.swap;
      if (!swap && *m.limit == -1 && has_swap_file) swap = -1;
      if (swap && !has_swap_file && *swap != *m.limit && *swap != 0)
        return fail(Errc::Unavailable, "linux.resources.memory.swap: swap accounting is not enabled in this kernel");
      if (swap && has_swap_file && (*swap == -1 || static_cast<std::uint64_t>(*swap) > cur_limit)) {
        TRY(write_value(d, "memory.memsw.limit_in_bytes", std::to_string(*swap)));
        TRY(write_value(d, "memory.limit_in_bytes", std::to_string(*m.limit)));
      } else {
        TRY(write_value(d, "memory.limit_in_bytes", std::to_string(*m.limit)));
        if (swap && has_swap_file) TRY(write_value(d, "memory.memsw.limit_in_bytes", std::to_string(*swap)));
        else if (!swap && has_swap_file && *m.limit > 0)
          (void)write_value(d, "memory.memsw.limit_in_bytes", std::to_string(*m.limit * 2));
      }
    } else if (m.swap) {
      if (!path_exists(d + "/memory.memsw.limit_in_bytes"))
        return fail(Errc::Unavailable, "linux.resources.memory.swap: swap accounting is not enabled in this kernel");
      TRY(write_value(d, "memory.memsw.limit_in_bytes", std::to_string(*m.swap)));
    }
    if (m.kernel && path_exists(d + "/memory.kmem.limit_in_bytes"))
      (void)write_value(d, "memory.kmem.limit_in_bytes", std::to_string(*m.kernel));
    if (m.kernel_tcp)
      TRYC(write_value(d, "memory.kmem.tcp.limit_in_bytes", std::to_string(*m.kernel_tcp)), "linux.resources.memory.kernelTCP");
    if (m.swappiness && *m.swappiness <= 100)
      TRY(write_value(d, "memory.swappiness", std::to_string(*m.swappiness)));
    if (m.disable_oom_killer && *m.disable_oom_killer)
      TRY(write_value(d, "memory.oom_control", "1"));
  }
  const auto& c = r.cpu;
  if (c.shares || c.quota || c.period || c.realtime_runtime || c.realtime_period) {
    auto d = TRYC(need("cpu"), "linux.resources.cpu");
    if (c.shares) TRY(write_value(d, "cpu.shares", std::to_string(*c.shares)));
    // A shorter period can be refused (EINVAL) while the old quota / new period would exceed
    // a parent's limit; when a quota comes too, write it first and the period again after
    // (runc's order).
    bool period_pending = false;
    if (c.period) {
      auto st = write_value(d, "cpu.cfs_period_us", std::to_string(*c.period));
      if (!st) {
        if (st.error().sys_errno() != EINVAL || !c.quota) return st;
        period_pending = true;
      }
    }
    if (c.quota) TRY(write_value(d, "cpu.cfs_quota_us", std::to_string(*c.quota)));
    if (period_pending) TRY(write_value(d, "cpu.cfs_period_us", std::to_string(*c.period)));
    if (c.realtime_period) TRYC(write_value(d, "cpu.rt_period_us", std::to_string(*c.realtime_period)), "linux.resources.cpu.realtimePeriod");
    if (c.realtime_runtime) TRYC(write_value(d, "cpu.rt_runtime_us", std::to_string(*c.realtime_runtime)), "linux.resources.cpu.realtimeRuntime");
  }
  if (c.idle && *c.idle != 0) return fail(Errc::Unavailable, "linux.resources.cpu.idle needs cgroup v2");
  if (!c.cpus.empty() || !c.mems.empty()) {
    auto d = TRYC(need("cpuset"), "linux.resources.cpu");
    if (!c.cpus.empty()) TRY(write_value(d, "cpuset.cpus", c.cpus));
    if (!c.mems.empty()) TRY(write_value(d, "cpuset.mems", c.mems));
  }
  if (r.pids_limit) {
    auto d = TRYC(need("pids"), "linux.resources.pids");
    TRY(write_value(d, "pids.max", *r.pids_limit > 0 ? std::to_string(*r.pids_limit) : "max"));
  }
  const auto& b = r.blkio;
  if (b.weight || b.leaf_weight || !b.weight_device.empty() || !b.read_bps.empty() ||
      !b.write_bps.empty() || !b.read_iops.empty() || !b.write_iops.empty()) {
    auto d = TRYC(need("blkio"), "linux.resources.blockIO");
    bool bfq = path_exists(d + "/blkio.bfq.weight");
    std::string wfile = bfq ? "blkio.bfq.weight" : "blkio.weight";
    if (b.weight) TRYC(write_value(d, wfile, std::to_string(*b.weight)), "linux.resources.blockIO.weight");
    if (b.leaf_weight) TRYC(write_value(d, "blkio.leaf_weight", std::to_string(*b.leaf_weight)), "linux.resources.blockIO.leafWeight");
    for (auto& w : b.weight_device)
      if (w.weight)
        TRYC(write_value(d, bfq ? "blkio.bfq.weight_device" : "blkio.weight_device",
                         std::to_string(w.major) + ":" + std::to_string(w.minor) + " " + std::to_string(*w.weight)),
             "linux.resources.blockIO.weightDevice");
    auto thr = [&](const std::vector<ThrottleDevice>& v, const char* f) -> Status {
      for (auto& t : v)
        TRYC(write_value(d, f, std::to_string(t.major) + ":" + std::to_string(t.minor) + " " + std::to_string(t.rate)),
             std::string("linux.resources.blockIO ") + f);
      return ok();
    };
    TRY(thr(b.read_bps, "blkio.throttle.read_bps_device"));
    TRY(thr(b.write_bps, "blkio.throttle.write_bps_device"));
    TRY(thr(b.read_iops, "blkio.throttle.read_iops_device"));
    TRY(thr(b.write_iops, "blkio.throttle.write_iops_device"));
  }
  if (!r.hugepages.empty()) {
    auto d = TRYC(need("hugetlb"), "linux.resources.hugepageLimits");
    for (auto& h : r.hugepages)
      TRYC(write_value(d, "hugetlb." + h.page_size + ".limit_in_bytes", std::to_string(h.limit)),
           "linux.resources.hugepageLimits");
  }
  if (!r.devices.empty()) {
    auto d = TRYC(need("devices"), "linux.resources.devices");
    // One rule per write(2), through one open fd per file (the kernel parses each write).
    UniqueFd allow, deny;
    for (auto& dr : r.devices) {
      UniqueFd& f = dr.allow ? allow : deny;
      std::string p = d + (dr.allow ? "/devices.allow" : "/devices.deny");
      if (!f) f = UniqueFd(::open(p.c_str(), O_WRONLY | O_CLOEXEC));
      if (!f) return fail(Error::from_errno(errno, "open", p).context("linux.resources.devices"));
      std::string rule = device_rule_string(dr);
      if (::write(f.get(), rule.data(), rule.size()) < 0)
        return fail(Error::from_errno(errno, "write " + rule + " to", p).context("linux.resources.devices"));
    }
  }
  if (r.network.class_id) {
    auto d = TRYC(need("net_cls"), "linux.resources.network");
    TRY(write_value(d, "net_cls.classid", std::to_string(*r.network.class_id)));
  }
  if (!r.network.priorities.empty()) {
    auto d = TRYC(need("net_prio"), "linux.resources.network");
    for (auto& [ifname, prio] : r.network.priorities)
      TRY(write_value(d, "net_prio.ifpriomap", ifname + " " + std::to_string(prio)));
  }
  // Like runc: unified (cgroup v2) keys are a configuration error unless the host is pure v2,
  // hybrid included (its v2 hierarchy has no controllers).
  if (!r.unified.empty())
    return fail(Errc::InvalidArgument,
                "invalid configuration: linux.resources.unified: cgroup v2 not enabled on this host, can't use cgroup v2 parameters");
  return ok();
}

Status Manager::set_v2(const Resources& r) {
  std::string d = unified_ + path_;
  const auto& m = r.memory;
  if (m.reservation) TRY(write_value(d, "memory.low", std::to_string(*m.reservation)));
  if (m.limit) {
    TRY(write_value(d, "memory.max", *m.limit < 0 ? "max" : std::to_string(*m.limit)));
  }
  if (m.swap) {
    // OCI swap is memory+swap; v2's memory.swap.max is swap alone.
    std::string v = "max";
    if (*m.swap >= 0) {
      if (!m.limit || *m.limit < 0)
        return fail(Errc::InvalidArgument, "linux.resources.memory.swap needs memory.limit on cgroup v2");
      if (*m.swap < *m.limit)
        return fail(Errc::InvalidArgument, "linux.resources.memory.swap must be >= memory.limit");
      v = std::to_string(*m.swap - *m.limit);
    }
    TRYC(write_value(d, "memory.swap.max", v), "linux.resources.memory.swap");
  }
  if (m.kernel || m.kernel_tcp)
    return fail(Errc::Unavailable, "linux.resources.memory.kernel/kernelTCP are not supported on cgroup v2");
  const auto& c = r.cpu;
  if (c.shares) TRY(write_value(d, "cpu.weight", std::to_string(shares_to_weight(*c.shares))));
  if (c.quota || c.period) {
    std::string q = (c.quota && *c.quota > 0) ? std::to_string(*c.quota) : "max";
    std::string p = std::to_string(c.period ? *c.period : 100000);
    TRY(write_value(d, "cpu.max", q + " " + p));
  }
  if (c.idle) TRY(write_value(d, "cpu.idle", std::to_string(*c.idle)));
  if (c.realtime_runtime || c.realtime_period)
    return fail(Errc::Unavailable, "linux.resources.cpu.realtime* are not supported on cgroup v2");
  if (!c.cpus.empty()) TRY(write_value(d, "cpuset.cpus", c.cpus));
  if (!c.mems.empty()) TRY(write_value(d, "cpuset.mems", c.mems));
  if (r.pids_limit) TRY(write_value(d, "pids.max", *r.pids_limit > 0 ? std::to_string(*r.pids_limit) : "max"));
  const auto& b = r.blkio;
  if (b.weight) {
    std::uint64_t w = 1 + (static_cast<std::uint64_t>(*b.weight) - 10) * 9999 / 990;  // [10,1000] -> [1,10000]
    TRY(write_value(d, "io.weight", "default " + std::to_string(w)));
  }
  auto thr = [&](const std::vector<ThrottleDevice>& v, const char* key) -> Status {
    for (auto& t : v)
      TRY(write_value(d, "io.max", std::to_string(t.major) + ":" + std::to_string(t.minor) + " " + key + "=" +
                                      std::to_string(t.rate)));
    return ok();
  };
  TRY(thr(b.read_bps, "rbps"));
  TRY(thr(b.write_bps, "wbps"));
  TRY(thr(b.read_iops, "riops"));
  TRY(thr(b.write_iops, "wiops"));
  for (auto& h : r.hugepages) TRY(write_value(d, "hugetlb." + h.page_size + ".max", std::to_string(h.limit)));
  if (!r.devices.empty()) {
    // Device control on v2 is an eBPF program; only the trivial "allow everything" set is accepted.
    bool allow_all = r.devices.size() == 1 && r.devices[0].allow && r.devices[0].type == 'a';
    if (!allow_all)
      return fail(Errc::Unimplemented,
                  "linux.resources.devices: cgroup v2 device control (eBPF) is not implemented by berth-runtime");
  }
  if (r.network.class_id || !r.network.priorities.empty())
    return fail(Errc::Unavailable, "linux.resources.network is not supported on cgroup v2");
  for (auto& [k, v] : r.unified) {
    if (k.find('/') != std::string::npos) return fail(Errc::InvalidArgument, "linux.resources.unified: bad key " + k);
    TRYC(write_value(d, k, v), "linux.resources.unified " + k);
  }
  return ok();
}

Status Manager::freeze(bool frozen) {
  if (mode_ == Mode::V2) {
    TRY(write_value(unified_ + path_, "cgroup.freeze", frozen ? "1" : "0"));
    for (int i = 0; i < 1000; ++i) {
      auto ev = read_file(unified_ + path_ + "/cgroup.events", 4096);
      if (!ev) break;
      if (ev->find(frozen ? "frozen 1" : "frozen 0") != std::string::npos) return ok();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return ok();
  }
  auto d = dir("freezer");
  if (d.empty()) return fail(Errc::Unavailable, "cgroup freezer controller is not mounted");
  for (int i = 0; i < 1000; ++i) {
    TRY(write_value(d, "freezer.state", frozen ? "FROZEN" : "THAWED"));
    auto s = read_trim(d + "/freezer.state");
    if (s == (frozen ? "FROZEN" : "THAWED")) return ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return fail(Errc::Unavailable, "freezer: cgroup did not reach the requested state");
}

Result<FreezerState> Manager::freezer_state() const {
  if (mode_ == Mode::V2) {
    auto s = read_trim(unified_ + path_ + "/cgroup.freeze");
    return s == "1" ? FreezerState::Frozen : FreezerState::Thawed;
  }
  auto d = dir("freezer");
  if (d.empty()) return FreezerState::Thawed;
  auto s = read_trim(d + "/freezer.state");
  if (s == "FROZEN") return FreezerState::Frozen;
  if (s == "FREEZING") return FreezerState::Freezing;
  return FreezerState::Thawed;
}

namespace {
// Sub-directories of a cgroup directory, deepest first (for rmdir), the directory itself last.
void cgroup_tree(const std::string& d, std::vector<std::string>* out) {
  if (DIR* dir = ::opendir(d.c_str())) {
    while (dirent* e = ::readdir(dir)) {
      if (e->d_type != DT_DIR || std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      cgroup_tree(d + "/" + e->d_name, out);
    }
    ::closedir(dir);
  }
  out->push_back(d);
}
}  // namespace

Result<std::vector<pid_t>> Manager::pids() const {
  // Every process in the cgroup or below it (a container may make sub-cgroups, in any v1
  // hierarchy), as runc's GetAllPids.
  std::vector<std::string> roots;
  if (mode_ == Mode::V2) {
    roots.push_back(unified_ + path_);
  } else {
    for (auto& [c, mp] : v1_)
      if (std::find(roots.begin(), roots.end(), mp + path_) == roots.end()) roots.push_back(mp + path_);
  }
  if (roots.empty()) return fail(Errc::Unavailable, "no cgroup hierarchy to list processes from");
  std::vector<pid_t> out;
  for (auto& r : roots) {
    std::vector<std::string> dirs;
    cgroup_tree(r, &dirs);
    for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
      auto txt = read_file(*it + "/cgroup.procs", 16 << 20);
      if (!txt) {
        if (txt.error().is(Errc::NotFound)) continue;
        return fail(std::move(txt.error()));
      }
      for (auto& l : split(*txt, '\n'))
        if (auto v = parse_int(trim(l)); v && std::find(out.begin(), out.end(), static_cast<pid_t>(*v)) == out.end())
          out.push_back(static_cast<pid_t>(*v));
    }
  }
  return out;
}

Status Manager::kill_all(int sig) const {
  if (mode_ == Mode::V2 && sig == SIGKILL && path_exists(unified_ + path_ + "/cgroup.kill"))
    return write_value(unified_ + path_, "cgroup.kill", "1");
  auto before = pids();
  if (before && before->empty()) return ok();
  bool froze = false;
  if (mode_ != Mode::V2 && !dir("freezer").empty() && path_exists(dir("freezer"))) {
    froze = const_cast<Manager*>(this)->freeze(true).has_value();
  }
  auto ps = pids();
  if (ps) for (pid_t p : *ps) ::kill(p, sig);
  if (froze) (void)const_cast<Manager*>(this)->freeze(false);
  return ok();
}

namespace {
// The "oom_kill N" line of memory.oom_control (v1, kernel >= 4.13) or memory.events (v2).
std::uint64_t oom_kill_count(const std::string& file) {
  for (auto& l : split(read_trim(file), '\n')) {
    auto [k, v] = split_once(l, ' ');
    if (k == "oom_kill") return parse_uint(trim(v)).value_or(0);
  }
  return 0;
}
}  // namespace

Result<Stats> Manager::stats() const {
  Stats s;
  if (mode_ == Mode::V2) {
    std::string d = unified_ + path_;
    for (auto& l : split(read_trim(d + "/cpu.stat"), '\n')) {
      auto [k, v] = split_once(l, ' ');
      auto n = parse_uint(v).value_or(0);
      if (k == "usage_usec") s.cpu_usage_ns = n * 1000;
      if (k == "user_usec") s.cpu_user_ns = n * 1000;
      if (k == "system_usec") s.cpu_system_ns = n * 1000;
    }
    s.memory_usage = read_u64(d + "/memory.current");
    s.memory_max_usage = read_u64(d + "/memory.peak");
    auto lim = read_trim(d + "/memory.max");
    s.memory_limit = lim == "max" ? UINT64_MAX : parse_uint(lim).value_or(0);
    s.pids_current = read_u64(d + "/pids.current");
    auto pl = read_trim(d + "/pids.max");
    s.pids_limit = pl == "max" ? 0 : parse_uint(pl).value_or(0);
    read_throttling(d + "/cpu.stat", 1000, &s);
    read_keyed(d + "/memory.stat", &s.memory_stat);
    // io.stat: "8:0 rbytes=1 wbytes=2 rios=3 …"
    for (auto& l : split(read_trim(d + "/io.stat"), '\n')) {
      auto f = split(l, ' ');
      if (f.empty()) continue;
      auto [ma, mi] = split_once(f[0], ':');
      for (std::size_t i = 1; i < f.size(); ++i) {
        auto [k, v] = split_once(f[i], '=');
        if (k == "rbytes" || k == "wbytes")
          s.io_service_bytes.push_back({parse_uint(ma).value_or(0), parse_uint(mi).value_or(0),
                                        k == "rbytes" ? "read" : "write", parse_uint(v).value_or(0)});
      }
    }
    s.oom_kills = oom_kill_count(d + "/memory.events");
    return s;
  }
  if (auto d = dir("cpuacct"); !d.empty()) {
    s.cpu_usage_ns = read_u64(d + "/cpuacct.usage");
    s.cpu_user_ns = read_u64(d + "/cpuacct.usage_user");
    s.cpu_system_ns = read_u64(d + "/cpuacct.usage_sys");
  }
  if (auto d = dir("memory"); !d.empty()) {
    s.memory_usage = read_u64(d + "/memory.usage_in_bytes");
    s.memory_max_usage = read_u64(d + "/memory.max_usage_in_bytes");
    s.memory_limit = read_u64(d + "/memory.limit_in_bytes");
    s.oom_kills = oom_kill_count(d + "/memory.oom_control");
  }
  if (auto d = dir("pids"); !d.empty()) {
    s.pids_current = read_u64(d + "/pids.current");
    auto pl = read_trim(d + "/pids.max");
    s.pids_limit = pl == "max" ? 0 : parse_uint(pl).value_or(0);
  }
  if (auto d = dir("cpu"); !d.empty()) read_throttling(d + "/cpu.stat", 1, &s);
  if (auto d = dir("memory"); !d.empty()) read_keyed(d + "/memory.stat", &s.memory_stat);
  // blkio.throttle.io_service_bytes_recursive: "8:0 Read 123" … "Total 456"
  if (auto d = dir("blkio"); !d.empty())
    for (auto& l : split(read_trim(d + "/blkio.throttle.io_service_bytes_recursive"), '\n')) {
      auto f = split(l, ' ');
      if (f.size() != 3) continue;
      auto [ma, mi] = split_once(f[0], ':');
      s.io_service_bytes.push_back({parse_uint(ma).value_or(0), parse_uint(mi).value_or(0), std::string(f[1]),
                                    parse_uint(f[2]).value_or(0)});
    }
  return s;
}

Status Manager::destroy() {
  auto rm = [](const std::string& d) -> Status {
    for (int i = 0; i < 200; ++i) {
      if (::rmdir(d.c_str()) == 0 || errno == ENOENT) return ok();
      if (errno != EBUSY) return fail_errno("rmdir cgroup", d);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return fail_errno("rmdir cgroup", d);
  };
  // Sub-cgroups the container made go first (rmdir refuses a cgroup with children).
  auto rm_tree = [&](const std::string& d) -> Status {
    std::vector<std::string> dirs;
    cgroup_tree(d, &dirs);
    Status st = ok();
    for (auto& x : dirs)
      if (auto r = rm(x); !r && st) st = r;
    return st;
  };
  Status first = ok();
  if (mode_ == Mode::V2) return rm_tree(unified_ + path_);
  for (auto& [c, mp] : v1_) {
    auto st = rm_tree(mp + path_);
    if (!st && first) first = st;
  }
  if (mode_ == Mode::Hybrid) (void)rm_tree(unified_ + path_);
  return first;
}

bool Manager::remove_if_empty() {
  bool all = true;
  auto rm = [&](const std::string& d) {
    if (::rmdir(d.c_str()) != 0 && errno != ENOENT) all = false;
  };
  if (mode_ == Mode::V2) {
    rm(unified_ + path_);
    return all;
  }
  std::vector<std::string> done;
  for (auto& [c, mp] : v1_) {
    if (std::find(done.begin(), done.end(), mp) != done.end()) continue;
    done.push_back(mp);
    rm(mp + path_);
  }
  if (mode_ == Mode::Hybrid && !unified_.empty()) rm(unified_ + path_);
  return all;
}

}  // namespace berth::cgroups
