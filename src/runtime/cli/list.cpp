// SPDX-License-Identifier: Apache-2.0
// berth-runtime list [--format table|json] [-q]
#include <dirent.h>
#include <pwd.h>
#include <sys/stat.h>

#include <cstdio>

#include <nlohmann/json.hpp>

#include "runtime/cli/args.hpp"

namespace berth::runtime::cli {

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
        if (auto* pw = ::getpwuid(st.st_uid)) owner = pw->pw_name;
        else owner = "#" + std::to_string(st.st_uid);
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
    nlohmann::json arr = nlohmann::json::array();
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
