// SPDX-License-Identifier: Apache-2.0
// berth-runtime pause <container-id>: freezes the container's cgroup.
#include "runtime/cli/args.hpp"

namespace berth::runtime::cli {

int cmd_pause(const Globals& g, const std::vector<std::string>& argv) {
  Args a({});
  if (auto st = a.parse(argv); !st) return report(st.error());
  if (!need_args(a, 1, "pause")) return 1;
  auto st = pause(g, a.positional()[0]);
  if (!st) return report(st.error());
  return 0;
}

}  // namespace berth::runtime::cli
