// SPDX-License-Identifier: Apache-2.0
// Pull-through cache ("proxy" mode): content missing locally is fetched from an upstream
// registry (libcurl), verified by digest, stored, then served. Tags are re-resolved upstream
// after tag_ttl; when the upstream is unreachable the cached tag is served. Upstream auth:
// Basic, or the Bearer token dance (WWW-Authenticate realm/service/scope) with the configured
// username/password (anonymous when none). Pushes to a mirror are refused by the API.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "registry/storage.hpp"

namespace berth::registry {

struct MirrorOptions {
  std::string remote_url;  // "https://registry-1.docker.io" or "http://127.0.0.1:5001"
  std::string username, password;
  std::chrono::seconds tag_ttl{60};
  std::string ca_file;  // optional extra trust
};

class Mirror {
 public:
  explicit Mirror(MirrorOptions o);
  ~Mirror();
  RResult<void> ensure_manifest(Storage& s, const std::string& name, const std::string& ref);
  RResult<void> ensure_blob(Storage& s, const std::string& name, const Digest& d);
  // HEAD of a blob: the size from the cache, else from an upstream HEAD (nothing is downloaded).
  RResult<std::uint64_t> head_blob(Storage& s, const std::string& name, const Digest& d);
  RResult<std::vector<std::string>> list_tags(const std::string& name);

 private:
  struct Fetched {
    long status = 0;
    std::string body;
    std::string content_type;
    std::string www_authenticate;
    std::optional<std::uint64_t> content_length;
  };
  // GET path; body into `body` or, if sink_fd >= 0, into that file. Handles upstream auth.
  // head: a HEAD request (no body; content_length from the headers).
  RResult<Fetched> get(const std::string& path, const std::string& scope, const std::string& accept, int sink_fd,
                       bool head = false);
  RResult<Fetched> get_once(const std::string& path, const std::string& accept, int sink_fd,
                            const std::string& authorization, bool head);
  RResult<std::string> fetch_token(const std::string& challenge, const std::string& scope);

  MirrorOptions o_;
  std::mutex mu_;
  std::map<std::string, std::string> tokens_;  // scope -> "Bearer x"
  std::map<std::string, std::chrono::steady_clock::time_point> tag_checked_;  // name:tag
  std::map<std::string, std::shared_ptr<std::mutex>> inflight_;  // digest -> one download at a time
};

}  // namespace berth::registry
