// SPDX-License-Identifier: Apache-2.0
// Starts a private berthd (own socket, data root, exec root under /tmp/berth-test-…) for
// integration and e2e tests, and tears everything down (containers, shims, mounts, networks) at
// the end. Networking: by default the daemon runs with `--bridge none` (no default bridge) and its
// own nftables table `berth-test-<hex>` and address pool 10.2xx.0.0/16; enable_bridge() gives it a
// default bridge `bt<hex>` with a unique 10.2xx.yyy.1/24, so concurrent test daemons never share
// an interface, a subnet or a table.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/file.hpp"
#include "common/strings.hpp"
#include "http/http.hpp"
#include "support/test_support.hpp"

namespace berth::test {

// The OCI runtime the tests run containers with: $BERTH_TEST_RUNTIME (e.g. a runc path, to tell
// "our daemon is wrong" from "our runtime is wrong"), else our own build/bin/berth-runtime;
// "" if none.
inline std::string test_runtime() {
  if (const char* e = std::getenv("BERTH_TEST_RUNTIME"); e && *e) return e;
  std::string b = bin("berth-runtime");
  if (::access(b.c_str(), X_OK) == 0) return b;
  return "";
}

class Berthd {
 public:
  explicit Berthd(const std::string& what) : scratch_(what) {
    sock_ = scratch_.sub("s.sock");
    data_ = scratch_.sub("data");
    exec_ = scratch_.sub("exec");
    std::random_device rd;
    unsigned r = rd();
    char hex[16];
    std::snprintf(hex, sizeof hex, "%08x", r);
    tag_ = hex;
    net_a_ = 200 + static_cast<int>((r >> 8) % 50);
    net_b_ = static_cast<int>(r % 256);
  }
  ~Berthd() { teardown(); }

  const std::string& sock() const { return sock_; }
  std::string host() const { return "unix://" + sock_; }
  const std::string& data_root() const { return data_; }
  const std::string& exec_root() const { return exec_; }
  pid_t pid() const { return pid_; }
  // Call before start(): the daemon gets a default bridge network on bt<hex>.
  void enable_bridge() { bridge_ = true; }
  std::string bridge_name() const { return "bt" + tag_; }
  std::string bridge_ip() const { return "10." + std::to_string(net_a_) + "." + std::to_string(net_b_) + ".1"; }
  std::string nft_table() const { return "berth-test-" + tag_; }
  http::Client client() const { return http::Client(http::ClientOptions{.unix_path = sock_, .timeout_ms = 60000}); }

  // Starts berthd and waits until /_ping answers.
  bool start(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {bin("berthd"), "-H", host(), "--data-root", data_, "--exec-root", exec_,
                                     "--pidfile", scratch_.sub("berthd.pid"), "--config-file", scratch_.sub("daemon.json"),
                                     "-G", ""};
    std::string rt = test_runtime();
    if (!rt.empty()) argv.insert(argv.end(), {"--add-runtime", "test=" + rt, "--default-runtime", "test"});
    argv.insert(argv.end(), {"--nft-table", nft_table(), "--default-address-pool",
                             "base=10." + std::to_string(net_a_) + ".0.0/16,size=24"});
    if (bridge_) argv.insert(argv.end(), {"--bridge", bridge_name(), "--bip", bridge_ip() + "/24"});
    else argv.insert(argv.end(), {"--bridge", "none"});
    argv.insert(argv.end(), extra.begin(), extra.end());
    if (!path_exists(scratch_.sub("daemon.json"))) (void)write_file(scratch_.sub("daemon.json"), "{}");
    pid_ = ::fork();
    if (pid_ == 0) {
      int fd = ::open(scratch_.sub("berthd.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::vector<char*> a;
      for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
      a.push_back(nullptr);
      ::execv(a[0], a.data());
      ::_exit(127);
    }
    for (int i = 0; i < 200; ++i) {
      auto c = client();
      auto r = c.request("GET", "/_ping");
      if (r && r->status == 200) return true;
      int st;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return false;
  }
  std::string log() const { return read_file(scratch_.sub("berthd.log")).value_or(""); }

  void kill9() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int st;
      ::waitpid(pid_, &st, 0);
      pid_ = -1;
    }
  }
  int term() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    int st = 0;
    for (int i = 0; i < 300; ++i) {
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill9();
    return -1;
  }

  // Loads build/test-images/busybox.tar through the API.
  bool load_busybox() {
    auto tar = read_file(images_dir() + "/busybox.tar", 256u << 20);
    if (!tar) return false;
    auto c = client();
    auto r = c.request("POST", "/images/load?quiet=1", *tar, {{"Content-Type", "application/x-tar"}});
    return r && r->status == 200;
  }

  void teardown() {
    if (pid_ > 0) {
      // remove every container through the API
      auto c = client();
      if (auto r = c.request("GET", "/containers/json?all=1"); r && r->status == 200) {
        try {
          for (auto& x : nlohmann::json::parse(r->body))
            (void)c.request("DELETE", "/containers/" + x["Id"].get<std::string>() + "?force=1");
        } catch (...) {
        }
      }
      (void)c.request("POST", "/networks/prune");
      term();
    }
    // this daemon's networking: netns mounts, bridges it created, its nftables table
    for (const char* dir : {"/netns/", "/netns-spare/"})  // containers' and the daemon's spares
      for (auto& id : list_dir(exec_ + dir)) {
        run({"umount", "-l", exec_ + dir + id}, {}, 10);
        ::unlink((exec_ + dir + id).c_str());
      }
    for (auto& f : list_dir(data_ + "/network/networks")) {
      try {
        auto j = nlohmann::json::parse(read_file(data_ + "/network/networks/" + f).value_or("{}"));
        std::string ifname = j.value("interface", "");
        if (j.value("driver", "") == "bridge" && !ifname.empty()) run({"ip", "link", "del", ifname}, {}, 10);
      } catch (...) {
      }
    }
    run({"nft", "delete", "table", "inet", nft_table()}, {}, 10);
    // leftover shims and their containers (daemon crashed, or killed on purpose)
    std::string rt = test_runtime();
    auto dir = exec_ + "/containers";
    for (auto& id : list_dir(dir)) {
      auto pid = read_file(dir + "/" + id + "/init.pid");
      if (pid) {
        int p = std::atoi(pid->c_str());
        if (p > 0) ::kill(p, SIGKILL);
      }
      auto shim = read_file(dir + "/" + id + "/shim.pid");
      if (shim) {
        int p = std::atoi(shim->c_str());
        for (int i = 0; i < 100 && p > 0 && ::kill(p, 0) == 0; ++i)
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        if (p > 0) ::kill(p, SIGKILL);
      }
      if (!rt.empty()) run({rt, "--root", exec_ + "/runtime/" + basename(rt), "delete", "--force", id}, {}, 10);
    }
  }

  static std::vector<std::string> list_dir(const std::string& d) {
    std::vector<std::string> out;
    auto r = run({"ls", "-1", d}, {}, 10);
    for (auto& l : split(r.out, '\n'))
      if (!l.empty()) out.push_back(l);
    return out;
  }

 private:
  Scratch scratch_;
  std::string sock_, data_, exec_;
  pid_t pid_ = -1;
  std::string tag_;
  int net_a_ = 200, net_b_ = 0;
  bool bridge_ = false;
};

}  // namespace berth::test
