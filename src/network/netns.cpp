// SPDX-License-Identifier: Apache-2.0
#include "network/netns.hpp"

#include <fcntl.h>
#include <sched.h>

#include <thread>

#include "common/file.hpp"
#include "common/strings.hpp"
#include "network/netlink.hpp"

namespace berth::net {

Status run_in_netns(int netns_fd, const std::function<Status()>& fn) {
  Status result = ok();
  std::thread t([&] {
    if (netns_fd >= 0 && ::setns(netns_fd, CLONE_NEWNET) != 0) {
      result = fail_errno("setns", "net");
      return;
    }
    result = fn();
  });
  t.join();
  return result;
}

Result<UniqueFd> new_netns() {
  UniqueFd out;
  TRY(run_in_netns(-1, [&]() -> Status {
    if (::unshare(CLONE_NEWNET) != 0) return fail_errno("unshare", "CLONE_NEWNET");
    out = TRY(open_file("/proc/thread-self/ns/net", O_RDONLY));
    auto nl = TRY(Netlink::open());
    return nl.set_up("lo", true);
  }));
  return out;
}

Result<UniqueFd> open_netns(const std::string& path, int pid) {
  std::string p = path.empty() ? "/proc/" + std::to_string(pid) + "/ns/net" : path;
  if (path.empty() && pid <= 0) return fail(Errc::InvalidArgument, "no netns path or pid");
  return TRYC(open_file(p, O_RDONLY), "open netns");
}

Status write_sysctl(const std::string& key, const std::string& value) {
  return write_file("/proc/sys/" + key, value + "\n");
}

Result<std::string> read_sysctl(const std::string& key) {
  auto s = TRY(read_file("/proc/sys/" + key));
  return std::string(trim(s));
}

}  // namespace berth::net
