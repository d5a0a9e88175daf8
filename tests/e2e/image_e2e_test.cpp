// SPDX-License-Identifier: Apache-2.0
// Images and container filesystems through the real docker CLI and through `berth`, against a
// private berthd and a berth-registry on 127.0.0.1:<free port> (optionally with htpasswd auth):
// pull, push, images, rmi, tag, save, load, import, history, commit, cp (both ways, files, dirs,
// symlinks), diff, export, login, image prune, system df. The two clients' results are compared.
#include <crypt.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <functional>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "e2e/docker_e2e.hpp"

namespace berth::test {
namespace {

using json = nlohmann::json;

// berth-registry on 127.0.0.1:0; the port comes from its "listening on" line.
class RegistryProc {
 public:
  RegistryProc(const std::string& root, const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {bin("berth-registry"), "serve", "--addr", "127.0.0.1:0", "--root", root};
    argv.insert(argv.end(), extra.begin(), extra.end());
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(p[1], 2);
      std::vector<char*> av;
      for (auto& a : argv) av.push_back(a.data());
      av.push_back(nullptr);
      ::execv(av[0], av.data());
      ::_exit(127);
    }
    ::close(p[1]);
    std::string log;
    for (int i = 0; i < 100 && port_ == 0; ++i) {
      pollfd pf{p[0], POLLIN, 0};
      if (::poll(&pf, 1, 100) <= 0) continue;
      char buf[4096];
      ssize_t n = ::read(p[0], buf, sizeof buf);
      if (n <= 0) break;
      log.append(buf, static_cast<std::size_t>(n));
      auto pos = log.find("listening on 127.0.0.1:");
      if (pos != std::string::npos) port_ = std::atoi(log.c_str() + pos + 23);
    }
    // Keep draining its stderr so the access log never blocks it.
    drain_ = ::fork();
    if (drain_ == 0) {
      char buf[65536];
      while (::read(p[0], buf, sizeof buf) > 0) {
      }
      ::_exit(0);
    }
    ::close(p[0]);
  }
  ~RegistryProc() {
    for (pid_t p : {pid_, drain_})
      if (p > 0) {
        ::kill(p, SIGKILL);
        ::waitpid(p, nullptr, 0);
      }
  }
  int port() const { return port_; }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  pid_t pid_ = -1, drain_ = -1;
  int port_ = 0;
};

std::string htpasswd_line(const std::string& user, const std::string& pw) {
  char salt[64];
  crypt_gensalt_rn("$2y$", 5, nullptr, 0, salt, sizeof salt);
  crypt_data d{};
  return user + ":" + crypt_r(pw.c_str(), salt, &d) + "\n";
}

class ImageE2E : public DockerE2E {
 protected:
  void SetUp() override {
    start_berthd("e2e-img");
    if (IsSkipped() || HasFatalFailure()) return;
    scratch_ = std::make_unique<Scratch>("e2e-img-work");
    ::mkdir(scratch_->sub("bcfg").c_str(), 0700);
  }
  RunResult berth(std::vector<std::string> args, const std::string& in = {}, int timeout = 120) {
    args.insert(args.begin(), bin("berth"));
    return run(args, in, timeout,
               {"BERTH_HOST=" + d_->host(), "DOCKER_HOST=", "DOCKER_CONFIG=" + scratch_->sub("bcfg"),
                "BERTH_CONFIG=" + scratch_->sub("bcfg"), "HOME=" + scratch_->sub("bcfg")});
  }
  RunResult sh(const std::string& cmd, int timeout = 120) {
    return run({"sh", "-c", cmd}, {}, timeout,
               {"DOCKER_HOST=" + d_->host(), "DOCKER_CONFIG=" + cfgdir_->path(), "BERTH_HOST=" + d_->host()});
  }
  std::unique_ptr<RegistryProc> registry(bool auth) {
    std::vector<std::string> extra = {"--no-accesslog"};
    if (auth) {
      EXPECT_TRUE(write_file(scratch_->sub("htpasswd"), htpasswd_line("alice", "s3cret")));
      EXPECT_TRUE(write_file(scratch_->sub("reg.yml"),
                             "auth:\n  htpasswd:\n    realm: berth-test\n    path: " + scratch_->sub("htpasswd") + "\n"));
      extra.insert(extra.end(), {"--config", scratch_->sub("reg.yml")});
    }
    auto r = std::make_unique<RegistryProc>(scratch_->sub(auth ? "reg-auth" : "reg"), extra);
    EXPECT_NE(r->port(), 0) << "berth-registry did not start";
    return r;
  }
  std::string id_of(const std::string& image) {
    return std::string(trim(docker({"image", "inspect", "--format", "{{.Id}}", image}).out));
  }

  std::unique_ptr<Scratch> scratch_;
};

TEST_F(ImageE2E, PushRmiPullRunThroughDockerAndBerth) {
  if (!path_exists(bin("berth-registry"))) GTEST_SKIP() << "berth-registry not built";
  auto reg = registry(false);
  std::string ref = reg->host() + "/berth-test/bb:v1";
  std::string busybox_id = id_of("busybox");
  ASSERT_EQ(docker({"tag", "busybox", ref}).status, 0);
  auto push = docker({"push", ref});
  ASSERT_EQ(push.status, 0) << push.out << push.err;
  EXPECT_NE(push.out.find("The push refers to repository [" + reg->host() + "/berth-test/bb]"), std::string::npos) << push.out;
  auto dpos = push.out.find("v1: digest: sha256:");
  ASSERT_NE(dpos, std::string::npos) << push.out;
  std::string digest = push.out.substr(dpos + 12, 71);
  // A second push finds every layer there.
  auto again = docker({"push", ref});
  EXPECT_EQ(again.status, 0);
  EXPECT_NE(again.out.find("Layer already exists"), std::string::npos) << again.out;

  auto rmi = docker({"rmi", ref});
  ASSERT_EQ(rmi.status, 0) << rmi.err;
  EXPECT_NE(rmi.out.find("Untagged: " + ref), std::string::npos) << rmi.out;
  ASSERT_EQ(docker({"rmi", "busybox"}).status, 0);
  EXPECT_EQ(trim(docker({"images", "-q"}).out), "");

  auto pull = docker({"pull", ref});
  ASSERT_EQ(pull.status, 0) << pull.out << pull.err;
  EXPECT_NE(pull.out.find("Digest: " + digest), std::string::npos) << pull.out;
  EXPECT_NE(pull.out.find("Status: Downloaded newer image for " + ref), std::string::npos) << pull.out;
  EXPECT_EQ(id_of(ref), busybox_id);  // same config, same id
  auto digests = docker({"image", "inspect", "--format", "{{json .RepoDigests}}", ref});
  EXPECT_NE(digests.out.find(reg->host() + "/berth-test/bb@" + digest), std::string::npos) << digests.out;
  auto up = docker({"pull", ref});
  EXPECT_NE(up.out.find("Status: Image is up to date for " + ref), std::string::npos) << up.out;
  auto r = docker({"run", "--rm", "--network", "none", ref, "echo", "pulled-ok"});
  EXPECT_EQ(r.out, "pulled-ok\n") << r.err;

  auto missing = docker({"pull", reg->host() + "/berth-test/nosuch:1"});
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("Error response from daemon"), std::string::npos) << missing.err;
  auto nolocal = docker({"push", reg->host() + "/berth-test/nosuch:1"});
  EXPECT_EQ(nolocal.status, 1);
  EXPECT_NE(nolocal.err.find("An image does not exist locally with the tag"), std::string::npos) << nolocal.err;

  // The same round trip through berth: push, rmi, run (pulls).
  std::string ref2 = reg->host() + "/berth-test/bb2";
  ASSERT_EQ(berth({"tag", ref, ref2}).status, 0);
  auto bpush = berth({"push", ref2});
  ASSERT_EQ(bpush.status, 0) << bpush.out << bpush.err;
  EXPECT_NE(bpush.out.find("latest: digest: " + digest), std::string::npos) << bpush.out;
  ASSERT_EQ(berth({"rmi", ref2}).status, 0);
  auto brun = berth({"run", "--rm", "--network", "none", ref2, "echo", "berth-pulled"});
  EXPECT_EQ(brun.status, 0) << brun.err;
  EXPECT_EQ(brun.out, "berth-pulled\n") << brun.err;
  EXPECT_NE(brun.err.find("Unable to find image '" + ref2 + ":latest' locally"), std::string::npos) << brun.err;
  EXPECT_EQ(berth({"rmi", ref2}).status, 0);
  auto bpull = berth({"pull", "-q", ref2});
  EXPECT_EQ(bpull.status, 0) << bpull.err;
  auto bmiss = berth({"pull", reg->host() + "/berth-test/nosuch:1"});
  EXPECT_EQ(bmiss.status, missing.status) << bmiss.err;

  // images / inspect agree between the two clients.
  // docker's CLI prints the tags of one image in Go map order (random), so compare as sets.
  auto fmt = std::vector<std::string>{"images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"};
  auto sorted_lines = [](const std::string& text) {
    std::vector<std::string> lines;
    size_t start = 0;
    while (start < text.size()) {
      size_t nl = text.find('\n', start);
      if (nl == std::string::npos) nl = text.size();
      lines.push_back(text.substr(start, nl - start));
      start = nl + 1;
    }
    std::sort(lines.begin(), lines.end());
    return lines;
  };
  EXPECT_EQ(sorted_lines(berth(fmt).out), sorted_lines(docker(fmt).out));
  auto di = docker({"image", "inspect", ref});
  auto bi = berth({"image", "inspect", ref});
  ASSERT_EQ(di.status, 0);
  ASSERT_EQ(bi.status, 0) << bi.err;
  EXPECT_EQ(json::parse(di.out), json::parse(bi.out));
  auto search = docker({"search", reg->host() + "/berth-test"});
  EXPECT_EQ(search.status, 0) << search.err;
  EXPECT_NE(search.out.find(reg->host() + "/berth-test/bb"), std::string::npos) << search.out;
  auto hub = docker({"search", "busybox"});
  EXPECT_NE(hub.status, 0);
  EXPECT_NE(hub.err.find("not supported"), std::string::npos) << hub.err;
}

TEST_F(ImageE2E, LoginAgainstHtpasswdRegistry) {
  if (!path_exists(bin("berth-registry"))) GTEST_SKIP() << "berth-registry not built";
  auto reg = registry(true);
  std::string ref = reg->host() + "/berth-test/private:1";
  ASSERT_EQ(docker({"tag", "busybox", ref}).status, 0);
  auto anon = docker({"push", ref});
  EXPECT_EQ(anon.status, 1) << anon.out;
  EXPECT_NE(anon.err.find("unauthorized: authentication required"), std::string::npos) << anon.err;
  auto bad = docker({"login", "-u", "alice", "--password-stdin", reg->host()}, "wrong\n");
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("401"), std::string::npos) << bad.err;
  auto good = docker({"login", "-u", "alice", "--password-stdin", reg->host()}, "s3cret\n");
  ASSERT_EQ(good.status, 0) << good.err;
  EXPECT_NE(good.out.find("Login Succeeded"), std::string::npos) << good.out;
  auto push = docker({"push", ref});
  ASSERT_EQ(push.status, 0) << push.out << push.err;
  ASSERT_EQ(docker({"rmi", ref}).status, 0);
  auto pull = docker({"pull", ref});
  EXPECT_EQ(pull.status, 0) << pull.err;
  EXPECT_EQ(docker({"logout", reg->host()}).status, 0);

  // berth login stores its own credentials and uses them for push.
  auto blogin_bad = berth({"login", "-u", "alice", "--password-stdin", reg->host()}, "nope\n");
  EXPECT_EQ(blogin_bad.status, bad.status) << blogin_bad.err;
  auto blogin = berth({"login", "-u", "alice", "--password-stdin", reg->host()}, "s3cret\n");
  ASSERT_EQ(blogin.status, 0) << blogin.err;
  EXPECT_NE(blogin.out.find("Login Succeeded"), std::string::npos) << blogin.out;
  std::string ref2 = reg->host() + "/berth-test/private:2";
  ASSERT_EQ(berth({"tag", "busybox", ref2}).status, 0);
  auto bpush = berth({"push", ref2});
  EXPECT_EQ(bpush.status, 0) << bpush.out << bpush.err;
}

TEST_F(ImageE2E, SaveLoadImportHistoryTag) {
  std::string tar = scratch_->sub("bb.tar");
  ASSERT_EQ(docker({"save", "-o", tar, "busybox"}).status, 0);
  std::string id = id_of("busybox");
  ASSERT_EQ(docker({"rmi", "busybox"}).status, 0);
  auto l = docker({"load", "-i", tar});
  ASSERT_EQ(l.status, 0) << l.err;
  EXPECT_NE(l.out.find("Loaded image: busybox:latest"), std::string::npos) << l.out;
  EXPECT_EQ(id_of("busybox"), id);
  // berth save | docker load (stdout/stdin), then berth load of docker's file
  auto piped = sh(bin("berth") + " save busybox | " + docker_ + " load");
  EXPECT_EQ(piped.status, 0) << piped.err;
  auto bl = berth({"load", "-i", tar});
  EXPECT_EQ(bl.status, 0) << bl.err;
  EXPECT_NE(bl.out.find("Loaded image: busybox:latest"), std::string::npos) << bl.out;
  auto bad = docker({"load"}, "not a tar");
  EXPECT_EQ(bad.status, 1);

  // export a container, import it with changes
  ASSERT_EQ(docker({"create", "--name", "berth-test-exp", "busybox", "true"}).status, 0);
  std::string exp = scratch_->sub("exp.tar");
  ASSERT_EQ(docker({"export", "-o", exp, "berth-test-exp"}).status, 0);
  auto listing = run({"tar", "-tf", exp}, {}, 30);
  EXPECT_NE(listing.out.find("bin/busybox"), std::string::npos);
  auto imp = sh(docker_ + " import -m 'from export' -c 'CMD [\"echo\",\"imported\"]' " + exp + " berth-test/imp:1");
  ASSERT_EQ(imp.status, 0) << imp.err;
  EXPECT_EQ(trim(imp.out).substr(0, 7), "sha256:");
  auto r = docker({"run", "--rm", "--network", "none", "berth-test/imp:1"});
  EXPECT_EQ(r.out, "imported\n") << r.err;
  auto h = docker({"history", "--format", "{{.Comment}}", "berth-test/imp:1"});
  EXPECT_NE(h.out.find("from export"), std::string::npos) << h.out;
  auto stdin_imp = sh("cat " + exp + " | " + bin("berth") + " import - berth-test/imp:2");
  EXPECT_EQ(stdin_imp.status, 0) << stdin_imp.err;
  auto hf = std::vector<std::string>{"history", "--no-trunc", "--format", "{{.ID}} {{.CreatedBy}} {{.Size}}", "busybox"};
  EXPECT_EQ(berth(hf).out, docker(hf).out);

  // tag errors and untag
  EXPECT_EQ(docker({"tag", "busybox", "berth-test/UPPER"}).status, 1);
  EXPECT_EQ(docker({"tag", "berth-test/nosuch", "berth-test/x"}).status, 1);
  ASSERT_EQ(docker({"tag", "busybox", "berth-test/t:a"}).status, 0);
  EXPECT_EQ(id_of("berth-test/t:a"), id);
  auto untag = docker({"rmi", "berth-test/t:a"});
  EXPECT_EQ(untag.out, "Untagged: berth-test/t:a\n");
  EXPECT_EQ(id_of("busybox"), id);
}

TEST_F(ImageE2E, CpBothWaysDiffCommitExport) {
  ASSERT_EQ(docker({"create", "--name", "berth-test-cp", "--network", "none", "busybox", "sh", "-c",
                    "mkdir -p /data && echo made > /data/made && ln -s /etc /data/etclink && sleep 300"})
                .status,
            0);
  // into a stopped container: a file, a directory with a symlink
  std::string src = scratch_->sub("src");
  ASSERT_TRUE(mkdir_all(src + "/dir/sub"));
  ASSERT_TRUE(write_file(src + "/file.txt", "hello file\n"));
  ASSERT_TRUE(write_file(src + "/dir/sub/inner", "inner\n"));
  ASSERT_EQ(::symlink("sub/inner", (src + "/dir/link").c_str()), 0);
  auto c1 = docker({"cp", src + "/file.txt", "berth-test-cp:/tmp/"});
  ASSERT_EQ(c1.status, 0) << c1.err;
  auto c2 = docker({"cp", src + "/dir", "berth-test-cp:/tmp/dir"});
  ASSERT_EQ(c2.status, 0) << c2.err;
  // out of the stopped container
  std::string out = scratch_->sub("out");
  ASSERT_TRUE(mkdir_all(out));
  ASSERT_EQ(docker({"cp", "berth-test-cp:/tmp/file.txt", out + "/f"}).status, 0);
  EXPECT_EQ(read_file(out + "/f").value_or(""), "hello file\n");
  ASSERT_EQ(docker({"cp", "berth-test-cp:/tmp/dir", out + "/d"}).status, 0);
  EXPECT_EQ(read_file(out + "/d/sub/inner").value_or(""), "inner\n");
  char lbuf[64] = {};
  EXPECT_GT(::readlink((out + "/d/link").c_str(), lbuf, sizeof lbuf - 1), 0);
  EXPECT_STREQ(lbuf, "sub/inner");

  ASSERT_EQ(docker({"start", "berth-test-cp"}).status, 0);
  for (int i = 0; i < 50; ++i) {
    if (docker({"exec", "berth-test-cp", "test", "-L", "/data/etclink"}).status == 0) break;
    usleep(100000);
  }
  // running container: a symlink to /etc resolves inside the container, -L follows it
  ASSERT_EQ(docker({"cp", "berth-test-cp:/data/etclink/passwd", out + "/passwd"}).status, 0);
  auto inside = docker({"exec", "berth-test-cp", "cat", "/etc/passwd"});
  EXPECT_EQ(read_file(out + "/passwd").value_or(""), inside.out);
  ASSERT_EQ(docker({"cp", "berth-test-cp:/data/etclink", out + "/asis"}).status, 0);
  struct stat st {};
  ASSERT_EQ(::lstat((out + "/asis").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  ASSERT_EQ(docker({"cp", "-L", "berth-test-cp:/data/etclink", out + "/followed"}).status, 0);
  ASSERT_EQ(::lstat((out + "/followed").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  // "../" cannot leave the container
  ASSERT_EQ(docker({"cp", "berth-test-cp:/../../../etc/passwd", out + "/esc"}).status, 0);
  EXPECT_EQ(read_file(out + "/esc").value_or(""), inside.out);
  auto missing = docker({"cp", "berth-test-cp:/nosuch", out + "/x"});
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("Could not find the file /nosuch in container berth-test-cp"), std::string::npos) << missing.err;
  auto notdir = docker({"cp", src + "/file.txt", "berth-test-cp:/data/made/x"});
  EXPECT_EQ(notdir.status, 1);
  // into the running container, seen by a process in it
  ASSERT_EQ(docker({"cp", src + "/file.txt", "berth-test-cp:/data/copied"}).status, 0);
  EXPECT_EQ(docker({"exec", "berth-test-cp", "cat", "/data/copied"}).out, "hello file\n");
  // stdin/stdout tar streams
  auto tarout = sh(docker_ + " cp berth-test-cp:/data/made - | tar -xOf -");
  EXPECT_EQ(tarout.out, "made\n");

  // the same through berth
  ASSERT_EQ(berth({"cp", "berth-test-cp:/data/made", out + "/bmade"}).status, 0);
  EXPECT_EQ(read_file(out + "/bmade").value_or(""), "made\n");
  ASSERT_EQ(berth({"cp", src + "/dir", "berth-test-cp:/data/bdir"}).status, 0);
  EXPECT_EQ(docker({"exec", "berth-test-cp", "cat", "/data/bdir/sub/inner"}).out, "inner\n");
  auto bmissing = berth({"cp", "berth-test-cp:/nosuch", out + "/x"});
  EXPECT_EQ(bmissing.status, missing.status);

  // diff: same output from both clients, and the expected entries
  auto diff = docker({"diff", "berth-test-cp"});
  ASSERT_EQ(diff.status, 0) << diff.err;
  EXPECT_NE(diff.out.find("A /data/made"), std::string::npos) << diff.out;
  EXPECT_NE(diff.out.find("A /tmp/file.txt"), std::string::npos) << diff.out;
  EXPECT_EQ(diff.out.find("/etc/hosts"), std::string::npos) << diff.out;
  EXPECT_EQ(berth({"diff", "berth-test-cp"}).out, diff.out);

  // commit (running: paused meanwhile) with changes, and run the result
  auto cm = docker({"commit", "-c", "ENV BERTH_COMMIT=yes", "-m", "a commit", "-a", "tester", "berth-test-cp",
                    "berth-test/committed:1"});
  ASSERT_EQ(cm.status, 0) << cm.err;
  EXPECT_EQ(trim(cm.out).substr(0, 7), "sha256:");
  auto r = docker({"run", "--rm", "--network", "none", "berth-test/committed:1", "sh", "-c",
                   "cat /data/made /tmp/dir/sub/inner; echo $BERTH_COMMIT"});
  EXPECT_EQ(r.out, "made\ninner\nyes\n") << r.err;
  auto ins = docker({"image", "inspect", "--format", "{{.Author}}|{{.Comment}}|{{.Parent}}", "berth-test/committed:1"});
  EXPECT_EQ(trim(ins.out), "tester|a commit|" + id_of("busybox"));
  auto bcm = berth({"commit", "berth-test-cp", "berth-test/committed:2"});
  EXPECT_EQ(bcm.status, 0) << bcm.err;

  // export: docker's and berth's tars hold the same names
  auto dexp = sh(docker_ + " export berth-test-cp | tar -t | sort");
  auto bexp = sh(bin("berth") + " export berth-test-cp | tar -t | sort");
  EXPECT_EQ(dexp.status, 0);
  EXPECT_NE(dexp.out.find("data/made"), std::string::npos);
  EXPECT_EQ(dexp.out, bexp.out);
  EXPECT_EQ(docker({"rm", "-f", "berth-test-cp"}).status, 0);
}

// docker cp reads and writes through the container's volumes and bind mounts (dockerd mounts
// them into its view of the container filesystem), stopped or running; read-only ones refuse.
TEST_F(ImageE2E, CpThroughVolumesAndBindMounts) {
  std::string host = scratch_->sub("bind"), ro = scratch_->sub("robind"), out = scratch_->sub("out-v");
  ASSERT_TRUE(mkdir_all(host));
  ASSERT_TRUE(mkdir_all(ro));
  ASSERT_TRUE(mkdir_all(out));
  ASSERT_TRUE(write_file(host + "/from-host", "host side\n"));
  ASSERT_TRUE(write_file(ro + "/keep", "read only\n"));
  std::string src = scratch_->sub("src-v");
  ASSERT_TRUE(mkdir_all(src + "/dir/sub"));
  ASSERT_TRUE(write_file(src + "/file.txt", "hello file\n"));
  ASSERT_TRUE(write_file(src + "/dir/sub/inner", "inner\n"));
  struct Cleanup {
    std::function<void()> f;
    ~Cleanup() { f(); }
  } cleanup{[this] {
    docker({"rm", "-f", "berth-test-cpv"});
    docker({"volume", "rm", "-f", "berth-test-cpvol"});
  }};
  auto cr = docker({"create", "--name", "berth-test-cpv", "--network", "none", "-v", "berth-test-cpvol:/vol", "-v",
                    host + ":/bind", "-v", ro + ":/ro:ro", "busybox", "sh", "-c",
                    "echo in-volume > /vol/v; sleep 300"});
  ASSERT_EQ(cr.status, 0) << cr.err;

  // stopped: into a bind mount lands on the host, into a volume lands in the volume
  auto c1 = docker({"cp", src + "/file.txt", "berth-test-cpv:/bind/"});
  ASSERT_EQ(c1.status, 0) << c1.err;
  EXPECT_EQ(read_file(host + "/file.txt").value_or(""), "hello file\n");
  auto b1 = berth({"cp", src + "/file.txt", "berth-test-cpv:/bind/bfile"});
  ASSERT_EQ(b1.status, 0) << b1.err;
  EXPECT_EQ(read_file(host + "/bfile").value_or(""), "hello file\n");
  ASSERT_EQ(docker({"cp", src + "/file.txt", "berth-test-cpv:/vol/dfile"}).status, 0);
  ASSERT_EQ(berth({"cp", src + "/dir", "berth-test-cpv:/vol/bdir"}).status, 0);
  ASSERT_EQ(docker({"cp", "berth-test-cpv:/bind/from-host", out + "/d-fh"}).status, 0);
  ASSERT_EQ(berth({"cp", "berth-test-cpv:/bind/from-host", out + "/b-fh"}).status, 0);
  EXPECT_EQ(read_file(out + "/d-fh").value_or(""), "host side\n");
  EXPECT_EQ(read_file(out + "/b-fh").value_or(""), "host side\n");
  // a read-only mount: readable, not writable, same answer from both clients
  ASSERT_EQ(docker({"cp", "berth-test-cpv:/ro/keep", out + "/keep"}).status, 0);
  EXPECT_EQ(read_file(out + "/keep").value_or(""), "read only\n");
  auto dro = docker({"cp", src + "/file.txt", "berth-test-cpv:/ro/"});
  EXPECT_EQ(dro.status, 1);
  EXPECT_NE(dro.err.find("mounted volume is marked read-only"), std::string::npos) << dro.err;
  auto bro = berth({"cp", src + "/file.txt", "berth-test-cpv:/ro/"});
  EXPECT_EQ(bro.status, dro.status);
  EXPECT_EQ(bro.err, dro.err);
  EXPECT_FALSE(path_exists(ro + "/file.txt"));

  // running: the process sees what was copied while stopped, and copies see what it wrote
  ASSERT_EQ(docker({"start", "berth-test-cpv"}).status, 0);
  for (int i = 0; i < 50; ++i) {
    if (docker({"exec", "berth-test-cpv", "test", "-s", "/vol/v"}).status == 0) break;
    usleep(100000);
  }
  EXPECT_EQ(docker({"exec", "berth-test-cpv", "cat", "/vol/dfile", "/vol/bdir/sub/inner"}).out, "hello file\ninner\n");
  ASSERT_EQ(docker({"cp", "berth-test-cpv:/vol/v", out + "/d-v"}).status, 0);
  ASSERT_EQ(berth({"cp", "berth-test-cpv:/vol/v", out + "/b-v"}).status, 0);
  EXPECT_EQ(read_file(out + "/d-v").value_or(""), "in-volume\n");
  EXPECT_EQ(read_file(out + "/b-v").value_or(""), "in-volume\n");
  ASSERT_EQ(docker({"cp", src + "/dir", "berth-test-cpv:/bind/d2"}).status, 0);
  EXPECT_EQ(read_file(host + "/d2/sub/inner").value_or(""), "inner\n");
  ASSERT_EQ(berth({"cp", src + "/file.txt", "berth-test-cpv:/vol/running"}).status, 0);
  EXPECT_EQ(docker({"exec", "berth-test-cpv", "cat", "/vol/running"}).out, "hello file\n");
  auto dro2 = docker({"cp", src + "/file.txt", "berth-test-cpv:/ro/"});
  EXPECT_EQ(dro2.status, 1);
  EXPECT_EQ(berth({"cp", src + "/file.txt", "berth-test-cpv:/ro/"}).status, dro2.status);
  // a directory holding a mount point is copied out with the mount's content
  auto dtar = sh(docker_ + " cp berth-test-cpv:/vol - | tar -t | sort");
  auto btar = sh(bin("berth") + " cp berth-test-cpv:/vol - | tar -t | sort");
  EXPECT_NE(dtar.out.find("vol/v"), std::string::npos) << dtar.out;
  EXPECT_EQ(dtar.out, btar.out);
  // nothing leaked into the container's own layer
  auto diff = docker({"diff", "berth-test-cpv"});
  EXPECT_EQ(diff.out.find("/vol/"), std::string::npos) << diff.out;
  EXPECT_EQ(diff.out.find("/bind/"), std::string::npos) << diff.out;
}

TEST_F(ImageE2E, RmiConflictPruneSystemDf) {
  ASSERT_EQ(docker({"tag", "busybox", "berth-test/alias:1"}).status, 0);
  ASSERT_EQ(docker({"create", "--name", "berth-test-user", "busybox", "true"}).status, 0);
  auto conflict = docker({"rmi", id_of("busybox")});
  EXPECT_EQ(conflict.status, 1);
  EXPECT_NE(conflict.err.find("conflict"), std::string::npos) << conflict.err;
  auto bconflict = berth({"rmi", id_of("busybox")});
  EXPECT_EQ(bconflict.status, conflict.status);
  auto nosuch = docker({"rmi", "berth-test/nosuch"});
  EXPECT_EQ(nosuch.status, 1);
  EXPECT_NE(nosuch.err.find("No such image"), std::string::npos) << nosuch.err;

  // a tagged image and an untagged (dangling) one from commits, then prune
  ASSERT_EQ(docker({"commit", "berth-test-user", "berth-test/keep:1"}).status, 0);
  ASSERT_EQ(docker({"commit", "-c", "ENV A=1", "berth-test-user"}).status, 0);
  auto dangling = docker({"images", "-q", "--filter", "dangling=true"});
  EXPECT_EQ(split(std::string(trim(dangling.out)), '\n').size(), 1u) << dangling.out;
  auto labels = docker({"images", "-q", "--filter", "label=nosuch"});
  EXPECT_EQ(trim(labels.out), "");
  // only the matching tags of a matching image are listed
  auto refs = docker({"images", "--format", "{{.Repository}}", "--filter", "reference=berth-test/*"});
  {
    auto r = split(std::string(trim(refs.out)), '\n');
    std::sort(r.begin(), r.end());
    EXPECT_EQ(r, (std::vector<std::string>{"berth-test/alias", "berth-test/keep"})) << refs.out;
  }
  auto brefs = berth({"images", "--format", "{{.Repository}}", "--filter", "reference=berth-test/*"});
  EXPECT_EQ(brefs.out, refs.out);
  EXPECT_EQ(docker({"images", "--filter", "bogus=1"}).status, 1);
  // list and prune read dangling/until alike: a bad value is the daemon's 400
  auto bad_dangling = docker({"images", "--filter", "dangling=maybe"});
  EXPECT_EQ(bad_dangling.status, 1);
  EXPECT_NE(bad_dangling.err.find("invalid filter 'dangling=maybe'"), std::string::npos) << bad_dangling.err;
  auto bad_until = docker({"image", "prune", "-f", "--filter", "until=soon"});
  EXPECT_EQ(bad_until.status, 1);
  EXPECT_NE(bad_until.err.find("invalid filter 'until=soon'"), std::string::npos) << bad_until.err;
  auto df = docker({"system", "df"});
  ASSERT_EQ(df.status, 0) << df.err;
  EXPECT_NE(df.out.find("Images"), std::string::npos) << df.out;
  EXPECT_NE(df.out.find("Containers"), std::string::npos) << df.out;
  auto dfv = docker({"system", "df", "-v", "--format", "{{json .}}"});
  EXPECT_EQ(dfv.status, 0) << dfv.err;
  auto prune = docker({"image", "prune", "-f"});
  ASSERT_EQ(prune.status, 0) << prune.err;
  EXPECT_NE(prune.out.find("deleted: sha256:"), std::string::npos) << prune.out;
  EXPECT_EQ(trim(docker({"images", "-q", "--filter", "dangling=true"}).out), "");
  // prune -a keeps images in use (busybox, by the container) and removes the rest
  auto pa = docker({"image", "prune", "-a", "-f"});
  ASSERT_EQ(pa.status, 0) << pa.err;
  EXPECT_NE(pa.out.find("untagged: berth-test/keep:1"), std::string::npos) << pa.out;
  {  // order follows creation time, which ties for images made in the same second
    auto repos = split(std::string(trim(docker({"images", "--format", "{{.Repository}}"}).out)), '\n');
    std::sort(repos.begin(), repos.end());
    EXPECT_EQ(repos, (std::vector<std::string>{"berth-test/alias", "busybox"}));
  }
  EXPECT_EQ(docker({"rm", "berth-test-user"}).status, 0);
  auto bp = berth({"image", "prune", "-a", "-f"});
  EXPECT_EQ(bp.status, 0) << bp.err;
  EXPECT_EQ(trim(docker({"images", "-q"}).out), "");
}

}  // namespace
}  // namespace berth::test
