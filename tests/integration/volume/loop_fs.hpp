// SPDX-License-Identifier: Apache-2.0
// A filesystem in a sparse image file, loop-mounted for a test (xfs with pquota, btrfs) and
// unmounted at the end; the image file lives in the caller's scratch directory.
#pragma once

#include <sys/mount.h>

#include <memory>
#include <string>

#include "common/file.hpp"
#include "support/test_support.hpp"

namespace berth::test {

class LoopFs {
 public:
  // mkfs.<fstype> on `img` (`size` as truncate takes it), then mount -o loop,<opts> on `dir`.
  // nullptr with `why` set when this machine cannot (missing mkfs tool or kernel support).
  static std::unique_ptr<LoopFs> make(const std::string& img, const std::string& dir, const std::string& fstype,
                                      const std::string& opts, std::string* why, const std::string& size = "320M") {
    if (!mkdir_all(dir)) return fail_with(why, "mkdir " + dir);
    auto t = run({"truncate", "-s", size, img});
    if (t.status != 0) return fail_with(why, "truncate: " + t.err);
    auto mk = run({"mkfs." + fstype, "-q", img}, {}, 120);
    if (mk.status != 0) return fail_with(why, "mkfs." + fstype + ": " + mk.err);
    auto m = run({"mount", "-o", "loop" + (opts.empty() ? "" : "," + opts), "-t", fstype, img, dir}, {}, 60);
    if (m.status != 0)
      return fail_with(why, "mount " + fstype + (opts.empty() ? "" : " -o " + opts) + " (kernel without " +
                                (fstype == "xfs" && !opts.empty() ? "CONFIG_XFS_QUOTA" : fstype) + "?): " + m.err);
    return std::unique_ptr<LoopFs>(new LoopFs(dir));
  }
  ~LoopFs() {
    // the loop device autoclears; lazily when something below is still mounted
    if (::umount2(dir_.c_str(), 0) != 0) unmount_below(dir_);
  }
  LoopFs(const LoopFs&) = delete;
  LoopFs& operator=(const LoopFs&) = delete;
  const std::string& dir() const { return dir_; }

 private:
  explicit LoopFs(std::string dir) : dir_(std::move(dir)) {}
  static std::unique_ptr<LoopFs> fail_with(std::string* why, const std::string& msg) {
    if (why) *why = msg;
    return nullptr;
  }
  std::string dir_;
};

}  // namespace berth::test
