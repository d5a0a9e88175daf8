// SPDX-License-Identifier: Apache-2.0
#include "security/caps.hpp"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/file.hpp"
#include "common/strings.hpp"

namespace berth::security {
namespace {

constexpr std::string_view kNames[] = {
    "CAP_CHOWN",           "CAP_DAC_OVERRIDE",   "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID",          "CAP_KILL",           "CAP_SETGID",          "CAP_SETUID",
    "CAP_SETPCAP",         "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",       "CAP_NET_RAW",        "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",      "CAP_SYS_RAWIO",      "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",       "CAP_SYS_ADMIN",      "CAP_SYS_BOOT",        "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",    "CAP_SYS_TIME",       "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
    "CAP_LEASE",           "CAP_AUDIT_WRITE",    "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",    "CAP_MAC_ADMIN",      "CAP_SYSLOG",          "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",   "CAP_AUDIT_READ",     "CAP_PERFMON",         "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE"};
constexpr int kCount = static_cast<int>(sizeof(kNames) / sizeof(kNames[0]));

std::uint64_t mask(const std::vector<std::string>& names, std::vector<std::string>* unknown) {
  std::uint64_t m = 0;
  int last = last_cap();
  for (auto& n : names) {
    int c = cap_from_name(n);
    if (c < 0 || c > last) {
      if (unknown) unknown->push_back(n);
      continue;
    }
    m |= std::uint64_t{1} << c;
  }
  return m;
}

}  // namespace

int cap_from_name(std::string_view name) {
  std::string up;
  for (char ch : name) up += static_cast<char>(ch >= 'a' && ch <= 'z' ? ch - 32 : ch);
  if (up.rfind("CAP_", 0) != 0) up = "CAP_" + up;
  for (int i = 0; i < kCount; ++i)
    if (kNames[i] == up) return i;
  return -1;
}

std::string_view cap_name(int cap) {
  if (cap < 0 || cap >= kCount) return {};
  return kNames[cap];
}

int last_cap() {
  static int cached = [] {
    auto s = read_file("/proc/sys/kernel/cap_last_cap", 64);
    if (!s) return kCount - 1;
    auto v = parse_int(trim(*s));
    return v ? static_cast<int>(*v) : kCount - 1;
  }();
  return cached < kCount ? cached : kCount - 1;
}

std::vector<std::string> known_caps() {
  std::vector<std::string> out;
  for (int i = 0; i <= last_cap(); ++i) out.emplace_back(kNames[i]);
  return out;
}

CapSets caps_from_names(const std::vector<std::string>& bounding, const std::vector<std::string>& effective,
                        const std::vector<std::string>& inheritable, const std::vector<std::string>& permitted,
                        const std::vector<std::string>& ambient, std::vector<std::string>* unknown) {
  CapSets c;
  c.bounding = mask(bounding, unknown);
  c.effective = mask(effective, unknown);
  c.inheritable = mask(inheritable, unknown);
  c.permitted = mask(permitted, unknown);
  c.ambient = mask(ambient, unknown);
  return c;
}

Status drop_bounding(std::uint64_t bounding) {
  int last = last_cap();
  for (int i = 0; i <= last; ++i) {
    if (bounding & (std::uint64_t{1} << i)) continue;
    if (::prctl(PR_CAPBSET_DROP, i, 0, 0, 0) != 0 && errno != EINVAL)
      return fail_errno("drop bounding capability", cap_name(i));
  }
  return ok();
}

Status apply_caps(const CapSets& c) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  data[0].effective = static_cast<std::uint32_t>(c.effective);
  data[1].effective = static_cast<std::uint32_t>(c.effective >> 32);
  data[0].permitted = static_cast<std::uint32_t>(c.permitted);
  data[1].permitted = static_cast<std::uint32_t>(c.permitted >> 32);
  data[0].inheritable = static_cast<std::uint32_t>(c.inheritable);
  data[1].inheritable = static_cast<std::uint32_t>(c.inheritable >> 32);
  if (::syscall(SYS_capset, &hdr, data) != 0) return fail_errno("capset");
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
    return fail_errno("clear ambient capabilities");
  int last = last_cap();
  for (int i = 0; i <= last; ++i) {
    if (!(c.ambient & (std::uint64_t{1} << i))) continue;
    // Like runc: an ambient cap not in permitted+inheritable is ignored, not fatal.
    (void)::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, i, 0, 0);
  }
  return ok();
}

Status set_keep_caps(bool keep) {
  if (::prctl(PR_SET_KEEPCAPS, keep ? 1 : 0, 0, 0, 0) != 0) return fail_errno("prctl PR_SET_KEEPCAPS");
  return ok();
}

}  // namespace berth::security
