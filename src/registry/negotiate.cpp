// SPDX-License-Identifier: Apache-2.0
#include "registry/negotiate.hpp"

#include <nlohmann/json.hpp>

#include "common/strings.hpp"
#include "oci/media_types.hpp"

namespace berth::registry {

AcceptSet AcceptSet::parse(const std::vector<std::string_view>& header_values) {
  AcceptSet a;
  bool listed = false;
  for (std::string_view hv : header_values) {
    for (auto& item : split(hv, ',')) {
      std::string_view it = trim(item);
      if (it.empty()) continue;
      std::string_view type = it;
      bool excluded = false;
      if (auto semi = it.find(';'); semi != it.npos) {
        type = trim(it.substr(0, semi));
        for (auto& p : split(it.substr(semi + 1), ';')) {
          auto [k, v] = split_once(trim(p), '=');
          if (to_lower(trim(k)) == "q") {
            std::string_view q = trim(v);
            excluded = !q.empty() && q.find_first_not_of("0.") == std::string_view::npos;  // q=0, q=0.0
          }
        }
      }
      if (type.empty()) continue;
      listed = true;  // a header whose every type has q=0 accepts nothing
      if (excluded) continue;
      std::string t = to_lower(type);
      if (t == "*/*" || t == "application/*") {
        a.any_ = true;
        a.types_.clear();
        return a;
      }
      a.types_.push_back(std::move(t));
    }
  }
  a.any_ = !listed;
  return a;
}

bool AcceptSet::accepts(std::string_view media_type) const {
  if (any_) return true;
  std::string mt = to_lower(trim(media_type.substr(0, media_type.find(';'))));
  for (auto& t : types_)
    if (t == mt) return true;
  return false;
}

std::string AcceptSet::describe() const { return any_ ? "*/*" : join(types_, ", "); }

std::optional<Digest> platform_child(std::string_view index_json, const AcceptSet& accept, std::string_view os,
                                     std::string_view arch) {
  auto j = nlohmann::json::parse(index_json, nullptr, false);
  if (!j.is_object() || !j.contains("manifests") || !j["manifests"].is_array()) return std::nullopt;
  for (auto& m : j["manifests"]) {
    if (!m.is_object() || !m.contains("platform") || !m["platform"].is_object()) continue;
    auto& p = m["platform"];
    if (!p.contains("os") || !p["os"].is_string() || p["os"].get<std::string>() != os) continue;
    if (!p.contains("architecture") || !p["architecture"].is_string() ||
        p["architecture"].get<std::string>() != arch)
      continue;
    if (p.contains("variant") && p["variant"].is_string() && !p["variant"].get<std::string>().empty()) continue;
    std::string mt = m.contains("mediaType") && m["mediaType"].is_string() ? m["mediaType"].get<std::string>() : "";
    if (!oci::media::is_manifest(mt) || !accept.accepts(mt)) continue;
    if (!m.contains("digest") || !m["digest"].is_string()) continue;
    if (auto d = Digest::parse(m["digest"].get<std::string>())) return *d;
  }
  return std::nullopt;
}

}  // namespace berth::registry
