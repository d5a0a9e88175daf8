// SPDX-License-Identifier: Apache-2.0
// berth-runtime features: what this runtime supports, in runc's `features` JSON layout.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "runtime/cli/args.hpp"
#include "security/caps.hpp"
#include "security/seccomp.hpp"

namespace berth::runtime::cli {

int cmd_features(const Globals&, const std::vector<std::string>&) {
  using security::known_caps;
  nlohmann::json j = {
      {"ociVersionMin", "1.0.0"},
      {"ociVersionMax", "1.1.0"},
      {"hooks", {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}},
      {"mountOptions",
       {"async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "iversion", "lazytime", "loud",
        "mand", "noatime", "nodev", "nodiratime", "noexec", "noiversion", "nolazytime", "nomand", "norelatime",
        "nostrictatime", "nosuid", "private", "rbind", "rdev", "rdiratime", "relatime", "remount", "rexec",
        "rnodev", "rnodiratime", "rnoexec", "rnosuid", "ro", "rprivate", "rro", "rrw", "rshared", "rslave",
        "runbindable", "rsuid", "rw", "shared", "silent", "slave", "strictatime", "suid", "sync", "unbindable"}},
      {"linux",
       {{"namespaces", {"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"}},
        {"capabilities", known_caps()},
        {"cgroup", {{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}, {"rdma", false}}},
        {"seccomp",
         {{"enabled", true},
          {"actions", security::seccomp_actions()},
          {"operators", security::seccomp_operators()},
          {"archs", security::seccomp_archs()},
          {"knownFlags", security::seccomp_flags()},
          {"supportedFlags", security::seccomp_flags()}}},
        {"apparmor", {{"enabled", true}}},
        {"selinux", {{"enabled", false}}},
        {"intelRdt", {{"enabled", false}}},
        {"mountExtensions", {{"idmap", {{"enabled", false}}}}}}},
      {"annotations", {{"org.opencontainers.runtime-spec.features.runtime", "berth-runtime"}}}};
  std::printf("%s\n", j.dump(4).c_str());
  return 0;
}

}  // namespace berth::runtime::cli
