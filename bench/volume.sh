#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# berthd vs dockerd: start a container whose image has a VOLUME holding 10k files, i.e. the
# daemon creates an anonymous volume and copies the image's content into it (copy-up, with
# ownership) before the container runs: `docker run --rm --network none vimg true`, docker CLI
# against each daemon, interleaved runs (bench/compare.py).
#   bench/volume.sh BUILD_DIR [runs] [files]
# dockerd (docker.io) runs only inside this script, on its own socket, data-root, exec-root and
# pidfile, with --iptables=false --bridge=none (bench/lib.sh), and is stopped at the end. runs
# default to $BENCH_RUNS, then 10.
set -euo pipefail
BUILD=$(realpath "${1:?usage: bench/volume.sh BUILD_DIR [runs] [files]}")
RUNS=${2:-${BENCH_RUNS:-10}}
NFILES=${3:-10000}
SRC=$(cd "$(dirname "$0")/.." && pwd)
source "$SRC/bench/lib.sh"
BIN=$BUILD/bin
command -v docker >/dev/null || { echo "docker CLI missing" >&2; exit 1; }
WORK=$(mktemp -d /tmp/berth-test-vbench-XXXXXX)
export DOCKER_CONFIG=$WORK/dcfg
cleanup() {
  bench_stop_daemons
  rm -rf "$WORK"
}
trap cleanup EXIT

python3 "$SRC/tests/e2e/make_volume_image.py" "$BUILD/test-images/busybox.tar" "$WORK/vimg.tar" \
  berth-test-vimg:1 /srv/app "$NFILES" 1234 5678

bench_berthd "$WORK" "$BIN"
env "$BERTHD_HOST" docker load -i "$WORK/vimg.tar" >/dev/null

PEER=()
if bench_dockerd; then
  if env "$PEER_HOST" docker load -i "$WORK/vimg.tar" >/dev/null 2>&1; then
    # correctness first: the copy-up is complete and keeps owners on both daemons
    for side in "berthd=$BERTHD_HOST" "dockerd=$PEER_HOST"; do
      got=$(env "${side#*=}" docker run --rm --network none berth-test-vimg:1 \
            sh -c 'stat -c "%u:%g" /srv/app/f00000; find /srv/app -type f | wc -l')
      echo "${side%%=*}: $(echo $got)" >&2
    done
    PEER=(--b "$PEER_HOST docker run --rm --network none berth-test-vimg:1 true" --b-label dockerd)
  else
    echo "dockerd: docker load failed; reporting berthd alone" >&2
    tail -5 "$PEER_LOG" >&2
  fi
fi

python3 "$SRC/bench/compare.py" --runs "$RUNS" --name "run with ${NFILES}-file VOLUME copy-up" --a-label berthd \
  --a "$BERTHD_HOST docker run --rm --network none berth-test-vimg:1 true" "${PEER[@]}"
