// SPDX-License-Identifier: Apache-2.0
// berth-runtime ps [--format table|json] <container-id> [ps options]
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "common/file.hpp"
#include "common/strings.hpp"
#include "runtime/cli/args.hpp"

namespace berth::runtime::cli {

int cmd_ps(const Globals& g, const std::vector<std::string>& argv) {
  Args a({{{"format", "f"}}});
  if (auto st = a.parse(argv); !st) return report(st.error());
  if (!need_args(a, 1, "ps", false)) return 1;
  auto pids = container_pids(g, a.positional()[0]);
  if (!pids) return report(pids.error());
  std::string format = a.value("format", "table");
  if (format == "json") {
    std::string o = "[";
    for (std::size_t i = 0; i < pids->size(); ++i) o += (i ? "," : "") + std::to_string((*pids)[i]);
    std::printf("%s]\n", o.c_str());
    return 0;
  }
  if (format != "table") return report(Error(Errc::InvalidArgument, "invalid format option"));
  std::vector<std::string> psargs = {"ps"};
  if (a.positional().size() > 1) psargs.insert(psargs.end(), a.positional().begin() + 1, a.positional().end());
  else psargs.push_back("-ef");
  int p[2];
  if (::pipe(p) != 0) return report(Error::from_errno(errno, "pipe"));
  pid_t child = ::fork();
  if (child == 0) {
    ::dup2(p[1], 1);
    ::close(p[0]);
    std::vector<char*> av;
    for (auto& s : psargs) av.push_back(const_cast<char*>(s.c_str()));
    av.push_back(nullptr);
    ::execvp("ps", av.data());
    _exit(127);
  }
  ::close(p[1]);
  auto out = read_fd(p[0]).value_or("");
  ::close(p[0]);
  int st;
  ::waitpid(child, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return report(Error(Errc::Internal, "ps failed: " + out));
  auto lines = split(out, '\n');
  if (lines.empty()) return 0;
  std::printf("%s\n", lines[0].c_str());
  // Find the PID column from the header.
  std::size_t col = 0;
  {
    auto hdr = split(lines[0], ' ');
    std::size_t k = 0;
    for (auto& h : hdr) {
      if (h.empty()) continue;
      if (h == "PID") col = k;
      ++k;
    }
  }
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::size_t k = 0;
    for (auto& f : split(lines[i], ' ')) {
      if (f.empty()) continue;
      if (k++ == col) {
        auto v = parse_int(f);
        if (v && std::find(pids->begin(), pids->end(), static_cast<pid_t>(*v)) != pids->end())
          std::printf("%s\n", lines[i].c_str());
        break;
      }
    }
  }
  return 0;
}

}  // namespace berth::runtime::cli
