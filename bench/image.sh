#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Image benchmarks: decompression speed of the layer reader (ISA-L igzip) vs gzip/pigz, docker
# load of the debian test image on overlay2 and vfs, and a cold pull of it from a loopback
# registry side by side with dockerd (if installed). The registry is Debian's docker-registry
# (distribution; seeded with skopeo) when installed, else tests/integration/image/tiny_registry.py.
# Each pull starts from an empty store with dropped caches; RUNS (default 3) rounds, berth and
# dockerd alternating, all times printed plus the best of each. Never fails on numbers.
# Usage: bench/image.sh BUILD_DIR      (root; run `make test-images` first)
set -euo pipefail
BUILD=$(realpath "${1:-build}")
HERE=$(cd "$(dirname "$0")/.." && pwd)
source "$HERE/bench/lib.sh"
TOOL=$BUILD/bin/berth-imagetool
IMAGES=${BERTH_TEST_IMAGES:-$BUILD/test-images}
[[ -x $TOOL ]] || { echo "bench/image.sh: $TOOL missing (build target berth-imagetool)" >&2; exit 1; }
[[ -f $IMAGES/debian.tar ]] || { echo "bench/image.sh: $IMAGES/debian.tar missing (make test-images)" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || { echo "bench/image.sh: needs root" >&2; exit 1; }

WORK=$(mktemp -d /tmp/berth-test-bench-XXXXXX)
REG_PID=
RUNS=${RUNS:-${BENCH_RUNS:-3}}
cleanup() {
  [[ -n $REG_PID ]] && kill "$REG_PID" 2>/dev/null
  bench_stop_daemons
  bench_umount_under "$WORK"
  rm -rf "$WORK"
}
trap cleanup EXIT

ms() { date +%s%N | cut -c1-13; }
LAYER=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m[0]["Layers"][0])' "$IMAGES/debian/oci/manifest.json")
LAYER=$IMAGES/debian/oci/$LAYER
echo "== layer: $(du -h "$LAYER" | cut -f1) gzip, $(uptime | sed 's/.*load/load/')"

echo "== decompress (uncompressed MB/s)"
"$TOOL" decompress "$LAYER"
t0=$(ms); gzip -dc "$LAYER" > /dev/null; t1=$(ms)
echo "gzip -dc: $((t1 - t0)) ms"
if command -v pigz > /dev/null; then t0=$(ms); pigz -dc "$LAYER" > /dev/null; t1=$(ms); echo "pigz -dc: $((t1 - t0)) ms"; fi

echo "== docker load of debian.tar"
for d in overlay2 vfs; do
  t0=$(ms); "$TOOL" "$WORK/load-$d" "$d" load "$IMAGES/debian.tar" > /dev/null 2>&1; t1=$(ms)
  echo "berth load ($d): $((t1 - t0)) ms"
done
t0=$(ms); mkdir -p "$WORK/tarx"; tar -xzf "$LAYER" -C "$WORK/tarx"; t1=$(ms)
echo "reference: tar -xzf of the layer: $((t1 - t0)) ms"

echo "== cold pull from a loopback registry"
PORT=
if command -v docker-registry > /dev/null && command -v skopeo > /dev/null; then
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$WORK/reg/data"
  printf 'version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' \
    "$WORK/reg/data" "$PORT" > "$WORK/reg/config.yml"
  docker-registry serve "$WORK/reg/config.yml" > "$WORK/reg/log" 2>&1 &
  REG_PID=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/v2/" > /dev/null && break; sleep 0.1; done
  skopeo copy -q --dest-tls-verify=false "oci:$IMAGES/debian/oci" "docker://127.0.0.1:$PORT/berth-bench/debian:bookworm"
  echo "registry: docker-registry (distribution) on 127.0.0.1:$PORT"
else
  python3 "$HERE/tests/integration/image/tiny_registry.py" --root "$WORK/reg" --port-file "$WORK/port" \
    --seed "berth-bench/debian:bookworm=$IMAGES/debian/oci" &
  REG_PID=$!
  for _ in $(seq 100); do [[ -s $WORK/port ]] && break; sleep 0.1; done
  PORT=$(cat "$WORK/port")
  echo "registry: tiny_registry.py on 127.0.0.1:$PORT (docker-registry or skopeo not installed)"
fi
REF=127.0.0.1:$PORT/berth-bench/debian:bookworm
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; }

# dockerd: a private instance (bench/lib.sh: own socket, data/exec root, pidfile; no iptables,
# no bridge) started for this measurement only and stopped at the end.
DOCKER=
if command -v docker > /dev/null && bench_dockerd --bridge=none --storage-driver overlay2; then
  DOCKER="docker -H unix://$PEER_SOCK"
fi

# pull_rounds REF LABEL: RUNS rounds of cold pulls (berth on overlay2 and vfs, dockerd on overlay2).
pull_rounds() {
  local ref=$1 label=$2 best_b= best_d= r d t0 t1
  for r in $(seq "$RUNS"); do
    for d in overlay2 vfs; do
      rm -rf "$WORK/pull-$d"; drop_caches
      t0=$(ms); "$TOOL" "$WORK/pull-$d" "$d" pull "$ref" > /dev/null 2>&1; t1=$(ms)
      echo "round $r: berth pull ($d): $((t1 - t0)) ms"
      [[ $d == overlay2 ]] && { [[ -z $best_b || $((t1 - t0)) -lt $best_b ]] && best_b=$((t1 - t0)); }
    done
    if [[ -n $DOCKER ]]; then
      $DOCKER rmi -f "$ref" > /dev/null 2>&1 || true; drop_caches
      t0=$(ms); $DOCKER pull -q "$ref" > /dev/null; t1=$(ms)
      echo "round $r: dockerd pull (overlay2): $((t1 - t0)) ms"
      [[ -z $best_d || $((t1 - t0)) -lt $best_d ]] && best_d=$((t1 - t0))
    fi
  done
  echo "== $label, best of $RUNS: berth (overlay2) ${best_b} ms${best_d:+, dockerd (overlay2) ${best_d} ms, ratio $(python3 -c "print(f'{$best_d/$best_b:.1f}x')")}; $(uptime | sed 's/.*load/load/')"
}
pull_rounds "$REF" "debian test image ($(du -h "$LAYER" | cut -f1) gzip layer)"

# A larger single-layer image (BIG=0 skips it): the debian rootfs plus the host's /usr/sbin,
# about the ≈93 MB gzip layer the issue names; pushed with skopeo (which gzips it).
if [[ ${BIG:-1} == 1 && -n $PORT ]] && command -v skopeo > /dev/null && command -v docker-registry > /dev/null && [[ -d $IMAGES/debian/rootfs ]]; then
  B=$WORK/big; mkdir -p "$B/rootfs/opt/host-sbin"
  cp -a "$IMAGES/debian/rootfs/." "$B/rootfs/"
  cp -a /usr/sbin/. "$B/rootfs/opt/host-sbin/"
  tar --numeric-owner -C "$B/rootfs" -cf "$B/layer.tar" .
  diff_id=$(sha256sum "$B/layer.tar" | cut -d' ' -f1)
  printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$diff_id" > "$B/config.json"
  printf '[{"Config":"config.json","RepoTags":["berth-bench/big:1"],"Layers":["layer.tar"]}]' > "$B/manifest.json"
  tar -C "$B" -cf "$B/big.tar" manifest.json config.json layer.tar
  rm -rf "$B/rootfs" "$B/layer.tar"
  BIGREF=127.0.0.1:$PORT/berth-bench/big:1
  skopeo copy -q --dest-tls-verify=false "docker-archive:$B/big.tar" "docker://$BIGREF"
  rm -f "$B/big.tar"
  size=$(find "$WORK/reg" -path '*blobs*' -name data -size +20M -newer "$B/config.json" -exec du -h {} + 2>/dev/null | sort -h | tail -1 | cut -f1)
  echo "== cold pull of the larger image (gzip layer ${size:-?})"
  pull_rounds "$BIGREF" "larger image (${size:-?} gzip layer)"
fi
