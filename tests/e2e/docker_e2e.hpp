// SPDX-License-Identifier: Apache-2.0
// The fixture every e2e suite starts from: a private berthd, a docker CLI with its own config
// directory pointed at it, and busybox loaded through `docker load`.
#pragma once

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "integration/daemon/berthd_fixture.hpp"

namespace berth::test {

struct DockerE2EOptions {
  bool bridge = false;  // berthd with bridge networking (needs nft)
  std::vector<std::string> extra_args;  // more berthd flags (e.g. a second -H)
};

class DockerE2E : public ::testing::Test {
 protected:
  // Call from SetUp(), then `if (IsSkipped() || HasFatalFailure()) return;` before going on.
  void start_berthd(const std::string& name, DockerE2EOptions opt = {}) {
    REQUIRE_ROOT();
    docker_ = which("docker");
    if (docker_.empty()) GTEST_SKIP() << "docker CLI not on PATH";
    if (test_runtime().empty()) GTEST_SKIP() << "no OCI runtime";
    if (opt.bridge && which("nft").empty()) GTEST_SKIP() << "nft not installed";
    REQUIRE_IMAGE("busybox");
    d_ = std::make_unique<Berthd>(name);
    if (opt.bridge) d_->enable_bridge();
    ASSERT_TRUE(d_->start(opt.extra_args)) << d_->log();
    cfgdir_ = std::make_unique<Scratch>(name + "-dockercfg");
    auto l = docker({"load", "-i", images_dir() + "/busybox.tar"});
    ASSERT_EQ(l.status, 0) << l.err;
    load_out_ = l.out;
  }
  // Stops berthd; prints its log when the test failed.
  void TearDown() override {
    std::string log = d_ && HasFailure() ? d_->log() : "";
    d_.reset();
    if (!log.empty()) std::cerr << "berthd log:\n" << log << "\n";
  }

  std::vector<std::string> docker_env() const {
    return {"DOCKER_HOST=" + d_->host(), "DOCKER_CONFIG=" + cfgdir_->path()};
  }
  RunResult docker(std::vector<std::string> args, const std::string& in = {}, int timeout = 120) {
    args.insert(args.begin(), docker_);
    return run(args, in, timeout, docker_env());
  }

  std::string docker_;
  std::unique_ptr<Berthd> d_;
  std::unique_ptr<Scratch> cfgdir_;
  std::string load_out_;
};

}  // namespace berth::test
