// SPDX-License-Identifier: Apache-2.0
// berth-imagetool: drives ImageService directly (debugging, benchmarks).
//   berth-imagetool decompress FILE
//   berth-imagetool ROOT DRIVER load FILE | save FILE REF... | ls | inspect REF | rm REF |
//                   pull REF | push REF | import FILE REF
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "common/file.hpp"
#include "image/image_service.hpp"
#include "storage/reader.hpp"

using namespace berth;

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "decompress") {  // decompress FILE: MB/s of the layer reader
    auto fd = open_file(argv[2], O_RDONLY);
    if (!fd) return 1;
    auto t = std::chrono::steady_clock::now();
    auto r = storage::decompressed(storage::fd_reader(fd->get()));
    if (!r) return 1;
    std::vector<char> buf(1 << 20);
    std::size_t total = 0;
    for (;;) {
      auto k = (*r)->read(buf.data(), buf.size());
      if (!k) {
        std::fprintf(stderr, "error: %s\n", k.error().message().c_str());
        return 1;
      }
      if (*k == 0) break;
      total += *k;
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
    std::printf("%zu bytes in %.3f s: %.0f MB/s (uncompressed)\n", total, s, total / s / 1e6);
    return 0;
  }
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s ROOT DRIVER CMD ARGS...\n", argv[0]);
    return 2;
  }
  image::ServiceOptions o;
  o.root = argv[1];
  o.driver = argv[2];
  std::string cmd = argv[3];
  std::vector<std::string> args(argv + 4, argv + argc);
  auto t0 = std::chrono::steady_clock::now();
  auto svc = image::ImageService::open(o);
  if (!svc) {
    std::fprintf(stderr, "open: %s\n", svc.error().message().c_str());
    return 1;
  }
  auto progress = [](const image::Progress& p) { std::printf("%s\n", p.json.c_str()); };
  Status st = ok();
  if (cmd == "load" && args.size() == 1) {
    auto fd = open_file(args[0], O_RDONLY);
    if (!fd) st = fail(std::move(fd.error()));
    else if (auto r = (*svc)->load(fd->get(), progress); !r) st = fail(std::move(r.error()));
  } else if (cmd == "save" && args.size() >= 2) {
    auto fd = open_file(args[0], O_WRONLY | O_CREAT | O_TRUNC);
    if (!fd) st = fail(std::move(fd.error()));
    else st = (*svc)->save({args.begin() + 1, args.end()}, fd->get());
  } else if (cmd == "ls") {
    auto l = (*svc)->list({});
    if (!l) st = fail(std::move(l.error()));
    else
      for (auto& i : *l)
        std::printf("%s %s %lld\n", i.id.c_str(), i.repo_tags.empty() ? "<none>" : i.repo_tags[0].c_str(),
                    static_cast<long long>(i.size));
  } else if (cmd == "inspect" && args.size() == 1) {
    auto r = (*svc)->inspect(args[0]);
    if (!r) st = fail(std::move(r.error()));
    else std::printf("%s\n", r->c_str());
  } else if (cmd == "rm" && args.size() == 1) {
    auto r = (*svc)->remove(args[0], true);
    if (!r) st = fail(std::move(r.error()));
  } else if (cmd == "pull" && args.size() == 1) {
    auto r = (*svc)->pull(args[0], {}, progress);
    if (!r) st = fail(std::move(r.error()));
    else std::printf("%s\n", r->c_str());
  } else if (cmd == "push" && args.size() == 1) {
    st = (*svc)->push(args[0], "", progress);
  } else if (cmd == "import" && args.size() == 2) {
    auto fd = open_file(args[0], O_RDONLY);
    image::ImportOptions io;
    io.reference = args[1];
    if (!fd) st = fail(std::move(fd.error()));
    else if (auto r = (*svc)->import(fd->get(), io); !r) st = fail(std::move(r.error()));
  } else {
    std::fprintf(stderr, "unknown command\n");
    return 2;
  }
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr, "%s: %.0f ms\n", cmd.c_str(), ms);
  if (!st) {
    std::fprintf(stderr, "error: %s\n", st.error().message().c_str());
    return 1;
  }
  return 0;
}
