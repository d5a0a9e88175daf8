// SPDX-License-Identifier: Apache-2.0
// berthd driven through the HTTP client: API basics, error statuses, container lifecycle,
// kill -9 of the daemon with live restore (containers, execs and health state survive).
#include <signal.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "berthd_fixture.hpp"

namespace berth::test {
namespace {

using nlohmann::json;

#define REQUIRE_RUNTIME()                                                            \
  do {                                                                               \
    if (test_runtime().empty()) GTEST_SKIP() << "no OCI runtime (berth-runtime/runc)"; \
  } while (0)

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_ROOT();
    d_ = std::make_unique<Berthd>("daemon");
    ASSERT_TRUE(d_->start()) << d_->log();
  }
  void TearDown() override { d_.reset(); }

  json call(const std::string& method, const std::string& path, const std::string& body = {}, int* status = nullptr) {
    auto c = d_->client();
    auto r = c.request(method, path, body, body.empty() ? http::Headers{} : http::Headers{{"Content-Type", "application/json"}});
    EXPECT_TRUE(r) << method << " " << path;
    if (!r) return json();
    if (status) *status = r->status;
    if (r->body.empty()) return json();
    try {
      return json::parse(r->body);
    } catch (...) {
      return json(r->body);
    }
  }

  std::string run_container(const json& cfg, const std::string& name = {}) {
    int st = 0;
    auto j = call("POST", "/v1.47/containers/create" + (name.empty() ? "" : "?name=" + name), cfg.dump(), &st);
    EXPECT_EQ(st, 201) << j.dump();
    std::string id = j.value("Id", "");
    call("POST", "/v1.47/containers/" + id + "/start", {}, &st);
    EXPECT_EQ(st, 204);
    return id;
  }

  std::unique_ptr<Berthd> d_;
};

TEST_F(DaemonTest, PingVersionAndNegotiation) {
  auto c = d_->client();
  auto r = c.request("HEAD", "/_ping");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("Api-Version"), "1.47");
  EXPECT_EQ(r->header("Ostype"), "linux");
  EXPECT_EQ(r->header("Docker-Experimental"), "false");
  EXPECT_FALSE(r->header("Server").empty());
  EXPECT_FALSE(r->header("Builder-Version").empty());
  auto g = c.request("GET", "/v1.44/_ping");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->body, "OK");
  int st = 0;
  auto v = call("GET", "/version", {}, &st);
  EXPECT_EQ(st, 200);
  EXPECT_EQ(v["ApiVersion"], "1.47");
  EXPECT_EQ(v["MinAPIVersion"], "1.24");
  auto old = call("GET", "/v1.12/version", {}, &st);
  EXPECT_EQ(st, 400);
  EXPECT_EQ(old["message"],
            "client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version");
  auto neu = call("GET", "/v1.99/info", {}, &st);
  EXPECT_EQ(st, 400);
  EXPECT_EQ(neu["message"], "client version 1.99 is too new. Maximum supported API version is 1.47");
  auto info = call("GET", "/v1.47/info", {}, &st);
  EXPECT_EQ(st, 200);
  EXPECT_EQ(info["DockerRootDir"], d_->data_root());
  EXPECT_EQ(info["OSType"], "linux");
  call("GET", "/v1.47/nothing/here", {}, &st);
  EXPECT_EQ(st, 404);
}

TEST_F(DaemonTest, BadInputGetsDockerStatuses) {
  int st = 0;
  auto nf = call("GET", "/v1.47/containers/doesnotexist/json", {}, &st);
  EXPECT_EQ(st, 404);
  EXPECT_EQ(nf["message"], "No such container: doesnotexist");
  call("POST", "/v1.47/containers/create", "{not json", &st);
  EXPECT_EQ(st, 400);
  call("POST", "/v1.47/containers/create", R"({"Image": 5})", &st);
  EXPECT_TRUE(st == 400 || st == 404) << st;
  auto ni = call("POST", "/v1.47/containers/create", R"({"Image":"nosuchimage","Cmd":["true"]})", &st);
  EXPECT_EQ(st, 404);
  EXPECT_EQ(ni["message"], "No such image: nosuchimage:latest");
  call("POST", "/v1.47/containers/create?name=bad%20name", R"({"Image":"busybox"})", &st);
  EXPECT_EQ(st, 400);
  auto c = d_->client();
  auto huge = c.request("POST", "/v1.47/containers/create", std::string(5 << 20, ' '),
                        {{"Content-Type", "application/json"}});
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->status, 400);
  call("POST", "/v1.47/containers/nope/start", {}, &st);
  EXPECT_EQ(st, 404);
  call("POST", "/v1.47/containers/nope/wait?condition=bogus", {}, &st);
  EXPECT_EQ(st, 404);
  // the daemon is still fine
  call("GET", "/_ping", {}, &st);
  EXPECT_EQ(st, 200);
}

TEST_F(DaemonTest, ContainerLifecycle) {
  REQUIRE_RUNTIME();
  REQUIRE_IMAGE("busybox");
  ASSERT_TRUE(d_->load_busybox());
  int st = 0;
  auto imgs = call("GET", "/v1.47/images/json", {}, &st);
  ASSERT_EQ(st, 200);
  ASSERT_EQ(imgs.size(), 1u);
  EXPECT_EQ(imgs[0]["RepoTags"][0], "busybox:latest");
  // name conflict
  std::string id = run_container({{"Image", "busybox"}, {"Cmd", {"sh", "-c", "echo out; echo err >&2; exit 3"}},
                                   {"HostConfig", {{"NetworkMode", "none"}}}},
                                  "berth-test-c1");
  ASSERT_EQ(id.size(), 64u);
  auto conflict = call("POST", "/v1.47/containers/create?name=berth-test-c1", R"({"Image":"busybox","Cmd":["true"]})", &st);
  EXPECT_EQ(st, 409);
  EXPECT_NE(conflict["message"].get<std::string>().find("is already in use"), std::string::npos);
  auto w = call("POST", "/v1.47/containers/" + id + "/wait", {}, &st);
  EXPECT_EQ(st, 200);
  EXPECT_EQ(w["StatusCode"], 3);
  auto c = d_->client();
  auto logs = c.request("GET", "/v1.47/containers/" + id + "/logs?stdout=1&stderr=1");
  ASSERT_TRUE(logs);
  // multiplexed: [1,0,0,0,0,0,0,4]"out\n" [2,...]"err\n"
  std::string expect_out = std::string("\x01\0\0\0\0\0\0\x04" "out\n", 12);
  std::string expect_err = std::string("\x02\0\0\0\0\0\0\x04" "err\n", 12);
  EXPECT_NE(logs->body.find(expect_out), std::string::npos);
  EXPECT_NE(logs->body.find(expect_err), std::string::npos);
  auto ins = call("GET", "/v1.47/containers/berth-test-c1/json", {}, &st);
  EXPECT_EQ(st, 200);
  EXPECT_EQ(ins["State"]["Status"], "exited");
  EXPECT_EQ(ins["State"]["ExitCode"], 3);
  EXPECT_EQ(ins["Name"], "/berth-test-c1");
  call("DELETE", "/v1.47/containers/" + id, {}, &st);
  EXPECT_EQ(st, 204);
  call("GET", "/v1.47/containers/" + id + "/json", {}, &st);
  EXPECT_EQ(st, 404);

  // long running: exec, kill, remove running without force -> 409
  std::string lr = run_container({{"Image", "busybox"}, {"Cmd", {"sleep", "1000"}}, {"HostConfig", {{"NetworkMode", "none"}}}});
  auto ex = call("POST", "/v1.47/containers/" + lr + "/exec", R"({"Cmd":["sh","-c","echo hi; exit 5"],"AttachStdout":true})", &st);
  ASSERT_EQ(st, 201);
  auto h = c.hijack("POST", "/v1.47/exec/" + ex["Id"].get<std::string>() + "/start", R"({"Detach":false,"Tty":false})",
                    {{"Content-Type", "application/json"}});
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 101);
  auto rest = read_fd(h->fd.get());
  std::string got = h->pending + rest.value_or("");
  EXPECT_EQ(got, std::string("\x01\0\0\0\0\0\0\x03hi\n", 11));
  auto ei = call("GET", "/v1.47/exec/" + ex["Id"].get<std::string>() + "/json", {}, &st);
  EXPECT_EQ(ei["ExitCode"], 5);
  call("DELETE", "/v1.47/containers/" + lr, {}, &st);
  EXPECT_EQ(st, 409);
  auto list = call("GET", "/v1.47/containers/json", {}, &st);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["State"], "running");
  call("POST", "/v1.47/containers/" + lr + "/kill?signal=KILL", {}, &st);
  EXPECT_EQ(st, 204);
  auto w2 = call("POST", "/v1.47/containers/" + lr + "/wait", {}, &st);
  EXPECT_EQ(w2["StatusCode"], 137);
  call("DELETE", "/v1.47/containers/" + lr, {}, &st);
  EXPECT_EQ(st, 204);
}

// Inspect renders Config and HostConfig with every field dockerd's structs marshal (moby
// v27.5.1, API 1.47), whatever the create body left out; clients index them (docker-py's
// logs() reads Config.Tty). The record is rendered, not rewritten: after a restart the same.
TEST_F(DaemonTest, InspectOfMinimalCreateHasDockerdFields) {
  REQUIRE_IMAGE("busybox");
  ASSERT_TRUE(d_->load_busybox());
  {
    int st = 0;
    auto cgns = call("POST", "/v1.47/containers/create", R"({"Image":"busybox","HostConfig":{"CgroupnsMode":"bogus"}})", &st);
    EXPECT_EQ(st, 400);
    EXPECT_EQ(cgns["message"], "invalid cgroup namespace mode: bogus");
    call("POST", "/v1.47/containers/create", R"({"Image":"busybox","HostConfig":{"CgroupnsMode":7}})", &st);
    EXPECT_EQ(st, 400);
  }
  int st = 0;
  auto cr = call("POST", "/v1.47/containers/create?name=berth-test-min", R"({"Image":"busybox","Cmd":["true"]})", &st);
  ASSERT_EQ(st, 201) << cr.dump();
  std::string id = cr.value("Id", "");
  ASSERT_EQ(id.size(), 64u);
  auto check = [&](const json& ins) {
    json want_cfg = {{"Hostname", id.substr(0, 12)}, {"Domainname", ""}, {"User", ""}, {"AttachStdin", false},
                     {"AttachStdout", false}, {"AttachStderr", false}, {"Tty", false}, {"OpenStdin", false},
                     {"StdinOnce", false}, {"Env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
                     {"Cmd", {"true"}}, {"Image", "busybox"}, {"Volumes", nullptr}, {"WorkingDir", ""},
                     {"Entrypoint", nullptr}, {"OnBuild", nullptr}, {"Labels", json::object()}};
    EXPECT_EQ(ins["Config"], want_cfg) << ins["Config"].dump();
    const json& h = ins["HostConfig"];
    json want_hc = json::object();
    for (const char* k : {"Binds", "PortBindings", "VolumesFrom", "CapAdd", "CapDrop", "Dns", "DnsOptions", "DnsSearch",
                          "ExtraHosts", "GroupAdd", "Links", "SecurityOpt", "BlkioWeightDevice", "BlkioDeviceReadBps",
                          "BlkioDeviceWriteBps", "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps", "Devices",
                          "DeviceCgroupRules", "DeviceRequests", "MemorySwappiness", "PidsLimit", "Ulimits"})
      want_hc[k] = nullptr;
    for (const char* k : {"ContainerIDFile", "VolumeDriver", "Cgroup", "PidMode", "UTSMode", "UsernsMode", "Isolation",
                          "CgroupParent", "CpusetCpus", "CpusetMems"})
      want_hc[k] = "";
    for (const char* k : {"AutoRemove", "Privileged", "PublishAllPorts", "ReadonlyRootfs", "OomKillDisable"}) want_hc[k] = false;
    for (const char* k : {"OomScoreAdj", "CpuShares", "Memory", "NanoCpus", "BlkioWeight", "CpuPeriod", "CpuQuota",
                          "CpuRealtimePeriod", "CpuRealtimeRuntime", "MemoryReservation", "MemorySwap", "CpuCount",
                          "CpuPercent", "IOMaximumIOps", "IOMaximumBandwidth"})
      want_hc[k] = 0;
    want_hc["LogConfig"] = {{"Type", "json-file"}, {"Config", json::object()}};
    want_hc["NetworkMode"] = "bridge";
    want_hc["RestartPolicy"] = {{"Name", "no"}, {"MaximumRetryCount", 0}};
    want_hc["ConsoleSize"] = {0, 0};
    // dockerd's default: the host's with cgroup v1 or hybrid, private with cgroup v2 alone
    want_hc["CgroupnsMode"] = path_exists("/sys/fs/cgroup/cgroup.controllers") ? "private" : "host";
    want_hc["IpcMode"] = "private";
    want_hc["ShmSize"] = 67108864;
    want_hc["Runtime"] = h.value("Runtime", "");
    want_hc["MaskedPaths"] = {"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
                              "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
                              "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"};
    want_hc["ReadonlyPaths"] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
    EXPECT_EQ(want_hc.size(), 63u);
    EXPECT_FALSE(h.value("Runtime", "").empty());
    EXPECT_EQ(h, want_hc) << h.dump();
  };
  auto ins = call("GET", "/v1.47/containers/" + id + "/json", {}, &st);
  ASSERT_EQ(st, 200);
  check(ins);
  // the stored record is the create body as sent (nothing was written back)
  auto rec = json::parse(read_file(d_->data_root() + "/containers/" + id + "/config.v2.json").value_or("{}"));
  EXPECT_FALSE(rec["Config"].contains("Tty")) << rec["Config"].dump();
  d_->kill9();
  ASSERT_TRUE(d_->start()) << d_->log();
  auto again = call("GET", "/v1.47/containers/berth-test-min/json", {}, &st);
  ASSERT_EQ(st, 200);
  check(again);
  EXPECT_EQ(again["Config"], ins["Config"]);
  EXPECT_EQ(again["HostConfig"], ins["HostConfig"]);
  // what the client set is shown as set
  auto cr2 = call("POST", "/v1.47/containers/create",
                  json{{"Image", "busybox"}, {"Cmd", {"true"}}, {"Tty", true}, {"Env", {"A=1"}}, {"StopSignal", "SIGINT"},
                       {"Labels", {{"l", "v"}}}, {"HostConfig", {{"NetworkMode", "none"}, {"CapAdd", {"NET_ADMIN"}},
                                                                 {"RestartPolicy", {{"Name", "on-failure"}, {"MaximumRetryCount", 2}}}}}}
                      .dump(),
                  &st);
  ASSERT_EQ(st, 201) << cr2.dump();
  auto i2 = call("GET", "/v1.47/containers/" + cr2.value("Id", "") + "/json", {}, &st);
  EXPECT_EQ(i2["Config"]["Tty"], true);
  EXPECT_EQ(i2["Config"]["Env"], json({"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "A=1"}));
  EXPECT_EQ(i2["Config"]["StopSignal"], "SIGINT");
  EXPECT_EQ(i2["Config"]["Labels"], json({{"l", "v"}}));
  EXPECT_EQ(i2["HostConfig"]["NetworkMode"], "none");
  EXPECT_EQ(i2["HostConfig"]["CapAdd"], json({"NET_ADMIN"}));
  EXPECT_EQ(i2["HostConfig"]["RestartPolicy"], json({{"Name", "on-failure"}, {"MaximumRetryCount", 2}}));
  for (const auto& x : {id, cr2.value("Id", "")}) {
    call("DELETE", "/v1.47/containers/" + x, {}, &st);
    EXPECT_EQ(st, 204);
  }
}

// A container without mounts or networks to record has no mounts.json / networks.json (one
// inode each less per container): its absence reads as none, across a restart as well; one
// with a tmpfs has its record.
TEST_F(DaemonTest, EmptyMountAndNetworkRecordsAreNoFiles) {
  REQUIRE_RUNTIME();
  REQUIRE_IMAGE("busybox");
  ASSERT_TRUE(d_->load_busybox());
  int st = 0;
  auto plain = call("POST", "/v1.47/containers/create",
                    json{{"Image", "busybox"}, {"Cmd", {"sh", "-c", "exit 7"}}, {"HostConfig", {{"NetworkMode", "none"}}}}.dump(), &st);
  ASSERT_EQ(st, 201) << plain.dump();
  auto tmpfs = call("POST", "/v1.47/containers/create",
                    json{{"Image", "busybox"}, {"Cmd", {"sh", "-c", "grep -q ' /scratch tmpfs ' /proc/mounts"}},
                         {"HostConfig", {{"NetworkMode", "none"}, {"Tmpfs", {{"/scratch", ""}}}}}}.dump(), &st);
  ASSERT_EQ(st, 201) << tmpfs.dump();
  std::string p = plain.value("Id", ""), t = tmpfs.value("Id", "");
  std::string dir = d_->data_root() + "/containers/";
  EXPECT_FALSE(path_exists(dir + p + "/mounts.json"));
  EXPECT_FALSE(path_exists(dir + p + "/networks.json"));
  EXPECT_TRUE(path_exists(dir + t + "/mounts.json"));
  d_->kill9();
  ASSERT_TRUE(d_->start()) << d_->log();
  for (const auto& [id, code] : {std::pair{p, 7}, std::pair{t, 0}}) {
    call("POST", "/v1.47/containers/" + id + "/start", {}, &st);
    ASSERT_EQ(st, 204);
    auto w = call("POST", "/v1.47/containers/" + id + "/wait", {}, &st);
    EXPECT_EQ(w.value("StatusCode", -1), code) << id;
  }
  auto ins = call("GET", "/v1.47/containers/" + p + "/json", {}, &st);
  EXPECT_EQ(ins["Mounts"], json::array());
  EXPECT_EQ(ins["NetworkSettings"]["Networks"].size(), 1u) << ins["NetworkSettings"].dump();
  for (const auto& id : {p, t}) {
    call("DELETE", "/v1.47/containers/" + id, {}, &st);
    EXPECT_EQ(st, 204);
  }
}

// A container that names no cgroup namespace mode gets the daemon's default (dockerd's: the
// host's with cgroup v1 or hybrid, private with v2 alone; --default-cgroupns-mode), recorded
// at create: inspect shows it and the container runs in it.
TEST_F(DaemonTest, DefaultCgroupnsModeIsRecordedAtCreate) {
  REQUIRE_RUNTIME();
  REQUIRE_IMAGE("busybox");
  ASSERT_TRUE(d_->load_busybox());
  bool v2 = path_exists("/sys/fs/cgroup/cgroup.controllers");
  // cgroup paths other than "/" in /proc/self/cgroup: the host's namespace
  json probe = {{"Image", "busybox"}, {"Cmd", {"sh", "-c", "test $(grep -cv ':/$' /proc/self/cgroup) -gt 0"}},
                {"HostConfig", {{"NetworkMode", "none"}}}};
  auto run_and_wait = [&](const json& cfg, std::string* mode) {
    std::string id = run_container(cfg);
    int st = 0;
    auto w = call("POST", "/v1.47/containers/" + id + "/wait", {}, &st);
    *mode = call("GET", "/v1.47/containers/" + id + "/json")["HostConfig"].value("CgroupnsMode", "");
    call("DELETE", "/v1.47/containers/" + id, {}, &st);
    return w.value("StatusCode", -1);
  };
  std::string mode;
  EXPECT_EQ(run_and_wait(probe, &mode), v2 ? 1 : 0);
  EXPECT_EQ(mode, v2 ? "private" : "host");
  d_.reset();
  d_ = std::make_unique<Berthd>("daemon-cgns");
  ASSERT_TRUE(d_->start({"--default-cgroupns-mode", "private"})) << d_->log();
  ASSERT_TRUE(d_->load_busybox());
  EXPECT_EQ(run_and_wait(probe, &mode), 1);
  EXPECT_EQ(mode, "private");
  json priv = probe;
  priv["HostConfig"]["Privileged"] = true;
  EXPECT_EQ(run_and_wait(priv, &mode), v2 ? 1 : 0);  // a privileged one keeps the host's on v1
  EXPECT_EQ(mode, v2 ? "private" : "host");
}

TEST_F(DaemonTest, KillNineDaemonLiveRestore) {
  REQUIRE_RUNTIME();
  REQUIRE_IMAGE("busybox");
  ASSERT_TRUE(d_->load_busybox());
  std::string a = run_container({{"Image", "busybox"}, {"Cmd", {"sh", "-c", "trap 'exit 143' TERM; echo alive; while true; do sleep 0.2; done"}},
                                 {"HostConfig", {{"NetworkMode", "none"}}}});
  std::string b = run_container({{"Image", "busybox"}, {"Cmd", {"sh", "-c", "sleep 1; exit 42"}},
                                 {"HostConfig", {{"NetworkMode", "none"}}}});
  int st = 0;
  // health state: recorded, and not back at "starting" after the restart
  std::string h = run_container({{"Image", "busybox"}, {"Cmd", {"sleep", "600"}},
                                 // probes every 100 ms until healthy, then every 30 s: right after the restart the
                                 // recorded state is what inspect shows (not a new probe's)
                                 {"Healthcheck", {{"Test", {"CMD", "true"}}, {"Interval", 30000000000LL}, {"Retries", 1},
                                                  {"StartPeriod", 10000000000LL}, {"StartInterval", 100000000}}},
                                 {"HostConfig", {{"NetworkMode", "none"}}}});
  std::string health;
  for (int i = 0; i < 100 && health != "healthy"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    health = call("GET", "/v1.47/containers/" + h + "/json")["State"]["Health"].value("Status", "");
  }
  ASSERT_EQ(health, "healthy");
  // an exec (run by the shim) outlives berthd: it writes its mark while berthd is down
  auto ex = call("POST", "/v1.47/containers/" + a + "/exec",
                 json{{"Cmd", {"sh", "-c", "sleep 1.5; echo done > /tmp/exec-mark"}}}.dump(), &st);
  ASSERT_EQ(st, 201) << ex.dump();
  call("POST", "/v1.47/exec/" + ex["Id"].get<std::string>() + "/start", json{{"Detach", true}}.dump(), &st);
  EXPECT_EQ(st, 200);
  // the exec runs in the container now
  for (int i = 0; i < 50; ++i) {
    auto top = call("GET", "/v1.47/containers/" + a + "/top");
    if (top.dump().find("sleep 1.5") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  d_->kill9();
  std::this_thread::sleep_for(std::chrono::milliseconds(1800));  // b exits while berthd is down
  ASSERT_TRUE(d_->start()) << d_->log();
  auto ih = call("GET", "/v1.47/containers/" + h + "/json", {}, &st);
  EXPECT_EQ(ih["State"]["Health"].value("Status", ""), "healthy") << ih["State"].dump();
  EXPECT_FALSE(ih["State"]["Health"].value("Log", json::array()).empty());
  auto ia = call("GET", "/v1.47/containers/" + a + "/json", {}, &st);
  EXPECT_EQ(ia["State"]["Status"], "running");
  EXPECT_TRUE(ia["State"]["Running"].get<bool>());
  EXPECT_EQ(::kill(ia["State"]["Pid"].get<int>(), 0), 0);
  auto wb = call("POST", "/v1.47/containers/" + b + "/wait", {}, &st);
  EXPECT_EQ(wb["StatusCode"], 42);
  auto c = d_->client();
  auto logs = c.request("GET", "/v1.47/containers/" + a + "/logs?stdout=1");
  ASSERT_TRUE(logs);
  EXPECT_NE(logs->body.find("alive"), std::string::npos);
  // the exec survived the daemon's death: its mark appears (it slept through the restart)
  std::string mark = d_->exec_root() + "/containers/" + a + "/rootfs/tmp/exec-mark";
  for (int i = 0; i < 50 && !path_exists(mark); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  bool marked = path_exists(mark);
  EXPECT_TRUE(marked) << "the exec started before kill -9 did not finish its work";
  auto t0 = std::chrono::steady_clock::now();
  call("POST", "/v1.47/containers/" + a + "/stop?t=5", {}, &st);
  EXPECT_EQ(st, 204);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));  // sleep dies on SIGTERM
  auto ia2 = call("GET", "/v1.47/containers/" + a + "/json", {}, &st);
  EXPECT_EQ(ia2["State"]["Status"], "exited");
  EXPECT_EQ(ia2["State"]["ExitCode"], 143);
}

// berthd loads libarchive, OpenSSL and libcurl on first use only and unloads libnftables when
// idle (src/daemon/lazy_*.cpp), while the nft commands still take effect.
TEST_F(DaemonTest, HeavyLibrariesLoadOnFirstUse) {
  auto mapped = [&](const std::string& lib) {
    auto maps = read_file("/proc/" + std::to_string(d_->pid()) + "/maps", 64u << 20);
    return maps && maps->find(lib) != std::string::npos;
  };
  auto wait_unmapped = [&](const std::string& lib) {
    for (int i = 0; i < 300 && mapped(lib); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return !mapped(lib);
  };
  // the base ruleset went in through the stand-in context
  if (d_->log().find("networking disabled") == std::string::npos) {
    EXPECT_EQ(run({"nft", "list", "table", "inet", d_->nft_table()}, {}, 10).status, 0) << d_->log();
  }
  EXPECT_TRUE(wait_unmapped("libnftables.so")) << "libnftables still loaded when idle";
  for (const char* lib : {"libarchive.so", "libssl.so", "libcrypto.so", "libcurl"})
    EXPECT_FALSE(mapped(lib)) << lib << " loaded at startup";
  int st = 0;
  call("GET", "/v1.47/info", {}, &st);
  EXPECT_EQ(st, 200);
  if (!path_exists(images_dir() + "/busybox.tar")) return;
  ASSERT_TRUE(d_->load_busybox());
  EXPECT_TRUE(mapped("libarchive.so"));
  auto imgs = call("GET", "/v1.47/images/json", {}, &st);
  ASSERT_EQ(st, 200);
  ASSERT_EQ(imgs.size(), 1u);
  EXPECT_FALSE(mapped("libcrypto.so")) << "digests need no OpenSSL";
}

TEST_F(DaemonTest, SigtermStopsCleanly) {
  EXPECT_EQ(d_->term(), 0);
  EXPECT_FALSE(path_exists(d_->sock()));
}

}  // namespace
}  // namespace berth::test
