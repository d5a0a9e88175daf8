// SPDX-License-Identifier: Apache-2.0
// Internal: what the parent hands to the container's init (or an exec'd process) across clone(2).
// The child runs in a copy of the parent's memory, single-threaded; it reports errors on the sync
// socket and always ends in execve or _exit.
//
// Sync protocol (SOCK_SEQPACKET, one message per record, first byte = type):
//   parent -> child  'G'  namespaces mapped, cgroup joined: go on. Skipped when the child can
//                         do it itself (no user namespace: self_setup), which saves a round trip.
//   child  -> parent 'H'  mounts done, run prestart/createRuntime hooks now (rootfs not pivoted)
//   parent -> child  'h'  hooks done
//   child  -> parent 'R'  ready; init now blocks on exec.fifo (exec, and `run` which has no
//                         fifo: about to execve)
//   child  -> parent 'S' + SCM_RIGHTS  the seccomp listener fd (SCMP_ACT_NOTIFY); parent
//                                  forwards it to linux.seccomp.listenerPath, replies 's'
//   child  -> parent 'E'<message>  setup failed; the child exits
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cgroups/cgroups.hpp"
#include "common/result.hpp"
#include "runtime/spec.hpp"
#include "security/caps.hpp"
#include "security/seccomp.hpp"

namespace berth::runtime {

struct InitConfig {
  const Spec* spec = nullptr;
  const Process* process = nullptr;
  std::string rootfs;
  bool is_exec = false;              // joining an existing container
  int sync_fd = -1;
  int fifo_fd = -1;                  // O_PATH fd of exec.fifo (create only)
  int host_proc_fd = -1;             // host /proc/self/fd, only when the container has no /proc
  int console_fd = -1;               // connected --console-socket
  unsigned short proxy_rows = 0, proxy_cols = 0;  // foreground tty proxy: the caller's size
  int preserve_fds = 0;
  bool no_pivot = false;
  bool no_new_keyring = false;
  bool new_mntns = false, new_userns = false, new_utsns = false, new_cgroupns = false;
  bool in_userns = false;            // new or joined user namespace
  bool dev_readonly = false;         // /dev mounted "ro": made read-only only in finalize_rootfs
  // No 'G' from the parent: the child joins `cgroup` and sets oomScoreAdj itself (only without
  // user namespaces: then nothing needs the parent between clone and setup; not with
  // late_cgroup, where the parent does both).
  bool self_setup = false;
  // The parent makes the cgroup and moves us into it after clone (then 'G') while we mount the
  // rootfs: we wait for 'G' only where the cgroup namespace and the cgroup mounts need it
  // (cgroup_ready). Without user namespaces, with a new mount namespace; not for exec.
  bool late_cgroup = false;
  bool cgroup_joined = false;
  std::vector<std::pair<int, int>> join;  // (CLONE_NEW*, open ns fd) to setns, user first
  // With a user namespace: O_PATH fds of the bind mounts' sources, one per spec mount (-1 for
  // the others), opened by the parent before clone. The container's root may not be allowed to
  // reach a source (e.g. under a 0700 directory of the host's root); it mounts the fd instead.
  std::vector<int> mount_src_fds;
  std::optional<cgroups::Manager> cgroup;
  std::optional<security::SeccompProgram> seccomp;
  std::optional<security::CapSets> caps;
  std::string state_json_for_hooks;  // createContainer/startContainer stdin
};

// exec: O_PATH fd of /proc/<init>/root that the child chroots into after setns (else -1).
extern int g_exec_root_fd;

// Child side; never returns.
[[noreturn]] void init_main(InitConfig& c);

// Helpers shared by create and exec (child side).
Status send_msg(int fd, char type, std::string_view payload = {});
Result<std::string> recv_msg(int fd, int* received_fd = nullptr);  // "" on EOF
// Up to max_fds (≤ 4) fds of the message into fds (others closed); an error when truncated.
Result<std::string> recv_msg_fds(int fd, int* fds, std::size_t max_fds);
Status send_fd(int sock, int fd, std::string_view payload);

// Resolves args[0] against PATH from env (like execvp, but with the container's PATH).
Result<std::string> lookup_path(const std::string& arg0, const std::vector<std::string>& env);

// Sets up the calling process' rootfs (mount namespace already unshared). Split out for tests.
Status prepare_rootfs(InitConfig& c);
// With late_cgroup: waits for the parent's 'G' (we are in our cgroup now) and enters a new
// cgroup namespace when asked for. Once; a no-op otherwise.
Status cgroup_ready(InitConfig& c);
Status pivot_into(const std::string& rootfs, bool no_pivot);
Status finalize_rootfs(InitConfig& c);

}  // namespace berth::runtime
