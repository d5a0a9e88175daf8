#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# berthd vs dockerd: `docker run --rm --network none busybox true` with the docker CLI, median of
# N runs, plus idle RSS of berthd and of one berth-shim.
#   bench/daemon.sh BUILD_DIR [runs]
# The dockerd peer runs only if installed (apt-get install docker.io); it is not installed here.
# BERTH_BENCH_RUNTIME=runc to run berthd with runc instead of berth-runtime.
set -euo pipefail
BUILD=$(realpath "${1:?usage: bench/daemon.sh BUILD_DIR [runs]}")
RUNS=${2:-20}
BIN=$BUILD/bin
command -v docker >/dev/null || { echo "docker CLI missing" >&2; exit 1; }
WORK=$(mktemp -d /tmp/berth-test-dbench-XXXXXX)
RT=()
[[ -z ${BERTH_BENCH_RUNTIME:-} && ! -x $BIN/berth-runtime ]] && command -v runc >/dev/null && BERTH_BENCH_RUNTIME=runc
[[ -n ${BERTH_BENCH_RUNTIME:-} ]] && RT=(--add-runtime "b=$(command -v "$BERTH_BENCH_RUNTIME")" --default-runtime b)
echo '{}' > "$WORK/none.json"
"$BIN/berthd" -H "unix://$WORK/s" --data-root "$WORK/d" --exec-root "$WORK/e" --pidfile "$WORK/p" \
  --config-file "$WORK/none.json" "${RT[@]}" >"$WORK/log" 2>&1 &
DPID=$!
cleanup() {
  DOCKER_HOST=unix://$WORK/s docker rm -f berth-test-idle >/dev/null 2>&1 || true
  kill "$DPID" 2>/dev/null || true; wait "$DPID" 2>/dev/null || true
  grep -o "$WORK[^ ]*" /proc/mounts 2>/dev/null | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
for _ in $(seq 100); do [[ -S $WORK/s ]] && break; sleep 0.05; done
export DOCKER_HOST=unix://$WORK/s
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
docker run --rm --network none busybox true >/dev/null  # warm up
berth_ms=$(median_ms docker run --rm --network none busybox true)
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
berthd_rss=$(rss_kb "$DPID")
docker run -d --name berth-test-idle --network none busybox sleep 300 >/dev/null
sleep 0.5
shim_pid=$(cat "$WORK/e/containers/$(docker inspect -f '{{.Id}}' berth-test-idle)/shim.pid")
shim_rss=$(rss_kb "$shim_pid")

peer="n/a"; ratio=""
if [[ -S /var/run/docker.sock ]] && DOCKER_HOST=unix:///var/run/docker.sock docker info >/dev/null 2>&1; then
  if DOCKER_HOST=unix:///var/run/docker.sock docker image inspect busybox >/dev/null 2>&1 ||
     DOCKER_HOST=unix:///var/run/docker.sock docker load -i "$BUILD/test-images/busybox.tar" >/dev/null 2>&1; then
    peer_ms=$(DOCKER_HOST=unix:///var/run/docker.sock median_ms docker run --rm --network none busybox true)
    peer="${peer_ms} ms"; ratio=$(awk -v a="$peer_ms" -v b="$berth_ms" 'BEGIN {printf "%.1fx", a/b}')
  fi
fi
echo "| docker run --rm --network none busybox true (median of $RUNS) | ${berth_ms} ms | ${peer} | ${ratio} |"
echo "| berthd idle RSS | ${berthd_rss} kB | | |"
echo "| berth-shim RSS (one running container) | ${shim_rss} kB | | |"
