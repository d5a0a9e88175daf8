// SPDX-License-Identifier: Apache-2.0
// Named volumes with moby's "local" driver: <root>/volumes/<name>/{_data,opts.json,refs.json}.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace berth::volume {

// Docker's rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+ ; error text as Docker's.
Status validate_name(const std::string& name);
// 64 hex chars like Docker's anonymous volumes.
std::string generate_anonymous_name();

// Driver opts of the local driver (type/device/o as mount(8) takes them).
struct MountOpts {
  std::string type;    // "" = plain directory
  std::string device;
  std::string o;       // raw option string
  unsigned long flags = 0;       // MS_* parsed from o
  std::string data;              // fs-specific data left after flags
  bool bind = false;             // o contains bind
};
Result<MountOpts> parse_driver_opts(const std::map<std::string, std::string>& opts);

struct Volume {
  std::string name;
  std::string driver = "local";
  std::string mountpoint;  // <root>/volumes/<name>/_data
  std::string created_at;  // RFC 3339
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> options;
  std::string scope = "local";
  std::set<std::string> refs;  // container ids using it
  std::optional<std::int64_t> size;  // set when usage requested (-1 unknown)
};
// Docker's Volume JSON object (UsageData only if v.size is set).
std::string to_docker_json(const Volume& v);

// Filters: dangling=true|false, driver=x, label=k or label=k=v, name=substring.
using Filters = std::map<std::string, std::vector<std::string>>;
Result<bool> matches(const Volume& v, const Filters& f);

// How the runtime mounts the volume into a container.
struct MountSpec {
  std::string source;          // host path to bind into the container
  // When needs_host_mount: the daemon first performs mount(device, target, type, flags, data)
  // with target == source (as moby's local driver does on Mount).
  bool needs_host_mount = false;
  std::string device, fstype, data;
  unsigned long flags = 0;
};

struct PruneReport {
  std::vector<std::string> deleted;
  std::uint64_t reclaimed = 0;
};

class VolumeService {
 public:
  // Opens (creating) <root>/volumes and removes staging debris left by crashes.
  static Result<VolumeService> open(const std::string& root);

  // name empty -> anonymous. Existing volume with same name is returned (Docker semantics).
  Result<Volume> create(std::string name, const std::string& driver,
                        const std::map<std::string, std::string>& driver_opts,
                        const std::map<std::string, std::string>& labels);
  Result<Volume> inspect(const std::string& name, bool with_usage = false) const;
  Result<std::vector<Volume>> list(const Filters& filters = {}, bool with_usage = false) const;
  // Refused (Conflict) while referenced, even with force (Docker: force only ignores NotFound).
  Status remove(const std::string& name, bool force = false);
  Result<PruneReport> prune(const Filters& filters = {});

  Status acquire(const std::string& name, const std::string& container_id);
  Status release(const std::string& name, const std::string& container_id);

  Result<MountSpec> mount_spec(const std::string& name) const;

  // Pre-fills an empty volume with the content of src_dir (a directory inside an image
  // rootfs), keeping owners, modes, symlinks, xattrs, mtimes. No-op when the volume is not
  // empty. Crash-safe: copies into a staging dir renamed over _data at the end. A volume with
  // driver options must be mounted (mount_spec) first: it is filled in place, also crash-safe.
  Status copy_up(const std::string& name, const std::string& src_dir);

  const std::string& root() const { return dir_; }

 private:
  explicit VolumeService(std::string dir) : dir_(std::move(dir)) {}
  std::string vol_dir(const std::string& name) const;
  Result<Volume> load(const std::string& name) const;
  Status save_refs(const Volume& v) const;
  Status copy_up_in_place(const Volume& v, const std::string& src_dir);
  std::string dir_;  // <root>/volumes
};

}  // namespace berth::volume
