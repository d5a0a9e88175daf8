// SPDX-License-Identifier: Apache-2.0
#include "cli/rows.hpp"

#include <algorithm>
#include <map>

#include <nlohmann/json.hpp>

#include "cli/format.hpp"
#include "common/strings.hpp"

namespace berth::cli {

namespace {

std::int64_t num(const Json& j, const char* k) {
  if (!j.is_object() || !j.contains(k) || !j[k].is_number()) return 0;
  return j[k].get<std::int64_t>();
}
std::string str(const Json& j, const char* k) {
  if (!j.is_object() || !j.contains(k) || !j[k].is_string()) return "";
  return j[k].get<std::string>();
}

struct Port {
  std::string ip, type;
  std::int64_t priv = 0, pub = 0;
};

std::string form_group(const std::string& key, std::int64_t first, std::int64_t last) {
  auto slash = key.rfind('/');
  std::string type = key.substr(slash + 1);
  std::string ip = slash == std::string::npos ? "" : key.substr(0, slash);
  if (slash == std::string::npos) type = key;
  std::string g = std::to_string(first);
  if (first != last) g += "-" + std::to_string(last);
  if (!ip.empty()) g = ip + ":" + g + "->" + g;
  return g + "/" + type;
}

}  // namespace

std::string display_ports(const Json& ports) {
  if (!ports.is_array()) return "";
  std::vector<Port> ps;
  for (const auto& p : ports)
    ps.push_back({str(p, "IP"), str(p, "Type"), num(p, "PrivatePort"), num(p, "PublicPort")});
  std::sort(ps.begin(), ps.end(), [](const Port& a, const Port& b) {
    if (a.priv != b.priv) return a.priv < b.priv;
    if (a.pub != b.pub) return a.pub < b.pub;
    if (a.type != b.type) return a.type < b.type;
    return a.ip < b.ip;
  });
  struct Group {
    std::int64_t first, last;
  };
  std::map<std::string, Group> groups;
  std::vector<std::string> keys, result, host_mappings;
  for (const auto& p : ps) {
    std::string key = p.type;
    if (!p.ip.empty()) {
      if (p.pub != p.priv) {
        std::string host = p.ip.find(':') != std::string::npos ? "[" + p.ip + "]" : p.ip;
        host_mappings.push_back(host + ":" + std::to_string(p.pub) + "->" + std::to_string(p.priv) +
                                "/" + p.type);
        continue;
      }
      key = p.ip + "/" + p.type;
    }
    auto it = groups.find(key);
    if (it == groups.end()) {
      groups[key] = {p.priv, p.priv};
      keys.push_back(key);
      continue;
    }
    if (p.priv == it->second.last + 1) {
      it->second.last = p.priv;
      continue;
    }
    result.push_back(form_group(key, it->second.first, it->second.last));
    it->second = {p.priv, p.priv};
  }
  for (const auto& k : keys) result.push_back(form_group(k, groups[k].first, groups[k].last));
  result.insert(result.end(), host_mappings.begin(), host_mappings.end());
  return join(result, ", ");
}

Json container_row(const Json& c, bool trunc, std::int64_t now) {
  Json r = Json::object();
  std::string command = str(c, "Command");
  if (trunc) command = ellipsis(command, 20);
  r["Command"] = go_quote(command);
  std::int64_t created = num(c, "Created");
  r["CreatedAt"] = go_time_string(created);
  std::string id = str(c, "Id");
  r["ID"] = trunc ? short_id(id) : id;
  std::string image = str(c, "Image");
  if (trunc) {
    if (image.rfind("sha256:", 0) == 0) {
      image = short_id(image);
    } else if (auto at = image.find('@'); at != std::string::npos) {
      image = image.substr(0, at);
    }
  }
  r["Image"] = image;
  std::vector<std::string> labels;
  if (c.contains("Labels") && c["Labels"].is_object())
    for (auto it = c["Labels"].begin(); it != c["Labels"].end(); ++it)
      labels.push_back(it.key() + "=" + (it.value().is_string() ? it.value().get<std::string>() : ""));
  r["Labels"] = join(labels, ",");
  int local = 0;
  std::vector<std::string> mounts;
  if (c.contains("Mounts") && c["Mounts"].is_array())
    for (const auto& m : c["Mounts"]) {
      if (str(m, "Driver") == "local") ++local;
      std::string n = str(m, "Name");
      if (n.empty()) n = str(m, "Source");
      if (trunc) n = ellipsis(n, 15);
      mounts.push_back(n);
    }
  r["LocalVolumes"] = std::to_string(local);
  r["Mounts"] = join(mounts, ",");
  std::vector<std::string> names;
  if (c.contains("Names") && c["Names"].is_array())
    for (const auto& n : c["Names"]) {
      std::string s = n.is_string() ? n.get<std::string>() : "";
      if (!s.empty() && s[0] == '/') s.erase(0, 1);
      if (trunc && s.find('/') != std::string::npos) continue;  // link names
      names.push_back(s);
    }
  if (trunc && names.size() > 1) names.resize(1);
  r["Names"] = join(names, ",");
  std::vector<std::string> nets;
  if (c.contains("NetworkSettings") && c["NetworkSettings"].is_object() &&
      c["NetworkSettings"].contains("Networks") && c["NetworkSettings"]["Networks"].is_object())
    for (auto it = c["NetworkSettings"]["Networks"].begin(); it != c["NetworkSettings"]["Networks"].end(); ++it)
      nets.push_back(it.key());
  std::sort(nets.begin(), nets.end());
  r["Networks"] = join(nets, ",");
  r["Platform"] = nullptr;  // docker 28 prints the (unset) platform of list entries as null
  r["Ports"] = display_ports(c.contains("Ports") ? c["Ports"] : Json());
  r["RunningFor"] = time_ago(created, now);
  std::string size = human_size_prec(static_cast<double>(num(c, "SizeRw")), 3);
  if (num(c, "SizeRootFs") > 0)
    size += " (virtual " + human_size_prec(static_cast<double>(num(c, "SizeRootFs")), 3) + ")";
  r["Size"] = size;
  r["State"] = str(c, "State");
  r["Status"] = str(c, "Status");
  return r;
}

Json container_headers() {
  return {{"Command", "COMMAND"},     {"CreatedAt", "CREATED AT"}, {"ID", "CONTAINER ID"},
          {"Image", "IMAGE"},         {"Labels", "LABELS"},        {"LocalVolumes", "LOCAL VOLUMES"},
          {"Mounts", "MOUNTS"},       {"Names", "NAMES"},          {"Networks", "NETWORKS"},
          {"Ports", "PORTS"},         {"RunningFor", "CREATED"},   {"Size", "SIZE"},
          {"State", "STATE"},         {"Status", "STATUS"}};
}

Json volume_row(const Json& v) {
  std::vector<std::string> labels;
  if (v.contains("Labels") && v["Labels"].is_object())
    for (auto it = v["Labels"].begin(); it != v["Labels"].end(); ++it) labels.push_back(it.key() + "=" + go_print(it.value()));
  std::string links = "N/A", size = "N/A";
  if (v.contains("UsageData") && v["UsageData"].is_object()) {
    const Json& u = v["UsageData"];
    if (u.contains("RefCount") && u["RefCount"].is_number()) links = std::to_string(u["RefCount"].get<std::int64_t>());
    if (u.contains("Size") && u["Size"].is_number() && u["Size"].get<std::int64_t>() >= 0)
      size = human_size_prec(static_cast<double>(u["Size"].get<std::int64_t>()), 4);
  }
  return {{"Availability", "N/A"}, {"Driver", str(v, "Driver")},     {"Group", "N/A"},
          {"Labels", join(labels, ",")}, {"Links", links}, {"Mountpoint", str(v, "Mountpoint")},
          {"Name", str(v, "Name")},     {"Scope", str(v, "Scope")},   {"Size", size},
          {"Status", "N/A"}};
}

std::vector<Json> image_rows(const Json& img, bool trunc, bool all_tags, std::int64_t now) {
  (void)all_tags;
  std::vector<Json> out;
  std::string id = str(img, "Id");
  std::int64_t created = num(img, "Created");
  auto base = [&](const std::string& repo, const std::string& tag, const std::string& digest) {
    Json r = Json::object();
    std::int64_t containers = num(img, "Containers");
    r["Containers"] = containers < 0 ? "N/A" : std::to_string(containers);
    r["CreatedAt"] = go_time_string(created);
    r["CreatedSince"] = time_ago(created, now);
    r["Digest"] = digest;
    r["ID"] = trunc ? short_id(id) : id;
    r["Repository"] = repo;
    std::int64_t shared = num(img, "SharedSize");
    r["SharedSize"] = shared < 0 ? "N/A" : human_size_prec(static_cast<double>(shared), 3);
    r["Size"] = human_size_prec(static_cast<double>(num(img, "Size")), 3);
    r["Tag"] = tag;
    r["UniqueSize"] = shared < 0 ? "N/A" : human_size_prec(static_cast<double>(num(img, "Size") - shared), 3);
    r["VirtualSize"] = human_size_prec(static_cast<double>(num(img, "Size")), 4);  // units.HumanSize
    return r;
  };
  std::vector<std::string> tags;
  if (img.contains("RepoTags") && img["RepoTags"].is_array())
    for (const auto& t : img["RepoTags"])
      if (t.is_string() && t.get<std::string>() != "<none>:<none>") tags.push_back(t.get<std::string>());
  std::map<std::string, std::string> digests;  // repo -> digest
  if (img.contains("RepoDigests") && img["RepoDigests"].is_array())
    for (const auto& d : img["RepoDigests"]) {
      if (!d.is_string()) continue;
      std::string s = d.get<std::string>();
      auto at = s.find('@');
      if (at != std::string::npos) digests[s.substr(0, at)] = s.substr(at + 1);
    }
  if (tags.empty()) {
    if (!digests.empty()) {
      for (auto& [repo, dg] : digests) out.push_back(base(repo, "<none>", dg));
    } else {
      out.push_back(base("<none>", "<none>", "<none>"));
    }
    return out;
  }
  for (const auto& t : tags) {
    auto slash = t.rfind('/');
    auto colon = t.rfind(':');
    std::string repo = t, tag = "<none>";
    if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
      repo = t.substr(0, colon);
      tag = t.substr(colon + 1);
    }
    auto d = digests.find(repo);
    out.push_back(base(repo, tag, d == digests.end() ? "<none>" : d->second));
  }
  return out;
}

Json image_headers() {
  return {{"Containers", "CONTAINERS"}, {"CreatedAt", "CREATED AT"}, {"CreatedSince", "CREATED"},
          {"Digest", "DIGEST"},         {"ID", "IMAGE ID"},          {"Repository", "REPOSITORY"},
          {"SharedSize", "SHARED SIZE"}, {"Size", "SIZE"},           {"Tag", "TAG"},
          {"UniqueSize", "UNIQUE SIZE"}, {"VirtualSize", "VIRTUAL SIZE"}};
}

}  // namespace berth::cli
