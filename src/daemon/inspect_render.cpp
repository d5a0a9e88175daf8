// SPDX-License-Identifier: Apache-2.0
// Field lists: moby v27.5.1 (API 1.47) api/types/container/config.go and hostconfig.go.
#include "daemon/inspect_render.hpp"

#include <cstdint>
#include <initializer_list>

#include <nlohmann/json.hpp>

#include "daemon/spec.hpp"

namespace berth::daemon {

namespace {

using nlohmann::json;

// How a Go field marshals when the decoded value is its zero value.
enum class Kind {
  Str,        // string: ""
  Bool,       // bool: false
  Int,        // integer: 0
  Nullable,   // slice, map or pointer: null
  OmitEmpty,  // `json:",omitempty"` on a string/bool/number/slice/map: left out when empty
  OmitNil,    // `json:",omitempty"` on a pointer: left out when null (a pointer to 0/false stays)
};

struct Field {
  const char* name;
  Kind kind;
};

bool is_empty(const json& v) {
  if (v.is_null()) return true;
  if (v.is_boolean()) return !v.get<bool>();
  if (v.is_string()) return v.get_ref<const std::string&>().empty();
  if (v.is_number_integer()) return v.get<std::int64_t>() == 0;
  if (v.is_number_unsigned()) return v.get<std::uint64_t>() == 0;
  if (v.is_number_float()) return v.get<double>() == 0;
  if (v.is_array() || v.is_object()) return v.empty();
  return false;
}

// Copies the known fields of `in` into a new object, each as dockerd would marshal it.
json render(const json& in, std::initializer_list<Field> fields) {
  json out = json::object();
  for (const auto& f : fields) {
    const json* v = in.is_object() && in.contains(f.name) ? &in[f.name] : nullptr;
    bool missing = !v || v->is_null();
    switch (f.kind) {
      case Kind::Str: out[f.name] = missing ? json("") : *v; break;
      case Kind::Bool: out[f.name] = missing ? json(false) : *v; break;
      case Kind::Int: out[f.name] = missing ? json(0) : *v; break;
      case Kind::Nullable: out[f.name] = missing ? json(nullptr) : *v; break;
      case Kind::OmitEmpty:
        if (!missing && !is_empty(*v)) out[f.name] = *v;
        break;
      case Kind::OmitNil:
        if (!missing) out[f.name] = *v;
        break;
    }
  }
  return out;
}

bool empty_or_null(const json& v) { return v.is_null() || ((v.is_array() || v.is_object()) && v.empty()); }

}  // namespace

json inspect_config(const json& stored, const std::string& image) {
  json c = render(stored, {{"Hostname", Kind::Str},
                           {"Domainname", Kind::Str},
                           {"User", Kind::Str},
                           {"AttachStdin", Kind::Bool},
                           {"AttachStdout", Kind::Bool},
                           {"AttachStderr", Kind::Bool},
                           {"ExposedPorts", Kind::OmitEmpty},
                           {"Tty", Kind::Bool},
                           {"OpenStdin", Kind::Bool},
                           {"StdinOnce", Kind::Bool},
                           {"Env", Kind::Nullable},
                           {"Cmd", Kind::Nullable},
                           {"Healthcheck", Kind::OmitNil},
                           {"ArgsEscaped", Kind::OmitEmpty},
                           {"Volumes", Kind::Nullable},
                           {"WorkingDir", Kind::Str},
                           {"Entrypoint", Kind::Nullable},
                           {"NetworkDisabled", Kind::OmitEmpty},
                           {"MacAddress", Kind::OmitEmpty},
                           {"OnBuild", Kind::Nullable},
                           {"Labels", Kind::Nullable},
                           {"StopSignal", Kind::OmitEmpty},
                           {"StopTimeout", Kind::OmitNil},
                           {"Shell", Kind::OmitEmpty}});
  c["Image"] = image;
  // dockerd's merge with the image config: an empty Env or Volumes takes the image's (nil when
  // the image has none), Labels always becomes a map, and an Entrypoint of [""] is reset to nil.
  if (empty_or_null(c["Env"])) c["Env"] = nullptr;
  if (empty_or_null(c["Volumes"])) c["Volumes"] = nullptr;
  if (c["Labels"].is_null()) c["Labels"] = json::object();
  if (const json& ep = c["Entrypoint"]; ep.is_array() && ep.size() == 1 && ep[0] == "") c["Entrypoint"] = nullptr;
  return c;
}

json inspect_host_config(const json& stored, const std::string& runtime) {
  json h = render(stored, {{"Binds", Kind::Nullable},
                           {"ContainerIDFile", Kind::Str},
                           {"LogConfig", Kind::Nullable},
                           {"NetworkMode", Kind::Str},
                           {"PortBindings", Kind::Nullable},
                           {"RestartPolicy", Kind::Nullable},
                           {"AutoRemove", Kind::Bool},
                           {"VolumeDriver", Kind::Str},
                           {"VolumesFrom", Kind::Nullable},
                           {"ConsoleSize", Kind::Nullable},
                           {"Annotations", Kind::OmitEmpty},
                           {"CapAdd", Kind::Nullable},
                           {"CapDrop", Kind::Nullable},
                           {"CgroupnsMode", Kind::Str},
                           {"Dns", Kind::Nullable},
                           {"DnsOptions", Kind::Nullable},
                           {"DnsSearch", Kind::Nullable},
                           {"ExtraHosts", Kind::Nullable},
                           {"GroupAdd", Kind::Nullable},
                           {"IpcMode", Kind::Str},
                           {"Cgroup", Kind::Str},
                           {"Links", Kind::Nullable},
                           {"OomScoreAdj", Kind::Int},
                           {"PidMode", Kind::Str},
                           {"Privileged", Kind::Bool},
                           {"PublishAllPorts", Kind::Bool},
                           {"ReadonlyRootfs", Kind::Bool},
                           {"SecurityOpt", Kind::Nullable},
                           {"StorageOpt", Kind::OmitEmpty},
                           {"Tmpfs", Kind::OmitEmpty},
                           {"UTSMode", Kind::Str},
                           {"UsernsMode", Kind::Str},
                           {"ShmSize", Kind::Int},
                           {"Sysctls", Kind::OmitEmpty},
                           {"Runtime", Kind::OmitEmpty},
                           {"Isolation", Kind::Str},
                           // Resources (embedded)
                           {"CpuShares", Kind::Int},
                           {"Memory", Kind::Int},
                           {"NanoCpus", Kind::Int},
                           {"CgroupParent", Kind::Str},
                           {"BlkioWeight", Kind::Int},
                           {"BlkioWeightDevice", Kind::Nullable},
                           {"BlkioDeviceReadBps", Kind::Nullable},
                           {"BlkioDeviceWriteBps", Kind::Nullable},
                           {"BlkioDeviceReadIOps", Kind::Nullable},
                           {"BlkioDeviceWriteIOps", Kind::Nullable},
                           {"CpuPeriod", Kind::Int},
                           {"CpuQuota", Kind::Int},
                           {"CpuRealtimePeriod", Kind::Int},
                           {"CpuRealtimeRuntime", Kind::Int},
                           {"CpusetCpus", Kind::Str},
                           {"CpusetMems", Kind::Str},
                           {"Devices", Kind::Nullable},
                           {"DeviceCgroupRules", Kind::Nullable},
                           {"DeviceRequests", Kind::Nullable},
                           {"KernelMemory", Kind::OmitEmpty},
                           {"KernelMemoryTCP", Kind::OmitEmpty},
                           {"MemoryReservation", Kind::Int},
                           {"MemorySwap", Kind::Int},
                           {"MemorySwappiness", Kind::Nullable},
                           {"OomKillDisable", Kind::Nullable},
                           {"PidsLimit", Kind::Nullable},
                           {"Ulimits", Kind::Nullable},
                           {"CpuCount", Kind::Int},
                           {"CpuPercent", Kind::Int},
                           {"IOMaximumIOps", Kind::Int},
                           {"IOMaximumBandwidth", Kind::Int},
                           {"Mounts", Kind::OmitEmpty},
                           {"MaskedPaths", Kind::Nullable},
                           {"ReadonlyPaths", Kind::Nullable},
                           {"Init", Kind::OmitNil}});
  // Structs marshal as objects with all their fields.
  json lc = h["LogConfig"].is_object() ? h["LogConfig"] : json::object();
  h["LogConfig"] = {{"Type", lc.contains("Type") && !lc["Type"].is_null() ? lc["Type"] : json("")},
                    {"Config", lc.contains("Config") ? lc["Config"] : json(nullptr)}};
  json rp = h["RestartPolicy"].is_object() ? h["RestartPolicy"] : json::object();
  json rp_name = rp.contains("Name") ? rp["Name"] : json();
  json rp_max = rp.contains("MaximumRetryCount") ? rp["MaximumRetryCount"] : json();
  // dockerd's create normalizes an unset restart policy to "no"
  h["RestartPolicy"] = {{"Name", is_empty(rp_name) ? json("no") : rp_name},
                        {"MaximumRetryCount", rp_max.is_null() ? json(0) : rp_max}};
  if (h["ConsoleSize"].is_null()) h["ConsoleSize"] = {0, 0};
  // The defaults dockerd writes into the HostConfig at create, which are also what berth runs
  // the container with.
  if (is_empty(h["ShmSize"])) h["ShmSize"] = std::int64_t{64} << 20;
  if (is_empty(h["IpcMode"])) h["IpcMode"] = "private";
  if (is_empty(h["CgroupnsMode"])) h["CgroupnsMode"] = "private";
  if (h["OomKillDisable"].is_null()) h["OomKillDisable"] = false;
  if (!h.contains("Runtime") && !runtime.empty()) h["Runtime"] = runtime;
  // "unlimited" (0 or negative) is stored as no limit
  if (const json& p = h["PidsLimit"]; p.is_number() && p.get<std::int64_t>() <= 0) h["PidsLimit"] = nullptr;
  bool privileged = h["Privileged"].is_boolean() && h["Privileged"].get<bool>();
  if (h["MaskedPaths"].is_null() && !privileged) h["MaskedPaths"] = default_masked_paths();
  if (h["ReadonlyPaths"].is_null() && !privileged) h["ReadonlyPaths"] = default_readonly_paths();
  return h;
}

}  // namespace berth::daemon
