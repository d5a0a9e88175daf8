// SPDX-License-Identifier: Apache-2.0
// compile_seccomp's own code generator (security/seccomp.hpp). libseccomp tests the syscall
// number against each rule in turn: for moby's default profile and its three x86 ABIs that is
// 1013 instructions in long chains of comparisons, which the kernel takes 0.95-1.2 ms to check
// and JIT here, on every container start. This generator decides the number by a binary search
// over ranges of syscalls with the same outcome, then tests arguments only for the syscalls
// that have argument rules: 670 instructions for the same profile, loaded in 0.14 ms, and ~9
// comparisons instead of up to ~400 for every syscall the container makes.
//
// It decides as libseccomp's program plus the -ENOSYS stub do, for every syscall number and
// argument (seccomp_bpf_test.cpp runs both over moby's profile and random ones), and declines
// (nullopt) what it does not model: a syscall with rules of different actions, SCMP_ACT_NOTIFY,
// ordered comparisons (<, <=, >, >=) with values above 32 bits (libseccomp 2.5 has its own idea
// of those), x86's socketcall and ipc multiplexing unless those are allowed outright,
// architectures other than x86_64, x86, x32, aarch64 and arm. compile_seccomp then uses libseccomp.
// Internal to berth_security.
#pragma once

#include <linux/filter.h>
#include <seccomp.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "security/seccomp.hpp"

namespace berth::security::detail {

Result<std::uint32_t> action_of(const std::string& a, std::optional<std::uint32_t> errno_ret, bool* notify);
Result<scmp_compare> op_of(const std::string& o);
Result<std::uint32_t> arch_of(const std::string& a);
// Default actions under which a syscall the profile does not know is let through (no -ENOSYS).
bool permissive(const std::string& a);

// The whole filter for `p` (validated by the caller: actions, operators, architectures), whose
// default action is `def` and architectures `archs` (libseccomp tokens, native first).
std::optional<std::vector<sock_filter>> compact_program(const SeccompProfile& p, std::uint32_t def,
                                                        const std::vector<std::uint32_t>& archs);

}  // namespace berth::security::detail
