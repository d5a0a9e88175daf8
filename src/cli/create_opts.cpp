// SPDX-License-Identifier: Apache-2.0
#include "cli/create_opts.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cctype>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "common/strings.hpp"

namespace berth::cli {

std::vector<FlagSpec> container_create_flags(bool for_run) {
  std::vector<FlagSpec> f = {
      {"add-host", 0, FlagKind::List, "Add a custom host-to-IP mapping (host:ip)"},
      {"attach", 'a', FlagKind::List, "Attach to STDIN, STDOUT or STDERR"},
      {"cap-add", 0, FlagKind::List, "Add Linux capabilities"},
      {"cap-drop", 0, FlagKind::List, "Drop Linux capabilities"},
      {"cgroup-parent", 0, FlagKind::String, "Optional parent cgroup for the container"},
      {"cgroupns", 0, FlagKind::String, "Cgroup namespace to use (host|private)"},
      {"cidfile", 0, FlagKind::String, "Write the container ID to the file"},
      {"cpu-period", 0, FlagKind::Int, "Limit CPU CFS (Completely Fair Scheduler) period"},
      {"cpu-quota", 0, FlagKind::Int, "Limit CPU CFS (Completely Fair Scheduler) quota"},
      {"cpu-shares", 'c', FlagKind::Int, "CPU shares (relative weight)"},
      {"cpus", 0, FlagKind::String, "Number of CPUs", "decimal"},
      {"cpuset-cpus", 0, FlagKind::String, "CPUs in which to allow execution (0-3, 0,1)"},
      {"cpuset-mems", 0, FlagKind::String, "MEMs in which to allow execution (0-3, 0,1)"},
      {"device", 0, FlagKind::List, "Add a host device to the container"},
      {"dns", 0, FlagKind::List, "Set custom DNS servers"},
      {"dns-option", 0, FlagKind::List, "Set DNS options"},
      {"dns-search", 0, FlagKind::List, "Set custom DNS search domains"},
      {"domainname", 0, FlagKind::String, "Container NIS domain name"},
      {"entrypoint", 0, FlagKind::String, "Overwrite the default ENTRYPOINT of the image"},
      {"env", 'e', FlagKind::List, "Set environment variables"},
      {"env-file", 0, FlagKind::List, "Read in a file of environment variables"},
      {"expose", 0, FlagKind::List, "Expose a port or a range of ports"},
      {"group-add", 0, FlagKind::List, "Add additional groups to join"},
      {"health-cmd", 0, FlagKind::String, "Command to run to check health"},
      {"health-interval", 0, FlagKind::String, "Time between running the check (ms|s|m|h) (default 0s)", "duration"},
      {"health-retries", 0, FlagKind::Int, "Consecutive failures needed to report unhealthy"},
      {"health-start-interval", 0, FlagKind::String, "Time between running the check during the start period (ms|s|m|h) (default 0s)", "duration"},
      {"health-start-period", 0, FlagKind::String, "Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)", "duration"},
      {"health-timeout", 0, FlagKind::String, "Maximum time to allow one check to run (ms|s|m|h) (default 0s)", "duration"},
      {"hostname", 'h', FlagKind::String, "Container host name"},
      {"init", 0, FlagKind::Bool, "Run an init inside the container that forwards signals and reaps processes"},
      {"interactive", 'i', FlagKind::Bool, "Keep STDIN open even if not attached"},
      {"ipc", 0, FlagKind::String, "IPC mode to use"},
      {"label", 'l', FlagKind::List, "Set meta data on a container"},
      {"log-driver", 0, FlagKind::String, "Logging driver for the container"},
      {"log-opt", 0, FlagKind::List, "Log driver options"},
      {"memory", 'm', FlagKind::String, "Memory limit", "bytes"},
      {"memory-reservation", 0, FlagKind::String, "Memory soft limit", "bytes"},
      {"memory-swap", 0, FlagKind::String, "Swap limit equal to memory plus swap: '-1' to enable unlimited swap", "bytes"},
      {"mount", 0, FlagKind::List, "Attach a filesystem mount to the container", "mount"},
      {"name", 0, FlagKind::String, "Assign a name to the container"},
      {"network", 0, FlagKind::String, "Connect a container to a network", "network"},
      {"network-alias", 0, FlagKind::List, "Add network-scoped alias for the container"},
      {"no-healthcheck", 0, FlagKind::Bool, "Disable any container-specified HEALTHCHECK"},
      {"oom-kill-disable", 0, FlagKind::Bool, "Disable OOM Killer"},
      {"oom-score-adj", 0, FlagKind::Int, "Tune host's OOM preferences (-1000 to 1000)"},
      {"pid", 0, FlagKind::String, "PID namespace to use"},
      {"pids-limit", 0, FlagKind::Int, "Tune container pids limit (set -1 for unlimited)"},
      {"platform", 0, FlagKind::String, "Set platform if server is multi-platform capable"},
      {"privileged", 0, FlagKind::Bool, "Give extended privileges to this container"},
      {"publish", 'p', FlagKind::List, "Publish a container's port(s) to the host"},
      {"publish-all", 'P', FlagKind::Bool, "Publish all exposed ports to random ports"},
      {"pull", 0, FlagKind::String, "Pull image before running (\"always\", \"missing\", \"never\")", "string", "missing"},
      {"read-only", 0, FlagKind::Bool, "Mount the container's root filesystem as read only"},
      {"restart", 0, FlagKind::String, "Restart policy to apply when a container exits", "string", "no"},
      {"runtime", 0, FlagKind::String, "Runtime to use for this container"},
      {"security-opt", 0, FlagKind::List, "Security Options"},
      {"shm-size", 0, FlagKind::String, "Size of /dev/shm", "bytes"},
      {"stop-signal", 0, FlagKind::String, "Signal to stop the container"},
      {"stop-timeout", 0, FlagKind::Int, "Timeout (in seconds) to stop a container"},
      {"sysctl", 0, FlagKind::List, "Sysctl options", "map"},
      {"tmpfs", 0, FlagKind::List, "Mount a tmpfs directory"},
      {"tty", 't', FlagKind::Bool, "Allocate a pseudo-TTY"},
      {"ulimit", 0, FlagKind::List, "Ulimit options", "ulimit"},
      {"user", 'u', FlagKind::String, "Username or UID (format: <name|uid>[:<group|gid>])"},
      {"userns", 0, FlagKind::String, "User namespace to use"},
      {"uts", 0, FlagKind::String, "UTS namespace to use"},
      {"volume", 'v', FlagKind::List, "Bind mount a volume"},
      {"volumes-from", 0, FlagKind::List, "Mount volumes from the specified container(s)"},
      {"workdir", 'w', FlagKind::String, "Working directory inside the container"},
  };
  if (for_run) {
    f.push_back({"detach", 'd', FlagKind::Bool, "Run container in background and print container ID"});
    f.push_back({"detach-keys", 0, FlagKind::String, "Override the key sequence for detaching a container"});
    f.push_back({"rm", 0, FlagKind::Bool, "Automatically remove the container and its associated anonymous volumes when it exits"});
    f.push_back({"sig-proxy", 0, FlagKind::Bool, "Proxy received signals to the process", "", "true"});
  } else {
    f.push_back({"rm", 0, FlagKind::Bool, "Automatically remove the container and its associated anonymous volumes when it exits"});
  }
  std::sort(f.begin(), f.end(), [](const FlagSpec& a, const FlagSpec& b) { return a.name < b.name; });
  return f;
}

namespace {

Error bad(std::string m) { return Error(Errc::InvalidArgument, std::move(m)); }

// Go's time.ParseDuration for the --health-* flags: "1m30s", "300ms", "1.5s", "0".
Result<std::int64_t> parse_go_duration(const std::string& flag, const std::string& in) {
  auto err = [&] { return bad("invalid argument \"" + in + "\" for \"--" + flag + "\" flag: time: invalid duration \"" + in + "\""); };
  std::string s = in;
  bool neg = !s.empty() && s[0] == '-';
  if (neg || (!s.empty() && s[0] == '+')) s = s.substr(1);
  if (s == "0") return std::int64_t{0};
  if (s.empty()) return fail(err());
  long double total = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t j = i;
    while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == '.')) ++j;
    if (j == i) return fail(err());
    std::string num = s.substr(i, j - i);
    char* end = nullptr;
    long double v = std::strtold(num.c_str(), &end);
    if (num == "." || !end || *end) return fail(err());
    std::size_t k = j;
    while (k < s.size() && !std::isdigit(static_cast<unsigned char>(s[k])) && s[k] != '.') ++k;
    std::string unit = s.substr(j, k - j);
    static const std::pair<const char*, long double> units[] = {
        {"ns", 1}, {"us", 1e3}, {"µs", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
    bool found = false;
    for (const auto& [u, mul] : units)
      if (unit == u) {
        total += v * mul;
        found = true;
      }
    if (!found) return fail(err());
    i = k;
  }
  auto ns = static_cast<std::int64_t>(total);
  return neg ? -ns : ns;
}

// Config.Healthcheck from the --health-* flags (null when none is given), as the docker CLI.
Result<Json> healthcheck_from_flags(const ParsedFlags& f) {
  bool any = f.has("health-cmd") || f.has("health-interval") || f.has("health-timeout") || f.has("health-retries") ||
             f.has("health-start-period") || f.has("health-start-interval");
  if (f.flag("no-healthcheck")) {
    if (any) return fail(bad("--no-healthcheck conflicts with --health-* options"));
    return Json{{"Test", Json::array({"NONE"})}};
  }
  if (!any) return Json(nullptr);
  Json h = Json::object();
  if (f.has("health-cmd") && !f.str("health-cmd").empty()) h["Test"] = Json::array({"CMD-SHELL", f.str("health-cmd")});
  for (const auto& [flag, key] : std::vector<std::pair<std::string, std::string>>{
           {"health-interval", "Interval"}, {"health-timeout", "Timeout"},
           {"health-start-period", "StartPeriod"}, {"health-start-interval", "StartInterval"}}) {
    if (!f.has(flag)) continue;
    std::int64_t ns = TRY(parse_go_duration(flag, f.str(flag)));
    if (ns < 0) return fail(bad("--" + flag + " cannot be negative"));
    h[key] = ns;
  }
  if (f.has("health-retries")) {
    auto r = f.integer("health-retries", 0);
    if (r < 0) return fail(bad("--health-retries cannot be negative"));
    h["Retries"] = r;
  }
  return h;
}

// "8080:80", "127.0.0.1:53:53/udp", "80", "1.2.3.4::80", "[::1]:80:80"
Status add_port(const std::string& spec, Json& exposed, Json& bindings) {
  std::string s = spec;
  std::string proto = "tcp";
  if (auto k = s.rfind('/'); k != std::string::npos) {
    proto = s.substr(k + 1);
    s = s.substr(0, k);
  }
  std::string ip, host_port, ctr_port;
  auto parts = split(s, ':');
  if (!s.empty() && s[0] == '[') {
    auto close = s.find(']');
    if (close == std::string::npos) return fail(bad("invalid IP address: " + s));
    ip = s.substr(1, close - 1);
    auto rest = split(s.substr(close + 2), ':');
    if (rest.size() != 2) return fail(bad("invalid port format for --publish: " + spec));
    host_port = rest[0];
    ctr_port = rest[1];
  } else if (parts.size() == 1) {
    ctr_port = parts[0];
  } else if (parts.size() == 2) {
    host_port = parts[0];
    ctr_port = parts[1];
  } else if (parts.size() == 3) {
    ip = parts[0];
    host_port = parts[1];
    ctr_port = parts[2];
  } else {
    return fail(bad("invalid port format for --publish: " + spec));
  }
  if (ctr_port.empty() || !parse_uint(split_once(ctr_port, '-').first))
    return fail(bad("invalid containerPort: " + ctr_port));
  std::string key = ctr_port + "/" + proto;
  exposed[key] = Json::object();
  if (!bindings.contains(key)) bindings[key] = Json::array();
  bindings[key].push_back({{"HostIp", ip}, {"HostPort", host_port}});
  return ok();
}

Json sorted_object(const Json& in) {
  std::vector<std::string> keys;
  for (auto it = in.begin(); it != in.end(); ++it) keys.push_back(it.key());
  std::sort(keys.begin(), keys.end());
  Json out = Json::object();
  for (auto& k : keys) out[k] = in[k];
  return out;
}

Json list_or_null(const std::vector<std::string>& v) {
  if (v.empty()) return nullptr;
  return Json(v);
}

std::vector<std::string> split_command(const std::string& s) {
  // --entrypoint is a single string; docker splits nothing: ["/bin/sh -c"] stays one element.
  return {s};
}

}  // namespace

Result<CreateRequest> build_create_request(const ParsedFlags& f, bool for_run) {
  CreateRequest req;
  if (f.args.empty()) return fail(bad("requires at least 1 argument"));
  req.image = f.args[0];
  std::vector<std::string> cmd(f.args.begin() + 1, f.args.end());
  req.tty = f.flag("tty");
  req.interactive = f.flag("interactive");
  req.detach = for_run && f.flag("detach");
  req.auto_remove = f.flag("rm");
  req.name = f.str("name");
  req.platform = f.str("platform");
  req.detach_keys = f.str("detach-keys");
  req.pull = f.str("pull");
  req.cidfile = f.str("cidfile");

  std::string restart = f.str("restart");
  if (req.auto_remove && !restart.empty() && restart != "no")
    return fail(bad("Conflicting options: --restart and --rm"));

  // Attach: docker run attaches stdout/stderr unless -d; stdin with -i.
  bool attach_stdin = false, attach_stdout = false, attach_stderr = false;
  const auto& attach = f.list("attach");
  if (!req.detach) {
    if (!attach.empty()) {
      for (const auto& a : attach) {
        std::string l = to_lower(a);
        if (l == "stdin") attach_stdin = true;
        else if (l == "stdout") attach_stdout = true;
        else if (l == "stderr") attach_stderr = true;
        else return fail(bad("invalid argument \"" + a + "\" for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR"));
      }
    } else {
      attach_stdout = attach_stderr = true;
      attach_stdin = req.interactive;
    }
  } else if (!attach.empty()) {
    return fail(bad("Conflicting options: -a and -d"));
  }

  std::vector<std::string> env;
  for (const auto& file : f.list("env-file")) {
    FILE* fp = std::fopen(file.c_str(), "r");
    if (!fp) return fail(bad("open " + file + ": no such file or directory"));
    char line[8192];
    while (std::fgets(line, sizeof line, fp)) {
      std::string l(trim(line));
      if (l.empty() || l[0] == '#') continue;
      env.push_back(l);
    }
    std::fclose(fp);
  }
  for (const auto& e : f.list("env")) {
    // "-e NAME" takes NAME's value from our environment when it is set (docker's behaviour).
    if (e.find('=') == std::string::npos) {
      if (const char* v = std::getenv(e.c_str())) {
        env.push_back(e + "=" + v);
        continue;
      }
    }
    env.push_back(e);
  }

  Json exposed = Json::object(), bindings = Json::object();
  for (const auto& p : f.list("publish")) TRY(add_port(p, exposed, bindings));
  for (const auto& e : f.list("expose")) {
    std::string k = e.find('/') == std::string::npos ? e + "/tcp" : e;
    exposed[k] = Json::object();
  }

  Json labels = Json::object();
  for (const auto& l : f.list("label")) {
    auto [k, v] = split_once(l, '=');
    labels[std::string(k)] = std::string(v);
  }

  Json b = Json::object();
  b["Hostname"] = f.str("hostname");
  b["Domainname"] = f.str("domainname");
  b["User"] = f.str("user");
  b["AttachStdin"] = attach_stdin;
  b["AttachStdout"] = attach_stdout;
  b["AttachStderr"] = attach_stderr;
  if (!exposed.empty()) b["ExposedPorts"] = sorted_object(exposed);
  b["Tty"] = req.tty;
  b["OpenStdin"] = req.interactive;
  b["StdinOnce"] = req.interactive && attach_stdin;
  b["Env"] = list_or_null(env);
  b["Cmd"] = list_or_null(cmd);
  b["Image"] = req.image;
  b["Volumes"] = Json::object();
  b["WorkingDir"] = f.str("workdir");
  if (auto ep = f.opt("entrypoint")) {
    b["Entrypoint"] = ep->empty() ? Json::array({""}) : Json(split_command(*ep));
  } else {
    b["Entrypoint"] = nullptr;
  }
  b["OnBuild"] = nullptr;
  b["Labels"] = sorted_object(labels);
  if (f.has("stop-signal")) b["StopSignal"] = f.str("stop-signal");
  if (f.has("stop-timeout")) b["StopTimeout"] = f.integer("stop-timeout", 0);
  if (auto hc = TRY(healthcheck_from_flags(f)); !hc.is_null()) b["Healthcheck"] = hc;

  // Binds: bind mounts and named volumes with a destination; anonymous ones go to Volumes.
  std::vector<std::string> binds;
  for (const auto& v : f.list("volume")) {
    auto parts = split(v, ':');
    if (parts.size() == 1)
      b["Volumes"][v] = Json::object();
    else
      binds.push_back(v);
  }

  Json h = Json::object();
  h["Binds"] = list_or_null(binds);
  h["ContainerIDFile"] = req.cidfile;
  Json log_cfg = Json::object();
  for (const auto& o : f.list("log-opt")) {
    auto [k, v] = split_once(o, '=');
    log_cfg[std::string(k)] = std::string(v);
  }
  h["LogConfig"] = {{"Type", f.str("log-driver")}, {"Config", sorted_object(log_cfg)}};
  std::string network = f.str("network");
  h["NetworkMode"] = network.empty() ? "default" : network;
  h["PortBindings"] = sorted_object(bindings);
  // --restart name[:max]
  {
    const std::string policy = restart.empty() ? std::string("no") : restart;
    auto [name, max] = split_once(policy, ':');
    std::string n(name);
    if (n != "no" && n != "always" && n != "unless-stopped" && n != "on-failure")
      return fail(bad("invalid restart policy '" + n + "'"));
    std::int64_t m = 0;
    if (!max.empty()) {
      if (n != "on-failure") return fail(bad("maximum retry count can only be used with 'on-failure'"));
      auto v = parse_int(max);
      if (!v) return fail(bad("invalid restart policy format: maximum retry count must be an integer"));
      m = *v;
    }
    h["RestartPolicy"] = {{"Name", n}, {"MaximumRetryCount", m}};
  }
  h["AutoRemove"] = req.auto_remove;
  h["VolumeDriver"] = "";
  h["VolumesFrom"] = list_or_null(f.list("volumes-from"));
  h["ConsoleSize"] = Json::array({0, 0});
  std::vector<std::string> cap_add, cap_drop;
  auto norm_cap = [](const std::string& c) {
    std::string u = to_upper(c);
    if (u == "ALL" || u.rfind("CAP_", 0) == 0) return u;
    return "CAP_" + u;
  };
  for (const auto& c : f.list("cap-add")) cap_add.push_back(norm_cap(c));
  for (const auto& c : f.list("cap-drop")) cap_drop.push_back(norm_cap(c));
  h["CapAdd"] = list_or_null(cap_add);
  h["CapDrop"] = list_or_null(cap_drop);
  h["CgroupnsMode"] = f.str("cgroupns");
  h["Dns"] = Json(f.list("dns"));
  h["DnsOptions"] = Json(f.list("dns-option"));
  h["DnsSearch"] = Json(f.list("dns-search"));
  h["ExtraHosts"] = list_or_null(f.list("add-host"));
  h["GroupAdd"] = list_or_null(f.list("group-add"));
  h["IpcMode"] = f.str("ipc");
  h["Cgroup"] = "";
  h["Links"] = nullptr;
  h["OomScoreAdj"] = f.integer("oom-score-adj", 0);
  h["PidMode"] = f.str("pid");
  h["Privileged"] = f.flag("privileged");
  h["PublishAllPorts"] = f.flag("publish-all");
  h["ReadonlyRootfs"] = f.flag("read-only");
  h["SecurityOpt"] = list_or_null(f.list("security-opt"));
  if (!f.list("tmpfs").empty()) {
    Json t = Json::object();
    for (const auto& s : f.list("tmpfs")) {
      auto [k, v] = split_once(s, ':');
      t[std::string(k)] = std::string(v);
    }
    h["Tmpfs"] = sorted_object(t);
  }
  h["UTSMode"] = f.str("uts");
  h["UsernsMode"] = f.str("userns");
  auto bytes_flag = [&](const char* name) -> Result<std::int64_t> {
    std::string v = f.str(name);
    if (v.empty()) return std::int64_t{0};
    if (v == "-1") return std::int64_t{-1};
    auto n = parse_bytes(v);
    if (!n) return fail(bad("invalid argument \"" + v + "\" for \"--" + name + "\" flag: invalid size: '" + v + "'"));
    return *n;
  };
  h["ShmSize"] = TRY(bytes_flag("shm-size"));
  if (!f.list("sysctl").empty()) {
    Json s = Json::object();
    for (const auto& kv : f.list("sysctl")) {
      auto [k, v] = split_once(kv, '=');
      s[std::string(k)] = std::string(v);
    }
    h["Sysctls"] = sorted_object(s);
  }
  if (f.has("runtime")) h["Runtime"] = f.str("runtime");
  h["Isolation"] = "";
  h["CpuShares"] = f.integer("cpu-shares", 0);
  h["Memory"] = TRY(bytes_flag("memory"));
  std::int64_t nano = 0;
  if (auto c = f.opt("cpus")) {
    char* end = nullptr;
    double d = std::strtod(c->c_str(), &end);
    if (!end || *end || d < 0) return fail(bad("invalid argument \"" + *c + "\" for \"--cpus\" flag: failed to parse " + *c + " as a rational number"));
    nano = static_cast<std::int64_t>(std::llround(d * 1e9));
  }
  h["NanoCpus"] = nano;
  h["CgroupParent"] = f.str("cgroup-parent");
  h["BlkioWeight"] = 0;
  for (const char* k : {"BlkioWeightDevice", "BlkioDeviceReadBps", "BlkioDeviceWriteBps",
                        "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps"})
    h[k] = Json::array();
  h["CpuPeriod"] = f.integer("cpu-period", 0);
  h["CpuQuota"] = f.integer("cpu-quota", 0);
  h["CpuRealtimePeriod"] = 0;
  h["CpuRealtimeRuntime"] = 0;
  h["CpusetCpus"] = f.str("cpuset-cpus");
  h["CpusetMems"] = f.str("cpuset-mems");
  Json devices = Json::array();
  for (const auto& d : f.list("device")) {
    auto parts = split(d, ':');
    std::string host = parts[0];
    std::string ctr = parts.size() > 1 ? parts[1] : host;
    std::string perms = parts.size() > 2 ? parts[2] : "rwm";
    devices.push_back({{"PathOnHost", host}, {"PathInContainer", ctr}, {"CgroupPermissions", perms}});
  }
  h["Devices"] = devices;
  h["DeviceCgroupRules"] = nullptr;
  h["DeviceRequests"] = nullptr;
  h["MemoryReservation"] = TRY(bytes_flag("memory-reservation"));
  h["MemorySwap"] = TRY(bytes_flag("memory-swap"));
  h["MemorySwappiness"] = -1;
  h["OomKillDisable"] = f.flag("oom-kill-disable");
  h["PidsLimit"] = f.integer("pids-limit", 0);
  Json ulimits = Json::array();
  for (const auto& u : f.list("ulimit")) {
    auto [name, vals] = split_once(u, '=');
    auto [soft, hard] = split_once(vals, ':');
    auto s = parse_int(soft);
    auto hv = hard.empty() ? s : parse_int(hard);
    if (name.empty() || !s || !hv) return fail(bad("invalid ulimit argument: " + u));
    ulimits.push_back({{"Name", std::string(name)}, {"Hard", *hv}, {"Soft", *s}});
  }
  h["Ulimits"] = ulimits;
  h["CpuCount"] = 0;
  h["CpuPercent"] = 0;
  h["IOMaximumIOps"] = 0;
  h["IOMaximumBandwidth"] = 0;
  if (!f.list("mount").empty()) {
    Json mounts = Json::array();
    for (const auto& m : f.list("mount")) {
      Json mj = Json::object();
      std::string type = "volume";
      for (const auto& kv : split(m, ',')) {
        auto [k, v] = split_once(kv, '=');
        std::string key = to_lower(k);
        if (key == "type") type = std::string(v);
        else if (key == "source" || key == "src") mj["Source"] = std::string(v);
        else if (key == "target" || key == "destination" || key == "dst") mj["Target"] = std::string(v);
        else if (key == "readonly" || key == "ro") mj["ReadOnly"] = v.empty() || v == "true" || v == "1";
      }
      Json full = {{"Type", type}};
      if (mj.contains("Source")) full["Source"] = mj["Source"];
      if (mj.contains("Target")) full["Target"] = mj["Target"];
      if (mj.contains("ReadOnly")) full["ReadOnly"] = mj["ReadOnly"];
      mounts.push_back(full);
    }
    h["Mounts"] = mounts;
  }
  h["MaskedPaths"] = nullptr;
  h["ReadonlyPaths"] = nullptr;
  if (f.flag("init")) h["Init"] = true;
  b["HostConfig"] = h;

  Json endpoints = Json::object();
  if (network.empty() || network == "default" || (network != "none" && network != "host" &&
                                                   network.rfind("container:", 0) != 0)) {
    Json ep = {{"IPAMConfig", nullptr}, {"Links", nullptr}};
    ep["Aliases"] = list_or_null(f.list("network-alias"));
    ep["MacAddress"] = "";
    ep["DriverOpts"] = nullptr;
    ep["GwPriority"] = 0;
    for (const char* k : {"NetworkID", "EndpointID", "Gateway", "IPAddress"}) ep[k] = "";
    ep["IPPrefixLen"] = 0;
    ep["IPv6Gateway"] = "";
    ep["GlobalIPv6Address"] = "";
    ep["GlobalIPv6PrefixLen"] = 0;
    ep["DNSNames"] = nullptr;
    endpoints[network.empty() ? "default" : network] = ep;
  }
  b["NetworkingConfig"] = {{"EndpointsConfig", endpoints}};
  req.body = std::move(b);
  return req;
}

}  // namespace berth::cli
