// SPDX-License-Identifier: Apache-2.0
#include "runtime/state.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include <nlohmann/json.hpp>

#include "cgroups/cgroups.hpp"
#include "common/file.hpp"
#include "common/strings.hpp"

namespace berth::runtime {

using json = nlohmann::json;

const char* status_name(ContainerStatus s) {
  switch (s) {
    case ContainerStatus::Creating: return "creating";
    case ContainerStatus::Created: return "created";
    case ContainerStatus::Running: return "running";
    case ContainerStatus::Stopped: return "stopped";
    case ContainerStatus::Paused: return "paused";
  }
  return "unknown";
}

Status validate_id(const std::string& id) {
  if (id.empty()) return fail(Errc::InvalidArgument, "container id cannot be empty");
  if (id == "." || id == "..") return fail(Errc::InvalidArgument, "invalid container id format: " + id);
  for (char c : id) {
    bool okc = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
               c == '+' || c == '-' || c == '.';
    if (!okc) return fail(Errc::InvalidArgument, "invalid container id format: " + id);
  }
  if (id.size() > 1024) return fail(Errc::InvalidArgument, "invalid container id format: " + id);
  return ok();
}

std::string state_dir(const std::string& root, const std::string& id) { return root + "/" + id; }

Status write_pid_file(const std::string& path, pid_t pid) {
  // No fsync (runc does none either): the pid names a process that cannot outlive a crash of
  // the host, so after one a durable file would hold a stale pid just like a lost one would;
  // readers (shims, berthd) need atomicity, which the rename gives. Saves a file and a
  // directory fsync per create and per exec.
  std::string tmp = path + ".tmp-" + random_hex(8);
  {
    auto fd = TRYC(open_file(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644), "pid file");
    auto w = write_all(fd.get(), std::to_string(pid));
    if (!w) {
      ::unlink(tmp.c_str());
      return fail(std::move(w.error()).context("pid file " + path));
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return fail(Error::from_errno(e, "pid file: rename", path));
  }
  return ok();
}

Status save_state(const std::string& dir, const ContainerState& s, std::string_view config) {
  json j = {{"id", s.id},           {"pid", s.pid},         {"start_time", s.start_time},
            {"bundle", s.bundle},   {"rootfs", s.rootfs},   {"created", s.created},
            {"owner", s.owner},     {"cgroups_path", s.cgroups_path},
            {"annotations", s.annotations}, {"ns_paths", s.ns_paths}};
  // Not fsynced: the state lives on tmpfs (/run) and is meaningless after a reboot, as runc's.
  // The bundle's config.json (already parsed once, so valid JSON) goes in as "config": one
  // file per container instead of two, as runc keeps its config inside state.json.
  std::string text = j.dump();
  if (!config.empty()) {
    text.pop_back();
    text.append(",\"config\":").append(config).push_back('}');
  }
  std::string tmp = dir + "/state.json.tmp";
  TRY(write_file(tmp, text, 0600));
  if (::rename(tmp.c_str(), (dir + "/state.json").c_str()) != 0) return fail_errno("rename", tmp);
  return ok();
}

Result<ContainerState> load_state(const std::string& root, const std::string& id) {
  TRY(validate_id(id));
  auto txt = read_file(state_dir(root, id) + "/state.json", 16 << 20);
  if (!txt) {
    if (txt.error().is(Errc::NotFound)) return fail(Errc::NotFound, "container does not exist");
    return fail(std::move(txt.error()));
  }
  try {
    auto j = json::parse(*txt);
    ContainerState s;
    s.id = j.at("id").get<std::string>();
    s.pid = j.at("pid").get<pid_t>();
    s.start_time = j.value("start_time", std::uint64_t{0});
    s.bundle = j.value("bundle", "");
    s.rootfs = j.value("rootfs", "");
    s.created = j.value("created", "");
    s.owner = j.value("owner", "");
    s.cgroups_path = j.value("cgroups_path", "");
    if (j.contains("annotations")) s.annotations = j["annotations"].get<std::map<std::string, std::string>>();
    if (j.contains("ns_paths")) s.ns_paths = j["ns_paths"].get<std::vector<std::string>>();
    if (auto it = j.find("config"); it != j.end()) {
      s.config = it->dump();
    } else if (auto cfg = read_file(state_dir(root, id) + "/config.json", 16 << 20)) {
      s.config = std::move(*cfg);  // written beside the state by an older berth-runtime
    }
    return s;
  } catch (const std::exception& e) {
    return fail(Errc::DataLoss, std::string("state.json of ") + id + ": " + e.what());
  }
}

std::uint64_t proc_start_time(pid_t pid, bool* zombie) {
  if (pid <= 0) return 0;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  auto s = read_file(path, 4096);
  if (!s) return 0;
  auto rp = s->rfind(')');
  if (rp == std::string::npos) return 0;
  auto f = split(std::string_view(*s).substr(rp + 2), ' ');
  // f[0] is field 3 (state); start time is field 22 -> f[19].
  if (f.size() < 20) return 0;
  if (zombie) *zombie = f[0] == "Z" || f[0] == "X";
  return parse_uint(f[19]).value_or(0);
}

ContainerStatus current_status(const std::string& root, const ContainerState& s) {
  bool zombie = false;
  auto st = proc_start_time(s.pid, &zombie);
  if (st == 0 || st != s.start_time || zombie) return ContainerStatus::Stopped;
  if (path_exists(state_dir(root, s.id) + "/exec.fifo")) return ContainerStatus::Created;
  if (!s.cgroups_path.empty()) {
    auto m = cgroups::Manager::open(s.cgroups_path);
    if (m) {
      auto fz = m->freezer_state();
      if (fz && *fz != cgroups::FreezerState::Thawed) return ContainerStatus::Paused;
    }
  }
  return ContainerStatus::Running;
}

std::string state_json(const ContainerState& s, ContainerStatus st, bool pretty) {
  json j = {{"ociVersion", kOciVersion},
            {"id", s.id},
            {"pid", st == ContainerStatus::Stopped ? 0 : s.pid},
            {"status", status_name(st)},
            {"bundle", s.bundle},
            {"rootfs", s.rootfs},
            {"created", s.created},
            {"owner", s.owner}};
  if (!s.annotations.empty()) j["annotations"] = s.annotations;
  return pretty ? j.dump(2) : j.dump();
}

Result<UniqueFd> lock_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail_errno("open", dir);
  UniqueFd f(fd);
  if (::flock(f.get(), LOCK_EX) != 0) return fail_errno("flock", dir);
  return f;
}

std::string now_rfc3339() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  // UTC by hand (days -> civil date, Howard Hinnant's algorithm): gmtime_r would load the
  // time zone files first, four syscalls per create for nothing.
  long long secs = ts.tv_sec, days = secs / 86400, rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  days += 719468;
  long long era = (days >= 0 ? days : days - 146096) / 146097;
  long long doe = days - era * 146097;
  long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  long long mp = (5 * doy + 2) / 153;
  long long d = doy - (153 * mp + 2) / 5 + 1;
  long long m = mp < 10 ? mp + 3 : mp - 9;
  long long y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  char buf[128];
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%09ldZ", y, m, d, rem / 3600,
                rem / 60 % 60, rem % 60, ts.tv_nsec);
  return buf;
}

}  // namespace berth::runtime
