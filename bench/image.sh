#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Image benchmarks: decompression speed of the layer reader (ISA-L igzip) vs gzip/pigz, docker
# load of the debian test image on overlay2 and vfs, and a cold pull of it from a loopback
# registry (tests/integration/image/tiny_registry.py), side by side with dockerd if installed.
# Usage: bench/image.sh BUILD_DIR      (root; run `make test-images` first)
set -euo pipefail
BUILD=$(realpath "${1:-build}")
HERE=$(cd "$(dirname "$0")/.." && pwd)
TOOL=$BUILD/bin/berth-imagetool
IMAGES=${BERTH_TEST_IMAGES:-$BUILD/test-images}
[[ -x $TOOL ]] || { echo "bench/image.sh: $TOOL missing (build target berth-imagetool)" >&2; exit 1; }
[[ -f $IMAGES/debian.tar ]] || { echo "bench/image.sh: $IMAGES/debian.tar missing (make test-images)" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || { echo "bench/image.sh: needs root" >&2; exit 1; }

WORK=$(mktemp -d /tmp/berth-test-bench-XXXXXX)
REG_PID=
cleanup() { [[ -n $REG_PID ]] && kill "$REG_PID" 2>/dev/null; rm -rf "$WORK"; }
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
python3 "$HERE/tests/integration/image/tiny_registry.py" --root "$WORK/reg" --port-file "$WORK/port" \
  --seed "berth-bench/debian:bookworm=$IMAGES/debian/oci" &
REG_PID=$!
for _ in $(seq 100); do [[ -s $WORK/port ]] && break; sleep 0.1; done
PORT=$(cat "$WORK/port")
for d in overlay2 vfs; do
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  t0=$(ms); "$TOOL" "$WORK/pull-$d" "$d" pull "127.0.0.1:$PORT/berth-bench/debian:bookworm" > /dev/null 2>&1; t1=$(ms)
  echo "berth pull ($d): $((t1 - t0)) ms"
done
# dockerd side by side: a private instance (own socket, data/exec root, pidfile; no iptables, no
# bridge) started for this measurement only and stopped right after.
if command -v dockerd > /dev/null && command -v docker > /dev/null; then
  DD=$WORK/dockerd
  mkdir -p "$DD"; echo "{}" > "$DD/daemon.json"
  dockerd -H "unix://$DD/d.sock" --data-root "$DD/data" --exec-root "$DD/exec" --pidfile "$DD/d.pid" \
    --iptables=false --ip6tables=false --bridge=none --config-file "$DD/daemon.json" --storage-driver overlay2 \
    > "$DD/log" 2>&1 &
  DPID=$!
  for _ in $(seq 100); do docker -H "unix://$DD/d.sock" info > /dev/null 2>&1 && break; sleep 0.2; done
  if docker -H "unix://$DD/d.sock" info > /dev/null 2>&1; then
    sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
    t0=$(ms); docker -H "unix://$DD/d.sock" pull -q "127.0.0.1:$PORT/berth-bench/debian:bookworm" > /dev/null; t1=$(ms)
    echo "dockerd pull (overlay2): $((t1 - t0)) ms"
  else
    echo "dockerd pull: dockerd did not start (see $DD/log)"; tail -3 "$DD/log" || true
  fi
  kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null || true
  umount -R "$DD/data" 2>/dev/null || true
else
  echo "dockerd pull: (dockerd not installed: skipped)"
fi
