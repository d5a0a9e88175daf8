#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# berthd vs dockerd: `docker run --rm --network none busybox true` with the real docker CLI,
# interleaved runs (bench/compare.py: min/median/max, ratio of medians), plus idle RSS of berthd,
# RSS of one berth-shim, and what 100 running containers cost (berthd + shims, RSS and PSS); and
# the docker CLI's own floor for the command (bench/stub_engine.py: a server that answers at once).
#   bench/daemon.sh BUILD_DIR [runs] [containers]
# The dockerd peer (apt-get install docker.io) runs only inside this script, on its own socket,
# data root, exec root and pid file (--iptables=false --bridge=none: bench/lib.sh), and is stopped
# before the memory figures. runs default to $BENCH_RUNS, then 30.
# BERTH_BENCH_RUNTIME=runc to run berthd with runc instead of berth-runtime; both daemons' exec
# roots are on tmpfs unless BENCH_EXEC_TMPFS=0 (bench/lib.sh).
set -euo pipefail
BUILD=$(realpath "${1:?usage: bench/daemon.sh BUILD_DIR [runs] [containers]}")
RUNS=${2:-${BENCH_RUNS:-30}}
N=${3:-100}
TAG=$([[ ${BENCH_EXEC_TMPFS:-1} != 0 ]] || echo " (exec roots in the work dir, on ext4)")
BIN=$BUILD/bin
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
command -v docker >/dev/null || { echo "docker CLI missing" >&2; exit 1; }
WORK=$(mktemp -d /tmp/berth-test-dbench-XXXXXX)
STUB_PID=""
cleanup() {
  [[ -n $STUB_PID ]] && kill "$STUB_PID" 2>/dev/null || true
  bench_stop_daemons
  nft delete table inet "berth-bench-d-$$" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
bench_berthd "$WORK" "$BIN" -G "" --bridge none --nft-table "berth-bench-d-$$"
DPID=$BERTHD_PID
B=$BERTHD_HOST
env "$B" docker load -i "$BUILD/test-images/busybox.tar" >/dev/null

# The peer: dockerd with its own managed containerd, only for the duration of this script.
peer_cmd=()
if bench_dockerd; then
  if env "$PEER_HOST" docker load -i "$BUILD/test-images/busybox.tar" >/dev/null 2>&1; then
    peer_cmd=(--b "$PEER_HOST docker run --rm --network none busybox true" --b-label dockerd)
  else
    echo "dockerd: docker load failed: $(tail -3 "$PEER_LOG")" >&2
  fi
fi
python3 "$HERE/compare.py" --runs "$RUNS" --name "docker run --rm --network none busybox true$TAG" \
  --a "$B docker run --rm --network none busybox true" --a-label berthd "${peer_cmd[@]}"
# Interleaved run by run, dockerd's and containerd's work after a run has answered (the cleanup
# of the container it removed) overlaps berthd's next run, and berthd's (its runtime's delete,
# the janitor) dockerd's. In alternating blocks of back-to-back runs, each side meets its own.
python3 "$HERE/compare.py" --runs "$RUNS" --block 10 --name "docker run --rm --network none busybox true (blocks of 10)$TAG" \
  --a "$B docker run --rm --network none busybox true" --a-label berthd "${peer_cmd[@]}"
bench_stop_dockerd

# The docker CLI's own floor: the same command against a stub that answers every request at
# once and runs nothing (bench/stub_engine.py). berthd's share is the difference.
python3 "$HERE/stub_engine.py" "$WORK/stub.sock" &
STUB_PID=$!
for _ in $(seq 100); do [[ -S $WORK/stub.sock ]] && break; sleep 0.05; done
python3 "$HERE/compare.py" --runs "$RUNS" --name "docker run --rm --network none busybox true (CLI floor)$TAG" \
  --a "$B docker run --rm --network none busybox true" --a-label berthd \
  --b "DOCKER_HOST=unix://$WORK/stub.sock docker run --rm --network none busybox true" --b-label "stub (answers at once)"
kill "$STUB_PID" 2>/dev/null || true

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
pss_kb() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup"; }
echo "| berthd idle RSS | $(rss_kb "$DPID") kB | | |"
export DOCKER_HOST=unix://$BERTHD_SOCK
for i in $(seq "$N"); do docker run -d --name "berth-test-m$i" --network none busybox sleep 600 >/dev/null; done
sleep 1
shims=()
for d in "$WORK"/e/containers/*/; do [[ -f $d/shim.pid ]] && shims+=("$(cat "$d/shim.pid")"); done
shim_rss=0; shim_pss=0
for p in "${shims[@]}"; do shim_rss=$((shim_rss + $(rss_kb "$p"))); shim_pss=$((shim_pss + $(pss_kb "$p"))); done
one=$(rss_kb "${shims[0]}")
d_rss=$(rss_kb "$DPID"); d_pss=$(pss_kb "$DPID")
echo "| berth-shim RSS (one of ${#shims[@]} running) | ${one} kB | | |"
echo "| $N running containers: berthd + shims RSS (PSS) | $(( (d_rss + shim_rss) / 1024 )) MB ($(( (d_pss + shim_pss) / 1024 )) MB) | | |"
