// SPDX-License-Identifier: Apache-2.0
// Linux capabilities: names <-> numbers, and applying the five OCI sets to the calling process
// with raw syscalls (capset/prctl), usable in a forked child.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace berth::security {

// "CAP_CHOWN" -> 0; -1 if unknown.
int cap_from_name(std::string_view name);
// 0 -> "CAP_CHOWN"; empty if unknown.
std::string_view cap_name(int cap);
// All capability names the kernel and this binary know (for `features`).
std::vector<std::string> known_caps();
// The highest capability the running kernel knows (/proc/sys/kernel/cap_last_cap).
int last_cap();

struct CapSets {
  std::uint64_t bounding = 0, effective = 0, inheritable = 0, permitted = 0, ambient = 0;
};
// Turns names into masks; unknown names go to *unknown (runc warns and ignores them).
CapSets caps_from_names(const std::vector<std::string>& bounding, const std::vector<std::string>& effective,
                        const std::vector<std::string>& inheritable, const std::vector<std::string>& permitted,
                        const std::vector<std::string>& ambient, std::vector<std::string>* unknown);
// Drops every capability not in `bounding` from the bounding set (needs CAP_SETPCAP).
Status drop_bounding(std::uint64_t bounding);
// capset() the effective/permitted/inheritable sets, then raises the ambient set.
Status apply_caps(const CapSets& c);
// PR_SET_KEEPCAPS around setuid.
Status set_keep_caps(bool keep);

}  // namespace berth::security
