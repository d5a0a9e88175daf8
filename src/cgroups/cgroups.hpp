// SPDX-License-Identifier: Apache-2.0
// cgroup manager for cgroup v1 (incl. hybrid: v1 controllers + cgroup2 at /sys/fs/cgroup/unified)
// and the unified v2 hierarchy. One Manager per container cgroup, reconstructed from the
// container's cgroupsPath (no serialized state: the path decides everything).
//
//   auto m = TRY(cgroups::Manager::open("/berth/abc"));
//   TRY(m.create()); TRY(m.set(resources)); TRY(m.apply(pid));
//   ... TRY(m.freeze(true)); ... TRY(m.destroy());
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace berth::cgroups {

struct Memory {
  std::optional<std::int64_t> limit, reservation, swap, kernel, kernel_tcp;
  std::optional<std::uint64_t> swappiness;
  std::optional<bool> disable_oom_killer, use_hierarchy, check_before_update;
};
struct Cpu {
  std::optional<std::uint64_t> shares, period, realtime_period;
  std::optional<std::int64_t> quota, realtime_runtime, idle;
  std::string cpus, mems;
};
struct WeightDevice {
  std::int64_t major = 0, minor = 0;
  std::optional<std::uint16_t> weight, leaf_weight;
};
struct ThrottleDevice {
  std::int64_t major = 0, minor = 0;
  std::uint64_t rate = 0;
};
struct BlockIO {
  std::optional<std::uint16_t> weight, leaf_weight;
  std::vector<WeightDevice> weight_device;
  std::vector<ThrottleDevice> read_bps, write_bps, read_iops, write_iops;
};
struct HugepageLimit {
  std::string page_size;  // "2MB"
  std::uint64_t limit = 0;
};
// linux.resources.devices entry; major/minor -1 = wildcard.
struct DeviceRule {
  bool allow = false;
  char type = 'a';  // a, c, b
  std::int64_t major = -1, minor = -1;
  std::string access = "rwm";
};
struct Network {
  std::optional<std::uint32_t> class_id;
  std::vector<std::pair<std::string, std::uint32_t>> priorities;
};
struct Resources {
  Memory memory;
  Cpu cpu;
  std::optional<std::int64_t> pids_limit;
  BlockIO blkio;
  std::vector<HugepageLimit> hugepages;
  std::vector<DeviceRule> devices;
  Network network;
  std::map<std::string, std::string> unified;
};

// v2 cpu.weight from v1 cpu.shares (the formula runc and crun use).
std::uint64_t shares_to_weight(std::uint64_t shares);
// "c 1:3 rwm" / "a *:* rwm"
std::string device_rule_string(const DeviceRule& r);

enum class Mode { V1, Hybrid, V2 };

struct Options {
  // Overrides for tests: the v2 hierarchy root (forces Mode::V2) and the v1 mount table.
  std::string v2_root;
};

enum class FreezerState { Thawed, Frozen, Freezing };

struct BlkioEntry {
  std::uint64_t major = 0, minor = 0;
  std::string op;  // "read" / "write" (v2) or v1's "Read", "Write", "Sync", "Async", "Total"
  std::uint64_t value = 0;
};

struct Stats {
  std::uint64_t cpu_usage_ns = 0, cpu_user_ns = 0, cpu_system_ns = 0;
  std::uint64_t throttle_periods = 0, throttled_periods = 0, throttled_time_ns = 0;
  std::uint64_t memory_usage = 0, memory_limit = 0, memory_max_usage = 0;
  // memory.stat as the kernel names it (v1: cache, rss, total_inactive_file…; v2: anon,
  // file, inactive_file…).
  std::map<std::string, std::uint64_t> memory_stat;
  std::uint64_t pids_current = 0, pids_limit = 0;
  std::vector<BlkioEntry> io_service_bytes;  // bytes per device and direction
  std::uint64_t oom_kills = 0;  // memory.oom_control (v1) / memory.events (v2) "oom_kill"
};

class Manager {
 public:
  // cgroups_path: absolute ("/a/b") or relative ("a/b"), both taken below the hierarchy root.
  static Result<Manager> open(const std::string& cgroups_path, const Options& opts = {});
  Mode mode() const { return mode_; }
  const std::string& path() const { return path_; }

  // mkdir in every hierarchy (v1 cpuset gets cpus/mems from its parent; v2 enables controllers).
  Status create();
  // After create(): every directory was made by it (none existed), so the cgroup is known to
  // be empty and unfrozen below a root that cannot be frozen.
  bool fresh() const { return fresh_; }
  // Moves pid into the cgroup in every hierarchy.
  Status apply(pid_t pid);
  // exec --cgroup: moves pid into sub-cgroups of this cgroup: sub[controller] in that v1
  // controller's hierarchy, sub[""] in the others (and on v2); the sub-cgroups must exist.
  // Sub paths must already be checked to stay below this cgroup.
  Status apply_sub(pid_t pid, const std::map<std::string, std::string>& sub);
  Status set(const Resources& r);
  Status freeze(bool frozen);
  Result<FreezerState> freezer_state() const;
  // All pids in the cgroup (recursively for v2 subtrees? only this cgroup's cgroup.procs).
  Result<std::vector<pid_t>> pids() const;
  Result<Stats> stats() const;
  // SIGKILLs everything in the cgroup (used by delete --force / kill --all).
  Status kill_all(int sig) const;
  // rmdir in every hierarchy (retrying briefly while tasks exit); missing is fine.
  Status destroy();
  // rmdir in every hierarchy without looking inside first (cheap when the container's
  // processes are gone); false if any directory is still there (tasks or sub-cgroups left):
  // then kill_all() and destroy().
  bool remove_if_empty();
  bool exists() const;
  // The directory of a v1 controller (or the v2 dir); empty if not mounted.
  std::string dir(const std::string& controller) const;
  // v1 controller -> mount point (controllers co-mounted share a mount point).
  const std::map<std::string, std::string>& v1_mounts() const { return v1_; }
  // The cgroup2 mount (v2 root, or /sys/fs/cgroup/unified in hybrid mode); may be empty.
  const std::string& unified_root() const { return unified_; }

 private:
  Mode mode_ = Mode::V1;
  bool fresh_ = false;
  std::string path_;                            // normalized, leading "/"
  std::map<std::string, std::string> v1_;       // controller -> mount point
  std::string unified_;                         // cgroup2 mount (v2 root, or hybrid unified)
  Status set_v1(const Resources& r);
  Status set_v2(const Resources& r);
};

}  // namespace berth::cgroups
