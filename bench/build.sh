#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# berthd's builder vs dockerd's legacy builder (DOCKER_BUILDKIT=0) on the reference Dockerfile
# (FROM busybox, WORKDIR, ENV, 2×RUN, COPY of 50 files, EXPOSE, CMD), interleaved
# (bench/compare.py: min/median/max, ratio of medians):
#   - fully cached rebuild, docker CLI against each daemon (`docker build -q -t … .`);
#   - the same rebuild with `berth build -q` against berthd (berth's own client);
#   - the same rebuild as a bare `POST /build` of a prepared context tar (curl), which is the
#     daemon's share without any CLI start-up or context tarring;
#   - the daemon's own CPU time per cached rebuild (40 POST /build, /proc/<pid>/stat);
#   - cold build (`--no-cache`: every step runs, busybox is already loaded).
#   bench/build.sh BUILD_DIR [runs] [cold-runs]
# The dockerd peer (apt-get install docker.io) runs only inside this script, on its own socket,
# data root, exec root and pid file (--iptables=false --bridge=none: bench/lib.sh), and is stopped
# at the end. runs default to $BENCH_RUNS, then 30.
# Never fails on a wall-clock number.
set -euo pipefail
BUILD=$(realpath "${1:?usage: bench/build.sh BUILD_DIR [runs] [cold-runs]}")
RUNS=${2:-${BENCH_RUNS:-30}}
COLD=${3:-10}
BIN=$BUILD/bin
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
IMG=$BUILD/test-images/busybox.tar
for f in "$BIN/berthd" "$BIN/berth" "$IMG"; do [[ -e $f ]] || { echo "missing $f" >&2; exit 1; }; done
command -v docker >/dev/null || { echo "docker CLI missing" >&2; exit 1; }
WORK=$(mktemp -d /tmp/berth-test-bbench-XXXXXX)
export DOCKER_CONFIG=$WORK/dcfg BERTH_CONFIG=$WORK/bcfg DOCKER_BUILDKIT=0 DOCKER_CLI_HINTS=false
cleanup() {
  bench_stop_daemons
  nft delete table inet "berth-bench-b-$$" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
bench_berthd "$WORK" "$BIN" -G "" --bridge none --nft-table "berth-bench-b-$$"
B=$BERTHD_HOST
env "$B" docker load -i "$IMG" >/dev/null

# The reference context: a Dockerfile and 50 small files.
CTX=$WORK/ctx
mkdir -p "$CTX/files"
for i in $(seq -w 1 50); do head -c $((1000 + 97 * 10#$i)) /dev/urandom | base64 > "$CTX/files/f$i.txt"; done
cat > "$CTX/Dockerfile" <<'EOF'
FROM busybox
WORKDIR /app
ENV APP_ENV=bench APP_PORT=8080
RUN echo "first" > /app/one && mkdir -p /app/data
RUN echo "second" > /app/two && ls /app > /app/listing
COPY files/ /app/files/
EXPOSE 8080
CMD ["sh", "-c", "ls /app/files | wc -l"]
EOF
tar -C "$CTX" -cf "$WORK/ctx.tar" .

peer=()
PEERH=""
if bench_dockerd; then
  if env "$PEER_HOST" docker load -i "$IMG" >/dev/null 2>&1; then PEERH=$PEER_HOST
  else echo "dockerd: docker load failed: $(tail -3 "$PEER_LOG")" >&2; fi
fi

# The image works on both sides (and the caches are warm).
out=$(env "$B" docker build -q -t berth-test-bench "$CTX" 2>&1) || { echo "berthd build failed: $out" >&2; exit 1; }
got=$(env "$B" docker run --rm --network none berth-test-bench)
[[ $got == 50 ]] || { echo "berthd: built image printed '$got', want 50" >&2; exit 1; }
if [[ -n $PEERH ]]; then
  env "$PEERH" docker build -q -t berth-test-bench "$CTX" >/dev/null
  peer=(--b "$PEERH docker build -q -t berth-test-bench $CTX" --b-label dockerd)
fi

python3 "$HERE/compare.py" --runs "$RUNS" --cpu --name "build: fully cached rebuild, docker CLI" \
  --a "$B docker build -q -t berth-test-bench $CTX" --a-label berthd "${peer[@]}"
python3 "$HERE/compare.py" --runs "$RUNS" --cpu --name "build: fully cached rebuild, berth build vs docker CLI" \
  --a "$BIN/berth -H unix://$BERTHD_SOCK build -q -t berth-test-bench $CTX" --a-label berth "${peer[@]}"
# The daemon alone: POST /build with a prepared tar (dockerd: the same request, version=1).
curl_build() {  # socket
  echo "curl -sf --unix-socket $1 -H 'Content-Type: application/x-tar' --data-binary @$WORK/ctx.tar" \
       "'http://d/v1.41/build?t=berth-test-bench&q=1&rm=1' -o /dev/null"
}
cpeer=()
[[ -n $PEERH ]] && cpeer=(--b "$(curl_build "$PEER_SOCK")" --b-label dockerd)
python3 "$HERE/compare.py" --runs "$RUNS" --cpu --name "build: fully cached rebuild, POST /build (curl)" \
  --a "$(curl_build "$BERTHD_SOCK")" --a-label berthd "${cpeer[@]}"
# The daemon's own CPU time per cached rebuild (utime+stime of berthd, of dockerd and its
# containerd), which a loaded machine disturbs far less than wall time.
proc_cpu_ms() {  # pid... -> total CPU ms of the processes
  local t=0 p
  for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
  echo $((t * 1000 / $(getconf CLK_TCK)))
}
daemon_cpu() {  # label socket pid... -> ms per build
  local sock=$2 n=40 a b i
  shift 2
  a=$(proc_cpu_ms "$@")
  for ((i = 0; i < n; i++)); do eval "$(curl_build "$sock")"; done
  b=$(proc_cpu_ms "$@")
  awk -v d=$((b - a)) -v n=$n 'BEGIN {printf "%.2f\n", d / n}'
}
bcpu=$(daemon_cpu berthd "$BERTHD_SOCK" "$BERTHD_PID")
echo "  berthd daemon CPU per cached rebuild: ${bcpu} ms"
if [[ -n $PEERH ]]; then
  pids=("$PEER_PID" $(pgrep -P "$PEER_PID" || true))
  dcpu=$(daemon_cpu dockerd "$PEER_SOCK" "${pids[@]}")
  echo "  dockerd daemon CPU per cached rebuild: ${dcpu} ms"
  echo "| build: fully cached rebuild, daemon CPU (POST /build) | $bcpu ms | $dcpu ms | $(awk -v a="$bcpu" -v b="$dcpu" 'BEGIN {printf "%.2fx", b / a}') |"
else
  echo "| build: fully cached rebuild, daemon CPU (POST /build) | $bcpu ms | n/a | n/a |"
fi

cold=()
[[ -n $PEERH ]] && cold=(--b "$PEERH docker build -q --no-cache -t berth-test-bench $CTX" --b-label dockerd)
python3 "$HERE/compare.py" --runs "$COLD" --warmup 1 --name "build: cold (--no-cache), docker CLI" \
  --a "$B docker build -q --no-cache -t berth-test-bench $CTX" --a-label berthd "${cold[@]}"
