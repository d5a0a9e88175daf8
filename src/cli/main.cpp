// SPDX-License-Identifier: Apache-2.0
#include <csignal>

#include "cli/cli.hpp"

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  return berth::cli::run_cli(argc, argv);
}
