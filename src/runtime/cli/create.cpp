// SPDX-License-Identifier: Apache-2.0
// berth-runtime create [--bundle B] [--console-socket S] [--pid-file P] [--no-pivot]
//                      [--no-new-keyring] [--preserve-fds N] <container-id>
#include "common/strings.hpp"
#include "runtime/cli/args.hpp"

namespace berth::runtime::cli {

std::vector<FlagSpec> create_flags() {
  return {{{"bundle", "b"}}, {{"console-socket"}}, {{"pid-file"}},
          {{"no-pivot"}, false}, {{"no-new-keyring"}, false}, {{"preserve-fds"}}};
}

Result<CreateOptions> create_options(const Args& a) {
  CreateOptions o;
  o.id = a.positional().empty() ? "" : a.positional()[0];
  o.bundle = a.value("bundle", ".");
  o.console_socket = a.value("console-socket");
  o.pid_file = a.value("pid-file");
  o.no_pivot = a.flag("no-pivot");
  o.no_new_keyring = a.flag("no-new-keyring");
  if (a.has("preserve-fds")) {
    auto n = parse_uint(a.value("preserve-fds"));
    if (!n) return fail(Errc::InvalidArgument, "invalid value for --preserve-fds");
    o.preserve_fds = static_cast<int>(*n);
  }
  return o;
}

int cmd_create(const Globals& g, const std::vector<std::string>& argv) {
  Args a(create_flags());
  if (auto st = a.parse(argv); !st) return report(st.error());
  if (!need_args(a, 1, "create")) return 1;
  auto o = create_options(a);
  if (!o) return report(o.error());
  auto st = create(g, *o);
  if (!st) return report(st.error());
  return 0;
}

}  // namespace berth::runtime::cli
