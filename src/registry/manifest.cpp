// SPDX-License-Identifier: Apache-2.0
// Manifest parsing for validation and garbage collection (nlohmann/json stays in this file).
#include <nlohmann/json.hpp>

#include "oci/media_types.hpp"
#include "registry/storage.hpp"

namespace berth::registry {

namespace {
RResult<Digest> desc_digest(const nlohmann::json& d, const char* what) {
  if (!d.is_object() || !d.contains("digest") || !d["digest"].is_string())
    return rfail(Code::ManifestInvalid, std::string(what) + ": descriptor without digest");
  auto dg = Digest::parse(d["digest"].get<std::string>());
  if (!dg) return rfail(Code::ManifestInvalid, std::string(what) + ": " + dg.error().message());
  if (d.contains("size") && !d["size"].is_number_integer())
    return rfail(Code::ManifestInvalid, std::string(what) + ": size is not an integer");
  return *dg;
}
}  // namespace

RResult<ManifestRefs> parse_manifest(std::string_view content) {
  nlohmann::json j = nlohmann::json::parse(content, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return rfail(Code::ManifestInvalid, "manifest is not a JSON object");
  ManifestRefs r;
  try {
    if (j.contains("schemaVersion") && j["schemaVersion"] != 2) {
      if (j["schemaVersion"] == 1)
        return rfail(Code::UnsupportedMediaType, "schema 1 manifests are not supported");
      return rfail(Code::ManifestInvalid, "unsupported schemaVersion");
    }
    if (j.contains("mediaType")) {
      if (!j["mediaType"].is_string()) return rfail(Code::ManifestInvalid, "mediaType is not a string");
      r.media_type = j["mediaType"].get<std::string>();
      r.media_type_explicit = true;
    }
    if (j.contains("config")) {
      r.blobs.push_back(RTRY(desc_digest(j["config"], "config")));
      r.blob_optional.push_back(false);
      if (j["config"].contains("mediaType") && j["config"]["mediaType"].is_string())
        r.artifact_type = j["config"]["mediaType"].get<std::string>();
    }
    if (j.contains("layers")) {
      if (!j["layers"].is_array()) return rfail(Code::ManifestInvalid, "layers is not an array");
      for (auto& l : j["layers"]) {
        r.blobs.push_back(RTRY(desc_digest(l, "layer")));
        std::string mt = l.value("mediaType", "");
        r.blob_optional.push_back(oci::media::is_nondistributable(mt) && l.contains("urls"));
      }
    }
    if (j.contains("blobs") && j["blobs"].is_array()) {  // artifact manifest (draft) shape
      for (auto& l : j["blobs"]) {
        r.blobs.push_back(RTRY(desc_digest(l, "blob")));
        r.blob_optional.push_back(false);
      }
    }
    if (j.contains("manifests")) {
      if (!j["manifests"].is_array()) return rfail(Code::ManifestInvalid, "manifests is not an array");
      for (auto& m : j["manifests"]) r.manifests.push_back(RTRY(desc_digest(m, "manifest")));
    }
    if (j.contains("subject") && !j["subject"].is_null()) r.subject = RTRY(desc_digest(j["subject"], "subject"));
    if (j.contains("artifactType") && j["artifactType"].is_string())
      r.artifact_type = j["artifactType"].get<std::string>();
    if (j.contains("annotations") && j["annotations"].is_object()) r.annotations_json = j["annotations"].dump();
  } catch (const std::exception& e) {
    return rfail(Code::ManifestInvalid, e.what());
  }
  if (r.media_type.empty()) {
    if (j.contains("manifests")) r.media_type = std::string(oci::media::kOciIndex);
    else if (j.contains("config")) r.media_type = std::string(oci::media::kOciManifest);
  }
  return r;
}

}  // namespace berth::registry
