// SPDX-License-Identifier: Apache-2.0
#include "oci/image.hpp"

#include <sys/utsname.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/strings.hpp"
#include "oci/media_types.hpp"

namespace berth::oci {
namespace {

using json = nlohmann::json;

std::string get_str(const json& j, const char* k) {
  auto it = j.find(k);
  if (it == j.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

std::vector<std::string> get_strs(const json& j, const char* k) {
  std::vector<std::string> out;
  auto it = j.find(k);
  if (it == j.end() || !it->is_array()) return out;
  for (auto& v : *it)
    if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

std::optional<std::vector<std::string>> get_opt_strs(const json& j, const char* k) {
  auto it = j.find(k);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return std::vector<std::string>{it->get<std::string>()};
  return get_strs(j, k);
}

std::vector<std::string> get_keys(const json& j, const char* k) {
  std::vector<std::string> out;
  auto it = j.find(k);
  if (it == j.end() || !it->is_object()) return out;
  for (auto& [key, _] : it->items()) out.push_back(key);
  return out;
}

std::map<std::string, std::string> get_map(const json& j, const char* k) {
  std::map<std::string, std::string> out;
  auto it = j.find(k);
  if (it == j.end() || !it->is_object()) return out;
  for (auto& [key, v] : it->items())
    if (v.is_string()) out[key] = v.get<std::string>();
  return out;
}

template <class F>
auto guarded(std::string_view what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    return fail(Errc::InvalidArgument, fmt::format("parse {}: {}", what, e.what()));
  }
}

Result<Platform> platform_from(const json& j) {
  Platform p;
  p.os = get_str(j, "os");
  p.architecture = get_str(j, "architecture");
  p.variant = get_str(j, "variant");
  p.os_version = get_str(j, "os.version");
  return p;
}

Result<Descriptor> descriptor_from(const json& j) {
  if (!j.is_object()) return fail(Errc::InvalidArgument, "descriptor is not an object");
  Descriptor d;
  d.media_type = get_str(j, "mediaType");
  d.digest = TRYC(Digest::parse(get_str(j, "digest")), "descriptor digest");
  auto s = j.find("size");
  if (s == j.end() || !s->is_number_integer() || s->get<std::int64_t>() < 0)
    return fail(Errc::InvalidArgument, "descriptor has no valid size");
  d.size = s->get<std::int64_t>();
  d.urls = get_strs(j, "urls");
  d.annotations = get_map(j, "annotations");
  if (auto p = j.find("platform"); p != j.end() && p->is_object()) d.platform = TRY(platform_from(*p));
  return d;
}

json platform_json(const Platform& p) {
  json j = {{"architecture", p.architecture}, {"os", p.os}};
  if (!p.variant.empty()) j["variant"] = p.variant;
  if (!p.os_version.empty()) j["os.version"] = p.os_version;
  return j;
}

json descriptor_json(const Descriptor& d) {
  json j = {{"mediaType", d.media_type}, {"digest", d.digest.str()}, {"size", d.size}};
  if (!d.urls.empty()) j["urls"] = d.urls;
  if (!d.annotations.empty()) j["annotations"] = d.annotations;
  if (d.platform) j["platform"] = platform_json(*d.platform);
  return j;
}

ContainerConfig container_config_from(const json& c) {
  ContainerConfig cc;
  if (!c.is_object()) return cc;
  cc.user = get_str(c, "User");
  cc.exposed_ports = get_keys(c, "ExposedPorts");
  cc.env = get_strs(c, "Env");
  cc.entrypoint = get_opt_strs(c, "Entrypoint");
  cc.cmd = get_opt_strs(c, "Cmd");
  cc.volumes = get_keys(c, "Volumes");
  cc.working_dir = get_str(c, "WorkingDir");
  cc.labels = get_map(c, "Labels");
  cc.stop_signal = get_str(c, "StopSignal");
  if (auto it = c.find("StopTimeout"); it != c.end() && it->is_number_integer())
    cc.stop_timeout = it->get<int>();
  if (auto it = c.find("Healthcheck"); it != c.end() && it->is_object()) {
    Healthcheck h;
    h.test = get_strs(*it, "Test");
    h.interval = it->value("Interval", std::int64_t{0});
    h.timeout = it->value("Timeout", std::int64_t{0});
    h.start_period = it->value("StartPeriod", std::int64_t{0});
    h.start_interval = it->value("StartInterval", std::int64_t{0});
    h.retries = it->value("Retries", 0);
    cc.healthcheck = std::move(h);
  }
  cc.on_build = get_strs(c, "OnBuild");
  cc.shell = get_strs(c, "Shell");
  if (auto it = c.find("ArgsEscaped"); it != c.end() && it->is_boolean())
    cc.args_escaped = it->get<bool>();
  return cc;
}

json keyset(const std::vector<std::string>& keys) {
  json j = json::object();
  for (auto& k : keys) j[k] = json::object();
  return j;
}

json container_config_json(const ContainerConfig& c) {
  json j = json::object();
  if (!c.user.empty()) j["User"] = c.user;
  if (!c.exposed_ports.empty()) j["ExposedPorts"] = keyset(c.exposed_ports);
  if (!c.env.empty()) j["Env"] = c.env;
  if (c.entrypoint) j["Entrypoint"] = *c.entrypoint;
  if (c.cmd) j["Cmd"] = *c.cmd;
  if (!c.volumes.empty()) j["Volumes"] = keyset(c.volumes);
  if (!c.working_dir.empty()) j["WorkingDir"] = c.working_dir;
  if (!c.labels.empty()) j["Labels"] = c.labels;
  if (!c.stop_signal.empty()) j["StopSignal"] = c.stop_signal;
  if (c.stop_timeout) j["StopTimeout"] = *c.stop_timeout;
  if (c.healthcheck) {
    auto& h = *c.healthcheck;
    json hj = {{"Test", h.test}};
    if (h.interval) hj["Interval"] = h.interval;
    if (h.timeout) hj["Timeout"] = h.timeout;
    if (h.start_period) hj["StartPeriod"] = h.start_period;
    if (h.start_interval) hj["StartInterval"] = h.start_interval;
    if (h.retries) hj["Retries"] = h.retries;
    j["Healthcheck"] = hj;
  }
  if (!c.on_build.empty()) j["OnBuild"] = c.on_build;
  if (!c.shell.empty()) j["Shell"] = c.shell;
  if (c.args_escaped) j["ArgsEscaped"] = true;
  return j;
}

}  // namespace

std::string Platform::str() const {
  std::string s = os + "/" + architecture;
  if (!variant.empty()) s += "/" + variant;
  return s;
}

Platform normalize_platform(Platform p) {
  p.os = to_lower(p.os);
  std::string a = to_lower(p.architecture);
  if (a == "x86_64" || a == "x86-64") a = "amd64";
  else if (a == "i386" || a == "i686") a = "386";
  else if (a == "aarch64" || a == "arm64") {
    a = "arm64";
    if (p.variant == "8" || p.variant == "v8") p.variant.clear();
  } else if (a == "armhf") {
    a = "arm";
    p.variant = "v7";
  } else if (a == "armel") {
    a = "arm";
    p.variant = "v6";
  } else if (a == "arm") {
    if (p.variant.empty()) p.variant = "v7";
    else if (p.variant.size() == 1) p.variant = "v" + p.variant;
  }
  p.architecture = a;
  return p;
}

Result<Platform> parse_platform(std::string_view s) {
  auto parts = split(s, '/');
  Platform p;
  if (parts.empty() || parts.size() > 3 || parts[0].empty())
    return fail(Errc::InvalidArgument, fmt::format("invalid platform \"{}\"", s));
  if (parts.size() == 1) {
    if (to_lower(parts[0]) == "linux" || to_lower(parts[0]) == "windows") {
      p.os = parts[0];
      p.architecture = host_platform().architecture;
    } else {
      p.architecture = parts[0];
    }
  } else {
    p.os = parts[0];
    p.architecture = parts[1];
    if (parts.size() == 3) p.variant = parts[2];
  }
  return normalize_platform(std::move(p));
}

Platform host_platform() {
  Platform p;
  struct utsname u {};
  if (::uname(&u) == 0) p.architecture = u.machine;
  else p.architecture = "amd64";
  return normalize_platform(std::move(p));
}

bool platform_matches(const Platform& want_in, const Platform& have_in) {
  Platform want = normalize_platform(want_in), have = normalize_platform(have_in);
  if (want.os != have.os || want.architecture != have.architecture) return false;
  if (want.variant.empty()) return true;
  return want.variant == have.variant;
}

Result<Descriptor> parse_descriptor(std::string_view s) {
  return guarded("descriptor", [&]() -> Result<Descriptor> {
    return descriptor_from(json::parse(s));
  });
}

Result<Manifest> parse_manifest(std::string_view s) {
  return guarded("manifest", [&]() -> Result<Manifest> {
    json j = json::parse(s);
    Manifest m;
    m.schema_version = j.value("schemaVersion", 0);
    if (m.schema_version == 1)
      return fail(Errc::Unimplemented,
                  "Docker Image manifest version 2, schema 1 is not supported: the image must be "
                  "pushed again with a newer client");
    if (m.schema_version != 2)
      return fail(Errc::InvalidArgument, fmt::format("unsupported manifest schemaVersion {}",
                                                     m.schema_version));
    m.media_type = get_str(j, "mediaType");
    if (!j.contains("config")) return fail(Errc::InvalidArgument, "manifest has no config");
    m.config = TRYC(descriptor_from(j["config"]), "manifest config");
    if (auto l = j.find("layers"); l != j.end() && l->is_array()) {
      for (auto& d : *l) m.layers.push_back(TRYC(descriptor_from(d), "manifest layer"));
    }
    m.annotations = get_map(j, "annotations");
    return m;
  });
}

Result<Index> parse_index(std::string_view s) {
  return guarded("index", [&]() -> Result<Index> {
    json j = json::parse(s);
    Index x;
    x.schema_version = j.value("schemaVersion", 0);
    if (x.schema_version != 2)
      return fail(Errc::InvalidArgument, fmt::format("unsupported index schemaVersion {}",
                                                     x.schema_version));
    x.media_type = get_str(j, "mediaType");
    if (auto l = j.find("manifests"); l != j.end() && l->is_array()) {
      for (auto& d : *l) x.manifests.push_back(TRYC(descriptor_from(d), "index entry"));
    }
    x.annotations = get_map(j, "annotations");
    return x;
  });
}

Result<std::string> sniff_media_type(std::string_view s) {
  return guarded("manifest", [&]() -> Result<std::string> {
    json j = json::parse(s);
    if (!j.is_object()) return fail(Errc::InvalidArgument, "manifest is not a JSON object");
    if (j.value("schemaVersion", 0) == 1) return std::string(media::kDockerSchema1Signed);
    std::string mt = get_str(j, "mediaType");
    if (mt.empty()) {
      if (j.contains("manifests")) return std::string(media::kOciIndex);
      if (j.contains("config")) return std::string(media::kOciManifest);
    }
    return mt;
  });
}

Result<ImageConfig> parse_image_config(std::string_view s) {
  return guarded("image config", [&]() -> Result<ImageConfig> {
    json j = json::parse(s);
    if (!j.is_object()) return fail(Errc::InvalidArgument, "image config is not a JSON object");
    ImageConfig c;
    c.created = get_str(j, "created");
    c.author = get_str(j, "author");
    c.architecture = get_str(j, "architecture");
    c.os = get_str(j, "os");
    c.variant = get_str(j, "variant");
    c.os_version = get_str(j, "os.version");
    c.docker_version = get_str(j, "docker_version");
    c.comment = get_str(j, "comment");
    c.parent = get_str(j, "parent");
    if (auto it = j.find("config"); it != j.end()) c.config = container_config_from(*it);
    if (auto r = j.find("rootfs"); r != j.end() && r->is_object()) {
      for (auto& d : get_strs(*r, "diff_ids")) c.diff_ids.push_back(TRYC(Digest::parse(d), "diff_id"));
    }
    if (auto h = j.find("history"); h != j.end() && h->is_array()) {
      for (auto& e : *h) {
        HistoryEntry he;
        he.created = get_str(e, "created");
        he.created_by = get_str(e, "created_by");
        he.author = get_str(e, "author");
        he.comment = get_str(e, "comment");
        he.empty_layer = e.value("empty_layer", false);
        c.history.push_back(std::move(he));
      }
    }
    return c;
  });
}

std::string to_json(const Descriptor& d) { return descriptor_json(d).dump(); }

std::string to_json(const Manifest& m) {
  json j = {{"schemaVersion", 2}};
  if (!m.media_type.empty()) j["mediaType"] = m.media_type;
  j["config"] = descriptor_json(m.config);
  j["layers"] = json::array();
  for (auto& l : m.layers) j["layers"].push_back(descriptor_json(l));
  if (!m.annotations.empty()) j["annotations"] = m.annotations;
  return j.dump();
}

std::string to_json(const Index& x) {
  json j = {{"schemaVersion", 2}};
  if (!x.media_type.empty()) j["mediaType"] = x.media_type;
  j["manifests"] = json::array();
  for (auto& d : x.manifests) j["manifests"].push_back(descriptor_json(d));
  if (!x.annotations.empty()) j["annotations"] = x.annotations;
  return j.dump();
}

std::string to_json(const ImageConfig& c) {
  json j = json::object();
  j["architecture"] = c.architecture;
  if (!c.author.empty()) j["author"] = c.author;
  if (!c.comment.empty()) j["comment"] = c.comment;
  j["config"] = container_config_json(c.config);
  if (!c.created.empty()) j["created"] = c.created;
  if (!c.docker_version.empty()) j["docker_version"] = c.docker_version;
  json h = json::array();
  for (auto& e : c.history) {
    json he = json::object();
    if (!e.created.empty()) he["created"] = e.created;
    if (!e.created_by.empty()) he["created_by"] = e.created_by;
    if (!e.author.empty()) he["author"] = e.author;
    if (!e.comment.empty()) he["comment"] = e.comment;
    if (e.empty_layer) he["empty_layer"] = true;
    h.push_back(he);
  }
  if (!h.empty()) j["history"] = h;
  j["os"] = c.os;
  if (!c.os_version.empty()) j["os.version"] = c.os_version;
  if (!c.parent.empty()) j["parent"] = c.parent;
  json diff = json::array();
  for (auto& d : c.diff_ids) diff.push_back(d.str());
  j["rootfs"] = {{"type", "layers"}, {"diff_ids", diff}};
  if (!c.variant.empty()) j["variant"] = c.variant;
  return j.dump();
}

std::string container_config_to_docker_json(const ContainerConfig& c) {
  return container_config_json(c).dump();
}

Result<ContainerConfig> parse_docker_container_config(std::string_view s) {
  return guarded("container config", [&]() -> Result<ContainerConfig> {
    return container_config_from(json::parse(s));
  });
}

}  // namespace berth::oci
