#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# berthd vs dockerd: start a container whose image has a VOLUME holding 10k files, i.e. the
# daemon creates an anonymous volume and copies the image's content into it (copy-up, with
# ownership) before the container runs: `docker run --rm --network none vimg true`, docker CLI
# against each daemon, interleaved runs (bench/compare.py).
#   bench/volume.sh BUILD_DIR [runs] [files]
# dockerd (docker.io) runs only inside this script, on its own socket, data-root, exec-root and
# pidfile, with --iptables=false --bridge=none, and is stopped at the end.
set -euo pipefail
BUILD=$(realpath "${1:?usage: bench/volume.sh BUILD_DIR [runs] [files]}")
RUNS=${2:-10}
NFILES=${3:-10000}
SRC=$(cd "$(dirname "$0")/.." && pwd)
BIN=$BUILD/bin
command -v docker >/dev/null || { echo "docker CLI missing" >&2; exit 1; }
WORK=$(mktemp -d /tmp/berth-test-vbench-XXXXXX)
export DOCKER_CONFIG=$WORK/dcfg
RT=()
[[ -z ${BERTH_BENCH_RUNTIME:-} && ! -x $BIN/berth-runtime ]] && command -v runc >/dev/null && BERTH_BENCH_RUNTIME=runc
[[ -n ${BERTH_BENCH_RUNTIME:-} ]] && RT=(--add-runtime "b=$(command -v "$BERTH_BENCH_RUNTIME")" --default-runtime b)
echo '{}' > "$WORK/none.json"
BPID=""; DDPID=""
cleanup() {
  for s in "$WORK/b.sock" "$WORK/d.sock"; do
    [[ -S $s ]] && DOCKER_HOST=unix://$s docker ps -aq 2>/dev/null | xargs -r env DOCKER_HOST=unix://$s docker rm -f >/dev/null 2>&1 || true
  done
  [[ -n $BPID ]] && { kill "$BPID" 2>/dev/null || true; wait "$BPID" 2>/dev/null || true; }
  [[ -n $DDPID ]] && { kill "$DDPID" 2>/dev/null || true; wait "$DDPID" 2>/dev/null || true; }
  grep -o "$WORK[^ ]*" /proc/mounts 2>/dev/null | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

python3 "$SRC/tests/e2e/make_volume_image.py" "$BUILD/test-images/busybox.tar" "$WORK/vimg.tar" \
  berth-test-vimg:1 /srv/app "$NFILES" 1234 5678

"$BIN/berthd" -H "unix://$WORK/b.sock" --data-root "$WORK/bd" --exec-root "$WORK/be" --pidfile "$WORK/b.pid" \
  --config-file "$WORK/none.json" "${RT[@]}" >"$WORK/berthd.log" 2>&1 &
BPID=$!
for _ in $(seq 100); do [[ -S $WORK/b.sock ]] && break; sleep 0.05; done
DOCKER_HOST=unix://$WORK/b.sock docker load -i "$WORK/vimg.tar" >/dev/null

PEER=()
if command -v dockerd >/dev/null; then
  dockerd -H "unix://$WORK/d.sock" --data-root "$WORK/dd" --exec-root "$WORK/de" --pidfile "$WORK/d.pid" \
    --config-file "$WORK/none.json" --iptables=false --ip6tables=false --bridge=none >"$WORK/dockerd.log" 2>&1 &
  DDPID=$!
  for _ in $(seq 300); do DOCKER_HOST=unix://$WORK/d.sock docker version >/dev/null 2>&1 && break; sleep 0.1; done
  if DOCKER_HOST=unix://$WORK/d.sock docker load -i "$WORK/vimg.tar" >/dev/null 2>&1; then
    # correctness first: the copy-up is complete and keeps owners on both daemons
    for s in b d; do
      got=$(DOCKER_HOST=unix://$WORK/$s.sock docker run --rm --network none berth-test-vimg:1 \
            sh -c 'stat -c "%u:%g" /srv/app/f00000; find /srv/app -type f | wc -l')
      echo "$s: $(echo $got)" >&2
    done
    PEER=(--b "DOCKER_HOST=unix://$WORK/d.sock docker run --rm --network none berth-test-vimg:1 true" --b-label dockerd)
  else
    echo "dockerd did not come up (see below); reporting berthd alone" >&2
    tail -5 "$WORK/dockerd.log" >&2
  fi
fi

python3 "$SRC/bench/compare.py" --runs "$RUNS" --name "run with ${NFILES}-file VOLUME copy-up" --a-label berthd \
  --a "DOCKER_HOST=unix://$WORK/b.sock docker run --rm --network none berth-test-vimg:1 true" "${PEER[@]}"
