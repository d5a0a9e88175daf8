// SPDX-License-Identifier: Apache-2.0
// The real docker CLI (and docker-py) against a private berthd.
#include <unistd.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "e2e/docker_e2e.hpp"

namespace berth::test {
namespace {

class DockerCli : public DockerE2E {
 protected:
  void SetUp() override {
    start_berthd("e2e");
    if (IsSkipped() || HasFatalFailure()) return;
    EXPECT_NE(load_out_.find("Loaded image: busybox:latest"), std::string::npos) << load_out_;
  }
};

TEST_F(DockerCli, VersionAndInfo) {
  auto v = docker({"version", "--format", "{{.Server.APIVersion}} {{.Server.Os}}"});
  ASSERT_EQ(v.status, 0) << v.err;
  EXPECT_EQ(trim(v.out), "1.47 linux");
  auto i = docker({"info", "--format", "{{.DockerRootDir}} {{.OSType}}"});
  ASSERT_EQ(i.status, 0) << i.err;
  EXPECT_EQ(trim(i.out), d_->data_root() + " linux");
  auto imgs = docker({"images", "--format", "{{.Repository}}:{{.Tag}}"});
  EXPECT_EQ(trim(imgs.out), "busybox:latest");
}

TEST_F(DockerCli, RunRmEchoAndExitCodes) {
  auto r = docker({"run", "--rm", "--network", "none", "busybox", "echo", "hello from berth"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "hello from berth\n");
  auto e = docker({"run", "--rm", "--network", "none", "busybox", "sh", "-c", "echo to-err >&2; exit 7"});
  EXPECT_EQ(e.status, 7);
  EXPECT_NE(e.err.find("to-err"), std::string::npos);
  auto ps = docker({"ps", "-aq"});
  EXPECT_EQ(trim(ps.out), "");  // --rm removed them
  auto env = docker({"run", "--rm", "--network", "none", "-e", "FOO=bar", "-w", "/tmp", "-u", "1000:1000",
                     "busybox", "sh", "-c", "echo $FOO $(pwd) $(id -u):$(id -g)"});
  ASSERT_EQ(env.status, 0) << env.err;
  EXPECT_EQ(env.out, "bar /tmp 1000:1000\n");
  auto bad = docker({"run", "--rm", "--network", "none", "busybox", "/does/not/exist"});
  EXPECT_NE(bad.status, 0);
}

TEST_F(DockerCli, DetachedLogsExecInspectStopRm) {
  auto r = docker({"run", "-d", "--name", "berth-test-web", "--network", "none", "busybox", "sh", "-c",
                   "trap 'exit 0' TERM; echo ready; while true; do sleep 0.2; done"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::string id(trim(r.out));
  ASSERT_EQ(id.size(), 64u);
  std::string logs;
  for (int i = 0; i < 50 && logs.find("ready") == std::string::npos; ++i) {
    logs = docker({"logs", "berth-test-web"}).out;
    usleep(100000);
  }
  EXPECT_EQ(logs, "ready\n");
  auto ps = docker({"ps", "--format", "{{.Names}} {{.Status}}"});
  EXPECT_EQ(ps.out.rfind("berth-test-web Up", 0), 0u) << ps.out;
  auto ex = docker({"exec", "berth-test-web", "sh", "-c", "echo in-exec; exit 4"});
  EXPECT_EQ(ex.status, 4);
  EXPECT_EQ(ex.out, "in-exec\n");
  auto ins = docker({"inspect", "--format", "{{.State.Status}} {{.Name}} {{.Config.Image}}", "berth-test-web"});
  EXPECT_EQ(trim(ins.out), "running /berth-test-web busybox");
  auto top = docker({"top", "berth-test-web"});
  EXPECT_EQ(top.status, 0) << top.err;
  EXPECT_NE(top.out.find("sleep"), std::string::npos);
  auto st = docker({"stop", "berth-test-web"});
  EXPECT_EQ(st.status, 0) << st.err;
  auto w = docker({"wait", "berth-test-web"});
  EXPECT_EQ(trim(w.out), "0");
  auto rm = docker({"rm", "berth-test-web"});
  EXPECT_EQ(rm.status, 0) << rm.err;
  auto gone = docker({"inspect", "berth-test-web"});
  EXPECT_NE(gone.status, 0);
  EXPECT_NE(gone.err.find("No such"), std::string::npos) << gone.err;
}

TEST_F(DockerCli, SystemPathsConfinement) {
  // Masked paths are bind mounts over /proc/keys & co., read-only paths remounts of /proc/sys & co.
  const std::vector<std::string> probe = {"busybox", "sh", "-c",
                                          "grep -c ' /proc/keys ' /proc/self/mountinfo; grep -c ' /proc/sys ' /proc/self/mountinfo; true"};
  auto run = [&](std::vector<std::string> opts) {
    std::vector<std::string> a = {"run", "--rm", "--network", "none"};
    a.insert(a.end(), opts.begin(), opts.end());
    a.insert(a.end(), probe.begin(), probe.end());
    return docker(a);
  };
  auto d = run({});
  ASSERT_EQ(d.status, 0) << d.err;
  EXPECT_EQ(d.out, "1\n1\n");
  auto u = run({"--security-opt", "systempaths=unconfined"});
  ASSERT_EQ(u.status, 0) << u.err;
  EXPECT_EQ(u.out, "0\n0\n");
  // Privileged (and --cap-add ALL) get the capabilities berthd itself has: a sandbox without
  // CAP_SYS_RESOURCE in its bounding set made capset fail for these.
  auto p = run({"--privileged"});
  ASSERT_EQ(p.status, 0) << p.err;
  EXPECT_EQ(p.out, "0\n0\n");
  auto all = docker({"run", "--rm", "--network", "none", "--cap-add", "ALL", "busybox", "true"});
  EXPECT_EQ(all.status, 0) << all.err;
}

// The container's cgroup as it sees it: with --cgroupns private every hierarchy's root is its
// own cgroup (the runtime joins it before entering the namespace and mounting /sys/fs/cgroup),
// with its limits; with --cgroupns host its path below the host's root.
TEST_F(DockerCli, CgroupNamespaceViews) {
  const std::string probe =
      "grep -v ':/$' /proc/self/cgroup | wc -l; cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || "
      "cat /sys/fs/cgroup/pids.max; ls /sys/fs/cgroup/pids 2>/dev/null | grep -c berth; true";
  auto p = docker({"run", "--rm", "--network", "none", "--cgroupns", "private", "--pids-limit", "7", "busybox", "sh", "-c", probe});
  ASSERT_EQ(p.status, 0) << p.err;
  EXPECT_EQ(p.out, "0\n7\n0\n");
  auto h = docker({"run", "--rm", "--network", "none", "--cgroupns", "host", "busybox", "sh", "-c", "grep -v ':/$' /proc/self/cgroup | wc -l"});
  ASSERT_EQ(h.status, 0) << h.err;
  EXPECT_NE(trim(h.out), "0") << h.out;
}

// After the exit, nothing of the runtime's is left: its state dir and the container's cgroup in
// every hierarchy (the shim removes them itself for berth-runtime, without a runtime process).
TEST_F(DockerCli, ExitLeavesNoRuntimeStateOrCgroup) {
  auto r = docker({"run", "-d", "--network", "none", "busybox", "sh", "-c", "sleep 0.2"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::string id(trim(r.out));
  std::string state = d_->exec_root() + "/runtime/berth-runtime/" + id;
  auto cgroups = [&] {
    return trim(run({"sh", "-c", "ls -d /sys/fs/cgroup/*/berth/" + id + " /sys/fs/cgroup/berth/" + id + " 2>/dev/null | wc -l"}, {}, 10).out);
  };
  EXPECT_TRUE(path_exists(state));
  EXPECT_NE(cgroups(), "0");
  EXPECT_EQ(trim(docker({"wait", id}).out), "0");
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = !path_exists(state) && cgroups() == "0";
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(gone) << state << " or cgroups left: " << cgroups();
  EXPECT_EQ(docker({"rm", id}).status, 0);
}

TEST_F(DockerCli, KillWaitRenamePause) {
  auto r = docker({"run", "-d", "--name", "berth-test-k", "--network", "none", "busybox", "sleep", "1000"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(docker({"pause", "berth-test-k"}).status, 0);
  EXPECT_EQ(trim(docker({"inspect", "-f", "{{.State.Status}}", "berth-test-k"}).out), "paused");
  EXPECT_EQ(docker({"unpause", "berth-test-k"}).status, 0);
  EXPECT_EQ(docker({"rename", "berth-test-k", "berth-test-k2"}).status, 0);
  auto k = docker({"kill", "berth-test-k2"});
  EXPECT_EQ(k.status, 0) << k.err;
  auto w = docker({"wait", "berth-test-k2"});
  EXPECT_EQ(trim(w.out), "137");
  auto dup = docker({"run", "--name", "berth-test-k2", "busybox", "true"});
  EXPECT_NE(dup.status, 0);
  EXPECT_NE(dup.err.find("already in use"), std::string::npos) << dup.err;
  EXPECT_EQ(docker({"container", "prune", "-f"}).status, 0);
  EXPECT_EQ(trim(docker({"ps", "-aq"}).out), "");
}

TEST_F(DockerCli, DockerPy) {
  if (run({"python3", "-c", "import docker"}, {}, 20).status != 0) GTEST_SKIP() << "python3-docker missing";
  std::string script = R"PY(
import sys, docker
c = docker.DockerClient(base_url=sys.argv[1])
assert c.ping()
assert c.version()["ApiVersion"] == "1.47"
out = c.containers.run("busybox", ["echo", "py-hello"], remove=True, network_mode="none")
assert out == b"py-hello\n", out
ct = c.containers.run("busybox", ["sh", "-c", "echo x; sleep 30"], detach=True, network_mode="none", name="berth-test-py")
r = ct.exec_run(["echo", "exec-ok"])
assert r.exit_code == 0 and r.output == b"exec-ok\n", r
ct.reload()
assert ct.status == "running", ct.status
ct.kill()
assert ct.wait()["StatusCode"] == 137
assert b"x\n" in ct.logs()
ct.remove()
print("ok")
)PY";
  auto r = run({"python3", "-c", script, d_->host()}, {}, 120);
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_EQ(trim(r.out), "ok");
}

// docker-py's low-level logs() inspects first and reads Config.Tty: on a container created
// with a minimal body (Image and Cmd only, as raw API clients do) it must be there.
TEST_F(DockerCli, DockerPyLogsOfMinimalContainer) {
  if (run({"python3", "-c", "import docker"}, {}, 20).status != 0) GTEST_SKIP() << "python3-docker missing";
  auto c = d_->client();
  auto cr = c.request("POST", "/v1.47/containers/create?name=berth-test-pylogs",
                      R"({"Image":"busybox","Cmd":["sh","-c","echo out-line; echo err-line >&2"]})",
                      {{"Content-Type", "application/json"}});
  ASSERT_TRUE(cr);
  ASSERT_EQ(cr->status, 201) << cr->body;
  std::string id = nlohmann::json::parse(cr->body).value("Id", "");
  auto st = c.request("POST", "/v1.47/containers/" + id + "/start");
  ASSERT_TRUE(st);
  ASSERT_EQ(st->status, 204) << st->body;
  std::string script = R"PY(
import sys, docker
api = docker.APIClient(base_url=sys.argv[1], version="1.47")
assert api.wait(sys.argv[2])["StatusCode"] == 0
out = api.logs(sys.argv[2])
assert out == b"out-line\nerr-line\n" or out == b"err-line\nout-line\n", out
assert api.logs(sys.argv[2], stderr=False) == b"out-line\n"
ct = docker.DockerClient(base_url=sys.argv[1]).containers.get(sys.argv[2])
assert ct.attrs["Config"]["Tty"] is False and ct.attrs["Config"]["OpenStdin"] is False
assert b"out-line\n" in ct.logs()
ct.remove()
print("ok")
)PY";
  auto r = run({"python3", "-c", script, d_->host(), id}, {}, 120);
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_EQ(trim(r.out), "ok");
}

}  // namespace
}  // namespace berth::test
