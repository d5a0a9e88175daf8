// SPDX-License-Identifier: Apache-2.0
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstring>
#include <ctime>
#include <regex>
#include <set>

#include "common/defer.hpp"
#include "common/file.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "daemon/attach.hpp"
#include "daemon/container_volumes.hpp"
#include "daemon/daemon.hpp"
#include "daemon/health.hpp"
#include "daemon/lazy_sync.hpp"
#include "daemon/routes.hpp"
#include "daemon/networking.hpp"
#include "daemon/phase_log.hpp"
#include "http/http.hpp"
#include "daemon/spec.hpp"
#include "shim/attach_proto.hpp"

namespace berth::daemon {

namespace {

// The container's cgroupsPath (spec) below each hierarchy's root.
std::string cgroup_path_of(const std::string& id) { return "/berth/" + id; }

const char* const kAdjectives[] = {"brave", "calm", "eager", "fond", "gentle", "happy", "jolly", "keen",
                                   "lucid", "merry", "nifty", "proud", "quirky", "sharp", "tender", "vivid"};
const char* const kNames[] = {"turing", "hopper", "lovelace", "ritchie", "thompson", "knuth", "dijkstra",
                              "lamport", "liskov", "torvalds", "wozniak", "shannon", "babbage", "noether"};

std::string random_name() {
  std::string h = random_hex(4);
  unsigned v = static_cast<unsigned>(std::stoul(h, nullptr, 16));
  return std::string(kAdjectives[v % 16]) + "_" + kNames[(v / 16) % 14];
}

int pidfd_open(int pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// Files regenerated on every start (bundle config, /etc files): replaced atomically but not
// fsynced — they are rewritten before the next start anyway, and fsync is the slow part of a start.
Status replace_file(const std::string& path, std::string_view data, mode_t mode = 0644) {
  std::string tmp = path + ".tmp";
  TRY(write_file(tmp, data, mode));
  if (::rename(tmp.c_str(), path.c_str()) < 0) return fail_errno("rename", path);
  return ok();
}

// The previous shim of a container may still be running the runtime's delete after it reported
// the exit: a new start waits for it (bounded).
void wait_previous_shim(const std::string& bundle, const std::string& id) {
  auto pid_s = read_file(bundle + "/shim.pid");
  int pid = pid_s ? static_cast<int>(parse_int(trim(*pid_s)).value_or(0)) : 0;
  if (pid <= 0) return;
  // (a recycled pid is not our shim: it must name this container)
  auto cmd = read_file("/proc/" + std::to_string(pid) + "/cmdline");
  if (!cmd || cmd->find("berth-shim") == std::string::npos || cmd->find(id) == std::string::npos) return;
  UniqueFd fd(pidfd_open(pid));
  if (!fd) return;
  pollfd p{fd.get(), POLLIN, 0};
  (void)::poll(&p, 1, 10000);
}

// The shim's listening attach socket, made by berthd (see start_locked). Bound through
// /proc/self/fd: bundle paths can be longer than sun_path.
Result<UniqueFd> listen_attach_socket(const std::string& bundle) {
  UniqueFd dir(::open(bundle.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return fail_errno("open", bundle);
  UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) return fail_errno("socket");
  std::string path = bundle + "/" + shim::proto::kAttachSocket;
  ::unlink(path.c_str());
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "/proc/self/fd/%d/%s", dir.get(), shim::proto::kAttachSocket);
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) return fail_errno("bind", path);
  ::chmod(path.c_str(), 0600);
  if (::listen(s.get(), 64) < 0) return fail_errno("listen", path);
  return s;
}

// Spawns berth-shim with the ready socket on fd 3 and the attach listener on fd 4.
// posix_spawn (vfork semantics): no copy of berthd's page tables per start.
Result<pid_t> spawn_shim(const std::vector<std::string>& argv, int ready_fd, int attach_fd) {
  // sources above 4, so that the dup2s cannot overwrite each other
  UniqueFd r(::fcntl(ready_fd, F_DUPFD_CLOEXEC, 5)), l(::fcntl(attach_fd, F_DUPFD_CLOEXEC, 5));
  if (!r || !l) return fail_errno("dup");
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  auto done = defer([&] {
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
  });
  posix_spawn_file_actions_adddup2(&fa, r.get(), 3);
  posix_spawn_file_actions_adddup2(&fa, l.get(), 4);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> a;
  for (const auto& x : argv) a.push_back(const_cast<char*>(x.c_str()));
  a.push_back(nullptr);
  pid_t pid = 0;
  if (int e = ::posix_spawn(&pid, a[0], &fa, &attr, a.data(), environ); e != 0)
    return fail(Error::from_errno(e, "spawn", argv[0]));
  return pid;
}

// The spare rootfs is made this long after a start, unless a removal's cleanup comes first.
constexpr auto kSpareRootfsDelay = std::chrono::milliseconds(20);
// The janitor waits this long at most for the clients it answered to go (janitor_loop).
constexpr auto kClientsGoneWait = std::chrono::milliseconds(50);
// A prepared container (PreparedTask) is dropped by its shim when not started within this.
constexpr int kPreparedTtlMs = 10000;
// At most this many at a time (a loop of `docker create` does not pile up processes).
constexpr int kMaxPrepared = 16;

// One line from the shim's ready socket (trimmed), or what came before EOF / the timeout.
std::string read_reply_line(int fd, int timeout_ms) {
  std::string reply;
  char buf[4096];
  pollfd p{fd, POLLIN, 0};
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) break;
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) {
      if (errno == EINTR) continue;
      break;
    }
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    reply.append(buf, static_cast<std::size_t>(n));
    if (reply.find('\n') != std::string::npos) break;
  }
  return std::string(trim(reply));
}

// The shim's "error <msg>" (or nothing) as the start's error, with dockerd's wording.
Error shim_error(const std::string& reply) {
  std::string msg = reply.rfind("error ", 0) == 0 ? reply.substr(6) : (reply.empty() ? "shim failed" : reply);
  Errc code = Errc::Internal;
  if (msg.find("no such file") != std::string::npos || msg.find("not found") != std::string::npos ||
      msg.find("permission denied") != std::string::npos)
    code = Errc::InvalidArgument;
  return Error(code, "failed to create task for container: OCI runtime create failed: " + msg);
}

// berth-init (for --init): next to berthd, else on PATH.
std::string init_path() {
  char self[PATH_MAX] = {0};
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    std::string next = dirname(std::string(self, static_cast<std::size_t>(n))) + "/berth-init";
    if (::access(next.c_str(), X_OK) == 0) return next;
  }
  for (const char* d : {"/usr/local/bin/berth-init", "/usr/bin/berth-init", "/usr/libexec/berth/berth-init"})
    if (::access(d, X_OK) == 0) return d;
  return "";
}

bool valid_name(const std::string& n) {
  static const std::regex re("^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$");
  return std::regex_match(n, re);
}

std::optional<int> parse_signal(const std::string& s) {
  if (s.empty()) return SIGKILL;
  if (auto n = parse_int(s)) return (*n > 0 && *n < 65) ? std::optional<int>(static_cast<int>(*n)) : std::nullopt;
  std::string u;
  for (char c : s) u.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  if (u.rfind("SIG", 0) == 0) u = u.substr(3);
  static const std::map<std::string, int> m = {
      {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"ILL", SIGILL},   {"TRAP", SIGTRAP},
      {"ABRT", SIGABRT}, {"BUS", SIGBUS},   {"FPE", SIGFPE},   {"KILL", SIGKILL}, {"USR1", SIGUSR1},
      {"SEGV", SIGSEGV}, {"USR2", SIGUSR2}, {"PIPE", SIGPIPE}, {"ALRM", SIGALRM}, {"TERM", SIGTERM},
      {"CHLD", SIGCHLD}, {"CONT", SIGCONT}, {"STOP", SIGSTOP}, {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},
      {"TTOU", SIGTTOU}, {"URG", SIGURG},   {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ}, {"WINCH", SIGWINCH}};
  auto it = m.find(u);
  if (it == m.end()) return std::nullopt;
  return it->second;
}

}  // namespace

// Runs argv, capturing output; stdin from /dev/null.
Proc run_capture(const std::vector<std::string>& argv) {
  Proc p;
  int o[2], e[2];
  if (::pipe2(o, O_CLOEXEC) < 0) return p;
  if (::pipe2(e, O_CLOEXEC) < 0) {
    ::close(o[0]);
    ::close(o[1]);
    return p;
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    ::dup2(o[1], 1);
    ::dup2(e[1], 2);
    std::vector<char*> a;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    ::execvp(a[0], a.data());
    ::_exit(127);
  }
  ::close(o[1]);
  ::close(e[1]);
  pollfd pf[2] = {{o[0], POLLIN, 0}, {e[0], POLLIN, 0}};
  int open_n = 2;
  char buf[4096];
  while (open_n > 0) {
    if (::poll(pf, 2, -1) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (pf[i].fd < 0 || !pf[i].revents) continue;
      ssize_t n = ::read(pf[i].fd, buf, sizeof buf);
      if (n > 0) (i == 0 ? p.out : p.err).append(buf, static_cast<std::size_t>(n));
      else {
        ::close(pf[i].fd);
        pf[i].fd = -1;
        --open_n;
      }
    }
  }
  int st = 0;
  if (pid > 0) {
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    p.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  return p;
}

namespace {

json merge_image_config(json cfg, const std::string& image_config_json) {
  json ic;
  try {
    ic = json::parse(image_config_json).value("config", json::object());
  } catch (...) {
    return cfg;
  }
  auto empty = [&](const char* k) {
    return !cfg.contains(k) || cfg[k].is_null() || (cfg[k].is_array() && cfg[k].empty()) ||
           (cfg[k].is_string() && cfg[k].get<std::string>().empty());
  };
  // Entrypoint given without Cmd: the image's Cmd is dropped (docker semantics).
  bool ep_given = !empty("Entrypoint");
  if (!ep_given && ic.contains("Entrypoint") && !ic["Entrypoint"].is_null()) cfg["Entrypoint"] = ic["Entrypoint"];
  if (empty("Cmd") && !ep_given && ic.contains("Cmd")) cfg["Cmd"] = ic["Cmd"];
  if (empty("WorkingDir") && ic.contains("WorkingDir")) cfg["WorkingDir"] = ic["WorkingDir"];
  if (empty("User") && ic.contains("User")) cfg["User"] = ic["User"];
  if (empty("StopSignal") && ic.contains("StopSignal")) cfg["StopSignal"] = ic["StopSignal"];
  // Env: image first, container overrides by key
  std::vector<std::string> env;
  for (const auto& e : ic.value("Env", json::array())) env.push_back(e.get<std::string>());
  if (cfg.contains("Env") && cfg["Env"].is_array())
    for (const auto& e : cfg["Env"]) {
      std::string s = e.get<std::string>();
      std::string key = s.substr(0, s.find('='));
      std::erase_if(env, [&](const std::string& x) { return x.substr(0, x.find('=')) == key; });
      env.push_back(s);
    }
  cfg["Env"] = env;
  json labels = ic.value("Labels", json::object());
  if (labels.is_null()) labels = json::object();
  if (cfg.contains("Labels") && cfg["Labels"].is_object())
    for (auto& [k, v] : cfg["Labels"].items()) labels[k] = v;
  cfg["Labels"] = labels;
  if (ic.contains("Healthcheck") && ic["Healthcheck"].is_object())
    cfg["Healthcheck"] = merge_healthcheck(cfg.value("Healthcheck", json()), ic["Healthcheck"]);
  if (ic.contains("ExposedPorts") && ic["ExposedPorts"].is_object()) {
    if (!cfg.contains("ExposedPorts") || !cfg["ExposedPorts"].is_object()) cfg["ExposedPorts"] = json::object();
    for (auto& [k, v] : ic["ExposedPorts"].items()) cfg["ExposedPorts"][k] = json::object();
  }
  return cfg;
}

std::string hosts_file(const std::string& hostname, const json& hc, bool host_net) {
  std::string s;
  if (host_net) {
    auto h = read_file("/etc/hosts");
    s = h ? *h : "127.0.0.1\tlocalhost\n";
  } else {
    s = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
        "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";
  }
  if (hc.contains("ExtraHosts") && hc["ExtraHosts"].is_array())
    for (const auto& e : hc["ExtraHosts"]) {
      std::string x = e.get<std::string>();
      auto c = x.find(':');
      if (c == std::string::npos) continue;
      s += x.substr(c + 1) + "\t" + x.substr(0, c) + "\n";
    }
  (void)hostname;
  return s;
}

std::string resolv_file(const json& hc) {
  std::string s;
  auto host = read_file("/etc/resolv.conf");
  std::vector<std::string> dns, search, opts;
  auto arr = [&](const char* k, std::vector<std::string>& out) {
    if (hc.contains(k) && hc[k].is_array())
      for (const auto& v : hc[k]) out.push_back(v.get<std::string>());
  };
  arr("Dns", dns);
  arr("DnsSearch", search);
  arr("DnsOptions", opts);
  if (dns.empty() && search.empty() && opts.empty()) {
    if (!host) return "nameserver 8.8.8.8\nnameserver 8.8.4.4\n";
    for (const auto& line : split(*host, '\n')) {
      auto t = trim(line);
      // loopback resolvers are unreachable from a private network namespace
      if (t.rfind("nameserver 127.", 0) == 0 || t == "nameserver ::1") continue;
      s += std::string(t) + "\n";
    }
    if (s.find("nameserver") == std::string::npos) s += "nameserver 8.8.8.8\nnameserver 8.8.4.4\n";
    return s;
  }
  for (auto& d : dns) s += "nameserver " + d + "\n";
  if (!search.empty()) s += "search " + join(search, " ") + "\n";
  if (!opts.empty()) s += "options " + join(opts, " ") + "\n";
  return s;
}

}  // namespace

bool Daemon::spare_etc_current(const Container& c) {
  auto written = read_file(cfg_.data_root + "/containers/" + c.id + "/resolv.conf");
  return written && *written == resolv_file(c.host_config);
}

std::string rfc3339_now() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm{};
  gmtime_r(&ts.tv_sec, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long>(ts.tv_nsec));
  return buf;
}

int http_status(const Error& e) {
  switch (e.code()) {
    case Errc::NotFound: return 404;
    case Errc::AlreadyExists:
    case Errc::Conflict: return 409;
    case Errc::InvalidArgument: return 400;
    case Errc::PermissionDenied: return 403;
    case Errc::Unimplemented: return 501;
    case Errc::Unavailable: return 503;
    default: return 500;
  }
}

std::string Daemon::log_path(const Container& c) const {
  return cfg_.data_root + "/containers/" + c.id + "/" + c.id + "-json.log";
}
std::string Daemon::bundle_dir(const std::string& id) const { return cfg_.exec_root + "/containers/" + id; }
std::string Daemon::runtime_root(const std::string& runtime) const {
  return cfg_.exec_root + "/runtime/" + basename(runtime);
}
std::vector<std::string> Daemon::runtime_base(const Container& c) const {
  std::string rt = cfg_.runtime_path(c.runtime);
  return {rt, "--root", runtime_root(rt)};
}

std::vector<std::shared_ptr<Container>> Daemon::all() {
  std::lock_guard lk(mu);
  std::vector<std::shared_ptr<Container>> v;
  for (auto& [k, c] : containers_) v.push_back(c);
  std::sort(v.begin(), v.end(), [](auto& a, auto& b) { return a->created > b->created; });
  return v;
}

Result<std::shared_ptr<Container>> Daemon::find(const std::string& ref) {
  std::lock_guard lk(mu);
  if (ref.empty()) return fail(Errc::NotFound, "No such container: " + ref);
  auto it = containers_.find(ref);
  if (it != containers_.end()) return it->second;
  std::string name = ref[0] == '/' ? ref.substr(1) : ref;
  for (auto& [id, c] : containers_)
    if (c->name == name) return c;
  std::shared_ptr<Container> found;
  for (auto& [id, c] : containers_)
    if (id.rfind(ref, 0) == 0) {
      if (found) return fail(Errc::InvalidArgument, "multiple IDs found with provided prefix: " + ref);
      found = c;
    }
  if (found) return found;
  return fail(Errc::NotFound, "No such container: " + ref);
}

Status Daemon::save(const Container& c) {
  json j;
  j["Id"] = c.id;
  j["Name"] = "/" + c.name;
  j["Created"] = c.created;
  j["Image"] = c.image_id;
  j["ImageName"] = c.image;
  j["Config"] = c.config;
  j["HostConfig"] = c.host_config;
  j["State"] = {{"Status", c.state.status}, {"Pid", c.state.pid}, {"ExitCode", c.state.exit_code},
                {"Error", c.state.error}, {"StartedAt", c.state.started_at}, {"FinishedAt", c.state.finished_at}};
  j["RestartCount"] = c.restart_count;
  j["ManuallyStopped"] = c.manually_stopped;
  j["Runtime"] = c.runtime;
  j["ShimPid"] = c.shim_pid;
  std::string dir = cfg_.data_root + "/containers/" + c.id;
  TRY(mkdir_all(dir, 0710));
  // records are replaced atomically and fsynced in the background (lazy_sync.hpp)
  return write_record(dir + "/config.v2.json", j.dump());
}

Status Daemon::load_containers() {
  std::string dir = cfg_.data_root + "/containers";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return ok();
  std::vector<std::string> ids;
  while (auto* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.size() == 64) ids.push_back(n);
  }
  ::closedir(d);
  for (const auto& id : ids) {
    auto text = read_file(dir + "/" + id + "/config.v2.json");
    if (!text) continue;
    try {
      auto j = json::parse(*text);
      auto c = std::make_shared<Container>();
      c->id = id;
      c->name = j.value("Name", "/" + id.substr(0, 12)).substr(1);
      c->created = j.value("Created", "");
      c->image_id = j.value("Image", "");
      c->image = j.value("ImageName", "");
      c->config = j.value("Config", json::object());
      c->host_config = j.value("HostConfig", json::object());
      auto s = j.value("State", json::object());
      c->state.status = s.value("Status", "created");
      c->state.pid = s.value("Pid", 0);
      c->state.exit_code = s.value("ExitCode", 0);
      c->state.error = s.value("Error", "");
      c->state.started_at = s.value("StartedAt", c->state.started_at);
      c->state.finished_at = s.value("FinishedAt", c->state.finished_at);
      c->restart_count = j.value("RestartCount", 0);
      c->manually_stopped = j.value("ManuallyStopped", false);
      c->runtime = j.value("Runtime", "");
      c->shim_pid = j.value("ShimPid", 0);
      containers_[id] = c;
      health_load(id, dir + "/" + id + "/health.json");
    } catch (const std::exception& e) {
      log::warn("skipping container {}: {}", id, e.what());
    }
  }
  for (auto& [id, c] : containers_) restore(c);
  return ok();
}

// Re-adopts a container after a daemon (re)start.
void Daemon::restore(const std::shared_ptr<Container>& c) {
  if (c->state.status == "created") {
    // made ahead of a start that did not come (a PreparedTask; its shim dropped the container
    // when we went): its rootfs may still be mounted
    ::umount2((bundle_dir(c->id) + "/rootfs").c_str(), MNT_DETACH);
    return;
  }
  if (c->state.status != "running" && c->state.status != "paused" && c->state.status != "restarting") return;
  std::string b = bundle_dir(c->id);
  auto pid_s = read_file(b + "/shim.pid");
  int shim = pid_s ? static_cast<int>(parse_int(trim(*pid_s)).value_or(0)) : 0;
  if (shim > 0 && ::kill(shim, 0) == 0) {
    auto cmd = read_file("/proc/" + std::to_string(shim) + "/cmdline");
    if (cmd && cmd->find("berth-shim") != std::string::npos && cmd->find(c->id) != std::string::npos) {
      c->shim_pid = shim;
      c->rootfs_mounted = true;
      log::info("restored running container {} (shim {})", c->id.substr(0, 12), shim);
      watch_shim(c->id, shim);
      std::thread([this, c] { health_start(*this, c, true); }).detach();  // we hold mu here
      return;
    }
  }
  // The shim is gone: the container ended while we were down.
  c->rootfs_mounted = true;
  std::string id = c->id;
  std::thread([this, id] { on_shim_exit(id); }).detach();
}

void Daemon::watch_shim(const std::string& id, int shim_pid) {
  // The shim's attach socket tells the exit as soon as it is recorded (before the runtime's
  // delete); a shim without one is watched through a pidfd.
  int fd = shim_connect(bundle_dir(id), "m").release();
  if (fd < 0) fd = pidfd_open(shim_pid);
  if (fd < 0) {
    std::thread([this, id] { on_shim_exit(id); }).detach();
    return;
  }
  watch_fd(id, fd);
}

void Daemon::watch_fd(const std::string& id, int fd) {
  pidfds_[fd] = id;  // caller holds mu (or single-threaded init)
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev);
}

void Daemon::monitor_loop() {
  for (;;) {
    epoll_event evs[16];
    int n = ::epoll_wait(epoll_.get(), evs, 16, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (int i = 0; i < n; ++i) {
      int fd = evs[i].data.fd;
      if (fd == wake_.get()) return;
      if (on_exec_watch(fd)) continue;
      std::string id;
      {
        std::lock_guard lk(mu);
        auto it = pidfds_.find(fd);
        if (it == pidfds_.end()) continue;
        id = it->second;
        pidfds_.erase(it);
      }
      ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
      ::close(fd);
      on_shim_exit(id);
    }
  }
}

Status Daemon::unmount_rootfs(Container& c) {
  std::string rootfs = bundle_dir(c.id) + "/rootfs";
  if (::umount2(rootfs.c_str(), MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
    log::warn("unmount {}: {}", rootfs, std::strerror(errno));
  c.rootfs_mounted = false;
  return ok();
}

void Daemon::on_shim_exit(const std::string& id) {
  std::shared_ptr<Container> c;
  {
    std::lock_guard lk(mu);
    auto it = containers_.find(id);
    if (it == containers_.end()) return;
    c = it->second;
  }
  std::lock_guard op(c->op);
  PhaseLog plog("exit " + id.substr(0, 12));
  std::string b = bundle_dir(id);
  int code = 255;
  std::string finished = rfc3339_now();
  if (auto ex = read_file(b + "/exit.json")) {
    try {
      auto j = json::parse(*ex);
      code = j.value("ExitCode", 255);
      finished = j.value("FinishedAt", finished);
    } catch (...) {
    }
  } else {
    // shim died without recording: make sure the container is gone
    (void)run_capture([&] {
      auto a = runtime_base(*c);
      a.insert(a.end(), {"delete", "--force", id});
      return a;
    }());
  }
  plog.mark("exit-status");
  // An AutoRemove container's rootfs is unmounted by the janitor after the removal has been
  // answered (remove_garbage); the others' now, as they stop.
  bool auto_removing;
  {
    std::lock_guard lk(mu);
    auto_removing = c->host_config.value("AutoRemove", false);
  }
  if (!auto_removing) (void)unmount_rootfs(*c);
  plog.mark("unmount");
  stop_volumes(*c);
  net_->teardown(id);
  plog.mark("volumes-net");
  bool auto_remove = false;
  bool restart = false;
  int delay = 0;
  std::vector<std::pair<std::string, int>> exec_died;
  {
    std::lock_guard lk(mu);
    if (c->state.status != "running" && c->state.status != "paused" && c->state.status != "restarting") return;
    exec_died = execs_container_stopped(*c);
    c->state.exit_code = code;
    c->state.finished_at = finished;
    c->state.pid = 0;
    c->state.status = "exited";
    c->shim_pid = 0;
    c->exit_gen++;
    auto rp = c->host_config.value("RestartPolicy", json::object());
    std::string pol = rp.is_object() ? rp.value("Name", "") : "";
    int maxr = rp.is_object() ? rp.value("MaximumRetryCount", 0) : 0;
    if (!c->manually_stopped && !stopping_) {
      if (pol == "always" || pol == "unless-stopped") restart = true;
      else if (pol == "on-failure" && code != 0 && (maxr == 0 || c->restart_count < maxr)) restart = true;
    }
    auto_remove = !restart && c->host_config.value("AutoRemove", false);
    if (restart) {
      c->state.status = "restarting";
      delay = std::min(100 << std::min(c->restart_count, 10), 60000);
    }
    if (!auto_remove) (void)save(*c);  // an AutoRemove record is deleted next
  }
  plog.mark("save");
  cv.notify_all();
  notify_state_change();
  health_stop(id);
  for (auto& [eid, ecode] : exec_died) emit("container", "exec_die", id, {{"execID", eid}, {"exitCode", std::to_string(ecode)}});
  emit("container", "die", id, {{"exitCode", std::to_string(code)}});
  if (restart) schedule_restart(c, delay);
  else if (auto_remove) {
    (void)remove_locked(c);
  }
}

void Daemon::schedule_restart(const std::shared_ptr<Container>& c, int delay_ms) {
  std::thread([this, c, delay_ms] {
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    std::lock_guard op(c->op);
    {
      std::lock_guard lk(mu);
      if (c->removed || c->state.status != "restarting" || stopping_) return;
      c->restart_count++;
    }
    auto st = start_locked(c);
    if (!st) {
      std::lock_guard lk(mu);
      c->state.status = "exited";
      c->state.error = st.error().message();
      (void)save(*c);
      cv.notify_all();
    }
  }).detach();
}

Result<int> Daemon::container_init_pid(const std::string& ref) {
  auto c = TRY(find(ref));
  std::lock_guard lk(mu);
  if (c->state.status != "running" || c->state.pid <= 0)
    return fail(Errc::Conflict, "cannot join namespace of a non running container: " + ref);
  return c->state.pid;
}

Result<Daemon::Draft> Daemon::draft_container(json body) {
  Draft d;
  json& hc = d.hc;
  hc = body.contains("HostConfig") && body["HostConfig"].is_object() ? body["HostConfig"] : json::object();
  json& cfg = d.cfg;
  cfg = body;
  cfg.erase("HostConfig");
  cfg.erase("NetworkingConfig");
  std::string image = cfg.value("Image", "");
  if (image.empty()) return fail(Errc::InvalidArgument, "config cannot be empty in order to create a container");
  auto img = images_->resolve(image);
  if (!img) return fail(Errc::NotFound, "No such image: " + normalize_ref(image));
  d.image = image;
  d.image_id = img->id;
  d.image_config = img->config_json;
  cfg = merge_image_config(cfg, img->config_json);
  bool has_cmd = (cfg.contains("Cmd") && cfg["Cmd"].is_array() && !cfg["Cmd"].empty()) ||
                 (cfg.contains("Entrypoint") && cfg["Entrypoint"].is_array() && !cfg["Entrypoint"].empty());
  if (!has_cmd) return fail(Errc::InvalidArgument, "no command specified");
  // validate what the spec generator validates, early (400 at create as dockerd)
  TRY(effective_capabilities(hc));
  d.net_plan = TRY(net_->validate_create(hc, body, body.contains("NetworkingConfig") ? body["NetworkingConfig"] : json(), &d.warnings));
  if (hc.contains("RestartPolicy") && hc["RestartPolicy"].is_object()) {
    std::string p = hc["RestartPolicy"].value("Name", "");
    if (!p.empty() && p != "no" && p != "always" && p != "unless-stopped" && p != "on-failure")
      return fail(Errc::InvalidArgument, "invalid restart policy '" + p + "'");
    if (hc.value("AutoRemove", false) && !p.empty() && p != "no")
      return fail(Errc::InvalidArgument, "can't create 'AutoRemove' container with restart policy");
  }
  if (auto cg = hc.find("CgroupnsMode"); cg != hc.end() && !cg->is_null() && *cg != "") {
    if (*cg != "private" && *cg != "host")
      return fail(Errc::InvalidArgument, "invalid cgroup namespace mode: " + (cg->is_string() ? cg->get<std::string>() : cg->dump()));
  } else {
    // As dockerd: the daemon's default, and a privileged container keeps the host's cgroup
    // namespace unless the host has cgroup v2 alone.
    bool unified = path_exists("/sys/fs/cgroup/cgroup.controllers");
    std::string mode = cfg_.default_cgroupns_mode.empty() ? (unified ? "private" : "host") : cfg_.default_cgroupns_mode;
    auto pv = hc.find("Privileged");
    bool privileged = pv != hc.end() && pv->is_boolean() && pv->get<bool>();
    hc["CgroupnsMode"] = privileged && !unified ? "host" : mode;
  }
  std::string log_driver = cfg_.log_driver;
  if (hc.contains("LogConfig") && hc["LogConfig"].is_object() && !hc["LogConfig"].value("Type", "").empty())
    log_driver = hc["LogConfig"].value("Type", "");
  if (log_driver != "json-file" && log_driver != "local" && log_driver != "none")
    return fail(Errc::InvalidArgument, "logger: no log driver named '" + log_driver + "' is registered");
  std::string runtime = hc.value("Runtime", "");
  if (!runtime.empty() && runtime != cfg_.default_runtime && !cfg_.runtimes.count(runtime) && runtime != "runc" &&
      runtime != "berth-runtime")
    return fail(Errc::InvalidArgument, "unknown or invalid runtime name: " + runtime);
  d.runtime = runtime.empty() ? cfg_.default_runtime : runtime;
  hc["LogConfig"] = {{"Type", log_driver},
                     {"Config", hc.contains("LogConfig") && hc["LogConfig"].is_object() &&
                                        hc["LogConfig"].contains("Config") && hc["LogConfig"]["Config"].is_object()
                                    ? hc["LogConfig"]["Config"]
                                    : json(cfg_.log_opts)}};
  return d;
}

std::shared_ptr<Container> Daemon::container_of(const Draft& d, const std::string& id) {
  auto c = std::make_shared<Container>();
  c->id = id;
  c->image = d.image;
  c->image_id = d.image_id;
  c->runtime = d.runtime;
  c->config = d.cfg;
  if (!c->config.contains("Hostname") || !c->config["Hostname"].is_string() || c->config["Hostname"].get<std::string>().empty())
    c->config["Hostname"] = d.hc.value("NetworkMode", "") == "host" ? "" : id.substr(0, 12);
  c->host_config = d.hc;
  return c;
}

Result<std::pair<std::string, std::vector<std::string>>> Daemon::create(const std::string& name_in, json body) {
  if (!body.is_object()) return fail(Errc::InvalidArgument, "config cannot be empty in order to create a container");
  primer_.prime();  // `docker run` starts what it creates within milliseconds
  std::string name = name_in;
  if (!name.empty() && name[0] == '/') name = name.substr(1);
  if (!name.empty() && !valid_name(name))
    return fail(Errc::InvalidArgument, "Invalid container name (" + name + "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  PhaseLog plog("create");
  Draft d = TRY(draft_container(std::move(body)));
  plog.mark("validate");
  // the rootfs made ahead, or the whole container (spare_rootfs.cpp), unless the layer needs a
  // size limit
  auto so = d.hc.find("StorageOpt");
  SpareTaken spare;
  if (so == d.hc.end() || !so->is_object() || so->empty()) spare = take_spare(d);
  std::shared_ptr<Container> c = spare.container;
  if (c && !spare_etc_current(*c)) {
    release_spare_container(*c);  // made with a resolv.conf the host no longer has
    c.reset();
  }
  if (!c) {
    c = container_of(d, spare.id.empty() ? random_hex(64) : spare.id);
    c->rootfs_mounted = !spare.id.empty();
  }
  plog.mark(spare.container == c ? "spare-container" : "spare");
  // A create that fails leaves nothing: its rootfs (the spare's, or a size-limited layer) and
  // directories go (after its volumes, undo_volumes, which runs first).
  bool registered = false;
  auto undo_rootfs = defer([&] {
    if (registered) return;
    if (c->prepared) {
      std::lock_guard op(c->op);
      discard_prepared(*c, take_prepared(*c));  // unmounts the rootfs
    }
    if (c->rootfs_mounted) (void)unmount_rootfs(*c);
    (void)remove_all(bundle_dir(c->id));
    (void)images_->remove_rootfs(c->id);
    (void)remove_all(cfg_.data_root + "/containers/" + c->id);
  });
  c->image = d.image;
  c->created = rfc3339_now();
  if (!c->prepared) TRY(setup_volumes(*c, d.image_config));  // the spare container's are there
  plog.mark("volumes");
  auto undo_volumes = defer([&] {
    if (!registered) release_volumes(*c, true);
  });
  TRY(setup_storage_opts(*c));
  std::string image = d.image;
  std::vector<std::string> warnings = std::move(d.warnings);
  {
    std::lock_guard lk(mu);
    if (name.empty()) {
      for (int i = 0; i < 100; ++i) {
        name = random_name();
        bool used = false;
        for (auto& [k, x] : containers_) used = used || x->name == name;
        if (!used) break;
      }
    }
    for (auto& [k, x] : containers_)
      if (x->name == name)
        return fail(Errc::Conflict, "Conflict. The container name \"/" + name + "\" is already in use by container \"" +
                                        x->id + "\". You have to remove (or rename) that container to be able to reuse that name.");
    c->name = name;
    TRY(save(*c));
    plog.mark("save");
    TRY(net_->save_plan(c->id, d.net_plan));
    plog.mark("net-plan");
    containers_[c->id] = c;
    registered = true;
    // the template of the next spare, should this container be started next (the janitor
    // decides whether it may be made ahead: speculative())
    spare_created_ = SpareTemplate{c->id, std::move(d)};
  }
  emit("container", "create", c->id, {{"image", image}, {"name", name}}, image);
  // `docker run` starts what it creates a few milliseconds later: make the container now, in
  // the background, while the client sets up its attach and wait requests — the whole of it
  // up to its start when may_prepare (a PreparedTask), else its writable layer. start() holds
  // the container's op lock too, so it either finds that done or does it itself
  // (prepare_rootfs is idempotent). The spare container is made up to its start already.
  if (c->prepared) return std::make_pair(c->id, std::move(warnings));
  {
    std::lock_guard lk(mu);
    ++layers_in_flight_;  // shutdown() waits for these before the daemon goes
  }
  std::thread([this, c] {
    {
      std::lock_guard op(c->op);
      bool skip;
      {
        std::lock_guard lk(mu);
        skip = stopping_ || c->removed || c->state.status != "created";
      }
      if (!skip && may_prepare(*c)) {
        prepare(c);
        // a start came meanwhile: it is done here, at once (Daemon::start takes the outcome)
        if (c->prepared && c->starts_waiting.load() > 0) {
          c->manually_stopped = false;
          c->started_ahead = start_locked(c);
        }
      } else if (!skip && !c->rootfs_mounted)
        if (auto st = images_->prepare_rootfs(c->image_id, c->id); !st)
          log::debug("create {}: layer not made ahead of start: {}", c->id.substr(0, 12), st.error().message());
    }
    std::lock_guard lk(mu);
    --layers_in_flight_;
    cv.notify_all();
  }).detach();
  return std::make_pair(c->id, std::move(warnings));
}

Status Daemon::start(const std::string& ref) {
  auto c = TRY(find(ref));
  ++c->starts_waiting;
  std::lock_guard op(c->op);
  --c->starts_waiting;
  if (c->started_ahead) {
    Status st = std::move(*c->started_ahead);
    c->started_ahead.reset();
    return st;
  }
  {
    std::lock_guard lk(mu);
    if (c->removed) return fail(Errc::NotFound, "No such container: " + ref);
    if (c->state.status == "running" || c->state.status == "paused") return fail(Errc::AlreadyExists, "already started");
  }
  c->manually_stopped = false;
  return start_locked(c);
}

Status Daemon::start_locked(const std::shared_ptr<Container>& c) {
  PhaseLog plog("start " + c->id.substr(0, 12));
  primer_.prime();
  auto fail_start = [&](Error e) -> Status {
    bool auto_remove = false;
    {
      std::lock_guard lk(mu);
      c->state.error = e.message();
      const std::string& m = e.message();
      c->state.exit_code = (m.find("no such file") != std::string::npos || m.find("not found") != std::string::npos)
                               ? 127
                               : m.find("permission denied") != std::string::npos ? 126 : 128;
      if (c->state.status != "created") c->state.status = "exited";
      c->exit_gen++;  // ends attach streams and next-exit waits, as a container exit would
      auto_remove = c->host_config.value("AutoRemove", false);
      (void)save(*c);
    }
    cv.notify_all();
    // dockerd removes an AutoRemove container whose start failed
    if (auto_remove) std::thread([this, c] { (void)remove_locked(c); }).detach();
    return fail(std::move(e));
  };
  std::optional<Launched> l;
  if (c->prepared) {
    auto r = start_prepared(c);
    plog.mark("prepared-start");
    if (r) l = std::move(*r);
    else if (!r.error().is(Errc::Unavailable)) return fail_start(std::move(r).error());
    else log::debug("start {}: the prepared container is gone, starting anew", c->id.substr(0, 12));
  }
  if (!l) {
    auto r = launch(c, false, plog);
    if (!r) return fail_start(std::move(r).error());
    l = std::move(*r);
  }
  {
    std::lock_guard lk(mu);
    c->state.status = "running";
    c->state.pid = l->init_pid;
    c->state.error.clear();
    c->state.exit_code = 0;
    c->state.started_at = rfc3339_now();
    c->state.finished_at = "0001-01-01T00:00:00Z";
    c->shim_pid = l->shim_pid;
    c->start_gen++;
    (void)save(*c);
    plog.mark("save");
    // the next container of this image gets its rootfs made ahead (spare_rootfs.cpp)
    spare_rootfs_image_ = c->image_id;
    if (spare_created_ && spare_created_->container_id == c->id) {
      spare_template_ = std::move(spare_created_);
      spare_created_.reset();
    } else if (!spare_template_ || spare_template_->container_id != c->id) {
      spare_template_.reset();  // (a restart keeps its own)
    }
    if (spare_rootfs_due_ == std::chrono::steady_clock::time_point{})
      spare_rootfs_due_ = std::chrono::steady_clock::now() + kSpareRootfsDelay;
    if (l->monitor) watch_fd(c->id, l->monitor.release());
    else if (l->shim_pid > 0) watch_shim(c->id, l->shim_pid);
    else std::thread([this, id = c->id] { on_shim_exit(id); }).detach();
  }
  cv.notify_all();
  janitor_cv_.notify_one();  // (spare_rootfs_due_)
  notify_state_change();
  emit("container", "start", c->id);
  health_start(*this, c);
  return ok();
}

Result<Daemon::Launched> Daemon::launch(const std::shared_ptr<Container>& c, bool create_only, PhaseLog& plog, int ttl_ms) {
  std::string b = bundle_dir(c->id);
  std::string dd = cfg_.data_root + "/containers/" + c->id;
  TRY(mkdir_all(b + "/rootfs", 0755));
  TRY(mkdir_all(dd, 0710));
  // what was set up for the container is undone when it does not come up
  bool launched = false;
  auto undo = defer([&] {
    if (launched) return;
    (void)unmount_rootfs(*c);
    stop_volumes(*c);
    net_->teardown(c->id);
  });
  if (!c->rootfs_mounted) {
    auto mounts = TRY(images_->prepare_rootfs(c->image_id, c->id));
    plog.mark("prepare-rootfs");
    TRY(mount_rootfs(mounts, b + "/rootfs"));
    c->rootfs_mounted = true;
    plog.mark("mount");
  }
  std::string hostname = c->config.value("Hostname", "");
  bool host_net = c->host_config.value("NetworkMode", "") == "host";
  if (host_net && hostname.empty()) {
    char hn[256] = {0};
    ::gethostname(hn, sizeof hn - 1);
    hostname = hn;
  }
  // --network container:<x> shares that container's hostname and /etc files, as dockerd does.
  std::string etc_dir = dd;
  if (std::string m = c->host_config.value("NetworkMode", ""); m.rfind("container:", 0) == 0) {
    auto other = TRY(find(m.substr(10)));
    std::lock_guard lk(mu);
    hostname = other->config.value("Hostname", "");
    etc_dir = cfg_.data_root + "/containers/" + other->id;
  }
  auto netns = TRY(net_->setup(*c, hostname));  // networking.cpp: netns, veths, addresses, ports
  plog.mark("net");
  if (etc_dir == dd) {
    TRY(replace_file(dd + "/hostname", hostname + "\n"));
    TRY(replace_file(dd + "/hosts", !netns.hosts.empty() ? netns.hosts
                                                         : hosts_file(hostname, c->host_config, host_net) +
                                                               (host_net ? "" : "127.0.0.1\t" + hostname + "\n")));
    TRY(replace_file(dd + "/resolv.conf", !netns.resolv.empty() ? netns.resolv : resolv_file(c->host_config)));
  }
  std::vector<std::string> group_add;
  if (c->host_config.contains("GroupAdd") && c->host_config["GroupAdd"].is_array())
    for (const auto& g : c->host_config["GroupAdd"]) group_add.push_back(g.get<std::string>());
  auto user = TRY(resolve_user(b + "/rootfs", c->config.value("User", ""), group_add));
  plog.mark("etc-files");
  SpecInput in;
  in.id = c->id;
  in.config = &c->config;
  in.host_config = &c->host_config;
  in.rootfs = b + "/rootfs";
  in.hostname = hostname;
  in.hosts_path = etc_dir + "/hosts";
  in.hostname_path = etc_dir + "/hostname";
  in.resolv_path = etc_dir + "/resolv.conf";
  in.user = user;
  in.cgroups_path = cgroup_path_of(c->id);
  if (c->host_config.value("Init", false)) {
    in.init_path = init_path();
    if (in.init_path.empty()) return fail(Errc::InvalidArgument, "berth-init not found: --init is not available");
  }
  in.netns_path = netns.netns_path;
  in.link_env = netns.env;
  in.container_pid = [this](const std::string& r) { return container_init_pid(r); };
  auto user_mounts = TRY(start_volumes(*c, b + "/rootfs"));
  in.user_mounts = &user_mounts;
  plog.mark("volumes");
  std::vector<std::string> warnings;
  auto spec = TRY(generate_spec(in, &warnings));
  TRY(replace_file(b + "/config.json", spec, 0600));
  ::unlink((b + "/exit.json").c_str());
  ::unlink((b + "/runtime.log").c_str());
  plog.mark("spec");
  wait_previous_shim(b, c->id);
  // The attach socket is made here: the sessions waiting for the start and the exit monitor
  // connect before the shim exists (queued in the backlog), the shim takes them in before the
  // container runs. No round trip between runtime create and start is needed for that. (A
  // prepared container's are connected when it is started: start_prepared.)
  auto attach_listen = TRY(listen_attach_socket(b));
  auto unlink_attach = defer([&] {
    if (!launched) ::unlink((b + "/" + shim::proto::kAttachSocket).c_str());
  });
  Launched l;
  if (!create_only) {
    connect_early_attachers(c->id, b);
    l.monitor = shim_connect(b, "m");
  }
  plog.mark("attach");
  int rp[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, rp) < 0) return fail(Error::from_errno(errno, "socketpair"));
  UniqueFd ready_r(rp[0]), ready_w(rp[1]);
  std::string rt = cfg_.runtime_path(c->runtime);
  TRY(mkdir_all(runtime_root(rt), 0700));
  json lc = c->host_config.value("LogConfig", json::object());
  std::string driver = lc.value("Type", "json-file");
  json lopts = lc.value("Config", json::object());
  long long max_size = 10 << 20;
  int max_file = 3;
  if (lopts.is_object()) {
    if (lopts.contains("max-size") && lopts["max-size"].is_string())
      max_size = parse_bytes(lopts["max-size"].get<std::string>()).value_or(max_size);
    if (lopts.contains("max-file") && lopts["max-file"].is_string())
      max_file = static_cast<int>(parse_int(lopts["max-file"].get<std::string>()).value_or(max_file));
  }
  if (driver == "local" && !lopts.contains("max-size")) max_size = 20 << 20;
  std::vector<std::string> argv = {shim_path_, "--id", c->id, "--bundle", b, "--state-dir", b,
                                   "--runtime", rt, "--runtime-root", runtime_root(rt),
                                   "--log-driver", driver, "--log-path", log_path(*c),
                                   "--log-max-size", std::to_string(max_size),
                                   "--log-max-file", std::to_string(max_file), "--ready-fd", "3",
                                   "--attach-fd", "4"};
  if (c->config.value("Tty", false)) argv.push_back("--tty");
  if (c->config.value("OpenStdin", false)) argv.push_back("--stdin");
  if (create_only) {
    argv.insert(argv.end(), {"--create-only", "--create-ttl-ms", std::to_string(ttl_ms > 0 ? ttl_ms : kPreparedTtlMs)});
    // berth-runtime's start is the opening of its exec fifo: the shim does it without a process
    if (basename(rt) == "berth-runtime") argv.insert(argv.end(), {"--exec-fifo", runtime_root(rt) + "/" + c->id + "/exec.fifo"});
  }
  // berth-runtime's delete after the exit (a cgroup and a state dir) is done by the shim itself
  if (basename(rt) == "berth-runtime") argv.insert(argv.end(), {"--cgroup-path", cgroup_path_of(c->id)});
  // A spare shim started ahead takes the job when there is one; the next spare starts now.
  // (a spare is daemonized already: no process of ours to reap)
  bool spare = spare_.hand({argv.begin() + 1, argv.end()}, ready_w.get(), attach_listen.get());
  auto pid = spare ? Result<pid_t>(0) : spawn_shim(argv, ready_w.get(), attach_listen.get());
  if (!pid) return fail(std::move(pid).error());
  spare_.replenish(shim_path_, cfg_.runtime_path(cfg_.default_runtime));
  ready_w.reset();
  attach_listen.reset();
  std::string reply = read_reply_line(ready_r.get(), 60000);
  plog.mark(create_only ? "shim-created" : "shim-started");
  int st = 0;
  if (*pid > 0)
    while (::waitpid(*pid, &st, 0) < 0 && errno == EINTR) {}
  if (WIFEXITED(st) && WEXITSTATUS(st) == 127 && reply.empty())
    return fail(Errc::Internal, "failed to execute shim " + shim_path_);
  const char* want = create_only ? "created " : "ok ";
  if (reply.rfind(want, 0) != 0) return fail(shim_error(reply));
  l.init_pid = static_cast<int>(parse_int(reply.substr(std::strlen(want))).value_or(0));
  auto sp = read_file(b + "/shim.pid");
  l.shim_pid = sp ? static_cast<int>(parse_int(trim(*sp)).value_or(0)) : 0;
  if (create_only) l.ready = std::move(ready_r);
  launched = true;
  return l;
}

PreparedTask Daemon::take_prepared(Container& c) {
  PreparedTask p = std::move(*c.prepared);
  c.prepared.reset();
  --prepared_n_;
  return p;
}

Result<Daemon::Launched> Daemon::start_prepared(const std::shared_ptr<Container>& c) {
  PreparedTask p = take_prepared(*c);
  // Gone already (its TTL passed, its init died), or about to go: nothing was connected to it
  // yet, and a start racing the shim's TTL would leave the attach sessions on a dead socket.
  pollfd pf{p.ready.get(), POLLIN, 0};
  if (std::chrono::steady_clock::now() > p.expires - std::chrono::seconds(1) || ::poll(&pf, 1, 0) != 0) {
    discard_prepared(*c, std::move(p));
    return fail(Errc::Unavailable, "the prepared container is gone");
  }
  std::string b = bundle_dir(c->id);
  connect_early_attachers(c->id, b);
  Launched l;
  l.monitor = shim_connect(b, "m");
  l.shim_pid = p.shim_pid;
  std::string reply;
  if (write_all(p.ready.get(), "s\n")) reply = read_reply_line(p.ready.get(), 60000);
  if (reply.rfind("ok ", 0) != 0) {
    Error e = shim_error(reply);
    discard_prepared(*c, std::move(p));
    return fail(std::move(e));
  }
  l.init_pid = static_cast<int>(parse_int(reply.substr(3)).value_or(0));
  return l;
}

void Daemon::discard_prepared(Container& c, PreparedTask p) {
  UniqueFd shim(pidfd_open(p.shim_pid));
  p.ready.reset();  // EOF: the shim deletes the container and exits
  if (shim) {
    pollfd x{shim.get(), POLLIN, 0};
    (void)::poll(&x, 1, 10000);
  }
  ::unlink((bundle_dir(c.id) + "/" + shim::proto::kAttachSocket).c_str());
  (void)unmount_rootfs(c);
  stop_volumes(c);
  net_->teardown(c.id);
}

void Daemon::drop_prepared_locked(Container& c) {
  if (c.prepared) discard_prepared(c, take_prepared(c));
}

void Daemon::drop_prepared(const std::shared_ptr<Container>& c) {
  {
    // only a created container can have one: do not wait for the op lock of others (a stop)
    std::lock_guard lk(mu);
    if (c->state.status != "created") return;
  }
  std::lock_guard op(c->op);
  drop_prepared_locked(*c);
}

// Made ahead only where nothing the start depends on can change in between but through the
// API (which drops it): no network endpoint to set up (none, host), no other container's
// namespaces, no volumes (copy-up and driver mounts happen at start).
bool Daemon::may_prepare(const Container& c) {
  if (prepared_n_.load() >= kMaxPrepared) return false;
  std::string nm = c.host_config.value("NetworkMode", "");
  if (nm != "none" && nm != "host") return false;
  for (const char* k : {"IpcMode", "PidMode", "UTSMode", "UsernsMode", "CgroupnsMode"}) {
    auto it = c.host_config.find(k);
    if (it != c.host_config.end() && it->is_string() && it->get<std::string>().rfind("container:", 0) == 0) return false;
  }
  auto mps = mount_points(c);
  if (!mps) return false;
  for (const auto& m : *mps)
    if (m.type != "bind" && m.type != "tmpfs") return false;
  return true;
}

void Daemon::prepare(const std::shared_ptr<Container>& c) {
  PhaseLog plog("prepare " + c->id.substr(0, 12));
  ++prepared_n_;
  auto r = launch(c, true, plog);
  if (!r) {
    --prepared_n_;
    log::debug("create {}: not made ahead of its start: {}", c->id.substr(0, 12), r.error().message());
    return;
  }
  c->prepared = PreparedTask{std::move(r->ready), r->shim_pid,
                             std::chrono::steady_clock::now() + std::chrono::milliseconds(kPreparedTtlMs)};
}

Status Daemon::kill(const std::string& ref, const std::string& signal) {
  auto c = TRY(find(ref));
  auto sig = parse_signal(signal);
  if (!sig) return fail(Errc::InvalidArgument, "Invalid signal: " + signal);
  {
    std::lock_guard lk(mu);
    if (c->state.status != "running" && c->state.status != "paused")
      return fail(Errc::Conflict, "Cannot kill container: " + ref + ": container " + c->id + " is not running");
    if (*sig == SIGKILL || *sig == SIGTERM || *sig == SIGINT) c->manually_stopped = c->manually_stopped || false;
  }
  auto a = runtime_base(*c);
  a.insert(a.end(), {"kill", c->id, std::to_string(*sig)});
  auto p = run_capture(a);
  if (p.status != 0) {
    std::lock_guard lk(mu);
    if (c->state.pid > 0 && ::kill(c->state.pid, *sig) == 0) {
    } else if (c->state.status == "running") {
      return fail(Errc::Internal, "Cannot kill container " + ref + ": " + std::string(trim(p.err)));
    }
  }
  emit("container", "kill", c->id, {{"signal", std::to_string(*sig)}});
  return ok();
}

Status Daemon::stop(const std::string& ref, std::optional<int> timeout, const std::string& signal) {
  auto c = TRY(find(ref));
  int t = 10;
  std::string sig = signal;
  {
    std::lock_guard lk(mu);
    if (c->state.status == "restarting") {
      c->manually_stopped = true;
      c->state.status = "exited";
      (void)save(*c);
      cv.notify_all();
      return ok();
    }
    if (c->state.status != "running" && c->state.status != "paused") return fail(Errc::AlreadyExists, "not running");
    c->manually_stopped = true;
    if (c->config.contains("StopTimeout") && c->config["StopTimeout"].is_number()) t = c->config["StopTimeout"].get<int>();
    if (sig.empty()) sig = c->config.value("StopSignal", "SIGTERM");
    if (sig.empty()) sig = "SIGTERM";
  }
  if (timeout) t = *timeout;
  if (c->state.status == "paused") (void)pause(ref, false);
  auto gen = c->exit_gen;
  (void)kill(c->id, sig);
  std::unique_lock lk(mu);
  bool exited = cv.wait_for(lk, t < 0 ? std::chrono::hours(24 * 365) : std::chrono::seconds(t),
                            [&] { return c->exit_gen != gen || c->removed; });
  if (!exited) {
    lk.unlock();
    (void)kill(c->id, "SIGKILL");
    lk.lock();
    cv.wait_for(lk, std::chrono::seconds(30), [&] { return c->exit_gen != gen || c->removed; });
  }
  lk.unlock();
  emit("container", "stop", c->id);
  return ok();
}

Status Daemon::restart(const std::string& ref, std::optional<int> timeout) {
  auto c = TRY(find(ref));
  auto st = stop(ref, timeout);
  if (!st && !st.error().is(Errc::AlreadyExists)) return st;
  std::lock_guard op(c->op);
  {
    std::lock_guard lk(mu);
    if (c->state.status == "running") return ok();
  }
  c->manually_stopped = false;
  TRY(start_locked(c));
  emit("container", "restart", c->id);
  return ok();
}

Status Daemon::pause(const std::string& ref, bool do_pause) {
  auto c = TRY(find(ref));
  {
    std::lock_guard lk(mu);
    if (do_pause && c->state.status == "paused")
      return fail(Errc::Conflict, "Container " + c->id + " is already paused");
    if (!do_pause && c->state.status != "paused") return fail(Errc::Conflict, "Container " + c->id + " is not paused");
    if (c->state.status != "running" && c->state.status != "paused")
      return fail(Errc::Conflict, "Container " + c->id + " is not running");
  }
  auto a = runtime_base(*c);
  a.insert(a.end(), {do_pause ? "pause" : "resume", c->id});
  auto p = run_capture(a);
  if (p.status != 0) return fail(Errc::Internal, std::string(trim(p.err)));
  {
    std::lock_guard lk(mu);
    c->state.status = do_pause ? "paused" : "running";
    (void)save(*c);
  }
  cv.notify_all();
  emit("container", do_pause ? "pause" : "unpause", c->id);
  return ok();
}

Status Daemon::rename(const std::string& ref, const std::string& new_name_in) {
  auto c = TRY(find(ref));
  std::string n = new_name_in;
  if (!n.empty() && n[0] == '/') n = n.substr(1);
  if (n.empty() || !valid_name(n))
    return fail(Errc::InvalidArgument, "Invalid container name (" + n + "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  std::lock_guard lk(mu);
  for (auto& [k, x] : containers_)
    if (x->name == n && x != c)
      return fail(Errc::Conflict, "Conflict. The container name \"/" + n + "\" is already in use by container \"" + x->id +
                                      "\". You have to remove (or rename) that container to be able to reuse that name.");
  std::string old = c->name;
  c->name = n;
  TRY(save(*c));
  ev_cv_.notify_all();
  return ok();
}

Status Daemon::remove_locked(const std::shared_ptr<Container>& c) {
  {
    std::lock_guard lk(mu);
    if (c->removed) return ok();
    c->state.status = "removing";
  }
  PhaseLog plog("remove " + c->id.substr(0, 12));
  net_->teardown(c->id);
  // The rootfs (still mounted only for an AutoRemove container that just exited) is
  // unmounted by the janitor before it deletes the layer: not on the way to the answer.
  c->rootfs_mounted = false;
  plog.mark("net-unmount");
  release_volumes(*c, c->rm_volumes || c->host_config.value("AutoRemove", false));
  plog.mark("volumes");
  // The record goes first: from here on the container is gone for the API and for a restarted
  // berthd; its layer and directories are garbage that the janitor removes (or the next start
  // of berthd, see collect_garbage) without holding up `wait?condition=removed`. An AutoRemove
  // container's record goes right after the waiters are told (an unlink on the data root is
  // ≈ 0.5 ms here): a berthd restarted in between finds it running with its shim gone, and
  // removes it as it would have (restore, on_shim_exit).
  std::string record = cfg_.data_root + "/containers/" + c->id + "/config.v2.json";
  bool record_after = c->host_config.value("AutoRemove", false);
  if (!record_after && ::unlink(record.c_str()) < 0 && errno != ENOENT)
    return fail(Error::from_errno(errno, "remove container record", c->id));
  {
    std::lock_guard lk(mu);
    c->removed = true;
    containers_.erase(c->id);
    std::vector<std::shared_ptr<ExecSession>> gone;  // all of its execs, ended ones too
    for (auto& [eid, s] : execs_)
      if (s->container_id == c->id) gone.push_back(s);
    for (auto& s : gone) forget_exec(*s);
    garbage_.push_back(c->id);
  }
  cv.notify_all();
  janitor_cv_.notify_one();
  // (the janitor may have removed the whole directory meanwhile)
  if (record_after && ::unlink(record.c_str()) < 0 && errno != ENOENT)
    log::warn("remove the record of container {}: {}", c->id.substr(0, 12), std::strerror(errno));
  notify_state_change();
  emit("container", "destroy", c->id);
  return ok();
}

void Daemon::remove_garbage(const std::string& id) {
  std::string rootfs = bundle_dir(id) + "/rootfs";
  if (::umount2(rootfs.c_str(), MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
    log::warn("unmount {}: {}", rootfs, std::strerror(errno));
  (void)images_->remove_rootfs(id);
  (void)remove_all(bundle_dir(id));
  (void)remove_all(cfg_.data_root + "/containers/" + id);
  net_->drop_pending_netns();
}

void Daemon::janitor_loop() {
  // dockerd's exec GC ticks every 5 minutes (exec_records.cpp)
  constexpr auto kExecGcPeriod = std::chrono::minutes(5);
  using clock = std::chrono::steady_clock;
  auto next_gc = clock::now() + kExecGcPeriod;
  // the spare rootfs is to be made (spare_rootfs_due_ set): when due, or at once after a removal
  auto spare_wanted = [&] { return spare_rootfs_due_ != clock::time_point{}; };
  // the spare container goes back to a spare rootfs before its shim's TTL (spare_expiry_)
  auto expiry_due = [&] { return spare_expiry_ != clock::time_point{} && clock::now() >= spare_expiry_; };
  // garbage to remove or a spare to make now
  auto work_due = [&] { return !garbage_.empty() || (spare_wanted() && clock::now() >= spare_rootfs_due_); };
  bool let_clients_go = false;  // waited for the clients before this round of work
  std::unique_lock lk(mu);
  for (;;) {
    if (!work_due()) let_clients_go = false;
    auto until = spare_wanted() ? std::min(next_gc, spare_rootfs_due_) : next_gc;
    if (spare_expiry_ != clock::time_point{}) until = std::min(until, spare_expiry_);
    janitor_cv_.wait_until(lk, until, [&] { return stopping_ || work_due() || expiry_due(); });
    if (stopping_) return;  // what is left is collected at the next start
    if (clock::now() >= next_gc) {
      exec_gc();
      next_gc = clock::now() + kExecGcPeriod;
    }
    if (!let_clients_go && work_due()) {
      // The client just answered (`run --rm`'s wait for the removal, `run -d`'s start) exits
      // now: its threads' exits and the spare's making (cgroup migrations, mounts, clones) take
      // the same kernel locks. Its connections closing tell when it has gone (kClientsGoneWait
      // at most: a long-lived one, `logs -f` or an attach, does not hold the work up longer).
      lk.unlock();
      if (server_) (void)server_->wait_idle(kClientsGoneWait);
      lk.lock();
      let_clients_go = true;
      continue;
    }
    if (remove_next_garbage(lk)) {
      if (garbage_.empty() && spare_wanted()) spare_rootfs_due_ = clock::now();
      continue;
    }
    if (spare_wanted() && clock::now() >= spare_rootfs_due_) {
      spare_rootfs_due_ = {};
      lk.unlock();
      PhaseLog plog("spare rootfs");
      make_spare_rootfs();
      lk.lock();
    }
    if (expiry_due()) {
      spare_expiry_ = {};
      lk.unlock();
      expire_spare_container(false);
      lk.lock();
    }
  }
}

bool Daemon::remove_next_garbage(std::unique_lock<std::mutex>& lk) {
  if (garbage_.empty()) return false;
  std::string id = garbage_.front();
  garbage_.pop_front();
  ++garbage_busy_;
  lk.unlock();
  {
    PhaseLog plog("janitor " + id.substr(0, 12));
    remove_garbage(id);
  }
  lk.lock();
  --garbage_busy_;
  cv.notify_all();  // (remove_pending_garbage)
  return true;
}

void Daemon::remove_pending_garbage() {
  std::unique_lock lk(mu);
  for (;;) {
    while (remove_next_garbage(lk)) {}
    if (garbage_busy_ == 0) return;
    cv.wait(lk);  // the janitor's, under way
  }
}

// At startup: container directories without a record (removed while their cleanup was
// pending, or a create that did not finish) are removed.
void Daemon::collect_garbage() {
  std::set<std::string> ids;
  for (const std::string& dir : {cfg_.data_root + "/containers", cfg_.exec_root + "/containers"}) {
    DIR* d = ::opendir(dir.c_str());
    if (!d) continue;
    while (auto* e = ::readdir(d)) {
      std::string n = e->d_name;
      // an unreadable record is kept for a human to look at
      if (n.size() == 64 && !containers_.count(n) && !path_exists(cfg_.data_root + "/containers/" + n + "/config.v2.json"))
        ids.insert(n);
    }
    ::closedir(d);
  }
  for (const auto& id : ids) {
    log::info("removing leftovers of container {}", id.substr(0, 12));
    std::string rootfs = bundle_dir(id) + "/rootfs";
    ::umount2(rootfs.c_str(), MNT_DETACH);
    remove_garbage(id);
  }
}

Status Daemon::remove(const std::string& ref, bool force, bool volumes) {
  auto c = TRY(find(ref));
  c->rm_volumes = volumes;
  {
    std::lock_guard lk(mu);
    if (c->state.status == "running" || c->state.status == "paused" || c->state.status == "restarting") {
      if (!force) {
        std::string what = c->state.status == "paused" ? "paused" : "running";
        return fail(Errc::Conflict, "cannot remove container \"/" + c->name + "\": container is " + what +
                                        ": stop the container before removing or force remove");
      }
    }
  }
  if (force) {
    bool running;
    {
      std::lock_guard lk(mu);
      c->manually_stopped = true;
      running = c->state.status == "running" || c->state.status == "paused";
      if (c->state.status == "restarting") c->state.status = "exited";
    }
    if (running) {
      auto gen = c->exit_gen;
      if (c->state.status == "paused") (void)pause(c->id, false);
      (void)kill(c->id, "SIGKILL");
      std::unique_lock lk(mu);
      cv.wait_for(lk, std::chrono::seconds(30), [&] { return c->exit_gen != gen || c->removed; });
    }
  }
  std::lock_guard op(c->op);
  drop_prepared_locked(*c);
  return remove_locked(c);
}

Result<int> Daemon::wait(const std::string& ref, const std::string& condition, const std::function<bool()>& cancelled) {
  auto c = TRY(find(ref));
  std::string cond = condition.empty() ? "not-running" : condition;
  if (cond != "not-running" && cond != "next-exit" && cond != "removed")
    return fail(Errc::InvalidArgument, "invalid condition: \"" + cond + "\"");
  std::unique_lock lk(mu);
  auto gen = c->exit_gen;
  auto done = [&] {
    if (cond == "removed") return c->removed;
    if (cond == "next-exit") return c->exit_gen != gen || c->removed;
    return c->removed || (c->state.status != "running" && c->state.status != "paused" &&
                          c->state.status != "restarting");
  };
  while (!done()) {
    cv.wait_for(lk, std::chrono::milliseconds(500));
    if (cancelled && cancelled()) return fail(Errc::Cancelled, "client disconnected");
  }
  return c->state.exit_code;
}

// ---------------- exec ----------------

// exec_create, find_exec, records: exec_records.cpp; exec_run, exec_resize: exec_io.cpp

// ---------------- events ----------------

std::string Event::json_line() const {
  json a = json::object();
  for (auto& [k, v] : attrs) a[k] = v;
  json j{{"Type", type}, {"Action", action}, {"Actor", {{"ID", id}, {"Attributes", a}}}, {"scope", "local"},
         {"time", time_nano / 1000000000}, {"timeNano", time_nano}};
  if (type == "container") {
    j["status"] = action;
    j["id"] = id;
    if (!from.empty()) j["from"] = from;
  }
  return j.dump() + "\n";
}

void Daemon::emit(const std::string& type, const std::string& action, const std::string& id,
                  std::map<std::string, std::string> attrs, const std::string& from) {
  Event e;
  e.type = type;
  e.action = action;
  e.id = id;
  e.from = from;
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  e.time_nano = static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
  if (type == "container") {
    std::lock_guard lk(mu);
    auto it = containers_.find(id);
    if (it != containers_.end()) {
      attrs.emplace("name", it->second->name);
      attrs.emplace("image", it->second->image);
      if (e.from.empty()) e.from = it->second->image;
      if (it->second->config.contains("Labels") && it->second->config["Labels"].is_object())
        for (auto& [k, v] : it->second->config["Labels"].items())
          if (v.is_string()) attrs.emplace(k, v.get<std::string>());
    }
  }
  e.attrs = std::move(attrs);
  {
    std::lock_guard lk(ev_mu_);
    events_.push_back(std::move(e));
    ++ev_seq_;
    if (events_.size() > 1024) events_.pop_front();
  }
  ev_cv_.notify_all();
}

std::uint64_t Daemon::event_cursor() {
  std::lock_guard lk(ev_mu_);
  return ev_seq_;
}

std::vector<Event> Daemon::events_since(std::int64_t since_nano, std::uint64_t* cursor) {
  std::lock_guard lk(ev_mu_);
  std::vector<Event> out;
  for (const auto& e : events_)
    if (e.time_nano >= since_nano) out.push_back(e);
  *cursor = ev_seq_;
  return out;
}

std::vector<Event> Daemon::events_wait(std::uint64_t* cursor, int timeout_ms) {
  std::unique_lock lk(ev_mu_);
  ev_cv_.wait_for(lk, std::chrono::milliseconds(timeout_ms), [&] { return ev_seq_ != *cursor || stopping_; });
  std::vector<Event> out;
  std::uint64_t have = ev_seq_ - *cursor;
  if (have > events_.size()) have = events_.size();
  for (std::size_t i = events_.size() - have; i < events_.size(); ++i) out.push_back(events_[i]);
  *cursor = ev_seq_;
  return out;
}

// ---------------- daemon lifecycle ----------------

Daemon::Daemon(Config cfg) : cfg_(std::move(cfg)) {}

Daemon::~Daemon() { shutdown(); }

Status Daemon::init() {
  TRY(mkdir_all(cfg_.data_root, 0710));
  TRY(mkdir_all(cfg_.data_root + "/containers", 0710));
  TRY(mkdir_all(cfg_.exec_root + "/containers", 0711));
  start_time = rfc3339_now();
  cleanup_rootfs_views(cfg_.exec_root);
  images_ = TRY(open_image_store(cfg_));
  images_->set_in_use_hook([this](const std::string& image_id) {
    std::vector<std::string> ids;
    std::lock_guard lk(mu);
    for (auto& [id, c] : containers_)
      if (c->image_id == image_id && !c->removed) ids.push_back(id);
    return ids;
  });
  log::info("storage driver: {}", images_->driver_name());
  volumes_ = std::make_unique<volume::VolumeService>(TRY(volume::VolumeService::open(cfg_.data_root)));
  shim_path_ = cfg_.shim_path;
  if (shim_path_.empty()) {
    char self[PATH_MAX] = {0};
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    std::string next = n > 0 ? dirname(std::string(self, static_cast<std::size_t>(n))) + "/berth-shim" : "";
    if (!next.empty() && ::access(next.c_str(), X_OK) == 0) shim_path_ = next;
    else shim_path_ = "/usr/local/bin/berth-shim";
  }
  epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  wake_.reset(::eventfd(0, EFD_CLOEXEC));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_.get();
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &ev);
  net_ = Networking::open(cfg_);
  net_->attach(this);
  {
    std::lock_guard lk(mu);
    TRY(load_containers());
    load_execs();
    std::set<std::string> running;
    for (auto& [id, c] : containers_)
      if (c->shim_pid > 0 && (c->state.status == "running" || c->state.status == "paused")) running.insert(id);
    net_->reconcile(running);  // endpoints of containers that died while we were down
    collect_garbage();
  }
  monitor_ = std::thread([this] { monitor_loop(); });
  janitor_ = std::thread([this] { janitor_loop(); });
  return ok();
}

Status Daemon::reload() {
  Config next = cfg_;
  TRY(load_config_file(next, true));
  cfg_ = next;
  expire_spare_container(true);  // made with the configuration before
  log::Level l;
  if (log::parse_level(cfg_.debug ? "debug" : cfg_.log_level, &l)) log::set_level(l);
  emit("daemon", "reload", "berthd");
  return ok();
}

void Daemon::shutdown() {
  if (stopping_) return;
  if (!cfg_.live_restore && epoll_) {
    for (auto& c : all())
      if (c->state.status == "running" || c->state.status == "paused") (void)stop(c->id, 10);
  }
  {
    std::lock_guard lk(mu);
    stopping_ = true;
  }
  ev_cv_.notify_all();
  cv.notify_all();
  janitor_cv_.notify_all();
  if (server_) server_->stop();
  if (wake_) {
    std::uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
  }
  {
    std::unique_lock lk(mu);
    cv.wait_for(lk, std::chrono::seconds(10), [&] { return layers_in_flight_ == 0; });
  }
  // containers made ahead of a start that will not come now: their shims drop them
  if (prepared_n_.load() > 0)
    for (auto& c : all()) {
      std::unique_lock op(c->op, std::try_to_lock);
      if (op.owns_lock()) drop_prepared_locked(*c);
    }
  if (monitor_.joinable()) monitor_.join();
  if (janitor_.joinable()) janitor_.join();
  {
    std::lock_guard sl(spare_rootfs_mu_);
    drop_spare_rootfs_locked();
  }
  flush_records();
  std::lock_guard lk(mu);
  for (auto& [fd, id] : pidfds_) ::close(fd);
  pidfds_.clear();
  for (auto& [fd, w] : exec_watches_) ::close(fd);
  exec_watches_.clear();
}

}  // namespace berth::daemon
