// SPDX-License-Identifier: Apache-2.0
// Real third-party peers for the interop tests, each started privately for one test and stopped
// at its end: Debian's docker-registry (distribution) on a free loopback port with its own
// config and storage, and a private dockerd (own socket, --data-root, short --exec-root,
// pidfile, no bridge, no iptables). Both are optional: start() returns a reason to skip.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "common/file.hpp"
#include "common/strings.hpp"
#include "support/test_support.hpp"

namespace berth::test {

inline bool have_program(const std::string& name) {
  return run({"sh", "-c", "command -v " + name}).status == 0;
}

inline int free_loopback_port() {
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(s);
  return port;
}

// A background process with stdout/stderr to a log file; SIGTERM, then SIGKILL, on stop.
class Process {
 public:
  Process() = default;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process() { stop(); }
  bool start(const std::vector<std::string>& argv, const std::string& log) {
    pid_ = ::fork();
    if (pid_ == 0) {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      ::dup2(null, 0);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::setsid();
      std::vector<char*> a;
      for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
      a.push_back(nullptr);
      ::execvp(a[0], a.data());
      ::_exit(127);
    }
    return pid_ > 0;
  }
  bool running() {
    if (pid_ <= 0) return false;
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    return true;
  }
  void stop(int grace_ms = 20000) {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < grace_ms / 50; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

// Debian's docker-registry (github.com/distribution/distribution) on 127.0.0.1:<free port>.
class DockerRegistry {
 public:
  // "" when up; else why it is not (not installed, did not start).
  std::string start(const std::string& dir) {
    if (!have_program("docker-registry")) return "docker-registry not installed";
    int port = free_loopback_port();
    host_ = "127.0.0.1:" + std::to_string(port);
    std::string cfg = dir + "/config.yml";
    (void)mkdir_all(dir + "/data");
    (void)write_file(cfg, "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
                          "storage:\n  filesystem:\n    rootdirectory: " + dir + "/data\n"
                          "  delete:\n    enabled: true\n"
                          "http:\n  addr: " + host_ + "\n");
    proc_.start({"docker-registry", "serve", cfg}, dir + "/log");
    for (int i = 0; i < 200; ++i) {
      if (run({"curl", "-sf", "-o", "/dev/null", "http://" + host_ + "/v2/"}, {}, 5).status == 0) return "";
      if (!proc_.running()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return "docker-registry did not come up: " + read_file(dir + "/log").value_or("");
  }
  const std::string& host() const { return host_; }
  // Docker-Content-Digest of a manifest as the registry serves it.
  std::string manifest_digest(const std::string& repo, const std::string& ref) const {
    auto r = run({"curl", "-sfI", "-H",
                  "Accept: application/vnd.docker.distribution.manifest.v2+json, "
                  "application/vnd.oci.image.manifest.v1+json",
                  "http://" + host_ + "/v2/" + repo + "/manifests/" + ref});
    for (auto& line : split(r.out, '\n')) {
      std::string l = std::string(trim(line));
      if (l.size() > 22 && strcasecmp(l.substr(0, 22).c_str(), "docker-content-digest:") == 0)
        return std::string(trim(l.substr(22)));
    }
    return "";
  }

 private:
  Process proc_;
  std::string host_;
};

// A private dockerd spoken to over its own unix socket with curl (Engine API).
class PrivateDockerd {
 public:
  ~PrivateDockerd() { stop(); }
  std::string start(const std::string& dir) {
    if (!have_program("dockerd")) return "dockerd not installed";
    dir_ = dir;
    // containerd's sockets live under the exec root: keep it short.
    char tmpl[] = "/tmp/bt-dx-XXXXXX";
    if (!::mkdtemp(tmpl)) return "mkdtemp failed";
    exec_root_ = tmpl;
    sock_ = exec_root_ + "/d.sock";
    (void)mkdir_all(dir + "/data");
    (void)write_file(dir + "/daemon.json", "{}");
    proc_.start({"dockerd", "-H", "unix://" + sock_, "--data-root", dir + "/data", "--exec-root",
                 exec_root_ + "/x", "--pidfile", exec_root_ + "/d.pid", "--config-file",
                 dir + "/daemon.json", "--bridge=none", "--iptables=false", "--ip6tables=false"},
                dir + "/log");
    for (int i = 0; i < 600; ++i) {
      if (api({"-sf", "http://d/_ping"}).status == 0) return "";
      if (!proc_.running()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::string why = "dockerd did not come up: " + read_file(dir + "/log").value_or("");
    stop();
    return why;
  }
  void stop() {
    proc_.stop();
    if (!dir_.empty()) unmount_below(dir_ + "/data");
    if (!exec_root_.empty()) {
      unmount_below(exec_root_);
      (void)remove_all(exec_root_);
      exec_root_.clear();
    }
  }
  // curl against the daemon's socket: api({"-sf", "http://d/images/json"}).
  RunResult api(std::vector<std::string> args, int timeout_s = 300) const {
    std::vector<std::string> argv = {"curl", "--unix-socket", sock_};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, {}, timeout_s);
  }

 private:
  Process proc_;
  std::string dir_, exec_root_, sock_;
};

}  // namespace berth::test
