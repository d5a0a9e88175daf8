// SPDX-License-Identifier: Apache-2.0
#include "daemon/shim_spare.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <mutex>
#include <thread>

#include "common/log.hpp"
#include "common/scm_rights.hpp"
#include "common/unique_fd.hpp"
#include "shim/attach_proto.hpp"

extern char** environ;

namespace berth::daemon {

struct SpareShim::State {
  std::mutex mu;
  UniqueFd chan;  // our end of the spare's job socket (the spare exits when it closes)
  // The channel of the spare last handed a job: it sends the next spare's channel there
  // (shim::proto::kSpareNext), read by replenish().
  UniqueFd handed;
  bool spawning = false;

  void discard() { chan.reset(); }  // mu held
};

namespace {

// posix_spawn of `shim --spare --id <placeholder> [--runtime-ahead R]` with the child's end of
// the channel on fd 3; the child daemonizes at once (its first process exits, reaped here).
bool spawn_spare(const std::string& shim, const std::string& runtime_ahead, int child_end) {
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
  std::vector<char*> argv = {const_cast<char*>(shim.c_str()), const_cast<char*>("--spare"), const_cast<char*>("--id"),
                             id.data()};
  if (!runtime_ahead.empty()) {
    argv.push_back(const_cast<char*>("--runtime-ahead"));
    argv.push_back(const_cast<char*>(runtime_ahead.c_str()));
  }
  argv.push_back(nullptr);
  pid_t pid = -1;
  int e = ::posix_spawn(&pid, shim.c_str(), &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (e != 0) {
    log::debug("spare shim {}: {}", shim, std::strerror(e));
    return false;
  }
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
  return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

// The next spare's channel from the spare that took a job (its fork, no process start), or an
// invalid fd when none comes within a second (a spare of an older berth-shim, or it died).
UniqueFd next_spare(int handed) {
  pollfd p{handed, POLLIN, 0};
  if (::poll(&p, 1, 1000) <= 0) return {};
  char buf[16];
  int fd = -1;
  auto r = recv_with_fds(handed, buf, sizeof buf, &fd, 1, MSG_DONTWAIT);
  UniqueFd next(fd);
  if (r.truncated || std::string_view(buf, r.bytes > 0 ? static_cast<std::size_t>(r.bytes) : 0) != shim::proto::kSpareNext)
    return {};
  return next;
}

}  // namespace

SpareShim::SpareShim() : st_(std::make_shared<State>()) {}

SpareShim::~SpareShim() {
  std::lock_guard lk(st_->mu);
  st_->discard();
}

bool SpareShim::hand(const std::vector<std::string>& args, int ready_fd, int attach_fd) {
  std::lock_guard lk(st_->mu);
  if (!st_->chan) return false;
  pollfd p{st_->chan.get(), 0, 0};
  if (::poll(&p, 1, 0) != 0) {  // the spare died meanwhile
    st_->chan.reset();
    return false;
  }
  std::string job;
  for (const auto& a : args) {
    job += a;
    job.push_back('\0');
  }
  if (!job.empty()) job.pop_back();
  if (job.size() > shim::proto::kMaxSpareJob) return false;
  int fds[2] = {ready_fd, attach_fd};
  if (!send_with_fds(st_->chan.get(), job, fds, 2)) {
    st_->discard();
    return false;
  }
  st_->handed = std::move(st_->chan);  // the message stays queued for the spare
  return true;
}

void SpareShim::replenish(const std::string& shim_path, const std::string& runtime_path) {
  {
    std::lock_guard lk(st_->mu);
    if (st_->chan || st_->spawning) return;
    st_->spawning = true;
  }
  // Only berth-runtime takes its command line from a spare (--await-command).
  std::string ahead = runtime_path.size() >= 13 && runtime_path.ends_with("berth-runtime") ? runtime_path : "";
  // Off the caller's path: the spawn itself is cheap (vfork), but not free.
  std::thread([st = st_, shim_path, ahead] {
    UniqueFd handed;
    {
      std::lock_guard lk(st->mu);
      handed = std::move(st->handed);
    }
    UniqueFd ours = handed ? next_spare(handed.get()) : UniqueFd();
    bool ok = static_cast<bool>(ours);
    handed.reset();
    if (!ok) {
      int sp[2];
      UniqueFd theirs;
      if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == 0) {
        ours = UniqueFd(sp[0]);
        theirs = UniqueFd(sp[1]);
        ok = spawn_spare(shim_path, ahead, theirs.get());
      }
    }
    std::lock_guard lk(st->mu);
    st->spawning = false;
    if (ok) st->chan = std::move(ours);
  }).detach();
}

}  // namespace berth::daemon
