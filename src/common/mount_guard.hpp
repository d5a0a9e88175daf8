// SPDX-License-Identifier: Apache-2.0
// RAII for mounts and namespaces.
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace berth {

// Unmounts `target` (MNT_DETACH) on destruction unless commit() was called.
class MountGuard {
 public:
  MountGuard() = default;
  explicit MountGuard(std::string target) : target_(std::move(target)) {}
  MountGuard(MountGuard&& o) noexcept : target_(std::exchange(o.target_, {})) {}
  MountGuard& operator=(MountGuard&& o) noexcept;
  MountGuard(const MountGuard&) = delete;
  MountGuard& operator=(const MountGuard&) = delete;
  ~MountGuard();
  // Keeps the mount.
  void commit() { target_.clear(); }
  const std::string& target() const { return target_; }

 private:
  std::string target_;
};

// mount(2) returning a guard that unmounts on scope exit.
Result<MountGuard> mount_guarded(const std::string& source, const std::string& target,
                                 const char* fstype, unsigned long flags, const char* data);

// An open namespace file (/proc/<pid>/ns/<type> or a bind-mounted path).
class NamespaceFd {
 public:
  // type: "net", "mnt", "uts", "ipc", "pid", "user", "cgroup", "time".
  static Result<NamespaceFd> open_pid(int pid, std::string_view type);
  static Result<NamespaceFd> open_path(const std::string& path);
  int get() const { return fd_.get(); }
  // setns(2) into it. nstype 0 = any.
  Status join(int nstype = 0) const;
  // The namespace inode number ("net:[4026531992]" -> 4026531992).
  Result<unsigned long> inode() const;

 private:
  explicit NamespaceFd(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace berth
