// SPDX-License-Identifier: Apache-2.0
// kill -9 harness for the image tests: runs an operation on its own ImageService in a forked
// child, watches what it reports (progress lines appended to a file, or any other condition)
// and SIGKILLs it at the chosen moment; then the store must reopen consistent
// (ImageService::check).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "common/file.hpp"
#include "common/strings.hpp"
#include "image/image_service.hpp"

namespace berth::image::test_crash {

struct KillResult {
  bool killed = false;    // false: the child finished (or timed out) before the condition held
  std::string progress;   // progress lines the child reported
};

// `op` runs in the child with a service opened on `root` and a progress callback that appends
// each line to `progress_file`; `when(progress_so_far)` is polled every 5 ms.
inline KillResult kill_when(const std::string& root, const std::string& driver,
                            const std::string& progress_file,
                            const std::function<bool(ImageService&, const ProgressFn&)>& op,
                            const std::function<bool(const std::string&)>& when,
                            int timeout_ms = 60000) {
  ::unlink(progress_file.c_str());
  pid_t pid = ::fork();
  if (pid < 0) return {};
  if (pid == 0) {
    int pf = ::open(progress_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    ServiceOptions o;
    o.root = root;
    o.driver = driver;
    auto s = ImageService::open(o);
    if (!s) ::_exit(3);
    ProgressFn p = [pf](const Progress& pr) {
      std::string l = pr.json + "\n";
      (void)!::write(pf, l.data(), l.size());
    };
    ::_exit(op(**s, p) ? 0 : 4);
  }
  KillResult r;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    r.progress = read_file(progress_file).value_or("");
    if (when(r.progress)) {
      r.killed = ::kill(pid, SIGKILL) == 0;
      break;
    }
    int st = 0;
    if (::waitpid(pid, &st, WNOHANG) == pid) return r;  // finished first
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)) r.killed = false;
  return r;
}

// The largest "current" of the "Downloading" progress lines so far.
inline std::int64_t downloaded(const std::string& progress) {
  std::int64_t best = 0;
  for (auto& line : split(progress, '\n')) {
    if (line.find("\"Downloading\"") == std::string::npos) continue;
    auto p = line.find("\"current\":");
    if (p != std::string::npos) best = std::max<std::int64_t>(best, std::atoll(line.c_str() + p + 10));
  }
  return best;
}

inline std::int64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_size : -1;
}

// Reopening the store finds it consistent (deep: every blob re-hashed).
inline void expect_consistent(ImageService& svc, const std::string& when) {
  auto p = svc.check(true);
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_TRUE(p->empty()) << when << ":\n" << join(*p, "\n");
}

}  // namespace berth::image::test_crash
