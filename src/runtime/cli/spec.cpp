// SPDX-License-Identifier: Apache-2.0
// berth-runtime spec [--rootless] [--bundle B]: writes runc's default config.json.
#include <fcntl.h>
#include <unistd.h>

#include "common/file.hpp"
#include "runtime/cli/args.hpp"

namespace berth::runtime::cli {

int cmd_spec(const Globals&, const std::vector<std::string>& argv) {
  Args a({{{"bundle", "b"}}, {{"rootless"}, false}});
  if (auto st = a.parse(argv); !st) return report(st.error());
  std::string path = a.value("bundle", ".") + "/config.json";
  if (path_exists(path)) return report(Error(Errc::AlreadyExists, "File " + path + " exists. Remove it first"));
  auto st = write_file(path, default_spec_json(a.flag("rootless")), 0666);
  if (!st) return report(st.error());
  return 0;
}

}  // namespace berth::runtime::cli
