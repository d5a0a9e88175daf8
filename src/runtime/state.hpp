// SPDX-License-Identifier: Apache-2.0
// Per-container state under --root (runc's layout): <root>/<id>/state.json, config.json (the
// config the container was created from) and exec.fifo (present while the container is
// "created": init blocks opening it for writing until `start` opens it for reading).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace berth::runtime {

inline constexpr const char* kOciVersion = "1.0.2-dev";
inline constexpr const char* kDefaultRoot = "/run/berth-runtime";
// Compiled seccomp programs (security::compile_seccomp_cached) under the root: not a
// container id (ids cannot start with '.'), so `list` passes over it.
inline std::string seccomp_cache_dir(const std::string& root) { return root + "/.seccomp-cache"; }

enum class ContainerStatus { Creating, Created, Running, Stopped, Paused };
const char* status_name(ContainerStatus s);

struct ContainerState {
  std::string id;
  pid_t pid = 0;
  std::uint64_t start_time = 0;  // /proc/<pid>/stat field 22, guards against pid reuse
  std::string bundle, rootfs, created, owner, cgroups_path;
  bool no_cgroup_ns_mount = false;
  std::map<std::string, std::string> annotations;
  std::vector<std::string> ns_paths;  // "type:/proc/<pid>/ns/<x>" of namespaces the init got
  std::string config;  // the bundle's config.json as create read it (load_state fills it)
};

// Validates a container id like runc: [A-Za-z0-9_+.-]+, not "." or "..".
Status validate_id(const std::string& id);
std::string state_dir(const std::string& root, const std::string& id);

// config: the bundle's config.json text, kept inside state.json as "config" (empty: none).
Status save_state(const std::string& dir, const ContainerState& s, std::string_view config = {});

// --pid-file: written to a temporary name and renamed, so a reader sees the whole pid or no
// file, never a partial one; not fsynced (see state.cpp).
Status write_pid_file(const std::string& path, pid_t pid);
Result<ContainerState> load_state(const std::string& root, const std::string& id);

// Start time of a process (field 22 of /proc/<pid>/stat); 0 if gone. *zombie set if state Z/X.
std::uint64_t proc_start_time(pid_t pid, bool* zombie = nullptr);
// The live status: created while exec.fifo exists, paused if frozen, stopped if the init is gone.
ContainerStatus current_status(const std::string& root, const ContainerState& s);
// The OCI state JSON (runc's `state` output, pretty-printed); pid 0 when stopped.
std::string state_json(const ContainerState& s, ContainerStatus st, bool pretty);

// An exclusive flock on the container's state dir, held for the duration of an operation.
Result<UniqueFd> lock_dir(const std::string& dir);

std::string now_rfc3339();

}  // namespace berth::runtime
