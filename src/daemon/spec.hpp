// SPDX-License-Identifier: Apache-2.0
// OCI runtime config (config.json) from a Docker container's Config + HostConfig, with Docker's
// security defaults: default capabilities, moby's default seccomp profile, masked and
// read-only /proc paths, default devices (the runtime adds /dev/null,… itself), /dev/shm.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/result.hpp"

namespace berth::daemon {

struct ResolvedUser {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> additional_gids;
};
// Resolves "name", "uid", "name:group", "uid:gid" against <rootfs>/etc/passwd and /etc/group.
Result<ResolvedUser> resolve_user(const std::string& rootfs, const std::string& user,
                                  const std::vector<std::string>& group_add = {});

struct SpecInput {
  std::string id;
  const nlohmann::json* config = nullptr;       // Docker Config (merged with the image's)
  const nlohmann::json* host_config = nullptr;  // Docker HostConfig
  std::string rootfs;                           // absolute path of the mounted rootfs
  std::string hostname;
  std::string hosts_path, hostname_path, resolv_path;  // files bind-mounted into /etc
  ResolvedUser user;
  std::string cgroups_path;  // "/berth/<id>"
  std::string init_path;     // HostConfig.Init: berth-init, bind-mounted at /sbin/docker-init as PID 1
  // OCI mounts of the container's volumes, binds and tmpfs (container_volumes.hpp), in order.
  const nlohmann::json* user_mounts = nullptr;
  std::string netns_path;    // network namespace prepared by the daemon (bridge / user networks)
  std::vector<std::string> link_env;  // legacy --link variables (before Config.Env, which wins)
  // "container:<x>" modes: returns the pid of that container's init, or an error.
  std::function<Result<int>(const std::string&)> container_pid;
};

// The default seccomp profile converted to an OCI linux.seccomp object for the given
// capability set (rules gated on capabilities/arches as moby does).
Result<nlohmann::json> default_seccomp(const std::vector<std::string>& caps);
// Converts a Docker-format seccomp profile (text) to OCI.
Result<nlohmann::json> convert_seccomp(const std::string& profile, const std::vector<std::string>& caps);

std::vector<std::string> default_capabilities();
// linux.maskedPaths / linux.readonlyPaths of an unprivileged container (moby's defaults; what
// inspect shows as HostConfig.MaskedPaths / ReadonlyPaths when the client set none).
std::vector<std::string> default_masked_paths();
std::vector<std::string> default_readonly_paths();
// Applies CapAdd/CapDrop ("ALL", with or without CAP_ prefix) to the default set.
Result<std::vector<std::string>> effective_capabilities(const nlohmann::json& host_config);

Result<std::string> generate_spec(const SpecInput& in, std::vector<std::string>* warnings);

}  // namespace berth::daemon
