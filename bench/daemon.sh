#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# berthd vs dockerd: `docker run --rm --network none busybox true` with the real docker CLI,
# interleaved runs (bench/compare.py: min/median/max, ratio of medians), plus idle RSS of berthd,
# RSS of one berth-shim, and what 100 running containers cost (berthd + shims, RSS and PSS).
#   bench/daemon.sh BUILD_DIR [runs] [containers]
# The dockerd peer (apt-get install docker.io) runs only inside this script, on its own socket,
# data root, exec root and pid file (--iptables=false --bridge=none), and is stopped at the end.
# BERTH_BENCH_RUNTIME=runc to run berthd with runc instead of berth-runtime.
set -euo pipefail
BUILD=$(realpath "${1:?usage: bench/daemon.sh BUILD_DIR [runs] [containers]}")
RUNS=${2:-30}
N=${3:-100}
BIN=$BUILD/bin
HERE=$(cd "$(dirname "$0")" && pwd)
command -v docker >/dev/null || { echo "docker CLI missing" >&2; exit 1; }
WORK=$(mktemp -d /tmp/berth-test-dbench-XXXXXX)
DK=$(mktemp -d /tmp/bt-dk-XXXXXX)  # dockerd's exec root: containerd's socket path must stay short
RT=()
[[ -z ${BERTH_BENCH_RUNTIME:-} && ! -x $BIN/berth-runtime ]] && command -v runc >/dev/null && BERTH_BENCH_RUNTIME=runc
[[ -n ${BERTH_BENCH_RUNTIME:-} ]] && RT=(--add-runtime "b=$(command -v "$BERTH_BENCH_RUNTIME")" --default-runtime b)
echo '{}' > "$WORK/none.json"
"$BIN/berthd" -H "unix://$WORK/s" --data-root "$WORK/d" --exec-root "$WORK/e" --pidfile "$WORK/p" \
  --config-file "$WORK/none.json" -G "" --bridge none --nft-table "berth-bench-d-$$" "${RT[@]}" >"$WORK/log" 2>&1 &
DPID=$!
PEER=""
cleanup() {
  DOCKER_HOST=unix://$WORK/s docker rm -f $(DOCKER_HOST=unix://$WORK/s docker ps -aq 2>/dev/null) >/dev/null 2>&1 || true
  kill "$DPID" 2>/dev/null || true; wait "$DPID" 2>/dev/null || true
  if [[ -n $PEER ]]; then
    DOCKER_HOST=unix://$DK/d.sock docker rm -f $(DOCKER_HOST=unix://$DK/d.sock docker ps -aq 2>/dev/null) >/dev/null 2>&1 || true
    kill "$PEER" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$PEER" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$PEER" 2>/dev/null || true
  fi
  grep -o "\($WORK\|$DK\)[^ ]*" /proc/mounts 2>/dev/null | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  nft delete table inet "berth-bench-d-$$" 2>/dev/null || true
  rm -rf "$WORK" "$DK"
}
trap cleanup EXIT
for _ in $(seq 100); do [[ -S $WORK/s ]] && break; sleep 0.05; done
B="DOCKER_HOST=unix://$WORK/s"
env "$B" docker load -i "$BUILD/test-images/busybox.tar" >/dev/null

# The peer: dockerd with its own managed containerd, only for the duration of this script.
peer_cmd=()
if command -v dockerd >/dev/null; then
  dockerd -H "unix://$DK/d.sock" --data-root "$WORK/dk-data" --exec-root "$DK/x" --pidfile "$DK/d.pid" \
    --iptables=false --ip6tables=false --bridge=none --config-file "$WORK/none.json" >"$WORK/dockerd.log" 2>&1 &
  PEER=$!
  for _ in $(seq 300); do DOCKER_HOST=unix://$DK/d.sock docker info >/dev/null 2>&1 && break; sleep 0.1; done
  if DOCKER_HOST=unix://$DK/d.sock docker load -i "$BUILD/test-images/busybox.tar" >/dev/null 2>&1; then
    peer_cmd=(--b "DOCKER_HOST=unix://$DK/d.sock docker run --rm --network none busybox true" --b-label dockerd)
  else
    echo "dockerd did not come up: $(tail -3 "$WORK/dockerd.log")" >&2
  fi
fi
python3 "$HERE/compare.py" --runs "$RUNS" --name "docker run --rm --network none busybox true" \
  --a "$B docker run --rm --network none busybox true" --a-label berthd "${peer_cmd[@]}"
if [[ -n $PEER ]]; then
  kill "$PEER" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$PEER" 2>/dev/null || break; sleep 0.1; done
fi

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
pss_kb() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup"; }
echo "| berthd idle RSS | $(rss_kb "$DPID") kB | | |"
export DOCKER_HOST=unix://$WORK/s
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
