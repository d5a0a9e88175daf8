// SPDX-License-Identifier: Apache-2.0
#include "oci/media_types.hpp"

namespace berth::oci::media {

bool is_manifest(std::string_view mt) { return mt == kOciManifest || mt == kDockerManifest; }
bool is_index(std::string_view mt) { return mt == kOciIndex || mt == kDockerManifestList; }
bool is_schema1(std::string_view mt) {
  return mt == kDockerSchema1 || mt == kDockerSchema1Signed;
}
bool is_layer(std::string_view mt) {
  return layer_compression(mt) != Compression::Unknown;
}
bool is_nondistributable(std::string_view mt) {
  return mt == kDockerLayerForeign || mt.starts_with(kOciLayerNondistributable);
}
Compression layer_compression(std::string_view mt) {
  if (mt == kOciLayer || mt == kDockerLayer || mt == kOciLayerNondistributable)
    return Compression::None;
  if (mt == kOciLayerGzip || mt == kDockerLayerGzip || mt == kDockerLayerForeign ||
      mt == kOciLayerNondistributableGzip)
    return Compression::Gzip;
  if (mt == kOciLayerZstd || mt == "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd")
    return Compression::Zstd;
  return Compression::Unknown;
}

}  // namespace berth::oci::media
