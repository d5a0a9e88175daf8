// SPDX-License-Identifier: Apache-2.0
// Work inside another network namespace without moving any shared thread: each call runs its
// function on a fresh, short-lived thread that setns(CLONE_NEWNET)s and then exits. Sockets
// (netlink, TCP, ...) created there stay bound to that namespace after the thread is gone.
#pragma once

#include <functional>
#include <string>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace berth::net {

// Runs fn on a new thread joined to the netns `netns_fd` (-1 = the caller's netns).
Status run_in_netns(int netns_fd, const std::function<Status()>& fn);

// A new, anonymous network namespace (held only by the returned fd) with `lo` up.
Result<UniqueFd> new_netns();

// Opens the netns of a container: `path` (/proc/<pid>/ns/net, /run/netns/x, a bind mount) or,
// when path is empty, /proc/<pid>/ns/net.
Result<UniqueFd> open_netns(const std::string& path, int pid = 0);

// Writes a sysctl (e.g. "net/ipv4/conf/berth0/route_localnet") in the current netns.
Status write_sysctl(const std::string& key, const std::string& value);
Result<std::string> read_sysctl(const std::string& key);

}  // namespace berth::net
