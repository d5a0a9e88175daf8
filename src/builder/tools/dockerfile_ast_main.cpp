// SPDX-License-Identifier: Apache-2.0
// berth-dockerfile-ast FILE...: prints each Dockerfile's AST in BuildKit's parser test format
// (what `berth build --dump-ast FILE` prints). Exit 1 on a parse error. Used to run BuildKit's
// parser corpus from a fetched moby/buildkit checkout:
//   for d in frontend/dockerfile/parser/testfiles/*; do
//     diff <(berth-dockerfile-ast $d/Dockerfile) $d/result; done
#include <cstdio>
#include <string>

#include "builder/dockerfile/parser.hpp"
#include "common/file.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DOCKERFILE...\n", argv[0]);
    return 2;
  }
  int rc = 0;
  for (int i = 1; i < argc; ++i) {
    auto text = berth::read_file(argv[i]);
    if (!text) {
      std::fprintf(stderr, "%s: %s\n", argv[i], text.error().message().c_str());
      rc = 1;
      continue;
    }
    auto out = berth::builder::dockerfile::dump_ast(*text);
    if (!out) {
      std::fprintf(stderr, "%s: %s\n", argv[i], out.error().message().c_str());
      rc = 1;
      continue;
    }
    std::fwrite(out->data(), 1, out->size(), stdout);
  }
  return rc;
}
