// SPDX-License-Identifier: Apache-2.0
// berth-runtime delete [--force] <container-id>...
#include "runtime/cli/args.hpp"

namespace berth::runtime::cli {

int cmd_delete(const Globals& g, const std::vector<std::string>& argv) {
  Args a({{{"force", "f"}, false}});
  if (auto st = a.parse(argv); !st) return report(st.error());
  if (!need_args(a, 1, "delete", false)) return 1;
  int rc = 0;
  for (auto& id : a.positional()) {
    auto st = destroy(g, id, a.flag("force"));
    if (!st) rc = report(st.error());
  }
  return rc;
}

}  // namespace berth::runtime::cli
