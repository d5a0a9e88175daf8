// SPDX-License-Identifier: Apache-2.0
// The attach protocol between berthd and berth-shim, over the unix socket `attach.sock` in the
// container's state dir (header-only: the shim stays free of src/common).
//
// Every message is a frame: an 8-byte header {kind, 0, 0, 0, len (32-bit big endian)} and len
// bytes — the same header Docker's multiplexed streams use, so output frames pass through.
//   client → shim: kHello (first frame, payload: letters i o e m — stdin, stdout, stderr,
//                  monitor), kStdin (data for the container's stdin), kCloseStdin (the client's
//                  stdin ended), kResize (payload "rows cols"), kDetach (the client detaches).
//   shim → client: kStdout / kStderr (output), kExit (payload: exit code, sent after the output
//                  has been drained and exit.json written; the shim closes the socket after it).
// A monitor client gets only kExit: berthd keeps one per running container to learn of the exit
// at once, and sends kResize on it.
//
// Exec: a client whose first frame is kExecStart (payload "<tag>\n<flags>\n<process.json>",
// flags: t = tty, i = stdin, d = detached: no output, only kExit) makes the shim run `<runtime> exec --detach` with that process;
// the exec is the shim's child from then on (subreaper), so it outlives berthd. The shim answers
// kExecStarted (payload: pid) or kExecError (message, then closes); then the connection is the
// exec's: kStdout/kStderr of the exec, kStdin/kCloseStdin/kResize to it, kExit (its status)
// at the end. When the client goes away the exec goes on (its stdin is closed, its output
// dropped). Before kExit the shim writes the exec's status to `exec-<tag>.exit` in its state
// dir (atomically: {"ExitCode":N,"Pid":P}), so a berthd that was down meanwhile still learns it.
//
// Exec watch (a restarted berthd): a client whose first frame is kExecWatch (payload: tag) gets
// kExecStarted (pid) if that exec still runs, then kExit when it ends; or at once kExit (from
// exec-<tag>.exit) if it has ended; or kExecError if the shim does not know it. A watcher gets
// no output; kResize on it resizes the exec's tty.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace berth::shim::proto {

inline constexpr char kAttachSocket[] = "attach.sock";

enum Kind : unsigned char {
  kStdin = 0,
  kStdout = 1,
  kStderr = 2,
  kHello = 'H',
  kCloseStdin = 'C',
  kResize = 'R',
  kDetach = 'D',
  kExit = 'E',
  kExecStart = 'X',
  kExecStarted = 'P',
  kExecError = 'F',
  kExecWatch = 'W',
};

// A spare shim (`berth-shim --spare --id <kSparePlaceholderId>`, fd 3: a SOCK_SEQPACKET socket
// to berthd) waits for one message: the arguments a shim is normally started with (argv
// without argv[0], NUL-separated) and, as SCM_RIGHTS, the ready and attach fds. It then runs
// as that container's shim, its command line showing the real id in the placeholder's place
// (same length: container ids are 64 hex digits). EOF instead of a message: it exits.
// The spare daemonizes at once (berthd reaps its first process right away), and with
// `--runtime-ahead <berth-runtime>` starts `<berth-runtime> --await-command` as its child: the
// container's first runtime command (create or run) goes to that process (its working
// directory, command line and stdio fds in one SOCK_SEQPACKET message on the runtime's fd 3)
// when the job names that runtime; otherwise it is let go (EOF) and the runtime is started.
// The runtime answers on the same socket with its exit code (an int) as soon as the command is
// done, before its process has exited (reaped later, with the other children).
// Having received its job, a spare forks the spare for the next one (a copy of itself, no exec)
// and sends berthd, on the old channel, one message kSpareNext with that spare's channel as
// SCM_RIGHTS; then it closes the old channel.
inline constexpr char kSpareNext[] = "next";
inline constexpr char kSparePlaceholderId[] =
    "0000000000000000000000000000000000000000000000000000000000000000";
inline constexpr std::size_t kMaxSpareJob = 64 * 1024;

// The file in the shim's state dir that holds an exec's status once it ended.
inline std::string exec_exit_file(std::string_view tag) { return "exec-" + std::string(tag) + ".exit"; }

inline constexpr std::size_t kHeader = 8;
inline constexpr std::uint32_t kMaxFrame = 1u << 20;

inline void put_header(char* h, unsigned char kind, std::uint32_t n) {
  h[0] = static_cast<char>(kind);
  h[1] = h[2] = h[3] = 0;
  h[4] = static_cast<char>(n >> 24);
  h[5] = static_cast<char>(n >> 16);
  h[6] = static_cast<char>(n >> 8);
  h[7] = static_cast<char>(n);
}

inline std::string frame(unsigned char kind, std::string_view data) {
  std::string f(kHeader, '\0');
  put_header(f.data(), kind, static_cast<std::uint32_t>(data.size()));
  f.append(data);
  return f;
}

inline std::uint32_t frame_len(const char* h) {
  auto u = [&](int i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(h[i])); };
  return (u(4) << 24) | (u(5) << 16) | (u(6) << 8) | u(7);
}

// Pops one complete frame off the front of buf; false if none is complete yet.
inline bool pop_frame(std::string& buf, unsigned char* kind, std::string* payload) {
  if (buf.size() < kHeader) return false;
  std::uint32_t n = frame_len(buf.data());
  if (buf.size() < kHeader + n) return false;
  *kind = static_cast<unsigned char>(buf[0]);
  payload->assign(buf, kHeader, n);
  buf.erase(0, kHeader + n);
  return true;
}

}  // namespace berth::shim::proto
