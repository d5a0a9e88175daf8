// SPDX-License-Identifier: Apache-2.0
// A berth-shim started ahead of need (`berth-shim --spare`, see shim/attach_proto.hpp): a
// container's start hands it the arguments and fds a new shim would get instead of starting
// one, which takes one process start off `docker start` (an exec plus glibc's start-up, whose
// CPU probing traps to the hypervisor here: 1-5 ms). One spare at a time, made after the first
// start (an idle berthd that runs nothing has none); an unused spare exits when berthd closes
// its channel or goes away. The spare daemonizes at once and, for berth-runtime, starts the
// runtime too (waiting for its command line): a container's create pays neither process start.
// The spare that takes a job forks the next spare (a copy of itself: no exec, no glibc start-up,
// ≈ 0.8 ms of CPU less per container here) and sends berthd its channel (attach_proto.hpp);
// berthd spawns one only when none came.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace berth::daemon {

class SpareShim {
 public:
  SpareShim();
  ~SpareShim();  // closes the channel: the spare exits
  SpareShim(const SpareShim&) = delete;
  SpareShim& operator=(const SpareShim&) = delete;

  // Gives args (a shim's argv without argv[0]) and the ready and attach fds to the spare,
  // which becomes that container's shim (daemonized already: nothing to reap); false when no
  // live spare is at hand (then spawn one as usual).
  bool hand(const std::vector<std::string>& args, int ready_fd, int attach_fd);
  // Makes a new spare ready (in the background) unless one is: the one the last handed spare
  // forked (up to 1 s for its channel), else a new process. With berth-runtime as runtime_path
  // the spare starts it ahead too (`--runtime-ahead`, shim/attach_proto.hpp).
  void replenish(const std::string& shim_path, const std::string& runtime_path);

  struct State;

 private:
  std::shared_ptr<State> st_;
};

}  // namespace berth::daemon
