// SPDX-License-Identifier: Apache-2.0
#include "daemon/shim_spare.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <mutex>
#include <thread>

#include "common/log.hpp"
#include "common/unique_fd.hpp"
#include "shim/attach_proto.hpp"

extern char** environ;

namespace berth::daemon {

struct SpareShim::State {
  std::mutex mu;
  pid_t pid = -1;
  UniqueFd chan;  // our end of the spare's job socket
  bool spawning = false;

  void discard() {  // mu held
    chan.reset();
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {}
    }
    pid = -1;
  }
};

namespace {

// posix_spawn of `shim --spare --id <placeholder>` with the child's end of the channel on fd 3.
pid_t spawn_spare(const std::string& shim, int child_end) {
  UniqueFd c(::fcntl(child_end, F_DUPFD_CLOEXEC, 5));  // above 3, so the dup2 cannot clobber it
  if (!c) return -1;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_adddup2(&fa, c.get(), 3);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  std::string id = shim::proto::kSparePlaceholderId;
  char* argv[] = {const_cast<char*>(shim.c_str()), const_cast<char*>("--spare"), const_cast<char*>("--id"),
                  id.data(), nullptr};
  pid_t pid = -1;
  int e = ::posix_spawn(&pid, shim.c_str(), &fa, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (e != 0) {
    log::debug("spare shim {}: {}", shim, std::strerror(e));
    return -1;
  }
  return pid;
}

}  // namespace

SpareShim::SpareShim() : st_(std::make_shared<State>()) {}

SpareShim::~SpareShim() {
  std::lock_guard lk(st_->mu);
  st_->discard();
}

std::optional<pid_t> SpareShim::hand(const std::vector<std::string>& args, int ready_fd, int attach_fd) {
  std::lock_guard lk(st_->mu);
  if (st_->pid <= 0 || !st_->chan) return std::nullopt;
  if (::waitpid(st_->pid, nullptr, WNOHANG) == st_->pid) {  // died meanwhile (reaped now)
    st_->pid = -1;
    st_->chan.reset();
    return std::nullopt;
  }
  std::string job;
  for (const auto& a : args) {
    job += a;
    job.push_back('\0');
  }
  if (!job.empty()) job.pop_back();
  if (job.size() > shim::proto::kMaxSpareJob) return std::nullopt;
  iovec iov{job.data(), job.size()};
  alignas(cmsghdr) char ctl[CMSG_SPACE(2 * sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl;
  msg.msg_controllen = sizeof ctl;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(2 * sizeof(int));
  int fds[2] = {ready_fd, attach_fd};
  std::memcpy(CMSG_DATA(c), fds, sizeof fds);
  ssize_t n;
  do n = ::sendmsg(st_->chan.get(), &msg, MSG_NOSIGNAL); while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(job.size())) {
    st_->discard();
    return std::nullopt;
  }
  pid_t pid = st_->pid;
  st_->pid = -1;
  st_->chan.reset();  // the message stays queued for the spare
  return pid;
}

void SpareShim::replenish(const std::string& shim_path) {
  {
    std::lock_guard lk(st_->mu);
    if (st_->pid > 0 || st_->spawning) return;
    st_->spawning = true;
  }
  // Off the caller's path: the spawn itself is cheap (vfork), but not free.
  std::thread([st = st_, shim_path] {
    int sp[2];
    pid_t pid = -1;
    UniqueFd ours, theirs;
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == 0) {
      ours = UniqueFd(sp[0]);
      theirs = UniqueFd(sp[1]);
      pid = spawn_spare(shim_path, theirs.get());
    }
    std::lock_guard lk(st->mu);
    st->spawning = false;
    if (pid > 0) {
      st->pid = pid;
      st->chan = std::move(ours);
    }
  }).detach();
}

}  // namespace berth::daemon
