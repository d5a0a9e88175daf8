// SPDX-License-Identifier: Apache-2.0
// A container's mounts (moby's MountPoints): -v/Binds, --mount/Mounts, --tmpfs, --volumes-from
// and the image's VOLUMEs, parsed and validated as dockerd does, persisted per container in
// <data-root>/containers/<id>/mounts.json, turned into OCI mounts at start.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace berth::daemon {

struct MountPoint {
  std::string type;         // "volume" | "bind" | "tmpfs"
  std::string name;         // volume name ("" until an anonymous volume is created)
  std::string source;       // bind: host path; volume: the volume's mountpoint (set at create)
  std::string destination;  // absolute, cleaned
  std::string driver;       // volume driver ("local")
  std::string mode;         // as given ("ro", "z", "rw,nocopy", ...), shown in inspect
  bool rw = true;
  std::string propagation;  // bind: "rprivate" unless given
  bool anonymous = false;
  bool copy_data = false;        // volume: pre-fill from the image at first start (not nocopy)
  std::string subpath;           // volume-subpath
  bool non_recursive = false;    // bind-recursive=disabled
  bool ro_non_recursive = false; // bind-recursive=writable
  bool ro_force_recursive = false;  // bind-recursive=readonly
  bool create_source = false;    // -v bind: create a missing host directory at start
  std::map<std::string, std::string> driver_opts, labels;  // for creating the volume
  std::vector<std::string> tmpfs_options;  // "size=…", "mode=…", extra options
  bool tmpfs_flag = false;       // from HostConfig.Tmpfs (--tmpfs): not listed in inspect Mounts
};

// Parses HostConfig Binds/Mounts/Tmpfs and the anonymous volume paths (Config.Volumes of the
// request and the image) without side effects. Errors are dockerd's (InvalidArgument -> 400).
// Destinations taken by `taken` (e.g. from --volumes-from) are overridden by explicit mounts.
Result<std::vector<MountPoint>> parse_mounts(const nlohmann::json& host_config,
                                             const std::vector<std::string>& anonymous_paths,
                                             std::vector<MountPoint> taken = {});
// "ctr[:ro|:rw]" of --volumes-from.
Result<std::pair<std::string, std::string>> parse_volumes_from(const std::string& spec);

nlohmann::json to_json(const MountPoint& m);
MountPoint mount_point_from_json(const nlohmann::json& j);
// The OCI runtime mount for m; `source` is the resolved host path.
nlohmann::json oci_mount(const MountPoint& m, const std::string& source);
// Docker's inspect "Mounts" entry.
nlohmann::json inspect_mount(const MountPoint& m);
std::string clean_path(const std::string& p);

}  // namespace berth::daemon
