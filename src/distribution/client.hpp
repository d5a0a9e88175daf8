// SPDX-License-Identifier: Apache-2.0
// Registry client (Docker Registry HTTP API v2 / OCI distribution) over libcurl.
//   - endpoints: https, or plain http for insecure registries and localhost; docker.io is
//     registry-1.docker.io; mirrors (any registry) are tried in order before the source
//   - TLS: system CAs plus certs.d/<host>/*.crt, client certificates (*.cert + *.key)
//   - auth: anonymous, basic, bearer token flow from WWW-Authenticate; credentials from an
//     explicit Credentials, else ~/.docker/config.json (auths, credHelpers, credsStore)
//   - manifests: Docker schema2, manifest list, OCI manifest/index (schema1: clear error),
//     platform selection
//   - blobs: streamed to a sink as they arrive, digest verified on the fly, redirects followed
//     (credentials not forwarded), retries with backoff resuming with Range
//   - push: HEAD check, cross-repository mount, monolithic or chunked (PATCH) upload, manifest PUT
// Thread-safe: every request uses its own curl handle; tokens are cached under a mutex.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/digest.hpp"
#include "common/result.hpp"
#include "oci/image.hpp"
#include "oci/reference.hpp"

namespace berth::distribution {

struct Credentials {
  std::string username, password;  // basic / token-server credentials
  std::string identity_token;      // OAuth refresh token (docker login with identity token)
};

struct ClientOptions {
  std::vector<std::string> insecure_registries;             // "host:port" or CIDR-less hosts
  std::map<std::string, std::vector<std::string>> mirrors;  // registry host -> base URLs
  std::optional<Credentials> credentials;                   // overrides config.json
  std::string docker_config;  // path of config.json ("" = $DOCKER_CONFIG or ~/.docker)
  int retries = 3;
  // Blobs larger than this are uploaded in PATCH chunks of this size (Content-Range), then
  // closed with an empty PUT ?digest=; smaller ones with one PUT. 0 = always one PUT.
  std::int64_t upload_chunk_size = 32 << 20;
  // Per-registry TLS material, Docker's layout: <dir>/<host[:port]>/*.crt are extra CAs (added
  // to the system ones), <name>.cert + <name>.key a client certificate. A registry with such a
  // directory is spoken to over https even when it is on loopback. First directory that has
  // the host wins.
  std::vector<std::string> certs_dirs = {"/etc/berth/certs.d", "/etc/docker/certs.d"};
  std::string user_agent = "berth/0.1";
};

struct Manifest {
  std::string raw;         // the bytes as served (digests are over these)
  std::string media_type;
  Digest digest;
  oci::Manifest parsed;
  Digest top_digest;       // the digest the tag pointed at (the index for multi-arch images)
};

// Receives blob bytes as they arrive; an error aborts the transfer.
using Sink = std::function<Status(const void* data, std::size_t n)>;
// Called with bytes received so far (for progress).
using ProgressCb = std::function<void(std::int64_t done, std::int64_t total)>;

class Client {
 public:
  explicit Client(ClientOptions opts);
  ~Client();

  // GET /v2/ on the registry of ref.
  Status ping(const oci::Reference& ref);
  // Repository names of a registry (GET /v2/_catalog, following Link pagination up to `limit`).
  Result<std::vector<std::string>> catalog(const std::string& domain, std::size_t limit = 1000);
  // Fetches the manifest for ref (tag or digest), picking `platform` from an index.
  Result<Manifest> get_manifest(const oci::Reference& ref, const oci::Platform& platform);
  // Streams a blob to sink; verifies its size and digest at the end (a mismatch is DataLoss).
  // start > 0 fetches only the bytes from `start` on (resuming a download a previous process
  // began); then the caller, who has the prefix, verifies the digest.
  Status get_blob(const oci::Reference& repo, const oci::Descriptor& desc, const Sink& sink,
                  const ProgressCb& progress = nullptr, std::int64_t start = 0);
  Result<std::string> get_blob_bytes(const oci::Reference& repo, const oci::Descriptor& desc);

  // Push side.
  Result<bool> blob_exists(const oci::Reference& repo, const Digest& d);
  // Tries a cross-repository mount from `from_repo` (same registry) first, then uploads.
  Status put_blob(const oci::Reference& repo, const Digest& d, std::int64_t size,
                  const std::function<Result<std::unique_ptr<struct BlobSource>>()>& open,
                  const std::string& from_repo = {});
  Status put_manifest(const oci::Reference& ref, const std::string& media_type,
                      const std::string& raw);

  // "https://host" / "http://host" for a registry domain.
  std::string base_url(const std::string& domain) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Something that yields the bytes of a blob for upload.
struct BlobSource {
  virtual ~BlobSource() = default;
  virtual Result<std::size_t> read(void* buf, std::size_t n) = 0;
};

// Parses `Bearer realm="...",service="...",scope="..."` (also Basic realm=...).
struct Challenge {
  std::string scheme;  // "bearer" / "basic" (lowercase)
  std::map<std::string, std::string> params;
};
std::optional<Challenge> parse_www_authenticate(const std::string& header);

}  // namespace berth::distribution
