// SPDX-License-Identifier: Apache-2.0
// Contexts (named daemon endpoints) stored under the config dir (default ~/.config/berth):
//   config.json               {"currentContext": "name"}
//   contexts/<name>.json      {"Name": ..., "Description": ..., "Host": ..., "TLS": {...}}
// "default" is implicit: the host from BERTH_HOST/DOCKER_HOST or unix:///run/berth.sock.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace berth::cli {

inline constexpr const char* kDefaultHost = "unix:///run/berth.sock";

struct ContextInfo {
  std::string name;
  std::string description;
  std::string host;
  std::string ca_cert, cert, key;  // TLS material (paths)
  bool skip_tls_verify = false;
};

class ContextStore {
 public:
  explicit ContextStore(std::string dir) : dir_(std::move(dir)) {}
  static std::string default_dir();

  Result<std::vector<ContextInfo>> list() const;  // without "default"
  Result<ContextInfo> get(const std::string& name) const;
  Status save(const ContextInfo& c) const;
  Status remove(const std::string& name) const;
  // "" when unset (then "default").
  std::string current() const;
  Status set_current(const std::string& name) const;
  static Status validate_name(const std::string& name);
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

}  // namespace berth::cli
