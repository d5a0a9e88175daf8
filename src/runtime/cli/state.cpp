// SPDX-License-Identifier: Apache-2.0
// berth-runtime state <container-id>: the OCI state JSON.
#include <cstdio>

#include "runtime/cli/args.hpp"

namespace berth::runtime::cli {

int cmd_state(const Globals& g, const std::vector<std::string>& argv) {
  Args a({});
  if (auto st = a.parse(argv); !st) return report(st.error());
  if (!need_args(a, 1, "state")) return 1;
  auto s = state(g, a.positional()[0]);
  if (!s) return report(s.error());
  std::printf("%s\n", s->c_str());
  return 0;
}

}  // namespace berth::runtime::cli
