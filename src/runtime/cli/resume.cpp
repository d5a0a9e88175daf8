// SPDX-License-Identifier: Apache-2.0
// berth-runtime resume <container-id>: thaws the container's cgroup.
#include "runtime/cli/args.hpp"

namespace berth::runtime::cli {

int cmd_resume(const Globals& g, const std::vector<std::string>& argv) {
  Args a({});
  if (auto st = a.parse(argv); !st) return report(st.error());
  if (!need_args(a, 1, "resume")) return 1;
  auto st = resume(g, a.positional()[0]);
  if (!st) return report(st.error());
  return 0;
}

}  // namespace berth::runtime::cli
