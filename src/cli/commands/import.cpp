// SPDX-License-Identifier: Apache-2.0
// berth import [-c CHANGE] [-m MSG] file|URL|- [REPOSITORY[:TAG]]
#include <fcntl.h>
#include <unistd.h>

#include "cli/cli.hpp"
#include "cli/cmd_util.hpp"
#include "common/file.hpp"

namespace berth::cli {

static int run_import(App& app, const ParsedFlags& f) {
  const std::string& src = f.args[0];
  std::string q = "?fromSrc=";
  bool url = src.rfind("http://", 0) == 0 || src.rfind("https://", 0) == 0;
  q += url ? url_escape(src) : "-";
  if (f.args.size() > 1) {
    std::string repo = f.args[1], tag;
    auto slash = repo.rfind('/');
    auto colon = repo.rfind(':');
    if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
      tag = repo.substr(colon + 1);
      repo = repo.substr(0, colon);
    }
    q += "&repo=" + url_escape(repo);
    if (!tag.empty()) q += "&tag=" + url_escape(tag);
  }
  if (f.has("message")) q += "&message=" + url_escape(f.str("message"));
  for (const auto& c : f.list("change")) q += "&changes=" + url_escape(c);
  if (f.has("platform")) q += "&platform=" + url_escape(f.str("platform"));
  UniqueFd file;
  int fd = -1;
  if (!url) {
    if (src == "-") {
      fd = STDIN_FILENO;
    } else {
      auto o = open_file(src, O_RDONLY);
      if (!o) return report(app, o.error());
      file = std::move(*o);
      fd = file.get();
    }
  }
  Status st = run_progress(app, "POST", "/images/create" + q, "", {{"Content-Type", "application/x-tar"}}, fd, false);
  if (!st) return report(app, st.error());
  return 0;
}

const Command& cmd_import() {
  static const Command c{"import", {"image import"}, "[OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
                         "Import the contents from a tarball to create a filesystem image",
                         {{"change", 'c', FlagKind::List, "Apply Dockerfile instruction to the created image"},
                          {"message", 'm', FlagKind::String, "Set commit message for imported image"},
                          {"platform", 0, FlagKind::String, "Set platform if server is multi-platform capable"}},
                         1, 2, true, run_import};
  return c;
}

}  // namespace berth::cli
