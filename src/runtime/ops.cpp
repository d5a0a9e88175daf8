// SPDX-License-Identifier: Apache-2.0
// start, kill, delete, state, pause/resume, ps, update, stats.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "common/file.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "runtime/container.hpp"
#include "runtime/hooks.hpp"

namespace berth::runtime {
namespace {

Result<cgroups::Manager> cgroup_of(const ContainerState& s) {
  if (s.cgroups_path.empty()) return fail(Errc::Unavailable, "container has no cgroup");
  return cgroups::Manager::open(s.cgroups_path);
}

// Waits until pid is gone (or a zombie); false on timeout.
bool wait_gone(pid_t pid, std::uint64_t start_time, int timeout_ms) {
  int pfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pfd >= 0) {
    pollfd p{pfd, POLLIN, 0};
    int r;
    do r = ::poll(&p, 1, timeout_ms); while (r < 0 && errno == EINTR);
    ::close(pfd);
    return r > 0;
  }
  for (int i = 0; i < timeout_ms; ++i) {
    bool z = false;
    auto st = proc_start_time(pid, &z);
    if (st != start_time || z) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

}  // namespace

int parse_signal(std::string_view s) {
  // 0 probes like kill(2) does (runc accepts `kill -a ID 0`).
  if (auto n = parse_int(s)) return (*n >= 0 && *n < 65) ? static_cast<int>(*n) : -1;
  std::string up;
  for (char c : s) up += static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
  if (up.rfind("SIG", 0) == 0) up = up.substr(3);
  for (int i = 1; i < 32; ++i) {
    const char* a = ::sigabbrev_np(i);
    if (a && up == a) return i;
  }
  if (up.rfind("RTMIN", 0) == 0 || up.rfind("RTMAX", 0) == 0) {
    int base = up[2] == 'M' && up[3] == 'I' ? SIGRTMIN : SIGRTMAX;
    auto rest = up.substr(5);
    if (rest.empty()) return base;
    if (rest[0] == '+') rest = rest.substr(1);
    auto n = parse_int(rest);
    if (!n) return -1;
    return base + static_cast<int>(*n);
  }
  return -1;
}

Status start(const Globals& g, const std::string& id) {
  auto s = TRY(load_state(g.root, id));
  std::string dir = state_dir(g.root, id);
  auto lock = TRY(lock_dir(dir));
  auto status = current_status(g.root, s);
  if (status == ContainerStatus::Stopped) return fail(Errc::Conflict, "cannot start a container that has stopped");
  if (status != ContainerStatus::Created) return fail(Errc::Conflict, "cannot start an already running container");
  std::string fifo = dir + "/exec.fifo";
  int fd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return fail_errno("open exec fifo", fifo);
  UniqueFd f(fd);
  for (;;) {
    pollfd p{f.get(), POLLIN, 0};
    int r = ::poll(&p, 1, 100);
    if (r > 0 && (p.revents & POLLIN)) break;
    if (r < 0 && errno != EINTR) return fail_errno("poll exec fifo");
    bool z = false;
    if (proc_start_time(s.pid, &z) != s.start_time || z) return fail(Errc::Conflict, "cannot start a container that has stopped");
  }
  char b = 0;
  if (::read(f.get(), &b, 1) != 1) return fail(Errc::Internal, "container init did not start");
  ::unlink(fifo.c_str());
  if (s.config.find("\"poststart\"") != std::string::npos) {
    auto spec = parse_spec(s.config);
    if (spec && !spec->hooks.poststart.empty()) {
      auto h = run_hooks(spec->hooks.poststart, "poststart", state_json(s, ContainerStatus::Running, false));
      if (!h) {
        // Like runc: a failing poststart hook fails `start` after killing the container.
        ::kill(s.pid, SIGKILL);
        return fail(std::move(h.error()));
      }
    }
  }
  return ok();
}

Status kill(const Globals& g, const std::string& id, int sig, bool all) {
  auto s = TRY(load_state(g.root, id));
  auto status = current_status(g.root, s);
  if (all) {
    if (auto m = cgroup_of(s); m && m->exists()) {
      TRY(m->kill_all(sig));
      return ok();
    }
  }
  if (status == ContainerStatus::Stopped) return fail(Errc::Conflict, "container not running");
  if (::kill(s.pid, sig) != 0) return fail_errno("kill");
  return ok();
}

Status destroy(const Globals& g, const std::string& id, bool force) {
  auto sr = load_state(g.root, id);
  if (!sr) {
    if (sr.error().is(Errc::NotFound) && force) {
      // Like runc: --force on a missing container is fine; remove a stray cgroup if any.
      if (validate_id(id)) {
        if (auto m = cgroups::Manager::open("/" + id); m && m->exists()) (void)m->destroy();
        (void)remove_all(state_dir(g.root, id));
      }
      return ok();
    }
    return fail(std::move(sr.error()));
  }
  return destroy_loaded(g, *sr, force, nullptr);
}

Status destroy_loaded(const Globals& g, const ContainerState& s, bool force, cgroups::Manager* known) {
  const std::string& id = s.id;
  std::string dir = state_dir(g.root, id);
  auto lock = TRY(lock_dir(dir));
  auto status = current_status(g.root, s);
  if (status == ContainerStatus::Running || status == ContainerStatus::Paused) {
    if (!force) return fail(Errc::Conflict, "cannot delete container " + id + " that is not stopped: " + status_name(status));
  }
  Result<cgroups::Manager> m = known ? Result<cgroups::Manager>(*known) : cgroup_of(s);
  if (status != ContainerStatus::Stopped) {
    if (m && m->exists()) {
      if (status == ContainerStatus::Paused) (void)m->freeze(false);
      (void)m->kill_all(SIGKILL);
    }
    ::kill(s.pid, SIGKILL);
    if (!wait_gone(s.pid, s.start_time, 10000)) return fail(Errc::Internal, "container init did not exit after SIGKILL");
  }
  // Usually every process is gone with the init: the directories just go. Otherwise leftover
  // processes (a shared pid namespace, or exec'd ones) die with the container first.
  if (m && !m->remove_if_empty()) {
    (void)m->kill_all(SIGKILL);
    TRYC(m->destroy(), "delete cgroup");
  }
  if (s.config.find("\"poststop\"") != std::string::npos) {
    auto spec = parse_spec(s.config);
    if (spec && !spec->hooks.poststop.empty()) {
      auto h = run_hooks(spec->hooks.poststop, "poststop", state_json(s, ContainerStatus::Stopped, false));
      if (!h) log::warn("{}", h.error().message());
    }
  }
  TRY(remove_all(dir));
  return ok();
}

Result<std::string> state(const Globals& g, const std::string& id) {
  auto s = TRY(load_state(g.root, id));
  return state_json(s, current_status(g.root, s), true);
}

Status pause(const Globals& g, const std::string& id) {
  auto s = TRY(load_state(g.root, id));
  auto status = current_status(g.root, s);
  if (status != ContainerStatus::Running && status != ContainerStatus::Created)
    return fail(Errc::Conflict, "container not running or created");
  auto m = TRY(cgroup_of(s));
  return m.freeze(true);
}

Status resume(const Globals& g, const std::string& id) {
  auto s = TRY(load_state(g.root, id));
  if (current_status(g.root, s) != ContainerStatus::Paused) return fail(Errc::Conflict, "container not paused");
  auto m = TRY(cgroup_of(s));
  return m.freeze(false);
}

Result<std::vector<pid_t>> container_pids(const Globals& g, const std::string& id) {
  auto s = TRY(load_state(g.root, id));
  auto m = TRY(cgroup_of(s));
  return m.pids();
}

Status update(const Globals& g, const std::string& id, const cgroups::Resources& r) {
  auto s = TRY(load_state(g.root, id));
  if (current_status(g.root, s) == ContainerStatus::Stopped) return fail(Errc::Conflict, "container not running");
  auto m = TRY(cgroup_of(s));
  return m.set(r);
}

Result<cgroups::Stats> stats(const Globals& g, const std::string& id) {
  auto s = TRY(load_state(g.root, id));
  if (current_status(g.root, s) == ContainerStatus::Stopped) return fail(Errc::Conflict, "container not running");
  auto m = TRY(cgroup_of(s));
  return m.stats();
}

Result<Process> container_process(const Globals& g, const std::string& id) {
  auto s = TRY(load_state(g.root, id));
  auto spec = TRY(parse_spec(s.config));
  if (!spec.process) return fail(Errc::InvalidArgument, "container has no process");
  return *spec.process;
}

}  // namespace berth::runtime
