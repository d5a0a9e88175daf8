// SPDX-License-Identifier: Apache-2.0
// Configuration: the main keys of distribution's config.yml (a YAML subset: nested maps of
// scalars by indentation, comments, quoted strings) plus command-line overrides.
//
//   version: 0.1
//   log: {level: info}           (flow maps are not supported; write them nested)
//   storage:
//     filesystem: {rootdirectory: /var/lib/registry}
//     delete: {enabled: true}
//     maintenance: {readonly: {enabled: false}, uploadpurging: {age: 168h}}
//     gc: {interval: 1h, grace: 1h}          (berth extension: online GC)
//   http: {addr: ":5000", tls: {certificate: ..., key: ...}}
//   auth:
//     htpasswd: {realm: ..., path: ...}
//     acl: {path: ...}                       (berth extension: per-repository rules, acl.hpp)
//     token: {realm: ..., service: ..., issuer: ..., rootcertbundle: PEM, signingkey: PEM (berth),
//             secret: HS256 shared secret (berth)}
//   proxy: {remoteurl: ..., username: ..., password: ...}
//   log: {accesslog: {disabled: false}, level: info}
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace berth::registry {

struct Config {
  std::string root = "/var/lib/berth-registry";
  std::string addr = ":5000";
  std::string tls_certificate, tls_key;
  std::string htpasswd_path, htpasswd_realm = "berth-registry";
  std::string acl_path;  // per-repository access rules (berth extension, see acl.hpp)
  std::string token_realm, token_service = "berth-registry", token_issuer = "berth-registry";
  std::string token_rootcertbundle;  // PEM public key or certificate that signs tokens
  std::string token_signingkey;      // PEM private key: enables our own /token endpoint
  std::string token_secret;          // HS256 shared secret (validation and issuing)
  std::string proxy_remoteurl, proxy_username, proxy_password;
  std::chrono::seconds proxy_ttl{60};  // how long a tag resolved upstream is trusted
  bool delete_enabled = false;
  bool readonly = false;
  bool accesslog = true;
  std::string log_level = "info";
  std::chrono::seconds upload_purge_age{7 * 24 * 3600};
  std::chrono::seconds gc_interval{0};  // 0: no online GC
  std::chrono::seconds gc_grace{3600};
};

// Flat "a.b.c" -> scalar map of a YAML subset document.
Result<std::map<std::string, std::string>> parse_yaml_subset(std::string_view text);
// "90s", "5m", "1h", "168h", "2d", "3600" -> seconds.
Result<std::chrono::seconds> parse_duration(std::string_view s);
Result<Config> config_from_yaml(std::string_view text);
Result<Config> load_config(const std::string& path);
// ":5000" / "0.0.0.0:5000" / "[::1]:5000" -> host ("" means all) and port.
Result<std::pair<std::string, std::uint16_t>> split_addr(std::string_view addr);

}  // namespace berth::registry
