// SPDX-License-Identifier: Apache-2.0
#include "cgroups/attach_primer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "cgroups/cgroups.hpp"
#include "common/file.hpp"
#include "common/strings.hpp"

namespace berth::cgroups {

std::string own_cgroup_procs() {
  auto self = read_file("/proc/self/cgroup", 1 << 16);
  if (!self) return {};
  // Any cgroupsPath works for open(): only the mount table is wanted here.
  auto m = Manager::open("/berth-probe");
  if (!m) return {};
  std::string pick;
  for (auto line : split(*self, '\n')) {
    // "hierarchy-id:controller-list:path"
    auto a = line.find(':');
    auto b = a == std::string::npos ? std::string::npos : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    std::string ctrls = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    std::string mount;
    if (ctrls.empty()) {
      mount = m->unified_root();
    } else {
      for (auto& c : split(ctrls, ','))
        if (auto it = m->v1_mounts().find(c); it != m->v1_mounts().end()) mount = it->second;
    }
    if (mount.empty()) continue;
    std::string procs = path_join(mount, path_join(path, "cgroup.procs"));
    if (::access(procs.c_str(), W_OK) != 0) continue;
    if (ctrls.empty()) return procs;  // cgroup2 first: no controller is charged anything
    if (pick.empty()) pick = procs;
  }
  return pick;
}

AttachPrimer::AttachPrimer() : procs_(own_cgroup_procs()) {}

AttachPrimer::~AttachPrimer() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void AttachPrimer::prime() {
  if (procs_.empty()) return;
  {
    std::lock_guard lk(mu_);
    if (stop_) return;
    pending_ = true;
    last_prime_ = std::chrono::steady_clock::now();
    if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
  }
  cv_.notify_one();
}

void AttachPrimer::loop() {
  std::string pid = std::to_string(::getpid());
  for (;;) {
    {
      std::unique_lock lk(mu_);
      // Idle until primed; while warm, wake every kRefresh (or at once on a new prime).
      auto warm_until = last_prime_ + kWarm;
      if (!pending_ && std::chrono::steady_clock::now() >= warm_until)
        cv_.wait(lk, [&] { return pending_ || stop_; });
      else
        cv_.wait_for(lk, kRefresh, [&] { return pending_ || stop_; });
      if (stop_) return;
      pending_ = false;
      if (std::chrono::steady_clock::now() >= last_prime_ + kWarm) continue;
    }
    // Blocks for what is left of the grace period; the outcome does not matter.
    int fd = ::open(procs_.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) continue;
    (void)!::write(fd, pid.data(), pid.size());
    ::close(fd);
  }
}

}  // namespace berth::cgroups
