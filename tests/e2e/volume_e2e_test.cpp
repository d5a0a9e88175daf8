// SPDX-License-Identifier: Apache-2.0
// Volumes, binds and tmpfs with the real docker CLI against a private berthd.
#include <unistd.h>

#include <algorithm>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/defer.hpp"
#include "e2e/docker_e2e.hpp"
#include "integration/volume/loop_fs.hpp"

namespace berth::test {
namespace {

using nlohmann::json;

class DockerVolumes : public DockerE2E {
 protected:
  void SetUp() override { start_berthd("e2e-vol"); }
  // busybox + /srv/app (VOLUME) with n files owned by 1234:5678, tagged berth-test-vimg:1
  void load_volume_image(int n) {
    std::string tar = cfgdir_->sub("vimg.tar");
    auto mk = run({"python3", BERTH_SOURCE_DIR "/tests/e2e/make_volume_image.py", images_dir() + "/busybox.tar", tar,
                   "berth-test-vimg:1", "/srv/app", std::to_string(n), "1234", "5678"},
                  {}, 60);
    ASSERT_EQ(mk.status, 0) << mk.err;
    auto l = docker({"load", "-i", tar});
    ASSERT_EQ(l.status, 0) << l.err;
  }
  // Our CLI against the same berthd.
  RunResult berth(std::vector<std::string> args, const std::string& in = {}, int timeout = 60) {
    args.insert(args.begin(), bin("berth"));
    return run(args, in, timeout, {"DOCKER_HOST=" + d_->host(), "DOCKER_CONFIG=" + cfgdir_->path()});
  }
  std::string out(std::vector<std::string> args) {
    auto r = docker(std::move(args));
    EXPECT_EQ(r.status, 0) << r.err;
    return std::string(trim(r.out));
  }
};

TEST_F(DockerVolumes, NamedVolumeSurvivesRmAndShowsInInspect) {
  EXPECT_EQ(out({"volume", "create", "--label", "berth.test=yes", "berth-test-v1"}), "berth-test-v1");
  auto w = docker({"run", "--name", "berth-test-w", "--network", "none", "-v", "berth-test-v1:/data", "busybox", "sh",
                   "-c", "echo persisted > /data/f"});
  ASSERT_EQ(w.status, 0) << w.err;
  auto mounts = json::parse(out({"inspect", "-f", "{{json .Mounts}}", "berth-test-w"}));
  ASSERT_EQ(mounts.size(), 1u) << mounts;
  EXPECT_EQ(mounts[0]["Type"], "volume");
  EXPECT_EQ(mounts[0]["Name"], "berth-test-v1");
  EXPECT_EQ(mounts[0]["Destination"], "/data");
  EXPECT_EQ(mounts[0]["Driver"], "local");
  EXPECT_EQ(mounts[0]["RW"], true);
  EXPECT_EQ(mounts[0]["Source"], d_->data_root() + "/volumes/berth-test-v1/_data");
  // in use: refused, also with -f
  auto busy = docker({"volume", "rm", "berth-test-v1"});
  EXPECT_NE(busy.status, 0);
  EXPECT_NE(busy.err.find("volume is in use"), std::string::npos) << busy.err;
  EXPECT_EQ(docker({"volume", "rm", "-f", "berth-test-v1"}).status, 1);
  ASSERT_EQ(docker({"rm", "-v", "berth-test-w"}).status, 0);  // -v keeps named volumes
  auto r = docker({"run", "--rm", "--network", "none", "-v", "berth-test-v1:/other", "busybox", "cat", "/other/f"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "persisted\n");
  // --mount type=volume, readonly: writes fail inside the container
  auto ro = docker({"run", "--rm", "--network", "none", "--mount", "type=volume,src=berth-test-v1,dst=/d,readonly",
                    "busybox", "sh", "-c", "cat /d/f && touch /d/x"});
  EXPECT_NE(ro.status, 0);
  EXPECT_EQ(ro.out, "persisted\n");
  EXPECT_NE(ro.err.find("Read-only file system"), std::string::npos) << ro.err;
  auto ro2 = docker({"run", "--rm", "--network", "none", "-v", "berth-test-v1:/d:ro", "busybox", "touch", "/d/y"});
  EXPECT_NE(ro2.status, 0);
  EXPECT_NE(ro2.err.find("Read-only file system"), std::string::npos) << ro2.err;
  // volume-subpath
  ASSERT_EQ(docker({"run", "--rm", "--network", "none", "-v", "berth-test-v1:/d", "busybox", "sh", "-c",
                    "mkdir -p /d/sub && echo in-sub > /d/sub/g"}).status, 0);
  auto sp = docker({"run", "--rm", "--network", "none", "--mount",
                    "type=volume,src=berth-test-v1,dst=/s,volume-subpath=sub", "busybox", "cat", "/s/g"});
  EXPECT_EQ(sp.status, 0) << sp.err;
  EXPECT_EQ(sp.out, "in-sub\n");
  EXPECT_EQ(out({"volume", "rm", "berth-test-v1"}), "berth-test-v1");
}

TEST_F(DockerVolumes, CopyUpKeepsImageFilesAndOwnership) {
  load_volume_image(50);
  // anonymous volume from the image's VOLUME
  auto r = docker({"run", "--name", "berth-test-cu", "--network", "none", "berth-test-vimg:1", "sh", "-c",
                   "stat -c '%u:%g %a' /srv/app /srv/app/sub /srv/app/f00000; ls /srv/app | wc -l; "
                   "ls /srv/app/sub | wc -l; cat /srv/app/sub/f00049"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "1234:5678 750\n1234:5678 700\n1234:5678 640\n26\n25\nfile 49\n");
  auto mounts = json::parse(out({"inspect", "-f", "{{json .Mounts}}", "berth-test-cu"}));
  ASSERT_EQ(mounts.size(), 1u);
  EXPECT_EQ(mounts[0]["Type"], "volume");
  std::string anon = mounts[0]["Name"];
  EXPECT_EQ(anon.size(), 64u);
  EXPECT_EQ(mounts[0]["Destination"], "/srv/app");
  EXPECT_NE(out({"volume", "ls", "-q"}).find(anon), std::string::npos);
  // rm -v removes the anonymous volume
  ASSERT_EQ(docker({"rm", "-v", "berth-test-cu"}).status, 0);
  EXPECT_EQ(out({"volume", "ls", "-q"}).find(anon), std::string::npos);

  // a new named volume is pre-filled once; later containers see its own content
  auto a = docker({"run", "--rm", "--network", "none", "-v", "berth-test-named:/srv/app", "berth-test-vimg:1", "sh",
                   "-c", "stat -c '%u:%g' /srv/app/f00002; rm /srv/app/f00002"});
  ASSERT_EQ(a.status, 0) << a.err;
  EXPECT_EQ(a.out, "1234:5678\n");
  auto b = docker({"run", "--rm", "--network", "none", "-v", "berth-test-named:/srv/app", "berth-test-vimg:1", "sh",
                   "-c", "test -e /srv/app/f00002 && echo back || echo gone"});
  EXPECT_EQ(b.out, "gone\n");
  // nocopy: empty
  auto nc = docker({"run", "--rm", "--network", "none", "-v", "berth-test-nc:/srv/app:nocopy", "berth-test-vimg:1",
                    "sh", "-c", "ls -A /srv/app | wc -l"});
  EXPECT_EQ(nc.out, "0\n") << nc.err;
  // --rm removes the anonymous volume of -v /path
  auto before = out({"volume", "ls", "-q"});
  ASSERT_EQ(docker({"run", "--rm", "--network", "none", "-v", "/scratch", "busybox", "true"}).status, 0);
  EXPECT_EQ(out({"volume", "ls", "-q"}), before);
}

// A volume with driver options (mounted on the host at start) is filled from the image too.
TEST_F(DockerVolumes, CopyUpIntoVolumeWithDriverOptions) {
  load_volume_image(50);
  ASSERT_EQ(docker({"volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=4m", "berth-test-tv"})
                .status, 0);
  auto r = docker({"run", "--rm", "--network", "none", "-v", "berth-test-tv:/srv/app", "berth-test-vimg:1", "sh", "-c",
                   "stat -c '%u:%g %a' /srv/app /srv/app/f00000; ls -A /srv/app | wc -l; cat /srv/app/sub/f00049"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "1234:5678 750\n1234:5678 640\n26\nfile 49\n");
  EXPECT_EQ(out({"volume", "rm", "berth-test-tv"}), "berth-test-tv");
}

TEST_F(DockerVolumes, VolumesFromBindsAndTmpfs) {
  ASSERT_EQ(docker({"run", "--name", "berth-test-src", "--network", "none", "-v", "berth-test-shared:/data", "-v",
                    "/anon", "busybox", "sh", "-c", "echo shared > /data/f; echo a > /anon/f"}).status, 0);
  auto vf = docker({"run", "--rm", "--network", "none", "--volumes-from", "berth-test-src", "busybox", "sh", "-c",
                    "cat /data/f /anon/f; echo more >> /data/f"});
  ASSERT_EQ(vf.status, 0) << vf.err;
  EXPECT_EQ(vf.out, "shared\na\n");
  auto vro = docker({"run", "--rm", "--network", "none", "--volumes-from", "berth-test-src:ro", "busybox", "sh", "-c",
                     "cat /data/f; touch /data/g"});
  EXPECT_NE(vro.status, 0);
  EXPECT_EQ(vro.out, "shared\nmore\n");
  EXPECT_NE(vro.err.find("Read-only file system"), std::string::npos) << vro.err;

  // -v creates a missing host directory; --mount type=bind refuses it
  std::string host = cfgdir_->sub("made-by-v");
  auto mk = docker({"run", "--rm", "--network", "none", "-v", host + ":/h", "busybox", "sh", "-c", "echo x > /h/f"});
  ASSERT_EQ(mk.status, 0) << mk.err;
  EXPECT_TRUE(path_exists(host + "/f"));
  auto miss = docker({"run", "--rm", "--network", "none", "--mount", "type=bind,src=" + cfgdir_->sub("nope") + ",dst=/h",
                      "busybox", "true"});
  EXPECT_NE(miss.status, 0);
  EXPECT_NE(miss.err.find("bind source path does not exist"), std::string::npos) << miss.err;
  auto bro = docker({"run", "--rm", "--network", "none", "--mount", "type=bind,src=" + host + ",dst=/h,readonly",
                     "busybox", "sh", "-c", "cat /h/f; touch /h/g"});
  EXPECT_NE(bro.status, 0);
  EXPECT_EQ(bro.out, "x\n");
  EXPECT_FALSE(path_exists(host + "/g"));
  auto bad = docker({"run", "--rm", "--network", "none", "-v", "berth-test-x:/d:bogus", "busybox", "true"});
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.err.find("invalid mode: bogus"), std::string::npos) << bad.err;

  // tmpfs size limits
  auto t1 = docker({"run", "--rm", "--network", "none", "--tmpfs", "/t:size=1m", "busybox", "sh", "-c",
                    "dd if=/dev/zero of=/t/x bs=1k count=2048"});
  EXPECT_NE(t1.status, 0);
  EXPECT_NE(t1.err.find("No space left"), std::string::npos) << t1.err;
  auto t2 = docker({"run", "--rm", "--network", "none", "--mount", "type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770",
                    "busybox", "sh", "-c", "stat -c %a /t; dd if=/dev/zero of=/t/x bs=1k count=2048"});
  EXPECT_NE(t2.status, 0);
  EXPECT_EQ(t2.out, "1770\n");
  EXPECT_NE(t2.err.find("No space left"), std::string::npos) << t2.err;
  auto t3 = docker({"run", "--rm", "--network", "none", "--tmpfs", "/t:size=1m", "busybox", "sh", "-c",
                    "dd if=/dev/zero of=/t/x bs=1k count=512 2>/dev/null && echo fits"});
  EXPECT_EQ(t3.out, "fits\n");

  // a volume with driver options is mounted on the host while used, unmounted after
  ASSERT_EQ(docker({"volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=1m",
                    "berth-test-tmpvol"}).status, 0);
  auto tv = docker({"run", "--rm", "--network", "none", "-v", "berth-test-tmpvol:/v", "busybox", "sh", "-c",
                    "dd if=/dev/zero of=/v/x bs=1k count=2048"});
  EXPECT_NE(tv.status, 0);
  EXPECT_NE(tv.err.find("No space left"), std::string::npos) << tv.err;
  std::string mp = d_->data_root() + "/volumes/berth-test-tmpvol/_data";
  auto mi = read_file("/proc/self/mountinfo");
  ASSERT_TRUE(mi);
  EXPECT_EQ(mi->find(" " + mp + " "), std::string::npos) << "still mounted after the last user stopped";
}

TEST_F(DockerVolumes, VolumeCommandsOutputAndErrors) {
  EXPECT_EQ(out({"volume", "create", "berth-test-a"}), "berth-test-a");
  EXPECT_EQ(out({"volume", "create", "--label", "tier=db", "berth-test-b"}), "berth-test-b");
  std::string anon = out({"volume", "create"});
  EXPECT_EQ(anon.size(), 64u);
  EXPECT_EQ(out({"volume", "ls", "--format", "{{.Driver}} {{.Name}}", "-f", "name=berth-test"}),
            "local berth-test-a\nlocal berth-test-b");
  EXPECT_EQ(out({"volume", "ls", "-q", "-f", "label=tier=db"}), "berth-test-b");
  EXPECT_EQ(out({"volume", "inspect", "-f", "{{.Driver}} {{.Mountpoint}} {{.Scope}}", "berth-test-b"}),
            "local " + d_->data_root() + "/volumes/berth-test-b/_data local");
  auto bad = docker({"volume", "create", "b@d"});
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.err.find("includes invalid characters for a local volume name"), std::string::npos) << bad.err;
  auto missing = docker({"volume", "inspect", "berth-test-missing"});
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("no such volume"), std::string::npos) << missing.err;
  auto rmm = docker({"volume", "rm", "berth-test-missing"});
  EXPECT_NE(rmm.status, 0);
  EXPECT_NE(rmm.err.find("no such volume"), std::string::npos) << rmm.err;
  EXPECT_EQ(docker({"volume", "rm", "-f", "berth-test-missing"}).status, 0);
  auto badf = docker({"volume", "ls", "-f", "bogus=1"});
  EXPECT_NE(badf.status, 0);
  EXPECT_NE(badf.err.find("invalid filter"), std::string::npos) << badf.err;
  // a volume in use by a (stopped) container is not dangling and is never pruned
  ASSERT_EQ(docker({"create", "--name", "berth-test-user", "-v", "berth-test-a:/a", "busybox", "true"}).status, 0);
  EXPECT_EQ(out({"volume", "ls", "-q", "-f", "dangling=true", "-f", "name=berth-test"}), "berth-test-b");
  // prune: anonymous only by default, named too with --all
  auto p1 = docker({"volume", "prune", "-f"});
  ASSERT_EQ(p1.status, 0) << p1.err;
  EXPECT_NE(p1.out.find(anon), std::string::npos) << p1.out;
  EXPECT_EQ(p1.out.find("berth-test-b"), std::string::npos) << p1.out;
  auto df = docker({"system", "df", "-v", "--format", "{{json .Volumes}}"});
  EXPECT_EQ(df.status, 0) << df.err;
  EXPECT_NE(df.out.find("berth-test-a"), std::string::npos) << df.out;
  auto p2 = docker({"volume", "prune", "-a", "-f"});
  ASSERT_EQ(p2.status, 0) << p2.err;
  EXPECT_NE(p2.out.find("berth-test-b"), std::string::npos) << p2.out;
  EXPECT_EQ(out({"volume", "ls", "-q"}), "berth-test-a");
  ASSERT_EQ(docker({"rm", "berth-test-user"}).status, 0);
  EXPECT_EQ(out({"volume", "ls", "-q", "-f", "dangling=true"}), "berth-test-a");  // rm without -v keeps it
}

// docker joins a volume's labels in Go map order (random per run); berth sorts them. JSON
// lines get their "Labels" sorted before comparing.
std::string sorted_labels(const std::string& out) {
  std::string res;
  for (const auto& line : split(out, '\n')) {
    auto j = json::parse(line, nullptr, false);
    if (!line.empty() && line[0] == '{' && !j.is_discarded() && j.contains("Labels") && j["Labels"].is_string()) {
      auto parts = split(j["Labels"].get<std::string>(), ',');
      std::sort(parts.begin(), parts.end());
      j["Labels"] = join(parts, ",");
      res += j.dump();
    } else {
      res += line;
    }
    res += '\n';
  }
  return res;
}

// `berth volume …` and `docker volume …` against the same berthd print the same.
TEST_F(DockerVolumes, BerthVolumeCommandsMatchDocker) {
  if (!path_exists(bin("berth"))) GTEST_SKIP() << "berth CLI not built";
  auto same = [&](std::vector<std::string> args) {
    auto d = docker(args);
    auto b = berth(args);
    std::string what = join(args, " ");
    EXPECT_EQ(b.status, d.status) << what << "\n" << b.err << d.err;
    EXPECT_EQ(sorted_labels(b.out), sorted_labels(d.out)) << what;
    EXPECT_EQ(b.err, d.err) << what;
    return b;
  };
  // create: each client makes its own, then both list them alike
  EXPECT_EQ(berth({"volume", "create", "--label", "tier=db", "--label", "k", "berth-test-cb"}).out, "berth-test-cb\n");
  EXPECT_EQ(docker({"volume", "create", "--label", "tier=db", "--label", "k", "berth-test-cd"}).out, "berth-test-cd\n");
  auto tmp = berth({"volume", "create", "-d", "local", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=1m",
                    "--name", "berth-test-ct"});
  EXPECT_EQ(tmp.status, 0) << tmp.err;
  EXPECT_EQ(tmp.out, "berth-test-ct\n");
  auto anon = berth({"volume", "create"});
  ASSERT_EQ(anon.status, 0) << anon.err;
  EXPECT_EQ(std::string(trim(anon.out)).size(), 64u);
  // errors
  for (auto* name : {"b@d", "x"}) {
    auto bb = berth({"volume", "create", name});
    auto dd = docker({"volume", "create", name});
    EXPECT_EQ(bb.status, dd.status) << name;
    EXPECT_EQ(bb.err, dd.err) << name;
  }
  auto badopt = same({"volume", "create", "-o", "bogus=1", "berth-test-bad"});
  EXPECT_NE(badopt.status, 0);
  auto plugin = same({"volume", "create", "-d", "nosuch", "berth-test-bad"});
  EXPECT_NE(plugin.status, 0);
  // ls with filters and formats
  same({"volume", "ls"});
  same({"volume", "ls", "-q"});
  same({"volume", "ls", "-f", "name=berth-test-c"});
  same({"volume", "ls", "-q", "-f", "label=tier=db"});
  same({"volume", "ls", "-q", "-f", "label=k", "-f", "name=cb"});
  same({"volume", "ls", "-q", "-f", "label!=tier"});
  same({"volume", "ls", "-q", "-f", "driver=local", "-f", "dangling=true"});
  // {{.Labels}} is joined in Go map order by docker: compared through the json lines below
  same({"volume", "ls", "--format", "{{.Name}}|{{.Driver}}|{{.Label \"tier\"}}|{{.Scope}}|{{.Mountpoint}}"});
  same({"volume", "ls", "--format", "json"});
  same({"volume", "ls", "--format", "table {{.Name}}\t{{.Driver}}"});
  EXPECT_NE(same({"volume", "ls", "-f", "bogus=1"}).status, 0);
  EXPECT_NE(same({"volume", "ls", "-f", "dangling=maybe"}).status, 0);
  // inspect
  same({"volume", "inspect", "berth-test-cb", "berth-test-ct"});
  same({"volume", "inspect", "-f", "{{.Name}} {{.Options}} {{.Labels.tier}} {{.Mountpoint}}", "berth-test-cd"});
  same({"volume", "inspect", "--format", "{{json .Labels}}", "berth-test-cb"});
  EXPECT_NE(same({"volume", "inspect", "berth-test-cb", "berth-test-nosuch"}).status, 0);
  // rm: in use, missing, forced
  ASSERT_EQ(docker({"create", "--name", "berth-test-cuser", "-v", "berth-test-cb:/a", "busybox", "true"}).status, 0);
  same({"volume", "ls", "-q", "-f", "dangling=false"});
  EXPECT_NE(same({"volume", "rm", "berth-test-cb"}).status, 0);
  EXPECT_NE(same({"volume", "rm", "berth-test-nosuch"}).status, 0);
  EXPECT_EQ(same({"volume", "rm", "-f", "berth-test-nosuch"}).status, 0);
  auto rm = berth({"volume", "rm", "berth-test-cd", "berth-test-ct"});
  EXPECT_EQ(rm.status, 0) << rm.err;
  EXPECT_EQ(rm.out, "berth-test-cd\nberth-test-ct\n");
  // prune: anonymous only by default, then --all with a label filter; docker's report format
  auto p1 = berth({"volume", "prune", "-f"});
  EXPECT_EQ(p1.status, 0) << p1.err;
  EXPECT_EQ(p1.out, "Deleted Volumes:\n" + std::string(trim(anon.out)) + "\n\nTotal reclaimed space: 0B\n");
  EXPECT_EQ(docker({"volume", "create", "--label", "tier=db", "berth-test-cp"}).status, 0);
  auto none = same({"volume", "prune", "-f", "--filter", "label=nosuch"});
  EXPECT_EQ(none.out, "Total reclaimed space: 0B\n");
  auto p2 = berth({"volume", "prune", "-a", "-f", "--filter", "label=tier=db"});
  EXPECT_EQ(p2.status, 0) << p2.err;
  EXPECT_EQ(p2.out, "Deleted Volumes:\nberth-test-cp\n\nTotal reclaimed space: 0B\n");  // cb is in use
  ASSERT_EQ(docker({"rm", "berth-test-cuser"}).status, 0);
  same({"volume", "ls"});
  // prune asks first, as docker
  auto ask = berth({"volume", "prune"}, "n\n");
  auto dask = docker({"volume", "prune"}, "n\n");
  EXPECT_EQ(ask.out, dask.out);
  EXPECT_EQ(berth({"volume", "rm", "berth-test-cb"}).out, "berth-test-cb\n");
}

TEST_F(DockerVolumes, InfoShowsStorageDriver) {
  auto i = docker({"info", "--format", "{{.Driver}} {{json .DriverStatus}}"});
  ASSERT_EQ(i.status, 0) << i.err;
  EXPECT_TRUE(i.out.rfind("overlay2 [[\"Backing Filesystem\"", 0) == 0 || i.out.rfind("vfs ", 0) == 0) << i.out;
}

TEST_F(DockerVolumes, StorageOptRefusedWhereTheFilesystemCannotEnforceIt) {
  std::string drv = out({"info", "--format", "{{.Driver}}"});
  auto r = docker({"create", "--name", "berth-test-so", "--storage-opt", "size=20M", "busybox", "true"});
  EXPECT_NE(r.status, 0);
  if (drv == "overlay2")  // the scratch data-root is not on xfs with pquota
    EXPECT_NE(r.err.find("--storage-opt is supported only for overlay over xfs with 'pquota' mount option"),
              std::string::npos) << r.err;
  else
    EXPECT_NE(r.err.find("--storage-opt size is not supported"), std::string::npos) << r.err;
  auto u = docker({"create", "--name", "berth-test-so", "--storage-opt", "bogus=1", "busybox", "true"});
  EXPECT_NE(u.status, 0);
  EXPECT_NE(u.err.find("Unknown option bogus"), std::string::npos) << u.err;
  EXPECT_EQ(out({"ps", "-aq", "-f", "name=berth-test-so"}), "");  // nothing left behind
}

// docker run --storage-opt size=20M on a data-root where the driver can enforce it: a loop-mounted
// xfs with pquota (overlay2, as dockerd) and a loop-mounted btrfs (qgroups).
struct QuotaCase {
  const char* fstype;
  const char* mount_opts;
  const char* driver;
};
class DockerStorageOpt : public ::testing::TestWithParam<QuotaCase> {};

TEST_P(DockerStorageOpt, SizeLimitIsEnforcedInsideTheContainer) {
  REQUIRE_ROOT();
  std::string docker_bin = which("docker");
  if (docker_bin.empty()) GTEST_SKIP() << "docker CLI not on PATH";
  if (test_runtime().empty()) GTEST_SKIP() << "no OCI runtime";
  REQUIRE_IMAGE("busybox");
  Scratch img(std::string("e2e-quota-") + GetParam().fstype);
  auto d = std::make_unique<Berthd>(std::string("e2e-quota-") + GetParam().driver);
  std::string why;
  auto fs = LoopFs::make(img.sub("fs.img"), d->data_root(), GetParam().fstype, GetParam().mount_opts, &why, "512M");
  if (!fs) GTEST_SKIP() << why;
  auto cleanup = defer([&] {  // the daemon stops before its data-root is unmounted
    d->teardown();
    fs.reset();
  });
  ASSERT_TRUE(d->start({"--storage-driver", GetParam().driver})) << d->log();
  auto docker = [&](std::vector<std::string> args) {
    args.insert(args.begin(), docker_bin);
    return run(args, {}, 120, {"DOCKER_HOST=" + d->host(), "DOCKER_CONFIG=" + img.path()});
  };
  ASSERT_EQ(docker({"load", "-i", images_dir() + "/busybox.tar"}).status, 0);
  auto big = docker({"run", "--name", "berth-test-q", "--network", "none", "--storage-opt", "size=20M", "busybox",
                     "dd", "if=/dev/zero", "of=/big", "bs=1M", "count=40"});
  EXPECT_NE(big.status, 0) << big.out << big.err;
  EXPECT_NE(big.err.find("Disk quota exceeded"), std::string::npos) << big.err;
  auto hc = docker({"inspect", "-f", "{{json .HostConfig.StorageOpt}}", "berth-test-q"});
  EXPECT_EQ(std::string(trim(hc.out)), R"({"size":"20M"})") << hc.err;
  auto small = docker({"run", "--rm", "--network", "none", "--storage-opt", "size=20M", "busybox", "dd",
                       "if=/dev/zero", "of=/small", "bs=1M", "count=8"});
  EXPECT_EQ(small.status, 0) << small.err;
  auto unlimited = docker({"run", "--rm", "--network", "none", "busybox", "dd", "if=/dev/zero", "of=/big", "bs=1M",
                      "count=40"});
  EXPECT_EQ(unlimited.status, 0) << unlimited.err;  // no limit without the option
  EXPECT_EQ(docker({"rm", "berth-test-q"}).status, 0);
}

INSTANTIATE_TEST_SUITE_P(Filesystems, DockerStorageOpt,
                         ::testing::Values(QuotaCase{"xfs", "pquota", "overlay2"}, QuotaCase{"btrfs", "", "btrfs"}),
                         [](const auto& i) { return std::string(i.param.driver); });

// berthd refuses a data-root created by another storage driver, with a clear message.
TEST(StorageDriverSelection, RefusesDataRootOfAnotherDriver) {
  REQUIRE_ROOT();
  Berthd d("e2e-driver");
  ASSERT_TRUE(d.start({"--storage-driver", "vfs"})) << d.log();
  auto c = d.client();
  auto r = c.request("GET", "/info");
  ASSERT_TRUE(r && r->status == 200);
  auto info = json::parse(r->body);
  EXPECT_EQ(info["Driver"], "vfs");
  EXPECT_EQ(info["DriverStatus"], json::array());
  d.term();
  EXPECT_FALSE(d.start({"--storage-driver", "overlay2"}));
  EXPECT_NE(d.log().find("was created by storage driver \"vfs\""), std::string::npos) << d.log();
  ASSERT_TRUE(d.start()) << d.log();  // no choice: keeps the driver that created it
  r = c.request("GET", "/info");
  ASSERT_TRUE(r && r->status == 200);
  EXPECT_EQ(json::parse(r->body)["Driver"], "vfs");
}

}  // namespace
}  // namespace berth::test
