// SPDX-License-Identifier: Apache-2.0
// OCI seccomp profiles (linux.seccomp) compiled to a classic BPF program (our own generator, or
// libseccomp's for what it does not model) in the runtime's parent process; the container's init only calls seccomp(2) with the ready program.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace berth::security {

struct SeccompArg {
  unsigned index = 0;
  std::uint64_t value = 0, value_two = 0;
  std::string op;  // SCMP_CMP_EQ ...
};
struct SeccompSyscall {
  std::vector<std::string> names;
  std::string action;
  std::optional<std::uint32_t> errno_ret;
  std::vector<SeccompArg> args;
};
struct SeccompProfile {
  std::string default_action;
  std::optional<std::uint32_t> default_errno_ret;
  std::vector<std::string> architectures;
  std::vector<std::string> flags;
  std::string listener_path, listener_metadata;
  std::vector<SeccompSyscall> syscalls;
};

// A compiled filter: the BPF program and the seccomp(2) flags to load it with.
struct SeccompProgram {
  std::vector<unsigned char> bpf;  // struct sock_filter[]
  unsigned flags = 0;
  bool notify = false;  // uses SCMP_ACT_NOTIFY: load returns a listener fd
};

// Which code generator compile_seccomp uses: its own compact one where it models the profile
// (security/seccomp_bpf.hpp), else libseccomp's; the others force one (for tests: Compact
// fails on a profile it does not model).
enum class SeccompBackend { Auto, Libseccomp, Compact };
Result<SeccompProgram> compile_seccomp(const SeccompProfile& p, SeccompBackend backend = SeccompBackend::Auto);
// compile_seccomp through a cache of compiled programs in cache_dir (made 0700 when missing):
// libseccomp takes ~20 ms of CPU for moby's default profile, reading the cached program well
// under 0.1 ms. An entry holds the whole profile it was compiled from (compared byte for byte,
// the file name is only a hash) and the identity of the running binary and libseccomp, so an
// upgraded runtime never loads an older build's program. Unreadable or damaged entries are
// recompiled; failing to store one is not an error.
Result<SeccompProgram> compile_seccomp_cached(const SeccompProfile& p, const std::string& cache_dir);
// Loads the program into the calling thread (no allocation). Returns the listener fd when
// p.notify, else -1.
Result<int> load_seccomp(const SeccompProgram& p);

// Names for `features`.
std::vector<std::string> seccomp_actions();
std::vector<std::string> seccomp_operators();
std::vector<std::string> seccomp_archs();
std::vector<std::string> seccomp_flags();

}  // namespace berth::security
