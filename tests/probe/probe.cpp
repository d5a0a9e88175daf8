// SPDX-License-Identifier: Apache-2.0
// berth-probe: a static program put inside test containers. It reports, as JSON, what a
// process sees from inside the container, so runtime/daemon/e2e tests can assert on it.
//
//   probe [all]            everything below as one JSON object
//   probe <section>        one section: ids caps nnp seccomp rlimits uts mounts cgroup ns env
//                          cwd umask fds limits
//   probe exit N           exits with status N
//   probe sleep SECONDS    sleeps (for kill/stop/pause tests); "inf" sleeps forever
//   probe echo ARGS...     prints ARGS joined by spaces
//   probe cat FILE         prints FILE
//   probe write FILE TEXT  writes TEXT to FILE (tests read-only mounts); exit 1 + errno on failure
//   probe signals          prints the name of each signal it receives, exits on SIGTERM
//   probe stdin            copies stdin to stdout until EOF, then prints "EOF"
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

extern char** environ;

namespace {

std::string esc(const std::string& s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += static_cast<char>(c);
    } else if (c == '\n') {
      o += "\\n";
    } else if (c < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      o += b;
    } else {
      o += static_cast<char>(c);
    }
  }
  return o + "\"";
}

std::string slurp(const char* path) {
  std::string out;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> v;
  size_t start = 0;
  while (start < s.size()) {
    size_t e = s.find('\n', start);
    if (e == std::string::npos) e = s.size();
    v.push_back(s.substr(start, e - start));
    start = e + 1;
  }
  return v;
}

std::string status_field(const std::string& name) {
  for (auto& l : lines(slurp("/proc/self/status"))) {
    if (l.rfind(name + ":", 0) == 0) {
      auto v = l.substr(name.size() + 1);
      size_t i = v.find_first_not_of(" \t");
      return i == std::string::npos ? "" : v.substr(i);
    }
  }
  return "";
}

std::string json_array(const std::vector<std::string>& items) {
  std::string o = "[";
  for (size_t i = 0; i < items.size(); ++i) o += (i ? "," : "") + esc(items[i]);
  return o + "]";
}

std::string ids() {
  std::vector<gid_t> groups(256);
  int n = getgroups(static_cast<int>(groups.size()), groups.data());
  std::string g = "[";
  for (int i = 0; i < n; ++i) g += (i ? "," : "") + std::to_string(groups[static_cast<size_t>(i)]);
  g += "]";
  return "{\"uid\":" + std::to_string(getuid()) + ",\"euid\":" + std::to_string(geteuid()) +
         ",\"gid\":" + std::to_string(getgid()) + ",\"egid\":" + std::to_string(getegid()) +
         ",\"groups\":" + g + "}";
}

std::string caps() {
  return "{\"inheritable\":" + esc(status_field("CapInh")) +
         ",\"permitted\":" + esc(status_field("CapPrm")) +
         ",\"effective\":" + esc(status_field("CapEff")) +
         ",\"bounding\":" + esc(status_field("CapBnd")) +
         ",\"ambient\":" + esc(status_field("CapAmb")) + "}";
}

std::string nnp() { return prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? "true" : "false"; }

std::string seccomp() {
  auto s = status_field("Seccomp");
  return s.empty() ? "null" : s;
}

std::string rlimits() {
  static const struct {
    const char* name;
    int res;
  } kR[] = {{"RLIMIT_NOFILE", RLIMIT_NOFILE}, {"RLIMIT_NPROC", RLIMIT_NPROC},
            {"RLIMIT_CORE", RLIMIT_CORE},     {"RLIMIT_STACK", RLIMIT_STACK},
            {"RLIMIT_AS", RLIMIT_AS},         {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
            {"RLIMIT_CPU", RLIMIT_CPU},       {"RLIMIT_FSIZE", RLIMIT_FSIZE}};
  std::string o = "{";
  bool first = true;
  for (auto& r : kR) {
    rlimit rl{};
    getrlimit(r.res, &rl);
    auto fmt = [](rlim_t v) {
      return v == RLIM_INFINITY ? std::string("-1") : std::to_string(static_cast<unsigned long long>(v));
    };
    o += std::string(first ? "" : ",") + esc(r.name) + ":{\"soft\":" + fmt(rl.rlim_cur) +
         ",\"hard\":" + fmt(rl.rlim_max) + "}";
    first = false;
  }
  return o + "}";
}

std::string uts() {
  utsname u{};
  uname(&u);
  return "{\"hostname\":" + esc(u.nodename) + ",\"domainname\":" + esc(u.domainname) + "}";
}

std::string mounts() {
  std::vector<std::string> out;
  for (auto& l : lines(slurp("/proc/self/mountinfo"))) out.push_back(l);
  return json_array(out);
}

std::string cgroup() { return json_array(lines(slurp("/proc/self/cgroup"))); }

// Limits as seen through the container's cgroup mount (v2 names first, then v1).
std::string limits() {
  auto rd = [](const char* a, const char* b) {
    auto v = trimmed(slurp(a));
    if (v.empty() && b) v = trimmed(slurp(b));
    return esc(v);
  };
  return std::string("{\"memory\":") +
         rd("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes") +
         ",\"pids\":" + rd("/sys/fs/cgroup/pids.max", "/sys/fs/cgroup/pids/pids.max") +
         ",\"cpu_max\":" + rd("/sys/fs/cgroup/cpu.max", nullptr) +
         ",\"cpu_quota\":" + rd("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", nullptr) +
         ",\"cpu_shares\":" + rd("/sys/fs/cgroup/cpu/cpu.shares", nullptr) +
         ",\"cpuset\":" + rd("/sys/fs/cgroup/cpuset.cpus.effective", "/sys/fs/cgroup/cpuset/cpuset.cpus") +
         "}";
}

std::string ns() {
  static const char* kNs[] = {"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"};
  std::string o = "{";
  bool first = true;
  for (auto* n : kNs) {
    std::string p = std::string("/proc/self/ns/") + n;
    struct stat st {};
    std::string v = stat(p.c_str(), &st) == 0 ? std::to_string(st.st_ino) : "null";
    o += std::string(first ? "" : ",") + esc(n) + ":" + v;
    first = false;
  }
  return o + "}";
}

std::string env() {
  std::vector<std::string> v;
  for (char** e = environ; e && *e; ++e) v.emplace_back(*e);
  return json_array(v);
}

std::string cwd() {
  char buf[4096];
  return esc(getcwd(buf, sizeof buf) ? buf : "");
}

std::string umask_str() {
  mode_t m = umask(0);
  umask(m);
  char b[8];
  std::snprintf(b, sizeof b, "%04o", m);
  return esc(b);
}

std::string fds() {
  std::vector<std::string> v;
  DIR* d = opendir("/proc/self/fd");
  if (!d) return "[]";
  int self = dirfd(d);
  while (auto* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    if (std::atoi(e->d_name) == self) continue;
    char target[4096] = {0};
    std::string p = std::string("/proc/self/fd/") + e->d_name;
    ssize_t n = readlink(p.c_str(), target, sizeof target - 1);
    v.push_back(std::string(e->d_name) + "=" + (n > 0 ? std::string(target, static_cast<size_t>(n)) : "?"));
  }
  closedir(d);
  return json_array(v);
}

struct Section {
  const char* name;
  std::string (*fn)();
};
const Section kSections[] = {{"ids", ids},         {"caps", caps},     {"nnp", nnp},
                             {"seccomp", seccomp}, {"rlimits", rlimits}, {"uts", uts},
                             {"mounts", mounts},   {"cgroup", cgroup}, {"limits", limits},
                             {"ns", ns},           {"env", env},       {"cwd", cwd},
                             {"umask", umask_str}, {"fds", fds}};

volatile sig_atomic_t g_last_signal = 0;
void on_signal(int s) { g_last_signal = s; }

int cmd_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  for (int s = 1; s < 32; ++s) {
    if (s == SIGKILL || s == SIGSTOP) continue;
    sigaction(s, &sa, nullptr);
  }
  std::printf("ready\n");
  std::fflush(stdout);
  for (;;) {
    pause();
    int s = g_last_signal;
    std::printf("%s\n", sigabbrev_np(s) ? sigabbrev_np(s) : "?");
    std::fflush(stdout);
    if (s == SIGTERM) return 0;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string cmd = argc > 1 ? argv[1] : "all";
  if (cmd == "all" || cmd == "json") {
    std::string o = "{";
    bool first = true;
    for (auto& s : kSections) {
      o += std::string(first ? "" : ",") + esc(s.name) + ":" + s.fn();
      first = false;
    }
    std::printf("%s}\n", o.c_str());
    return 0;
  }
  for (auto& s : kSections) {
    if (cmd == s.name) {
      std::printf("%s\n", s.fn().c_str());
      return 0;
    }
  }
  if (cmd == "exit") return argc > 2 ? std::atoi(argv[2]) : 0;
  if (cmd == "sleep") {
    if (argc > 2 && std::string(argv[2]) != "inf") {
      sleep(static_cast<unsigned>(std::atoi(argv[2])));
      return 0;
    }
    for (;;) pause();
  }
  if (cmd == "echo") {
    for (int i = 2; i < argc; ++i) std::printf("%s%s", i > 2 ? " " : "", argv[i]);
    std::printf("\n");
    return 0;
  }
  if (cmd == "cat" && argc > 2) {
    int fd = open(argv[2], O_RDONLY);
    if (fd < 0) {
      std::fprintf(stderr, "probe: open %s: %s\n", argv[2], std::strerror(errno));
      return 1;
    }
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) fwrite(buf, 1, static_cast<size_t>(n), stdout);
    return 0;
  }
  if (cmd == "write" && argc > 3) {
    int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, argv[3], std::strlen(argv[3])) < 0) {
      std::printf("error: %s\n", std::strerror(errno));
      return 1;
    }
    close(fd);
    std::printf("ok\n");
    return 0;
  }
  if (cmd == "signals") return cmd_signals();
  if (cmd == "stdin") {
    char buf[4096];
    ssize_t n;
    while ((n = read(0, buf, sizeof buf)) > 0) {
      if (write(1, buf, static_cast<size_t>(n)) < 0) return 1;
    }
    std::printf("EOF\n");
    return 0;
  }
  std::fprintf(stderr, "probe: unknown command %s\n", cmd.c_str());
  return 2;
}
