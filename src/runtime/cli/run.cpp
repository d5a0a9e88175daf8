// SPDX-License-Identifier: Apache-2.0
// berth-runtime run [-d] [--keep] [create's flags] <container-id>
#include "runtime/cli/args.hpp"

namespace berth::runtime::cli {

std::vector<FlagSpec> create_flags();
Result<CreateOptions> create_options(const Args& a);

int cmd_run(const Globals& g, const std::vector<std::string>& argv) {
  auto flags = create_flags();
  flags.push_back({{"detach", "d"}, false});
  flags.push_back({{"keep"}, false});
  Args a(flags);
  if (auto st = a.parse(argv); !st) return report(st.error());
  if (!need_args(a, 1, "run")) return 1;
  auto o = create_options(a);
  if (!o) return report(o.error());
  auto r = run(g, *o, a.flag("detach"), a.flag("keep"));
  if (!r) return report(r.error());
  return *r;
}

}  // namespace berth::runtime::cli
