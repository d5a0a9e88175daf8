// SPDX-License-Identifier: Apache-2.0
// The spare rootfs (src/daemon/spare_rootfs.cpp): after a container of an image has started,
// berthd makes and mounts the rootfs of the next one ahead, under a container id not used yet,
// and the next create of that image takes it. It is invisible to the API, never keeps its image
// from being removed, and nothing of it is left after a stop, a kill -9 and restart, or a
// removal of its image. When the container started last may be made ahead (no binds, volumes,
// network), the spare is that container made again up to its start (the spare container): a
// create asking for the same takes it whole, one asking for something else gets the rootfs
// and a container of its own.
#include <dirent.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <chrono>
#include <ctime>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "e2e/docker_e2e.hpp"

namespace berth::test {
namespace {

class SpareRootfs : public DockerE2E {
 protected:
  void SetUp() override {
    start_berthd("e2e-spare");
    if (IsSkipped() || HasFatalFailure()) return;
  }

  // Ids of the bundles under the exec root that hold a mounted rootfs.
  std::set<std::string> mounted_bundles() const {
    std::set<std::string> out;
    std::string under = d_->exec_root() + "/containers/";
    for (auto line : split(read_file("/proc/self/mountinfo").value_or(""), '\n')) {
      auto f = split(line, ' ');
      if (f.size() < 5 || f[4].rfind(under, 0) != 0) continue;
      std::string rest = f[4].substr(under.size());
      if (rest.size() == 64 + 7 && rest.substr(64) == "/rootfs") out.insert(rest.substr(0, 64));
    }
    return out;
  }
  std::set<std::string> container_ids() {
    auto r = docker({"ps", "-aq", "--no-trunc"});
    EXPECT_EQ(r.status, 0) << r.err;
    std::set<std::string> out;
    for (auto& l : split(std::string(trim(r.out)), '\n'))
      if (!l.empty()) out.insert(l);
    return out;
  }
  // The one mounted rootfs that no container has, waited for up to 5 s ("" if none came).
  std::string wait_spare() {
    for (int i = 0; i < 500; ++i) {
      auto ids = container_ids();
      for (const auto& m : mounted_bundles())
        if (!ids.count(m)) return m;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return {};
  }
  // The pid of the shim holding the spare container, waited for up to 5 s (0 if none came).
  int wait_spare_shim(const std::string& spare) const {
    for (int i = 0; i < 500; ++i) {
      auto p = read_file(d_->exec_root() + "/containers/" + spare + "/shim.pid");
      int pid = p ? std::atoi(std::string(trim(*p)).c_str()) : 0;
      if (pid > 0 && alive(pid)) return pid;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return 0;
  }
  // "YYYY-MM-DDTHH:MM:SS" in UTC, as the API's times begin.
  static std::string utc_now_seconds() {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    return buf;
  }
  // A process that has not ended (a zombie has).
  static bool alive(int pid) {
    auto st = read_file("/proc/" + std::to_string(pid) + "/stat");
    if (!st) return false;
    auto close = st->rfind(')');
    return close != std::string::npos && close + 2 < st->size() && (*st)[close + 2] != 'Z';
  }
  // Processes whose command line names id (a shim, a runtime), waited for up to 5 s to be none.
  static int processes_naming(const std::string& id) {
    int n = 0;
    for (int i = 0; i < 500; ++i) {
      n = 0;
      if (DIR* d = ::opendir("/proc")) {
        while (auto* e = ::readdir(d)) {
          std::string pid = e->d_name;
          if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
          auto cmd = read_file("/proc/" + pid + "/cmdline");
          n += cmd && cmd->find(id) != std::string::npos;
        }
        ::closedir(d);
      }
      if (n == 0) return 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return n;
  }
  std::string inspect(const std::string& ref, const std::string& fmt) {
    auto r = docker({"inspect", "--format", fmt, ref});
    EXPECT_EQ(r.status, 0) << r.err;
    return std::string(trim(r.out));
  }
  std::size_t layer_records() const {
    std::size_t n = 0;
    if (DIR* d = ::opendir((d_->data_root() + "/image/containers").c_str())) {
      while (auto* e = ::readdir(d)) n += std::string(e->d_name).size() > 5;
      ::closedir(d);
    }
    return n;
  }
};

TEST_F(SpareRootfs, TheNextCreateOfTheImageTakesIt) {
  auto r = docker({"run", "--rm", "--network", "none", "busybox", "true"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::string spare = wait_spare();
  ASSERT_FALSE(spare.empty()) << d_->log();
  // not a container for the API
  EXPECT_NE(docker({"inspect", spare}).status, 0);
  EXPECT_EQ(container_ids().size(), 0u);
  // the next create of busybox gets its id, and its rootfs is the image's
  auto c = docker({"create", "--network", "none", "busybox", "sh", "-c", "echo hi > /f; cat /f; ls /bin/busybox"});
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_EQ(std::string(trim(c.out)), spare);
  auto s = docker({"start", "-a", spare});
  EXPECT_EQ(s.status, 0) << s.err;
  EXPECT_EQ(s.out, "hi\n/bin/busybox\n");
  // its writable layer is its own: the diff shows the file it wrote
  auto d = docker({"diff", spare});
  EXPECT_NE(d.out.find("A /f"), std::string::npos) << d.out;
  EXPECT_EQ(docker({"rm", spare}).status, 0);
  // a create that fails after it took the spare leaves nothing of it
  std::string taken = wait_spare();
  ASSERT_FALSE(taken.empty());
  auto bad = docker({"create", "--network", "none", "--mount", "type=bind,source=/berth-test-no-such-dir,target=/x", "busybox", "true"});
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.err.find("/berth-test-no-such-dir"), std::string::npos) << bad.err;
  EXPECT_FALSE(mounted_bundles().count(taken));
  EXPECT_FALSE(path_exists(d_->exec_root() + "/containers/" + taken));
  EXPECT_FALSE(path_exists(d_->data_root() + "/image/containers/" + taken + ".json"));
  // a size-limited layer is never the spare (its limit is set before anything is written)
  ASSERT_EQ(docker({"run", "--rm", "--network", "none", "busybox", "true"}).status, 0);
  std::string next = wait_spare();
  ASSERT_FALSE(next.empty());
  auto so = docker({"create", "--network", "none", "--storage-opt", "size=64m", "busybox", "true"});
  if (so.status == 0) {
    EXPECT_NE(std::string(trim(so.out)), next);
    EXPECT_EQ(docker({"rm", std::string(trim(so.out))}).status, 0);
  }
  // made or refused (no quota on this filesystem), it left the spare where it was
  EXPECT_TRUE(mounted_bundles().count(next));
  EXPECT_NE(docker({"inspect", next}).status, 0);
}

TEST_F(SpareRootfs, TheSameCreateTakesTheSpareContainer) {
  const std::vector<std::string> same = {"--network", "none", "-e", "A=1", "busybox", "sh", "-c",
                                         "echo out $A $(hostname); echo err >&2; sleep 600"};
  auto run_d = [&](const std::string& name, const std::vector<std::string>& what) {
    std::vector<std::string> a = {"run", "-d", "--name", name};
    a.insert(a.end(), what.begin(), what.end());
    auto r = docker(a);
    EXPECT_EQ(r.status, 0) << r.err;
    return std::string(trim(r.out));
  };
  std::string first = run_d("berth-test-spare-1", same);
  ASSERT_EQ(docker({"rm", "-f", first}).status, 0);
  std::string spare = wait_spare();
  ASSERT_FALSE(spare.empty()) << d_->log();
  int shim = wait_spare_shim(spare);
  ASSERT_GT(shim, 0) << d_->log();
  EXPECT_NE(docker({"inspect", spare}).status, 0);
  EXPECT_EQ(container_ids().size(), 0u);

  // the same create (but for its name): that container, its shim already there; a second later,
  // so that times of the spare's making and of this create differ
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  std::string before = utc_now_seconds();
  std::string second = run_d("berth-test-spare-2", same);
  EXPECT_EQ(second, spare);
  EXPECT_EQ(wait_spare_shim(second), shim);
  EXPECT_EQ(inspect(second, "{{.State.Status}} {{.Name}} {{.Config.Hostname}}"),
            "running /berth-test-spare-2 " + second.substr(0, 12));
  for (int i = 0; i < 100 && docker({"logs", second}).out.empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto logs = docker({"logs", second});
  EXPECT_EQ(logs.out, "out 1 " + second.substr(0, 12) + "\n");
  EXPECT_EQ(logs.err, "err\n");
  auto ex = docker({"exec", second, "cat", "/proc/1/cmdline"});  // (sh execs its last command)
  EXPECT_EQ(ex.out, std::string("sleep\0" "600\0", 10)) << ex.err;
  // its created and start times are its create's and start's, not the time it was made ahead
  EXPECT_NE(inspect(second, "{{.State.StartedAt}}"), "0001-01-01T00:00:00Z");
  std::string created = inspect(second, "{{.Created}}"), started = inspect(second, "{{.State.StartedAt}}");
  EXPECT_GE(created.substr(0, 19), before) << created;
  EXPECT_GE(started, created);
  ASSERT_EQ(docker({"rm", "-f", second}).status, 0);
  EXPECT_EQ(processes_naming(second), 0);

  // another create of the image: the rootfs only; the container made ahead goes
  std::string third_spare = wait_spare();
  ASSERT_FALSE(third_spare.empty());
  int third_shim = wait_spare_shim(third_spare);
  ASSERT_GT(third_shim, 0);
  auto other = docker({"run", "--rm", "--network", "none", "-e", "A=2", "busybox", "sh", "-c", "echo other $A $(hostname)"});
  EXPECT_EQ(other.status, 0) << other.err;
  EXPECT_EQ(other.out, "other 2 " + third_spare.substr(0, 12) + "\n");
  EXPECT_EQ(processes_naming(third_spare), 0);
  EXPECT_FALSE(alive(third_shim));
  // after that miss, spares are rootfs only until a create asks for the template again
  std::string fourth_spare = wait_spare();
  ASSERT_FALSE(fourth_spare.empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(path_exists(d_->exec_root() + "/containers/" + fourth_spare + "/shim.pid"));
  auto again = docker({"run", "--rm", "--network", "none", "-e", "A=2", "busybox", "sh", "-c", "echo other $A $(hostname)"});
  EXPECT_EQ(again.out, "other 2 " + fourth_spare.substr(0, 12) + "\n") << again.err;
  std::string fifth_spare = wait_spare();
  ASSERT_FALSE(fifth_spare.empty());
  EXPECT_GT(wait_spare_shim(fifth_spare), 0);
  auto taken = docker({"run", "--rm", "--network", "none", "-e", "A=2", "busybox", "sh", "-c", "echo other $A $(hostname)"});
  EXPECT_EQ(taken.out, "other 2 " + fifth_spare.substr(0, 12) + "\n") << taken.err;
  EXPECT_EQ(processes_naming(fifth_spare), 0);
}

TEST_F(SpareRootfs, ImageRemovalIsNotHeldUpAndLeavesNothing) {
  auto r = docker({"run", "--rm", "--network", "none", "busybox", "true"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::string spare = wait_spare();
  ASSERT_FALSE(spare.empty()) << d_->log();
  EXPECT_GT(wait_spare_shim(spare), 0);  // the spare container
  auto rmi = docker({"rmi", "busybox"});
  EXPECT_EQ(rmi.status, 0) << rmi.err;
  EXPECT_EQ(processes_naming(spare), 0);
  EXPECT_TRUE(mounted_bundles().empty());
  EXPECT_EQ(layer_records(), 0u);
  EXPECT_FALSE(path_exists(d_->exec_root() + "/containers/" + spare));
  auto imgs = docker({"images", "-q"});
  EXPECT_EQ(std::string(trim(imgs.out)), "");
  // and the image comes back as usual
  ASSERT_EQ(docker({"load", "-i", images_dir() + "/busybox.tar"}).status, 0);
  auto again = docker({"run", "--rm", "--network", "none", "busybox", "echo", "back"});
  EXPECT_EQ(again.out, "back\n") << again.err;

  // While a client stays connected (here a bare connection; `docker events`, `logs -f`…), the
  // janitor waits a while before it removes a removed container's layer: an image removal right
  // after `run --rm` removes that garbage itself instead of finding the image in use.
  UniqueFd idle(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", d_->sock().c_str());
  ASSERT_EQ(::connect(idle.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  auto last = docker({"run", "--rm", "--network", "none", "busybox", "true"});
  ASSERT_EQ(last.status, 0) << last.err;
  auto rmi2 = docker({"rmi", "busybox"});
  EXPECT_EQ(rmi2.status, 0) << rmi2.err;
  EXPECT_EQ(layer_records(), 0u);
  EXPECT_TRUE(mounted_bundles().empty());
  ASSERT_EQ(docker({"load", "-i", images_dir() + "/busybox.tar"}).status, 0);
}

TEST_F(SpareRootfs, NothingIsLeftAfterAStopOrAKill) {
  ASSERT_EQ(docker({"run", "--rm", "--network", "none", "busybox", "true"}).status, 0);
  std::string spare = wait_spare();
  ASSERT_FALSE(spare.empty()) << d_->log();
  EXPECT_GT(wait_spare_shim(spare), 0);
  EXPECT_EQ(d_->term(), 0);
  EXPECT_EQ(processes_naming(spare), 0);
  EXPECT_TRUE(mounted_bundles().empty());
  EXPECT_FALSE(path_exists(d_->exec_root() + "/containers/" + spare));
  EXPECT_EQ(layer_records(), 0u);

  ASSERT_TRUE(d_->start()) << d_->log();
  ASSERT_EQ(docker({"run", "--rm", "--network", "none", "busybox", "true"}).status, 0);
  spare = wait_spare();
  ASSERT_FALSE(spare.empty()) << d_->log();
  EXPECT_GT(wait_spare_shim(spare), 0);
  d_->kill9();
  ASSERT_TRUE(d_->start()) << d_->log();  // its collect_garbage removes what the spare was
  EXPECT_EQ(processes_naming(spare), 0);  // its shim saw berthd go
  EXPECT_TRUE(mounted_bundles().empty());
  EXPECT_FALSE(path_exists(d_->exec_root() + "/containers/" + spare));
  EXPECT_EQ(layer_records(), 0u);
  EXPECT_EQ(docker({"run", "--rm", "--network", "none", "busybox", "echo", "ok"}).out, "ok\n");
}

}  // namespace
}  // namespace berth::test
