// SPDX-License-Identifier: Apache-2.0
#include "registry/errors.hpp"

#include "common/strings.hpp"

namespace berth::registry {

std::string_view code_name(Code c) {
  switch (c) {
    case Code::BlobUnknown: return "BLOB_UNKNOWN";
    case Code::BlobUploadInvalid: return "BLOB_UPLOAD_INVALID";
    case Code::BlobUploadUnknown: return "BLOB_UPLOAD_UNKNOWN";
    case Code::DigestInvalid: return "DIGEST_INVALID";
    case Code::ManifestBlobUnknown: return "MANIFEST_BLOB_UNKNOWN";
    case Code::ManifestInvalid: return "MANIFEST_INVALID";
    case Code::ManifestUnknown: return "MANIFEST_UNKNOWN";
    case Code::NameInvalid: return "NAME_INVALID";
    case Code::NameUnknown: return "NAME_UNKNOWN";
    case Code::SizeInvalid: return "SIZE_INVALID";
    case Code::Unauthorized: return "UNAUTHORIZED";
    case Code::Denied: return "DENIED";
    case Code::Unsupported: return "UNSUPPORTED";
    case Code::TooManyRequests: return "TOOMANYREQUESTS";
    case Code::RangeInvalid: return "BLOB_UPLOAD_INVALID";
    case Code::ManifestTooLarge: return "MANIFEST_INVALID";
    case Code::UnsupportedMediaType: return "MANIFEST_INVALID";
    case Code::Unavailable: return "UNAVAILABLE";
    case Code::Internal: return "UNKNOWN";
  }
  return "UNKNOWN";
}

int code_status(Code c) {
  switch (c) {
    case Code::BlobUnknown:
    case Code::BlobUploadUnknown:
    case Code::ManifestBlobUnknown:
    case Code::ManifestUnknown:
    case Code::NameUnknown: return 404;
    case Code::BlobUploadInvalid:
    case Code::DigestInvalid:
    case Code::ManifestInvalid:
    case Code::NameInvalid:
    case Code::SizeInvalid: return 400;
    case Code::Unauthorized: return 401;
    case Code::Denied: return 403;
    case Code::Unsupported: return 405;
    case Code::TooManyRequests: return 429;
    case Code::RangeInvalid: return 416;
    case Code::ManifestTooLarge: return 413;
    case Code::UnsupportedMediaType: return 415;
    case Code::Unavailable: return 503;
    case Code::Internal: return 500;
  }
  return 500;
}

RegError::RegError(const Error& e) : code(Code::Internal), message(e.message()) {}

std::string RegError::json() const {
  std::string s = R"({"errors":[{"code":")";
  s += code_name(code);
  s += R"(","message":")";
  s += json_escape(message);
  s += '"';
  if (!detail_json.empty()) {
    s += R"(,"detail":)";
    s += detail_json;
  }
  s += "}]}";
  return s;
}

}  // namespace berth::registry
