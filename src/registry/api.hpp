// SPDX-License-Identifier: Apache-2.0
// The OCI distribution spec v1.1 HTTP API over Storage, plus /debug/health, /metrics and the
// token endpoint. One handler for every path (names contain slashes, so the suffix decides):
//   /v2/                                   GET          base check
//   /v2/_catalog?n=&last=                  GET
//   /v2/<name>/manifests/<ref>             GET HEAD PUT DELETE
//   /v2/<name>/blobs/<digest>              GET HEAD DELETE (Range)
//   /v2/<name>/blobs/uploads/              POST (?digest= monolithic, ?mount=&from= mount)
//   /v2/<name>/blobs/uploads/<uuid>        GET PATCH PUT DELETE
//   /v2/<name>/tags/list?n=&last=          GET
//   /v2/<name>/referrers/<digest>          GET (?artifactType=)
#pragma once

#include <memory>
#include <string>

#include "registry/auth.hpp"
#include "registry/storage.hpp"

namespace berth::http {
struct Request;
class ResponseWriter;
}  // namespace berth::http

namespace berth::registry {

class Mirror;

struct ApiOptions {
  const Auth* auth = nullptr;    // null: no authentication
  Mirror* mirror = nullptr;      // pull-through cache mode (pushes refused)
  bool accesslog = true;
};

class Api {
 public:
  Api(Storage& s, ApiOptions o);
  ~Api();
  void handle(http::Request& req, http::ResponseWriter& w);
  std::string metrics_text() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::registry
