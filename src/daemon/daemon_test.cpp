// SPDX-License-Identifier: Apache-2.0
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/file.hpp"
#include "daemon/api_version.hpp"
#include "daemon/attach.hpp"
#include "daemon/health.hpp"
#include "daemon/inspect_render.hpp"
#include "daemon/lazy_sync.hpp"
#include "daemon/networking.hpp"
#include "daemon/config.hpp"
#include "daemon/container_volumes.hpp"
#include "shim/attach_proto.hpp"
#include "daemon/spec.hpp"

namespace berth::daemon {
namespace {

using nlohmann::json;

TEST(ApiVersion, PrefixAndRange) {
  auto v = split_version("/v1.47/containers/json");
  ASSERT_TRUE(v.version);
  EXPECT_EQ(v.version->str(), "1.47");
  EXPECT_EQ(v.path, "/containers/json");
  EXPECT_FALSE(split_version("/_ping").version);
  EXPECT_EQ(split_version("/_ping").path, "/_ping");
  EXPECT_TRUE(split_version("/v1.x/info").malformed);
  EXPECT_EQ(check_api_version(*parse_api_version("1.44")), "");
  EXPECT_EQ(check_api_version(*parse_api_version("1.24")), "");
  EXPECT_EQ(check_api_version(*parse_api_version("1.12")),
            "client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version");
  EXPECT_EQ(check_api_version(*parse_api_version("1.99")),
            "client version 1.99 is too new. Maximum supported API version is 1.47");
  EXPECT_TRUE(parse_api_version("1.9") < *parse_api_version("1.10"));
}

TEST(Config, FlagsAndFile) {
  const char* argv[] = {"-H", "unix:///tmp/x.sock", "--data-root=/tmp/dr", "--exec-root", "/tmp/er", "-D",
                        "--add-runtime", "crun=/usr/bin/crun"};
  auto c = parse_flags(8, const_cast<char**>(argv));
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->hosts.at(0), "unix:///tmp/x.sock");
  EXPECT_EQ(c->data_root, "/tmp/dr");
  EXPECT_EQ(c->exec_root, "/tmp/er");
  EXPECT_TRUE(c->debug);
  EXPECT_EQ(c->runtime_path("crun"), "/usr/bin/crun");
  EXPECT_EQ(c->runtime_path(""), "berth-runtime");
  ASSERT_TRUE(apply_config_json(*c, R"({"log-driver":"local","log-opts":{"max-size":"1m"},
      "runtimes":{"runc":{"path":"/usr/sbin/runc"}},"default-runtime":"runc","live-restore":false})"));
  EXPECT_EQ(c->log_driver, "local");
  EXPECT_EQ(c->log_opts["max-size"], "1m");
  EXPECT_EQ(c->runtime_path(""), "/usr/sbin/runc");
  EXPECT_FALSE(c->live_restore);
  auto both = apply_config_json(*c, R"({"data-root":"/elsewhere"})");
  ASSERT_FALSE(both);
  EXPECT_NE(both.error().message().find("specified both as a flag and in the configuration file"), std::string::npos);
  EXPECT_FALSE(apply_config_json(*c, "{not json"));
  const char* bad[] = {"--bogus"};
  EXPECT_FALSE(parse_flags(1, const_cast<char**>(bad)));
}

TEST(Config, DefaultCgroupnsMode) {
  const char* host[] = {"--default-cgroupns-mode", "private"};
  auto c = parse_flags(2, const_cast<char**>(host));
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->default_cgroupns_mode, "private");
  const char* bad[] = {"--default-cgroupns-mode", "container:x"};
  auto b = parse_flags(2, const_cast<char**>(bad));
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().message().find("invalid default cgroup namespace mode: container:x"), std::string::npos);
  Config f;
  ASSERT_TRUE(apply_config_json(f, R"({"default-cgroupns-mode":"host"})"));
  EXPECT_EQ(f.default_cgroupns_mode, "host");
  EXPECT_FALSE(apply_config_json(f, R"({"default-cgroupns-mode":"shared"})"));
  EXPECT_FALSE(apply_config_json(*c, R"({"default-cgroupns-mode":"host"})"));  // given as a flag too
}

TEST(Spec, CapabilitiesAddDrop) {
  auto caps = effective_capabilities(json{{"CapAdd", {"NET_ADMIN"}}, {"CapDrop", {"chown", "CAP_KILL"}}});
  ASSERT_TRUE(caps);
  auto has = [&](const std::string& c) { return std::find(caps->begin(), caps->end(), c) != caps->end(); };
  EXPECT_TRUE(has("CAP_NET_ADMIN"));
  EXPECT_FALSE(has("CAP_CHOWN"));
  EXPECT_FALSE(has("CAP_KILL"));
  EXPECT_TRUE(has("CAP_SETUID"));
  auto none = effective_capabilities(json{{"CapDrop", {"ALL"}}, {"CapAdd", {"SETUID"}}});
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, std::vector<std::string>{"CAP_SETUID"});
  EXPECT_FALSE(effective_capabilities(json{{"CapAdd", {"NOT_A_CAP"}}}));
}

TEST(Spec, DefaultSeccompFollowsCapabilities) {
  auto count = [](const json& prof, const std::string& name) {
    int n = 0;
    for (auto& r : prof["syscalls"])
      for (auto& s : r["names"])
        if (s == name && r["action"] == "SCMP_ACT_ALLOW") ++n;
    return n;
  };
  auto base = default_seccomp(default_capabilities());
  ASSERT_TRUE(base) << base.error().message();
  EXPECT_EQ((*base)["defaultAction"], "SCMP_ACT_ERRNO");
  EXPECT_GT(count(*base, "read"), 0);
  EXPECT_EQ(count(*base, "mount"), 0);  // needs CAP_SYS_ADMIN
  auto caps = default_capabilities();
  caps.push_back("CAP_SYS_ADMIN");
  auto admin = default_seccomp(caps);
  ASSERT_TRUE(admin);
  EXPECT_GT(count(*admin, "mount"), 0);
#if defined(__x86_64__)
  EXPECT_EQ((*base)["architectures"][0], "SCMP_ARCH_X86_64");
#endif
}

TEST(Spec, GeneratesDockerDefaults) {
  auto d = TempDir::create("/tmp", "berth-test-spec-");
  ASSERT_TRUE(d);
  json cfg{{"Cmd", {"echo", "hi"}}, {"Env", {"A=1"}}, {"WorkingDir", "/work"}};
  json hc{{"Binds", {d->path() + ":/data:ro"}}, {"Memory", 64 << 20}, {"NanoCpus", 500000000},
          {"PidsLimit", 50}, {"ReadonlyRootfs", true}, {"Tmpfs", {{"/run", "size=1m"}}},
          {"Ulimits", {{{"Name", "nofile"}, {"Soft", 100}, {"Hard", 200}}}},
          {"SecurityOpt", {"no-new-privileges"}}, {"NetworkMode", "none"}};
  SpecInput in;
  in.id = "abc";
  in.config = &cfg;
  in.host_config = &hc;
  in.rootfs = "/r";
  in.hostname = "h1";
  in.cgroups_path = "/berth/abc";
  auto mps = parse_mounts(hc, {});
  ASSERT_TRUE(mps) << mps.error().message();
  json um = json::array();
  for (auto& m : *mps) um.push_back(oci_mount(m, m.type == "tmpfs" ? "tmpfs" : m.source));
  in.user_mounts = &um;
  std::vector<std::string> warnings;
  auto s = generate_spec(in, &warnings);
  ASSERT_TRUE(s) << s.error().message();
  auto j = json::parse(*s);
  EXPECT_EQ(j["process"]["args"], json({"echo", "hi"}));
  EXPECT_EQ(j["process"]["cwd"], "/work");
  EXPECT_TRUE(j["process"]["noNewPrivileges"].get<bool>());
  EXPECT_EQ(j["process"]["rlimits"][0]["type"], "RLIMIT_NOFILE");
  EXPECT_TRUE(j["root"]["readonly"].get<bool>());
  EXPECT_EQ(j["linux"]["resources"]["memory"]["limit"], 64 << 20);
  EXPECT_EQ(j["linux"]["resources"]["cpu"]["quota"], 50000);
  EXPECT_EQ(j["linux"]["resources"]["pids"]["limit"], 50);
  // the default profile, spliced in as text: the same as the profile for these capabilities
  EXPECT_EQ(j["linux"]["seccomp"], *default_seccomp(j["process"]["capabilities"]["bounding"].get<std::vector<std::string>>()));
  EXPECT_FALSE(j["linux"]["maskedPaths"].empty());
  EXPECT_EQ(j["linux"]["resources"]["pids"]["limit"], 50);  // the members around it intact
  bool data = false, run = false;
  for (auto& m : j["mounts"]) {
    if (m["destination"] == "/data") {
      data = true;
      EXPECT_NE(std::find(m["options"].begin(), m["options"].end(), "ro"), m["options"].end());
    }
    if (m["destination"] == "/run") run = m["type"] == "tmpfs";
  }
  EXPECT_TRUE(data);
  EXPECT_TRUE(run);
  bool netns = false;
  for (auto& n : j["linux"]["namespaces"]) netns |= n["type"] == "network";
  EXPECT_TRUE(netns);
  json host{{"NetworkMode", "host"}, {"Privileged", true}};
  in.host_config = &host;
  auto hs = generate_spec(in, nullptr);
  ASSERT_TRUE(hs);
  auto hj = json::parse(*hs);
  for (auto& n : hj["linux"]["namespaces"]) EXPECT_NE(n["type"], "network");
  EXPECT_FALSE(hj["linux"].contains("seccomp"));
  EXPECT_FALSE(hj["linux"].contains("maskedPaths"));
}

TEST(Mounts, ParsesDockerSyntaxAndErrors) {
  auto d = TempDir::create("/tmp", "berth-test-mounts-");
  ASSERT_TRUE(d);
  auto bad = [](const json& hc) {
    auto r = parse_mounts(hc, {});
    EXPECT_FALSE(r);
    return r ? std::string() : r.error().message();
  };
  EXPECT_NE(bad(json{{"Binds", {"relative/x:/x"}}}).find("invalid volume specification"), std::string::npos);
  EXPECT_NE(bad(json{{"Binds", {"vol:rel"}}}).find("mount path must be absolute"), std::string::npos);
  EXPECT_EQ(bad(json{{"Binds", {"vol:/x:bogus"}}}), "invalid mode: bogus");
  EXPECT_EQ(bad(json{{"Binds", {"aa:/x", "bb:/x/"}}}), "Duplicate mount point: /x");
  EXPECT_NE(bad(json{{"Mounts", {{{"Type", "bind"}, {"Source", "/nonexistent-berth"}, {"Target", "/x"}}}}})
                .find("bind source path does not exist: /nonexistent-berth"), std::string::npos);
  EXPECT_NE(bad(json{{"Mounts", {{{"Type", "tmpfs"}, {"Source", "x"}, {"Target", "/x"}}}}})
                .find("field Source must not be specified"), std::string::npos);
  EXPECT_NE(bad(json{{"Mounts", {{{"Type", "nope"}, {"Target", "/x"}}}}}).find("mount type unknown"), std::string::npos);
  EXPECT_NE(bad(json{{"Mounts", {{{"Type", "volume"}, {"Source", "vv"}, {"Target", "/x"},
                                  {"VolumeOptions", {{"Subpath", "../etc"}}}}}}})
                .find("subpath"), std::string::npos);

  json hc{{"Binds", {"data:/data:ro,nocopy", d->path() + ":/host:rshared", "/new-dir-berth:/n"}},
          {"Mounts", {{{"Type", "volume"}, {"Target", "/anon"}},
                      {{"Type", "tmpfs"}, {"Target", "/t"}, {"TmpfsOptions", {{"SizeBytes", 1048576}, {"Mode", 01770}}}},
                      {{"Type", "bind"}, {"Source", d->path()}, {"Target", "/ro"}, {"ReadOnly", true},
                       {"BindOptions", {{"ReadOnlyForceRecursive", true}}}}}}};
  auto r = parse_mounts(hc, {"/img", "/data"});
  ASSERT_TRUE(r) << r.error().message();
  std::map<std::string, MountPoint> by;
  for (auto& m : *r) by[m.destination] = m;
  ASSERT_EQ(by.size(), 7u);
  EXPECT_EQ(by["/data"].type, "volume");
  EXPECT_EQ(by["/data"].name, "data");
  EXPECT_FALSE(by["/data"].rw);
  EXPECT_FALSE(by["/data"].copy_data);
  EXPECT_EQ(by["/host"].propagation, "rshared");
  EXPECT_TRUE(by["/n"].create_source);  // -v creates a missing host dir, --mount does not
  EXPECT_TRUE(by["/anon"].anonymous);
  EXPECT_TRUE(by["/img"].anonymous);
  EXPECT_TRUE(by["/img"].copy_data);
  auto t = oci_mount(by["/t"], "tmpfs");
  EXPECT_NE(std::find(t["options"].begin(), t["options"].end(), "size=1048576"), t["options"].end());
  EXPECT_NE(std::find(t["options"].begin(), t["options"].end(), "mode=1770"), t["options"].end());
  auto ro = oci_mount(by["/ro"], d->path());
  EXPECT_NE(std::find(ro["options"].begin(), ro["options"].end(), "rro"), ro["options"].end());
  auto i = inspect_mount(by["/data"]);
  EXPECT_EQ(i["Type"], "volume");
  EXPECT_EQ(i["Mode"], "ro,nocopy");
  EXPECT_EQ(i["RW"], false);
  auto vf = parse_volumes_from("other:ro");
  ASSERT_TRUE(vf);
  EXPECT_EQ(vf->second, "ro");
  EXPECT_FALSE(parse_volumes_from("other:xx"));
}

TEST(Spec, ResolveUser) {
  auto d = TempDir::create("/tmp", "berth-test-user-");
  ASSERT_TRUE(d);
  ASSERT_TRUE(mkdir_all(d->path() + "/etc"));
  ASSERT_TRUE(write_file(d->path() + "/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nwww:x:33:34::/var/www:/bin/sh\n"));
  ASSERT_TRUE(write_file(d->path() + "/etc/group", "root:x:0:\nwww:x:34:\nextra:x:99:www\n"));
  auto u = resolve_user(d->path(), "www");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->uid, 33u);
  EXPECT_EQ(u->gid, 34u);
  EXPECT_EQ(u->additional_gids, std::vector<gid_t>{99});
  auto n = resolve_user(d->path(), "1000:1001");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->uid, 1000u);
  EXPECT_EQ(n->gid, 1001u);
  EXPECT_FALSE(resolve_user(d->path(), "nobody"));
  auto r = resolve_user(d->path(), "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->uid, 0u);
}

TEST(Attach, DetachKeys) {
  EXPECT_EQ(*parse_detach_keys(""), std::string("\x10\x11", 2));
  EXPECT_EQ(*parse_detach_keys("ctrl-a,x"), std::string("\x01x", 2));
  EXPECT_EQ(*parse_detach_keys("ctrl-@,ctrl-[,ctrl-_"), std::string("\0\x1b\x1f", 3));
  auto bad = parse_detach_keys("ctrl-1");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "Invalid detach keys (ctrl-1) provided");
  EXPECT_FALSE(parse_detach_keys("abc"));

  DetachScanner s(std::string("\x10\x11", 2));
  bool det = false;
  EXPECT_EQ(s.feed("ls\r", &det), "ls\r");
  EXPECT_FALSE(det);
  // a partial sequence is held back, then passed on when it does not complete
  EXPECT_EQ(s.feed("a\x10", &det), "a");
  EXPECT_EQ(s.feed("b", &det), std::string("\x10") + "b");
  // split across reads
  EXPECT_EQ(s.feed("x\x10", &det), "x");
  EXPECT_EQ(s.feed("\x11tail", &det), "");
  EXPECT_TRUE(det);
  // a repeated first key restarts the match
  DetachScanner t(std::string("\x10\x11", 2));
  EXPECT_EQ(t.feed("\x10\x10\x11", &det), "\x10");
  EXPECT_TRUE(det);
}

TEST(Attach, ShimFrames) {
  std::string buf = shim::proto::frame(shim::proto::kStdout, "hello") + shim::proto::frame(shim::proto::kExit, "3");
  buf += std::string("\x01\0\0\0\0\0\0\x09par", 11);  // incomplete
  unsigned char kind;
  std::string payload;
  ASSERT_TRUE(shim::proto::pop_frame(buf, &kind, &payload));
  EXPECT_EQ(kind, 1);
  EXPECT_EQ(payload, "hello");
  ASSERT_TRUE(shim::proto::pop_frame(buf, &kind, &payload));
  EXPECT_EQ(kind, 'E');
  EXPECT_EQ(payload, "3");
  EXPECT_FALSE(shim::proto::pop_frame(buf, &kind, &payload));
  EXPECT_EQ(buf.size(), 11u);
}

TEST(Networking, ParseLinkLikeDockerd) {
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(parse_link("db:data"), P("db", "data"));
  EXPECT_EQ(parse_link("db"), P("db", "db"));
  EXPECT_EQ(parse_link("/db"), P("db", "db"));
  EXPECT_EQ(parse_link("db:"), P("db", "db"));
  EXPECT_EQ(parse_link("/db:/web/data"), P("db", "data"));  // the form dockerd stores
}

TEST(Health, MergeWithImage) {
  json image{{"Test", {"CMD-SHELL", "true"}}, {"Interval", 5000000000LL}, {"Retries", 2}};
  auto m = merge_healthcheck(json(), image);
  EXPECT_EQ(m, image);
  m = merge_healthcheck(json{{"Interval", 1000000000LL}}, image);
  EXPECT_EQ(m["Test"], image["Test"]);
  EXPECT_EQ(m["Interval"].get<long long>(), 1000000000LL);
  EXPECT_EQ(m["Retries"].get<int>(), 2);
  m = merge_healthcheck(json{{"Test", {"NONE"}}}, image);
  EXPECT_EQ(m["Test"], json({"NONE"}));
}

// GET /containers/{id}/json: Config and HostConfig with dockerd's field set (moby v27.5.1).
TEST(InspectRender, ConfigEveryFieldAsDockerdMarshalsIt) {
  json stored = {{"Cmd", {"true"}}, {"Env", json::array()}, {"Hostname", "abc"}, {"Labels", nullptr},
                 {"ExposedPorts", json::object()}, {"StopSignal", ""}, {"Healthcheck", nullptr},
                 {"NetworkDisabled", false}, {"MacAddress", ""}, {"StopTimeout", nullptr}, {"Shell", nullptr},
                 {"ArgsEscaped", false}, {"Tty", nullptr}, {"Volumes", json::object()}, {"Bogus", 1},
                 {"Entrypoint", {""}}};
  json c = inspect_config(stored, "busybox");
  json want = {{"Hostname", "abc"}, {"Domainname", ""}, {"User", ""}, {"AttachStdin", false},
               {"AttachStdout", false}, {"AttachStderr", false}, {"Tty", false}, {"OpenStdin", false},
               {"StdinOnce", false}, {"Env", nullptr}, {"Cmd", {"true"}}, {"Image", "busybox"},
               {"Volumes", nullptr}, {"WorkingDir", ""}, {"Entrypoint", nullptr}, {"OnBuild", nullptr},
               {"Labels", json::object()}};
  EXPECT_EQ(c, want) << c.dump();
  // values the client set are kept, omitempty fields included when set
  json set = {{"Tty", true}, {"Env", {"A=1"}}, {"ExposedPorts", {{"80/tcp", json::object()}}}, {"StopSignal", "SIGINT"},
              {"StopTimeout", 0}, {"Labels", {{"a", "b"}}}, {"Volumes", {{"/v", json::object()}}}, {"Healthcheck", {{"Test", {"NONE"}}}}};
  json c2 = inspect_config(set, "img");
  EXPECT_EQ(c2["Tty"], true);
  EXPECT_EQ(c2["Env"], json({"A=1"}));
  EXPECT_EQ(c2["ExposedPorts"], json({{"80/tcp", json::object()}}));
  EXPECT_EQ(c2["StopSignal"], "SIGINT");
  EXPECT_EQ(c2["StopTimeout"], 0);
  EXPECT_EQ(c2["Labels"], json({{"a", "b"}}));
  EXPECT_EQ(c2["Volumes"], json({{"/v", json::object()}}));
  EXPECT_EQ(c2["Healthcheck"]["Test"], json({"NONE"}));
}

TEST(InspectRender, HostConfigEveryField) {
  json h = inspect_host_config({{"NetworkMode", "bridge"}, {"LogConfig", {{"Type", "json-file"}, {"Config", json::object()}}},
                                {"PidsLimit", 0}, {"Tmpfs", json::object()}, {"Unknown", true}},
                               "runc");
  EXPECT_EQ(h["NetworkMode"], "bridge");
  EXPECT_EQ(h["LogConfig"], json({{"Type", "json-file"}, {"Config", json::object()}}));
  EXPECT_EQ(h["RestartPolicy"], json({{"Name", "no"}, {"MaximumRetryCount", 0}}));
  EXPECT_EQ(h["ConsoleSize"], json({0, 0}));
  EXPECT_EQ(h["ShmSize"], 67108864);
  EXPECT_EQ(h["IpcMode"], "private");
  EXPECT_EQ(h["CgroupnsMode"], "private");
  EXPECT_EQ(h["OomKillDisable"], false);
  EXPECT_EQ(h["Runtime"], "runc");
  EXPECT_TRUE(h["PidsLimit"].is_null());
  EXPECT_EQ(h["MaskedPaths"], json(default_masked_paths()));
  EXPECT_EQ(h["ReadonlyPaths"], json(default_readonly_paths()));
  for (const char* k : {"Binds", "PortBindings", "VolumesFrom", "CapAdd", "CapDrop", "Dns", "DnsOptions", "DnsSearch",
                        "ExtraHosts", "GroupAdd", "Links", "SecurityOpt", "BlkioWeightDevice", "BlkioDeviceReadBps",
                        "BlkioDeviceWriteBps", "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps", "Devices",
                        "DeviceCgroupRules", "DeviceRequests", "MemorySwappiness", "Ulimits"}) {
    ASSERT_TRUE(h.contains(k)) << k;
    EXPECT_TRUE(h[k].is_null()) << k;
  }
  for (const char* k : {"ContainerIDFile", "VolumeDriver", "Cgroup", "PidMode", "UTSMode", "UsernsMode", "Isolation",
                        "CgroupParent", "CpusetCpus", "CpusetMems"})
    EXPECT_EQ(h.value(k, json(1)), "") << k;
  for (const char* k : {"AutoRemove", "Privileged", "PublishAllPorts", "ReadonlyRootfs"}) EXPECT_EQ(h.value(k, json(1)), false) << k;
  for (const char* k : {"OomScoreAdj", "CpuShares", "Memory", "NanoCpus", "BlkioWeight", "CpuPeriod", "CpuQuota",
                        "CpuRealtimePeriod", "CpuRealtimeRuntime", "MemoryReservation", "MemorySwap", "CpuCount",
                        "CpuPercent", "IOMaximumIOps", "IOMaximumBandwidth"})
    EXPECT_EQ(h.value(k, json(1)), 0) << k;
  for (const char* k : {"Annotations", "StorageOpt", "Tmpfs", "Sysctls", "KernelMemory", "KernelMemoryTCP", "Mounts",
                        "Init", "Unknown"})
    EXPECT_FALSE(h.contains(k)) << k;
  EXPECT_EQ(h.size(), 63u) << h.dump();
  // privileged: no default masked paths; set values kept
  json p = inspect_host_config({{"Privileged", true}, {"RestartPolicy", {{"Name", "always"}}}, {"ShmSize", 1024},
                                {"Init", false}, {"PidsLimit", 10}},
                               "");
  EXPECT_TRUE(p["MaskedPaths"].is_null());
  EXPECT_TRUE(p["ReadonlyPaths"].is_null());
  EXPECT_EQ(p["RestartPolicy"], json({{"Name", "always"}, {"MaximumRetryCount", 0}}));
  EXPECT_EQ(p["ShmSize"], 1024);
  EXPECT_EQ(p["Init"], false);
  EXPECT_EQ(p["PidsLimit"], 10);
  EXPECT_FALSE(p.contains("Runtime"));
}


// LazySync: a write is there at once; the background thread syncs a batch once its first write
// woke it (later writes of the batch do not wake it again), and a file removed before its sync
// is skipped.
TEST(LazySync, WritesAtOnceAndSyncsTheBatchInTheBackground) {
  char tmpl[] = "/tmp/berth-test-lazysync-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  auto wait_synced = [](LazySync& s) {
    for (int i = 0; i < 500 && s.pending() != 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return s.pending() == 0;
  };
  {
    LazySync s(20);
    ASSERT_TRUE(s.write(dir + "/a", "one"));
    EXPECT_EQ(read_file(dir + "/a").value_or(""), "one");
    ASSERT_TRUE(s.write(dir + "/a", "two"));  // replaced, still one file to sync
    ASSERT_TRUE(s.write(dir + "/b", "three"));
    EXPECT_EQ(read_file(dir + "/a").value_or(""), "two");
    EXPECT_LE(s.pending(), 2u);
    EXPECT_TRUE(wait_synced(s)) << "the batch was not synced";
    // a second batch wakes the thread again
    ASSERT_TRUE(s.write(dir + "/c", "four"));
    ASSERT_TRUE(s.write(dir + "/gone", "x"));
    ::unlink((dir + "/gone").c_str());
    EXPECT_TRUE(wait_synced(s)) << "the second batch was not synced";
    ASSERT_TRUE(s.write(dir + "/d", "five"));  // flushed by the destructor
  }
  EXPECT_EQ(read_file(dir + "/d").value_or(""), "five");
  (void)remove_all(dir);
}

}  // namespace
}  // namespace berth::daemon
