#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what berth needs to build, test and demo on Debian 12. Idempotent: runs
# `apt-get update` at most once and installs only the packages that are missing.
set -euo pipefail

PKGS=(
  # toolchain
  g++ cmake ninja-build ccache make pkg-config git
  # libraries
  nlohmann-json3-dev libboost-dev libcurl4-openssl-dev libssl-dev libarchive-dev libisal-dev
  libzstd-dev libseccomp-dev libcap-dev libsqlite3-dev libcli11-dev libfmt-dev libexpected-dev
  libmnl-dev libnftables-dev zlib1g-dev
  # tests
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  # test images and kernel tooling used by tests
  busybox-static debootstrap iproute2 nftables procps util-linux e2fsprogs btrfs-progs
  # benchmarks (bench/network.sh)
  iperf3 jq
  # real clients for e2e tests
  python3 python3-docker python3-websocket docker-compose skopeo
)

missing=()
for p in "${PKGS[@]}"; do
  st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$st" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq
$SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" </dev/null
