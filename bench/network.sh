#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Networking benchmarks (needs root):
#   1. `docker run --rm busybox true` on the default bridge, docker CLI, median of N runs:
#      berthd vs dockerd (dockerd only if installed; it runs briefly with its own socket,
#      data/exec roots, pidfile and bridge, --iptables=false: bench/lib.sh, and is stopped at the
#      end).
#   2. one container publishing 1000 ports: berthd processes before/after and RSS delta.
#   3. iperf3 throughput container -> host over the bridge vs a plain veth pair (client in the
#      container's netns via nsenter, server on the host's side of the link).
#   bench/network.sh BUILD_DIR [runs]       (runs default to $BENCH_RUNS, then 20)
# Everything it creates is named bt*/berth-bench-* and removed on exit.
set -euo pipefail
BUILD=$(realpath "${1:?usage: bench/network.sh BUILD_DIR [runs]}")
RUNS=${2:-${BENCH_RUNS:-20}}
BIN=$BUILD/bin
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"
command -v docker >/dev/null || { echo "docker CLI missing" >&2; exit 1; }
[[ $(id -u) == 0 ]] || { echo "bench/network.sh needs root" >&2; exit 1; }
WORK=$(mktemp -d /tmp/berth-test-nbench-XXXXXX)
TAG=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
A=$((200 + 0x${TAG:0:2} % 50)); B=$((0x${TAG:2:2}))
BR=bt$TAG; TABLE=berth-bench-$TAG
DBR=btd$TAG; DNET="10.$A.$(( (B + 1) % 256 ))"   # dockerd's bridge
VETH=btv$TAG; PNS=berth-bench-$TAG
FWD_POLICY=$(iptables -S FORWARD 2>/dev/null | awk '$1 == "-P" {print $3}')
cleanup() {
  bench_stop_daemons
  # Restore what dockerd may change on the host: FORWARD policy, its chains, docker0.
  if [[ -n $FWD_POLICY ]] && [[ $(iptables -S FORWARD 2>/dev/null | awk '$1 == "-P" {print $3}') != "$FWD_POLICY" ]]; then
    iptables -P FORWARD "$FWD_POLICY" || true
  fi
  ip link del "$DBR" 2>/dev/null || true
  ip link del "$VETH" 2>/dev/null || true
  ip netns del "$PNS" 2>/dev/null || true
  ip link del "$BR" 2>/dev/null || true
  nft delete table inet "$TABLE" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
bench_berthd "$WORK" "$BIN" --bridge "$BR" --bip "10.$A.$B.1/24" \
  --default-address-pool "base=10.$A.0.0/16,size=24" --nft-table "$TABLE"
DPID=$BERTHD_PID
export DOCKER_HOST=unix://$BERTHD_SOCK
docker load -i "$BUILD/test-images/busybox.tar" >/dev/null

median_ms() {  # command... -> median wall ms over RUNS
  local t=()
  for _ in $(seq "$RUNS"); do
    local s e
    s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N)
    t+=($(( (e - s) / 1000000 )))
  done
  printf '%s\n' "${t[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# ---- 1. docker run --rm busybox true on the default bridge ----
docker run --rm busybox true >/dev/null  # warm up
berth_ms=$(median_ms docker run --rm busybox true)
berth_none_ms=$(median_ms docker run --rm --network none busybox true)
peer="n/a"; ratio=""; peer_note=""
if command -v dockerd >/dev/null; then
  ip link add "$DBR" type bridge && ip addr add "$DNET.1/24" dev "$DBR" && ip link set "$DBR" up
  if bench_dockerd --bridge "$DBR" --containerd-namespace "$TABLE" --containerd-plugins-namespace "$TABLE-plugins" &&
     env "$PEER_HOST" docker load -i "$BUILD/test-images/busybox.tar" >/dev/null 2>&1; then
    env "$PEER_HOST" docker run --rm busybox true >/dev/null 2>&1 || true
    peer_ms=$(DOCKER_HOST=unix://$PEER_SOCK median_ms docker run --rm busybox true)
    peer="${peer_ms} ms"; ratio=$(awk -v a="$peer_ms" -v b="$berth_ms" 'BEGIN {printf "%.1fx", a/b}')
    peer_none_ms=$(DOCKER_HOST=unix://$PEER_SOCK median_ms docker run --rm --network none busybox true)
  else
    peer_note="dockerd did not come up: $(tail -1 "$PEER_LOG")"
  fi
  bench_stop_dockerd  # now: never leave dockerd running
  ip link del "$DBR" 2>/dev/null || true
else
  peer_note="dockerd not installed"
fi
echo "| network: docker run --rm busybox true, default bridge (median of $RUNS) | ${berth_ms} ms | ${peer}${peer_note:+ ($peer_note)} | ${ratio} |"
echo "| network: same with --network none (median of $RUNS) | ${berth_none_ms} ms | ${peer_none_ms:-n/a}${peer_none_ms:+ ms} | $( [[ -n ${peer_none_ms:-} ]] && awk -v a="$peer_none_ms" -v b="$berth_none_ms" 'BEGIN {printf "%.1fx", a/b}') |"

# ---- 2. 1000 published ports ----
procs_before=$(ps -e --no-headers | wc -l)
rss_before=$(rss_kb "$DPID")
BASEP=$((20000 + 0x${TAG:4:2} * 100))
s=$(date +%s%N)
docker run -d --name berth-bench-ports -p "$BASEP-$((BASEP + 999)):$BASEP-$((BASEP + 999))" busybox sleep 300 >/dev/null
e=$(date +%s%N)
sleep 0.5
procs_after=$(ps -e --no-headers | wc -l)
rss_after=$(rss_kb "$DPID")
elements=$(nft list map inet "$TABLE" tcp4 | grep -o ' : ' | wc -l)
# berthd hands freed heap back after 5 idle seconds: what the ports keep costing while they run
sleep 6
rss_steady=$(rss_kb "$DPID")
# one container adds its shim + the container's process; anything else is per-port overhead
extra=$((procs_after - procs_before - 2))
echo "| network: docker run -d with 1000 published ports | $(( (e - s) / 1000000 )) ms, $elements nft map elements, ${extra} extra processes, berthd RSS +$(( rss_steady - rss_before )) kB while running (+$(( rss_after - rss_before )) kB during the request) | dockerd: 1 docker-proxy per port and family (userland-proxy default) | |"
docker rm -f berth-bench-ports >/dev/null

# ---- 3. iperf3 container -> host: bridge vs plain veth ----
if command -v iperf3 >/dev/null; then
  iperf() {  # server_ip netns_path -> Gbit/s (best of 3 runs of 3 s)
    local ip=$1 ns=$2 best=0
    for _ in 1 2 3; do
      local port=$((40000 + RANDOM % 10000))
      iperf3 -s -B "$ip" -p "$port" -1 >/dev/null 2>&1 &
      local spid=$!
      sleep 0.3
      local bps
      bps=$(nsenter --net="$ns" iperf3 -c "$ip" -p "$port" -t 3 -J 2>/dev/null | jq '.end.sum_received.bits_per_second // 0')
      wait "$spid" 2>/dev/null || true
      best=$(awk -v a="$best" -v b="$bps" 'BEGIN {print (b > a) ? b : a}')
    done
    awk -v b="$best" 'BEGIN {printf "%.2f", b / 1e9}'
  }
  cid=$(docker run -d --name berth-bench-iperf busybox sleep 300)
  sandbox=$(docker inspect -f '{{.NetworkSettings.SandboxKey}}' "$cid")
  bridge_gbps=$(iperf "10.$A.$B.1" "$sandbox")
  docker rm -f "$cid" >/dev/null
  ip netns add "$PNS"
  ip link add "$VETH" type veth peer name "${VETH}p" netns "$PNS"
  ip addr add "10.$A.$(( (B + 2) % 256 )).1/24" dev "$VETH"; ip link set "$VETH" up
  ip -n "$PNS" addr add "10.$A.$(( (B + 2) % 256 )).2/24" dev "${VETH}p"
  ip -n "$PNS" link set "${VETH}p" up; ip -n "$PNS" link set lo up
  veth_gbps=$(iperf "10.$A.$(( (B + 2) % 256 )).1" "/run/netns/$PNS")
  echo "| network: iperf3 container -> host over the bridge (best of 3 x 3 s) | ${bridge_gbps} Gbit/s | plain veth pair: ${veth_gbps} Gbit/s | $(awk -v a="$veth_gbps" -v b="$bridge_gbps" 'BEGIN {printf "%.2fx", a/b}') |"
else
  echo "| network: iperf3 | iperf3 not installed | | |"
fi
