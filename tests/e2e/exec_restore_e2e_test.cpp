// SPDX-License-Identifier: Apache-2.0
// Exec instances survive a berthd restart (kill -9, or SIGTERM with live restore): the docker
// CLI starts them, berthd dies and comes back, and the API still knows them: ExecIDs, Running,
// Pid, and the exit code of one that ended while berthd was down or ends afterwards. Their
// records go with the container.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "e2e/docker_e2e.hpp"

namespace berth::test {
namespace {

using nlohmann::json;

class ExecRestore : public DockerE2E {
 protected:
  void SetUp() override { start_berthd("exec-restore"); }

  json api(const std::string& method, const std::string& path, int* status, const std::string& body = {}) {
    auto c = d_->client();
    auto r = c.request(method, "/v1.47" + path, body,
                       body.empty() ? http::Headers{} : http::Headers{{"Content-Type", "application/json"}});
    *status = r ? r->status : 0;
    if (!r || r->body.empty()) return json();
    try {
      return json::parse(r->body);
    } catch (...) {
      return json(r->body);
    }
  }
  json exec_json(const std::string& id, int* status) { return api("GET", "/exec/" + id + "/json", status); }

  std::vector<std::string> exec_ids(const std::string& ctr) {
    auto r = docker({"inspect", "--format", "{{json .ExecIDs}}", ctr});
    EXPECT_EQ(r.status, 0) << r.err;
    std::vector<std::string> v;
    try {
      auto j = json::parse(trim(r.out));
      if (j.is_array())
        for (auto& x : j) v.push_back(x.get<std::string>());
    } catch (...) {
      ADD_FAILURE() << r.out;
    }
    return v;
  }
  // `docker exec -d` in ctr; returns the new exec's id (the one ExecIDs gained).
  std::string exec_detached(const std::string& ctr, const std::vector<std::string>& cmd) {
    auto before = exec_ids(ctr);
    std::vector<std::string> args{"exec", "-d", ctr};
    args.insert(args.end(), cmd.begin(), cmd.end());
    auto r = docker(args);
    EXPECT_EQ(r.status, 0) << r.err;
    for (auto& id : exec_ids(ctr))
      if (std::find(before.begin(), before.end(), id) == before.end()) return id;
    ADD_FAILURE() << "no new exec id in " << ctr;
    return "";
  }
  // Polls GET /exec/{id}/json until it is not running (about 10 s at most).
  json wait_exec_end(const std::string& id) {
    int st = 0;
    json j;
    for (int i = 0; i < 200; ++i) {
      j = exec_json(id, &st);
      if (st != 200 || !j.value("Running", true)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return j;
  }
  std::string cmdline(int pid) {
    auto s = read_file("/proc/" + std::to_string(pid) + "/cmdline").value_or("");
    for (auto& ch : s)
      if (ch == '\0') ch = ' ';
    return std::string(trim(s));
  }
  std::string run_sleeper(const std::string& name) {
    auto r = docker({"run", "-d", "--name", name, "--network", "none", "busybox", "sleep", "1000"});
    EXPECT_EQ(r.status, 0) << r.err;
    return std::string(trim(r.out));
  }
  std::string bundle(const std::string& cid) const { return d_->exec_root() + "/containers/" + cid; }
};

TEST_F(ExecRestore, SurvivesKillNine) {
  if (IsSkipped() || HasFatalFailure()) return;
  std::string cid = run_sleeper("berth-test-exr");
  ASSERT_EQ(cid.size(), 64u);
  // one runs through the restart; one ends while berthd is down (when the test says so)
  std::string runs = exec_detached("berth-test-exr", {"sleep", "1001"});
  std::string ends = exec_detached("berth-test-exr", {"sh", "-c", "while [ ! -e /tmp/go ]; do sleep 0.05; done; exit 7"});
  ASSERT_FALSE(runs.empty());
  ASSERT_FALSE(ends.empty());
  // one created and never started: it survives too, and can start after the restart
  int st = 0;
  auto created = api("POST", "/containers/" + cid + "/exec", &st,
                     json{{"Cmd", {"sh", "-c", "exit 5"}}, {"AttachStdout", true}, {"DetachKeys", "ctrl-x,x"}}.dump());
  ASSERT_EQ(st, 201) << created.dump();
  std::string later = created["Id"];
  auto before = exec_json(runs, &st);
  ASSERT_EQ(st, 200);
  ASSERT_TRUE(before["Running"].get<bool>()) << before.dump();
  int pid = before["Pid"].get<int>();
  ASSERT_GT(pid, 0);
  EXPECT_EQ(cmdline(pid), "sleep 1001");

  d_->kill9();
  // the second exec ends while berthd is down; its shim records the status
  ASSERT_TRUE(write_file(bundle(cid) + "/rootfs/tmp/go", ""));
  std::string status_file = bundle(cid) + "/exec-" + ends.substr(0, 12) + ".exit";
  for (int i = 0; i < 200 && !path_exists(status_file); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(path_exists(status_file)) << "the shim recorded no status for the exec";
  ASSERT_TRUE(d_->start()) << d_->log();

  auto ids = exec_ids("berth-test-exr");  // those that have not ended, in creation order
  EXPECT_EQ(ids, (std::vector<std::string>{runs, later}));
  auto r = exec_json(runs, &st);
  ASSERT_EQ(st, 200) << r.dump();
  EXPECT_TRUE(r["Running"].get<bool>()) << r.dump();
  EXPECT_EQ(r["Pid"], pid);
  EXPECT_TRUE(r["ExitCode"].is_null());
  EXPECT_EQ(r["ContainerID"], cid);
  EXPECT_EQ(r["ProcessConfig"]["entrypoint"], "sleep");
  EXPECT_EQ(r["ProcessConfig"]["arguments"], json::array({"1001"}));
  auto e = exec_json(ends, &st);
  ASSERT_EQ(st, 200) << e.dump();
  EXPECT_FALSE(e["Running"].get<bool>());
  EXPECT_EQ(e["ExitCode"], 7);
  EXPECT_FALSE(path_exists(status_file)) << "berthd keeps the status in its record; the shim's copy goes";
  auto l = exec_json(later, &st);
  ASSERT_EQ(st, 200);
  EXPECT_FALSE(l["Running"].get<bool>());
  EXPECT_TRUE(l["ExitCode"].is_null());
  EXPECT_TRUE(l["OpenStdout"].get<bool>());
  EXPECT_EQ(l["DetachKeys"], "GHg=");  // dockerd's []byte: base64 of ctrl-x, 'x'

  // the exec that ran through the restart ends now: berthd hears of it through the shim
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  r = wait_exec_end(runs);
  EXPECT_FALSE(r.value("Running", true)) << r.dump();
  EXPECT_EQ(r["ExitCode"], 143);
  EXPECT_EQ(r["Pid"], pid);
  EXPECT_EQ(exec_ids("berth-test-exr"), (std::vector<std::string>{later}));

  // the never-started one starts now
  auto c = d_->client();
  auto h = c.hijack("POST", "/v1.47/exec/" + later + "/start", R"({"Detach":false,"Tty":false})",
                    {{"Content-Type", "application/json"}});
  ASSERT_TRUE(h);
  (void)read_fd(h->fd.get());
  l = wait_exec_end(later);
  EXPECT_EQ(l["ExitCode"], 5) << l.dump();

  // the records go with the container
  auto rm = docker({"rm", "-f", "berth-test-exr"});
  ASSERT_EQ(rm.status, 0) << rm.err;
  for (const auto& id : {runs, ends, later}) {
    exec_json(id, &st);
    EXPECT_EQ(st, 404) << id;
  }
  for (int i = 0; i < 200 && path_exists(bundle(cid)); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(path_exists(bundle(cid) + "/execs"));
  // and a restart does not bring them back
  d_->kill9();
  ASSERT_TRUE(d_->start()) << d_->log();
  exec_json(runs, &st);
  EXPECT_EQ(st, 404);
}

TEST_F(ExecRestore, SurvivesSigtermWithLiveRestore) {
  if (IsSkipped() || HasFatalFailure()) return;
  std::string cid = run_sleeper("berth-test-exs");
  ASSERT_EQ(cid.size(), 64u);
  std::string runs = exec_detached("berth-test-exs", {"sleep", "1002"});
  ASSERT_FALSE(runs.empty());
  int st = 0;
  auto created = api("POST", "/containers/" + cid + "/exec", &st, json{{"Cmd", {"true"}}}.dump());
  ASSERT_EQ(st, 201);
  std::string never = created["Id"];
  int pid = exec_json(runs, &st)["Pid"].get<int>();
  ASSERT_GT(pid, 0);
  // a tty exec that reports its terminal size: resizes reach it after the restart too
  auto tty = api("POST", "/containers/" + cid + "/exec", &st,
                 json{{"Cmd", {"sh", "-c", "while :; do stty size > /tmp/sz.new && mv /tmp/sz.new /tmp/sz; sleep 0.05; done"}},
                      {"Tty", true}}
                     .dump());
  ASSERT_EQ(st, 201) << tty.dump();
  std::string tty_id = tty["Id"];
  api("POST", "/exec/" + tty_id + "/start", &st, json{{"Detach", true}, {"Tty", true}}.dump());
  ASSERT_EQ(st, 200);
  for (int i = 0; i < 200 && !exec_json(tty_id, &st).value("Running", false); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));

  EXPECT_EQ(d_->term(), 0);
  EXPECT_EQ(cmdline(pid), "sleep 1002") << "the exec died with berthd";
  ASSERT_TRUE(d_->start()) << d_->log();

  EXPECT_EQ(exec_ids("berth-test-exs"), (std::vector<std::string>{runs, never, tty_id}));
  auto r = exec_json(runs, &st);
  ASSERT_EQ(st, 200);
  EXPECT_TRUE(r["Running"].get<bool>());
  EXPECT_EQ(r["Pid"], pid);
  api("POST", "/exec/" + tty_id + "/resize?h=33&w=101", &st);
  EXPECT_EQ(st, 200);
  std::string size_file = bundle(cid) + "/rootfs/tmp/sz", size;
  for (int i = 0; i < 200 && size != "33 101"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    size = std::string(trim(read_file(size_file).value_or("")));
  }
  EXPECT_EQ(size, "33 101") << "the resize did not reach the restored tty exec";

  // the container stops: the running exec ends with it (its status is kept, as dockerd does for
  // an exec whose exit it saw), the never-started one is forgotten
  auto stop = docker({"stop", "-t", "1", "berth-test-exs"});
  ASSERT_EQ(stop.status, 0) << stop.err;
  r = wait_exec_end(runs);
  EXPECT_FALSE(r.value("Running", true)) << r.dump();
  EXPECT_EQ(r["ExitCode"], 137) << r.dump();
  exec_json(never, &st);
  EXPECT_EQ(st, 404);
  EXPECT_EQ(wait_exec_end(tty_id)["ExitCode"], 137);
  EXPECT_TRUE(exec_ids("berth-test-exs").empty());
  // and the ended one is still there after another restart
  EXPECT_EQ(d_->term(), 0);
  ASSERT_TRUE(d_->start()) << d_->log();
  r = exec_json(runs, &st);
  ASSERT_EQ(st, 200) << r.dump();
  EXPECT_EQ(r["ExitCode"], 137);
  auto rm = docker({"rm", "berth-test-exs"});
  ASSERT_EQ(rm.status, 0) << rm.err;
  exec_json(runs, &st);
  EXPECT_EQ(st, 404);
}

// `docker exec -d`: berthd keeps no thread per exec; the monitor waits for their ends. Start
// failures end the exec (126), a second start is a conflict.
TEST_F(ExecRestore, DetachedExecs) {
  if (IsSkipped() || HasFatalFailure()) return;
  std::string cid = run_sleeper("berth-test-exd");
  ASSERT_EQ(cid.size(), 64u);
  std::string task_dir = "/proc/" + std::to_string(d_->pid()) + "/task";
  auto threads = [&] { return Berthd::list_dir(task_dir).size(); };
  auto settle = [&](std::size_t at_most) {
    std::size_t n = threads();
    for (int i = 0; i < 100 && n > at_most; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      n = threads();
    }
    return n;
  };
  std::size_t base = threads();
  std::vector<std::string> ids;
  constexpr std::size_t kExecs = 10;
  for (std::size_t i = 0; i < kExecs; ++i) ids.push_back(exec_detached("berth-test-exd", {"sleep", "100" + std::to_string(i)}));
  for (const auto& id : ids) {
    int st = 0;
    for (int i = 0; i < 200 && !exec_json(id, &st).value("Running", false); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // connection threads end with their connections, but for the few kept for the next ones
  // (http::Server: at most 4 idle), fewer than one per exec
  constexpr std::size_t kIdleConnectionThreads = 4;
  static_assert(kIdleConnectionThreads < kExecs);
  EXPECT_LE(settle(base + kIdleConnectionThreads), base + kIdleConnectionThreads)
      << "threads: " << base << " before " << kExecs << " detached execs";
  // and their ends are still seen
  int st = 0;
  int pid = exec_json(ids[0], &st)["Pid"].get<int>();
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  EXPECT_EQ(wait_exec_end(ids[0])["ExitCode"], 137);
  // as dockerd, `exec -d` answers once the process runs: a start failure is the command's error
  auto bad = docker({"exec", "-d", "berth-test-exd", "/does/not/exist"});
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.err.find("exec failed"), std::string::npos) << bad.err;
  auto nouser = api("POST", "/containers/" + cid + "/exec", &st, json{{"Cmd", {"true"}}, {"User", "berth-no-such-user"}}.dump());
  ASSERT_EQ(st, 201);
  std::string nu = nouser["Id"];
  auto start = api("POST", "/exec/" + nu + "/start", &st, json{{"Detach", true}}.dump());
  EXPECT_GE(st, 400) << start.dump();
  auto j = exec_json(nu, &st);
  EXPECT_FALSE(j["Running"].get<bool>());
  EXPECT_EQ(j["ExitCode"], 126);
  api("POST", "/exec/" + nu + "/start", &st, json{{"Detach", true}}.dump());
  EXPECT_EQ(st, 409);
  api("POST", "/exec/" + ids[1] + "/start", &st, json{{"Detach", true}}.dump());
  EXPECT_EQ(st, 409);  // running
  api("POST", "/exec/" + ids[0] + "/start", &st, json{{"Detach", true}}.dump());
  EXPECT_EQ(st, 409);  // ended
  // nulls (docker-py sends Env: null) are as absent
  auto nulls = api("POST", "/containers/" + cid + "/exec", &st,
                   R"({"Cmd":["true"],"User":null,"Env":null,"Tty":null,"DetachKeys":null,"WorkingDir":null})");
  ASSERT_EQ(st, 201) << nulls.dump();
  auto nj = exec_json(nulls["Id"], &st);
  EXPECT_EQ(st, 200);
  EXPECT_EQ(nj["ProcessConfig"]["tty"], false);
  api("POST", "/exec/" + nulls["Id"].get<std::string>() + "/start", &st, json{{"Detach", true}}.dump());
  EXPECT_EQ(st, 200);
  EXPECT_EQ(wait_exec_end(nulls["Id"])["ExitCode"], 0);
}

}  // namespace
}  // namespace berth::test
