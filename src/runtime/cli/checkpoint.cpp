// SPDX-License-Identifier: Apache-2.0
// berth-runtime checkpoint / restore: CRIU is not integrated; a clear error either way.
#include <unistd.h>

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

int cmd_checkpoint(const Globals&, const std::vector<std::string>&) { return no_criu("checkpoint"); }
int cmd_restore(const Globals&, const std::vector<std::string>&) { return no_criu("restore"); }

}  // namespace berth::runtime::cli
