// SPDX-License-Identifier: Apache-2.0
// berth load [-i FILE] [-q]: POST /images/load with the tar as body.
#include <fcntl.h>
#include <unistd.h>

#include "cli/cli.hpp"
#include "cli/cmd_util.hpp"
#include "common/file.hpp"

namespace berth::cli {

static int run_load(App& app, const ParsedFlags& f) {
  UniqueFd file;
  int fd = STDIN_FILENO;
  std::string in = f.str("input");
  if (!in.empty()) {
    auto o = open_file(in, O_RDONLY);
    if (!o) return report(app, o.error());
    file = std::move(*o);
    fd = file.get();
  } else if (::isatty(STDIN_FILENO) == 1) {
    return report(app, Error(Errc::InvalidArgument,
                             "requested load from stdin, but stdin is empty"));
  }
  bool quiet = f.flag("quiet");
  Status st = run_progress(app, "POST", std::string("/images/load?quiet=") + (quiet ? "1" : "0"), "",
                           {{"Content-Type", "application/x-tar"}}, fd, false);
  if (!st) return report(app, st.error());
  return 0;
}

const Command& cmd_load() {
  static const Command c{"load", {"image load"}, "[OPTIONS]", "Load an image from a tar archive or STDIN",
                         {{"input", 'i', FlagKind::String, "Read from tar archive file, instead of STDIN"},
                          {"quiet", 'q', FlagKind::Bool, "Suppress the load output"}},
                         0, 0, true, run_load};
  return c;
}

}  // namespace berth::cli
