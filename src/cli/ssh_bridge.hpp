// SPDX-License-Identifier: Apache-2.0
// ssh://[user@]host[:port]: a private unix socket in a temp dir whose every connection is
// handed (as stdin/stdout) to `ssh [-l user] [-p port] host -- berth system dial-stdio`, which
// bridges to the remote daemon socket. The ssh binary can be overridden with BERTH_SSH (tests).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cli/client.hpp"
#include "common/file.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace berth::cli {

class SshBridge {
 public:
  static Result<std::unique_ptr<SshBridge>> start(const Endpoint& ep);
  ~SshBridge();
  SshBridge(const SshBridge&) = delete;
  SshBridge& operator=(const SshBridge&) = delete;
  const std::string& socket_path() const { return sock_; }
  // The command line run per connection (for tests and -D output).
  static std::vector<std::string> ssh_argv(const Endpoint& ep);

 private:
  SshBridge() = default;
  void loop();

  Endpoint ep_;
  TempDir dir_;
  std::string sock_;
  UniqueFd listener_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<pid_t> children_;
};

}  // namespace berth::cli
