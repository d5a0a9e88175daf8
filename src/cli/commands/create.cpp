// SPDX-License-Identifier: Apache-2.0
// berth create: POST /containers/create; prints the new ID.
#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "cli/create_opts.hpp"

namespace berth::cli {

int run_error(App& app, const std::string& verb, const std::string& msg, int code);
Result<std::string> create_container(App& app, const CreateRequest& req);

static int run_create(App& app, const ParsedFlags& f) {
  auto req = build_create_request(f, false);
  if (!req) return run_error(app, "create", req.error().message() + ".", kExitUsage);
  auto id = create_container(app, *req);
  if (!id) return run_error(app, "create", id.error().message(), kExitUsage);
  app.out(*id + "\n");
  return 0;
}

const Command& cmd_create() {
  static const Command c{"create", {"container create"}, "[OPTIONS] IMAGE [COMMAND] [ARG...]",
                         "Create a new container", container_create_flags(false), 1, -1, false,
                         run_create};
  return c;
}

}  // namespace berth::cli
