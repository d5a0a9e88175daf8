// SPDX-License-Identifier: Apache-2.0
// berth-runtime start <container-id>
#include "runtime/cli/args.hpp"

namespace berth::runtime::cli {

int cmd_start(const Globals& g, const std::vector<std::string>& argv) {
  Args a({});
  if (auto st = a.parse(argv); !st) return report(st.error());
  if (!need_args(a, 1, "start")) return 1;
  auto st = start(g, a.positional()[0]);
  if (!st) return report(st.error());
  return 0;
}

}  // namespace berth::runtime::cli
