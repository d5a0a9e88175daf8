// SPDX-License-Identifier: Apache-2.0
// Shared helpers for integration and e2e tests.
//
// Every resource a test creates carries the prefix kTestPrefix ("berth-test-") or, where names
// are short (interfaces: 15 chars), kShortPrefix ("bt"), so tests/cleanup/cleanup.sh can remove
// leftovers of a crashed run.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/file.hpp"

namespace berth::test {

inline constexpr const char* kTestPrefix = "berth-test-";
inline constexpr const char* kShortPrefix = "bt";

// "berth-test-<what>-<8 hex>"
std::string unique_name(const std::string& what);
// A scratch directory under /tmp removed (with anything mounted below it unmounted) at the end.
class Scratch {
 public:
  explicit Scratch(const std::string& what);
  ~Scratch();
  const std::string& path() const { return path_; }
  std::string sub(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

// Directory of the built binaries (build/bin) and test images (build/test-images).
std::string bin_dir();
std::string bin(const std::string& name);
std::string images_dir();
// Path of a test image's rootfs/bundle/oci dir ("busybox", "debian", "probe"); empty if absent.
std::string image_path(const std::string& image, const std::string& part);

struct RunResult {
  int status = -1;  // exit code, or 128+signal
  std::string out;
  std::string err;
};
// Runs argv (no shell) with an optional stdin; waits at most timeout_s seconds (then SIGKILL).
RunResult run(const std::vector<std::string>& argv, const std::string& stdin_data = {},
              int timeout_s = 60, const std::vector<std::string>& extra_env = {});

// Absolute path of `prog` on PATH, or empty.
std::string which(const std::string& prog);
// A TCP port on 127.0.0.1 that was free a moment ago (bound, read, closed).
std::uint16_t free_port();

// Unmounts every mount point under `dir` (deepest first).
void unmount_below(const std::string& dir);

}  // namespace berth::test

#define REQUIRE_ROOT()                                         \
  do {                                                         \
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";        \
  } while (0)

#define REQUIRE_IMAGE(name)                                                         \
  do {                                                                              \
    if (::berth::test::image_path(name, "rootfs").empty())                          \
      GTEST_FAIL() << "test image " << name << " missing: run make test-images";    \
  } while (0)
