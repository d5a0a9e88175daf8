// SPDX-License-Identifier: Apache-2.0
// berth-runtime kill [--all] <container-id> [signal]   (signal: name or number, default TERM)
#include "runtime/cli/args.hpp"

namespace berth::runtime::cli {

int cmd_kill(const Globals& g, const std::vector<std::string>& argv) {
  Args a({{{"all", "a"}, false}, {{"pid", "p"}}});
  if (auto st = a.parse(argv); !st) return report(st.error());
  auto& p = a.positional();
  if (p.empty() || p.size() > 2) {
    need_args(a, 1, "kill", false);
    return 1;
  }
  int sig = parse_signal(p.size() == 2 ? p[1] : "TERM");
  if (sig < 0) return report(Error(Errc::InvalidArgument, "unknown signal \"" + p[1] + "\""));
  auto st = kill(g, p[0], sig, a.flag("all"));
  if (!st) return report(st.error());
  return 0;
}

}  // namespace berth::runtime::cli
