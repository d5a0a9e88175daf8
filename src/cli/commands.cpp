// SPDX-License-Identifier: Apache-2.0
// The command table: every verb, one file each under commands/.
#include "cli/cli.hpp"

namespace berth::cli {

#define BERTH_CMDS(X)                                                                            \
  X(version) X(info) X(ps) X(images) X(inspect) X(container_inspect) X(image_inspect) X(run)     \
  X(create) X(start) X(stop) X(restart) X(kill) X(rm) X(pause) X(unpause) X(rename) X(wait)      \
  X(logs) X(exec) X(attach) X(top) X(stats) X(update) X(diff) X(export) X(cp) X(commit) X(pull)  \
  X(push) X(tag) X(rmi) X(save) X(load) X(import) X(history) X(login) X(logout)                  \
  X(volume_create) X(volume_ls) X(volume_inspect) X(volume_rm) X(volume_prune)                   \
  X(network_create) X(network_ls) X(network_inspect) X(network_rm) X(network_prune)              \
  X(network_connect) X(network_disconnect) X(system_df) X(system_prune) X(system_dial_stdio)     \
  X(port) X(events) X(context_create) X(context_ls) X(context_use) X(context_rm) X(context_inspect)      \
  X(context_show) X(completion) X(container_prune) X(image_prune) X(build)

#define DECLARE(n) const Command& cmd_##n();
BERTH_CMDS(DECLARE)
#undef DECLARE

const std::vector<const Command*>& commands() {
#define ENTRY(n) &cmd_##n(),
  static const std::vector<const Command*> table = {BERTH_CMDS(ENTRY)};
#undef ENTRY
  return table;
}

}  // namespace berth::cli
