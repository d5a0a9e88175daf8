// SPDX-License-Identifier: Apache-2.0
#include "common/mount_guard.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "common/file.hpp"

namespace berth {

MountGuard& MountGuard::operator=(MountGuard&& o) noexcept {
  if (this != &o) {
    if (!target_.empty()) ::umount2(target_.c_str(), MNT_DETACH);
    target_ = std::exchange(o.target_, {});
  }
  return *this;
}

MountGuard::~MountGuard() {
  if (!target_.empty()) ::umount2(target_.c_str(), MNT_DETACH);
}

Result<MountGuard> mount_guarded(const std::string& source, const std::string& target,
                                 const char* fstype, unsigned long flags, const char* data) {
  if (::mount(source.c_str(), target.c_str(), fstype, flags, data) < 0)
    return fail_errno("mount " + source + " on", target);
  return MountGuard(target);
}

Result<NamespaceFd> NamespaceFd::open_pid(int pid, std::string_view type) {
  auto fd = TRY(open_file("/proc/" + std::to_string(pid) + "/ns/" + std::string(type), O_RDONLY));
  return NamespaceFd(std::move(fd));
}

Result<NamespaceFd> NamespaceFd::open_path(const std::string& path) {
  auto fd = TRY(open_file(path, O_RDONLY));
  return NamespaceFd(std::move(fd));
}

Status NamespaceFd::join(int nstype) const {
  if (::setns(fd_.get(), nstype) < 0) return fail_errno("setns");
  return ok();
}

Result<unsigned long> NamespaceFd::inode() const {
  struct stat st {};
  if (::fstat(fd_.get(), &st) < 0) return fail_errno("fstat namespace");
  return static_cast<unsigned long>(st.st_ino);
}

}  // namespace berth
