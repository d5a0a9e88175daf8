// SPDX-License-Identifier: Apache-2.0
// OCI runtime-spec (config.json) types: the Linux subset berth-runtime implements. Parsing lives in
// spec.cpp (nlohmann stays out of this header). Unknown fields are ignored, like runc; malformed
// known fields are errors naming the field.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cgroups/cgroups.hpp"
#include "common/result.hpp"
#include "security/seccomp.hpp"

namespace berth::runtime {

struct User {
  std::uint32_t uid = 0, gid = 0;
  std::optional<std::uint32_t> umask;
  std::vector<std::uint32_t> additional_gids;
};
struct Rlimit {
  int resource = 0;
  std::string type;  // "RLIMIT_NOFILE"
  std::uint64_t soft = 0, hard = 0;
};
struct Capabilities {
  std::vector<std::string> bounding, effective, inheritable, permitted, ambient;
};
struct Process {
  bool terminal = false;
  unsigned console_height = 0, console_width = 0;
  User user;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  std::optional<Capabilities> capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::string apparmor_profile, selinux_label;
  std::optional<int> oom_score_adj;
  std::optional<int> io_priority_class, io_priority;
  std::optional<std::string> scheduler_policy;
  int scheduler_priority = 0, scheduler_nice = 0;
};
struct Mount {
  std::string destination, type, source;
  std::vector<std::string> options;
};
struct Hook {
  std::string path;
  std::vector<std::string> args, env;
  std::optional<int> timeout;
};
struct Hooks {
  std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart, poststop;
};
struct Namespace {
  std::string type;  // pid network mount ipc uts user cgroup time
  std::string path;
};
struct IdMapping {
  std::uint32_t container_id = 0, host_id = 0, size = 0;
};
struct Device {
  std::string path, type;
  std::int64_t major = 0, minor = 0;
  std::optional<std::uint32_t> file_mode, uid, gid;
};
struct Linux {
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings, gid_mappings;
  std::map<std::string, std::int64_t> time_offsets_secs, time_offsets_nanosecs;
  std::vector<Device> devices;
  std::string cgroups_path;
  std::optional<cgroups::Resources> resources;
  std::map<std::string, std::string> sysctl;
  std::optional<security::SeccompProfile> seccomp;
  std::string rootfs_propagation;
  std::vector<std::string> masked_paths, readonly_paths;
  std::string mount_label;
  std::optional<std::string> personality_domain;
};
struct Spec {
  std::string oci_version;
  std::string root_path;
  bool root_readonly = false;
  std::string hostname, domainname;
  std::optional<Process> process;
  std::vector<Mount> mounts;
  Hooks hooks;
  std::map<std::string, std::string> annotations;
  std::optional<Linux> linux_;  // "linux" is a predefined macro in GNU mode
};

Result<Spec> parse_spec(std::string_view json);
// A process.json as given to `exec --process`.
Result<Process> parse_process(std::string_view json);
// linux.resources as given to `update --resources`.
Result<cgroups::Resources> parse_resources(std::string_view json);
// The config.json `spec` writes (runc's default layout); args ["sh"].
std::string default_spec_json(bool rootless);
// "RLIMIT_NOFILE" -> RLIMIT_NOFILE; -1 if unknown.
int rlimit_from_name(std::string_view name);

}  // namespace berth::runtime
