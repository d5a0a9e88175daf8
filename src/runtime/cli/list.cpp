// SPDX-License-Identifier: Apache-2.0
// berth-runtime list [--format table|json] [-q]
#include <dirent.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "runtime/cli/args.hpp"

namespace berth::runtime::cli {
namespace {

// The user name of uid from /etc/passwd. berth-runtime is a static binary: no NSS (like
// runc, which reads /etc/passwd itself).
std::string user_name(uid_t uid) {
  std::ifstream in("/etc/passwd");
  std::string line;
  while (std::getline(in, line)) {
    auto c1 = line.find(':');
    if (c1 == std::string::npos) continue;
    auto c2 = line.find(':', c1 + 1);
    if (c2 == std::string::npos) continue;
    auto c3 = line.find(':', c2 + 1);
    if (c3 == std::string::npos) continue;
    if (line.compare(c2 + 1, c3 - c2 - 1, std::to_string(uid)) == 0) return line.substr(0, c1);
  }
  return "#" + std::to_string(uid);
}

}  // namespace

int cmd_list(const Globals& g, const std::vector<std::string>& argv) {
  Args a({{{"format", "f"}}, {{"quiet", "q"}, false}});
  if (auto st = a.parse(argv); !st) return report(st.error());
  std::string format = a.value("format", "table");
  if (format != "table" && format != "json")
    return report(Error(Errc::InvalidArgument, "invalid format option"));
  struct Row {
    ContainerState s;
    ContainerStatus status;
    std::string owner;
  };
  std::vector<Row> rows;
  if (DIR* d = ::opendir(g.root.c_str())) {
    while (auto* e = ::readdir(d)) {
      std::string id = e->d_name;
      if (id == "." || id == "..") continue;
      auto s = load_state(g.root, id);
      if (!s) continue;
      struct stat st {};
      std::string owner;
      if (::stat(state_dir(g.root, id).c_str(), &st) == 0) {
        owner = user_name(st.st_uid);
      }
      rows.push_back({*s, current_status(g.root, *s), owner});
    }
    ::closedir(d);
  }
  std::sort(rows.begin(), rows.end(), [](const Row& x, const Row& y) { return x.s.id < y.s.id; });
  if (a.flag("quiet")) {
    for (auto& r : rows) std::printf("%s\n", r.s.id.c_str());
    return 0;
  }
  if (format == "json") {
    // runc's field order (consumers match it textually).
    nlohmann::ordered_json arr = nlohmann::ordered_json::array();
    for (auto& r : rows)
      arr.push_back({{"ociVersion", kOciVersion}, {"id", r.s.id}, {"pid", r.status == ContainerStatus::Stopped ? 0 : r.s.pid},
                     {"status", status_name(r.status)}, {"bundle", r.s.bundle}, {"rootfs", r.s.rootfs},
                     {"created", r.s.created}, {"owner", r.owner}});
    std::printf("%s\n", arr.dump().c_str());
    return 0;
  }
  // text/tabwriter layout of runc: minwidth 12, padding 3.
  std::vector<std::vector<std::string>> cells = {{"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}};
  for (auto& r : rows)
    cells.push_back({r.s.id, std::to_string(r.status == ContainerStatus::Stopped ? 0 : r.s.pid), status_name(r.status),
                     r.s.bundle, r.s.created, r.owner});
  std::vector<std::size_t> w(6, 0);
  for (auto& row : cells)
    for (std::size_t i = 0; i < 5; ++i) w[i] = std::max(w[i], std::max<std::size_t>(row[i].size() + 3, 12));
  for (auto& row : cells) {
    std::string line;
    for (std::size_t i = 0; i < 6; ++i) {
      line += row[i];
      if (i < 5) line += std::string(w[i] - row[i].size(), ' ');
    }
    std::printf("%s\n", line.c_str());
  }
  return 0;
}

}  // namespace berth::runtime::cli
