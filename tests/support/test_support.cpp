// SPDX-License-Identifier: Apache-2.0
#include "support/test_support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "common/strings.hpp"

namespace berth::test {

std::string unique_name(const std::string& what) {
  return std::string(kTestPrefix) + what + "-" + random_hex(8);
}

Scratch::Scratch(const std::string& what) {
  std::string tmpl = "/tmp/" + unique_name(what) + "-XXXXXX";
  if (!::mkdtemp(tmpl.data())) std::abort();
  path_ = tmpl;
}

Scratch::~Scratch() {
  unmount_below(path_);
  (void)remove_all(path_);
}

std::string bin_dir() {
  const char* e = std::getenv("BERTH_BIN_DIR");
  return e ? e : BERTH_BINARY_DIR "/bin";
}
std::string bin(const std::string& name) { return bin_dir() + "/" + name; }

std::string images_dir() {
  const char* e = std::getenv("BERTH_TEST_IMAGES");
  return e ? e : BERTH_BINARY_DIR "/test-images";
}

std::string image_path(const std::string& image, const std::string& part) {
  std::string p = images_dir() + "/" + image + "/" + part;
  return path_exists(p) ? p : std::string();
}

void unmount_below(const std::string& dir) {
  auto info = read_file("/proc/self/mountinfo");
  if (!info) return;
  std::vector<std::string> targets;
  for (auto& line : split(*info, '\n')) {
    auto f = split(line, ' ');
    if (f.size() < 5) continue;
    const std::string& mp = f[4];
    if (mp.rfind(dir + "/", 0) == 0 || mp == dir) targets.push_back(mp);
  }
  std::sort(targets.begin(), targets.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (auto& t : targets) ::umount2(t.c_str(), MNT_DETACH);
}

std::string which(const std::string& prog) {
  auto r = run({"sh", "-c", "command -v " + prog}, {}, 10);
  return r.status == 0 ? std::string(trim(r.out)) : std::string();
}

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  std::uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

RunResult run(const std::vector<std::string>& argv, const std::string& stdin_data, int timeout_s,
              const std::vector<std::string>& extra_env) {
  RunResult res;
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC)) return res;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    for (auto& e : extra_env) ::putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  ::signal(SIGPIPE, SIG_IGN);
  if (!stdin_data.empty()) (void)write_all(in[1], stdin_data);
  ::close(in[1]);
  timespec start{};
  ::clock_gettime(CLOCK_MONOTONIC, &start);
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  bool killed = false;
  while (open_fds > 0) {
    int r = ::poll(fds, 2, 200);
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    if (!killed && now.tv_sec - start.tv_sec > timeout_s) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
    if (r <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[8192];
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? res.out : res.err).append(buf, static_cast<std::size_t>(n));
      }
    }
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  res.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return res;
}

}  // namespace berth::test
