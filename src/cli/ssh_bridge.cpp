// SPDX-License-Identifier: Apache-2.0
#include "cli/ssh_bridge.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "common/strings.hpp"

namespace berth::cli {

std::vector<std::string> SshBridge::ssh_argv(const Endpoint& ep) {
  std::vector<std::string> argv;
  const char* custom = std::getenv("BERTH_SSH");
  argv.push_back(custom && *custom ? custom : "ssh");
  if (!ep.user.empty()) argv.insert(argv.end(), {"-l", ep.user});
  if (ep.port) argv.insert(argv.end(), {"-p", std::to_string(ep.port)});
  argv.insert(argv.end(), {"-o", "ConnectTimeout=30", "-T", "--", ep.host, "berth", "system", "dial-stdio"});
  return argv;
}

Result<std::unique_ptr<SshBridge>> SshBridge::start(const Endpoint& ep) {
  std::unique_ptr<SshBridge> b(new SshBridge());
  b->ep_ = ep;
  const char* tmp = std::getenv("TMPDIR");
  b->dir_ = TRY(TempDir::create(tmp && *tmp ? tmp : "/tmp", "berth-ssh-"));
  b->sock_ = b->dir_.path() + "/s";
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return fail_errno("socket");
  struct sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (b->sock_.size() >= sizeof addr.sun_path) return fail(Errc::InvalidArgument, "socket path too long");
  std::memcpy(addr.sun_path, b->sock_.c_str(), b->sock_.size() + 1);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return fail_errno("bind", b->sock_);
  if (::listen(fd.get(), 16) != 0) return fail_errno("listen", b->sock_);
  b->listener_ = std::move(fd);
  b->thread_ = std::thread([p = b.get()] { p->loop(); });
  return b;
}

void SshBridge::loop() {
  auto argv = ssh_argv(ep_);
  for (;;) {
    int c = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EINTR) continue;
      return;  // listener shut down
    }
    if (stop_) {
      ::close(c);
      return;
    }
    pid_t pid = ::fork();
    if (pid == 0) {
      ::dup2(c, STDIN_FILENO);
      ::dup2(c, STDOUT_FILENO);
      std::vector<char*> a;
      for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
      a.push_back(nullptr);
      ::execvp(a[0], a.data());
      ::_exit(127);
    }
    ::close(c);
    if (pid > 0) {
      std::lock_guard<std::mutex> l(mu_);
      children_.push_back(pid);
    }
  }
}

SshBridge::~SshBridge() {
  stop_ = true;
  if (listener_) ::shutdown(listener_.get(), SHUT_RDWR);
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> l(mu_);
  for (pid_t p : children_) {
    ::kill(p, SIGTERM);
    int st;
    ::waitpid(p, &st, 0);
  }
}

}  // namespace berth::cli
