// SPDX-License-Identifier: Apache-2.0
// berth-runtime checkpoint / restore: CRIU is not integrated; a clear error either way.
#include <unistd.h>

#include <cerrno>

#include "runtime/cli/args.hpp"

namespace berth::runtime::cli {
namespace {
int no_criu(const char* verb) {
  bool have = ::access("/usr/sbin/criu", X_OK) == 0 || ::access("/usr/bin/criu", X_OK) == 0;
  return report(Error(Errc::Unimplemented,
                      std::string(verb) + ": " +
                          (have ? "checkpoint/restore through criu is not implemented by berth-runtime"
                                : "criu is not installed (checkpoint/restore needs criu)")));
}
}  // namespace

// runc's checkpoint flags, parsed so that usage errors are reported as runc does before the
// criu question: --parent-path must be relative to --image-path and exist there.
int cmd_checkpoint(const Globals&, const std::vector<std::string>& argv) {
  Args a({{{"image-path"}}, {{"work-path"}}, {{"parent-path"}}, {{"leave-running"}, false}, {{"tcp-established"}, false},
          {{"ext-unix-sk"}, false}, {{"shell-job"}, false}, {{"lazy-pages"}, false}, {{"status-fd"}},
          {{"page-server"}}, {{"file-locks"}, false}, {{"pre-dump"}, false}, {{"manage-cgroups-mode"}},
          {{"empty-ns"}}, {{"auto-dedup"}, false}});
  if (auto st = a.parse(argv); !st) return report(st.error());
  if (a.has("parent-path")) {
    std::string parent = a.value("parent-path");
    if (!parent.empty() && parent[0] == '/') return report(Error(Errc::InvalidArgument, "--parent-path must be relative"));
    std::string image = a.value("image-path", "checkpoint");
    std::string real = image + "/" + parent;
    if (::access(real.c_str(), F_OK) != 0)
      return report(Error::from_errno(errno, "invalid --parent-path", real));
  }
  return no_criu("checkpoint");
}
int cmd_restore(const Globals&, const std::vector<std::string>&) { return no_criu("restore"); }

}  // namespace berth::runtime::cli
