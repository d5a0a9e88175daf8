// SPDX-License-Identifier: Apache-2.0
// berth-runtime update [--resources FILE|-] [--memory N --cpu-quota N ...] <container-id>
#include <unistd.h>

#include "common/file.hpp"
#include "common/strings.hpp"
#include "runtime/cli/args.hpp"

namespace berth::runtime::cli {

int cmd_update(const Globals& g, const std::vector<std::string>& argv) {
  const std::vector<FlagSpec> spec = {
      {{"resources", "r"}}, {{"memory"}}, {{"memory-swap"}}, {{"memory-reservation"}}, {{"kernel-memory"}},
      {{"kernel-memory-tcp"}}, {{"cpu-share", "cpu-shares"}}, {{"cpu-quota"}}, {{"cpu-period"}}, {{"cpu-rt-period"}},
      {{"cpu-rt-runtime"}}, {{"cpuset-cpus"}}, {{"cpuset-mems"}}, {{"pids-limit"}}, {{"blkio-weight"}},
      {{"l3-cache-schema"}}, {{"mem-bw-schema"}}};
  // runc accepts flags after the container id here (`update ID --memory 1M`): move the id last.
  std::vector<std::string> args = argv;
  if (Args probe(spec); probe.parse(argv) && probe.positional().size() > 1) {
    std::size_t idx = argv.size() - probe.positional().size();
    args.erase(args.begin() + static_cast<long>(idx));
    args.push_back(argv[idx]);
  }
  Args a(spec);
  if (auto st = a.parse(args); !st) return report(st.error());
  if (!need_args(a, 1, "update")) return 1;
  cgroups::Resources r;
  if (a.has("resources")) {
    std::string f = a.value("resources");
    auto txt = f == "-" ? read_fd(0) : read_file(f);
    if (!txt) return report(txt.error());
    auto pr = parse_resources(*txt);
    if (!pr) return report(pr.error());
    r = *pr;
  }
  auto bytes = [&](const char* name, std::optional<std::int64_t>& out) -> bool {
    if (!a.has(name)) return true;
    auto v = a.value(name);
    auto n = v == "-1" ? std::optional<std::int64_t>(-1) : parse_bytes(v);
    if (!n) return false;
    out = *n;
    return true;
  };
  auto num = [&](const char* name, auto& out) -> bool {
    if (!a.has(name)) return true;
    auto n = parse_int(a.value(name));
    if (!n) return false;
    out = static_cast<std::remove_reference_t<decltype(*out)>>(*n);
    return true;
  };
  bool okv = bytes("memory", r.memory.limit) && bytes("memory-swap", r.memory.swap) &&
             bytes("memory-reservation", r.memory.reservation) && bytes("kernel-memory", r.memory.kernel) &&
             bytes("kernel-memory-tcp", r.memory.kernel_tcp) && num("cpu-shares", r.cpu.shares) &&
             num("cpu-quota", r.cpu.quota) && num("cpu-period", r.cpu.period) &&
             num("cpu-rt-period", r.cpu.realtime_period) && num("cpu-rt-runtime", r.cpu.realtime_runtime) &&
             num("pids-limit", r.pids_limit) && num("blkio-weight", r.blkio.weight);
  if (!okv) return report(Error(Errc::InvalidArgument, "invalid value for an update flag"));
  if (a.has("cpuset-cpus")) r.cpu.cpus = a.value("cpuset-cpus");
  if (a.has("cpuset-mems")) r.cpu.mems = a.value("cpuset-mems");
  if (a.has("l3-cache-schema") || a.has("mem-bw-schema"))
    return report(Error(Errc::Unimplemented, "Intel RDT is not supported by berth-runtime"));
  auto st = update(g, a.positional()[0], r);
  if (!st) return report(st.error());
  return 0;
}

}  // namespace berth::runtime::cli
