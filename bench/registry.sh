#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# berth-registry vs Debian's docker-registry (distribution 2.8) on loopback.
#   bench/registry.sh BUILD_DIR [seconds-per-run]
# Measures manifest GET req/s and blob GET MB/s with wrk, and push MB/s (monolithic
# POST+PUT of 4 x 64 MiB blobs with curl). The peer is installed on demand
# (apt-get install docker-registry wrk) and skipped if unavailable.
set -euo pipefail
BUILD=${1:?usage: bench/registry.sh BUILD_DIR [seconds]}
DUR=${2:-5}
BIN=$BUILD/bin/berth-registry
[ -x "$BIN" ] || { echo "missing $BIN" >&2; exit 1; }
if ! command -v wrk >/dev/null; then apt-get install -y -o DPkg::Lock::Timeout=60 wrk >/dev/null 2>&1 || true; fi
command -v wrk >/dev/null || { echo "wrk unavailable" >&2; exit 1; }
if ! command -v docker-registry >/dev/null; then apt-get install -y -o DPkg::Lock::Timeout=60 docker-registry >/dev/null 2>&1 || true; fi

WORK=$(mktemp -d /tmp/berth-test-regbench-XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 100); do curl -sf "http://127.0.0.1:$1/v2/" >/dev/null && return 0; sleep 0.1; done; echo "registry on $1 did not start" >&2; return 1; }

# Test data: a config, a 4 MiB layer for blob GET, 4 x 64 MiB for push.
head -c 4194304 /dev/urandom > "$WORK/layer4m"
for i in 1 2 3 4; do head -c 67108864 /dev/urandom > "$WORK/big$i"; done
echo '{"architecture":"amd64","os":"linux"}' > "$WORK/config"
sha() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }

push_blob() {  # port repo file
  local loc
  loc=$(curl -sf -D- -o /dev/null -X POST "http://127.0.0.1:$1/v2/$2/blobs/uploads/" | tr -d '\r' | awk 'tolower($1)=="location:"{print $2}')
  case "$loc" in http*) ;; *) loc="http://127.0.0.1:$1$loc" ;; esac
  local sep='?'; case "$loc" in *\?*) sep='&' ;; esac
  curl -sf -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' --data-binary @"$3" "$loc${sep}digest=$(sha "$3")"
}

bench_one() {  # name port
  local name=$1 port=$2 base="http://127.0.0.1:$2"
  push_blob "$port" bench/app "$WORK/config"
  push_blob "$port" bench/app "$WORK/layer4m"
  cat > "$WORK/manifest-$name.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"$(sha "$WORK/config")","size":$(stat -c%s "$WORK/config")},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"$(sha "$WORK/layer4m")","size":4194304}]}
JSON
  curl -sf -o /dev/null -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary @"$WORK/manifest-$name.json" "$base/v2/bench/app/manifests/latest"
  # push MB/s
  local t0 t1
  t0=$(date +%s.%N)
  for i in 1 2 3 4; do push_blob "$port" "bench/push$name" "$WORK/big$i"; done
  t1=$(date +%s.%N)
  PUSH=$(python3 -c "print(f'{256/($t1-$t0):.0f}')")
  # Sanity: both URLs answer 200 with the right content before measuring.
  curl -sf -o /dev/null -H 'Accept: application/vnd.oci.image.manifest.v1+json' "$base/v2/bench/app/manifests/latest" ||
    { echo "$name: manifest GET failed" >&2; return 1; }
  [ "$(curl -sf "$base/v2/bench/app/blobs/$(sha "$WORK/layer4m")" | sha256sum | cut -d' ' -f1)" = "$(sha "$WORK/layer4m" | cut -d: -f2)" ] ||
    { echo "$name: blob GET returned wrong content" >&2; return 1; }
  local out
  out=$(wrk -t2 -c32 -d"${DUR}s" -H 'Accept: application/vnd.oci.image.manifest.v1+json' "$base/v2/bench/app/manifests/latest")
  grep -q 'Non-2xx' <<<"$out" && echo "$name: manifest GET had non-2xx responses" >&2
  MAN=$(awk '/Requests\/sec/{print $2}' <<<"$out")
  out=$(wrk -t2 -c4 -d"${DUR}s" "$base/v2/bench/app/blobs/$(sha "$WORK/layer4m")")
  grep -q 'Non-2xx' <<<"$out" && echo "$name: blob GET had non-2xx responses" >&2
  BLOB=$(awk '/Transfer\/sec/{print $2}' <<<"$out")
  printf '%-16s %14s %16s %12s\n' "$name" "$MAN" "$BLOB" "$PUSH"
  eval "MAN_$3=\$MAN BLOB_$3=\$BLOB PUSH_$3=\$PUSH"
}
# wrk's "123.45MB" -> MB as a number
to_mb() { python3 -c "import re,sys; m=re.match(r'([0-9.]+)([KMG]?)B',sys.argv[1] or '0B'); print(f\"{float(m.group(1))*{'K':1/1024,'M':1,'G':1024,'':1/1048576}[m.group(2)]:.0f}\" if m else '0')" "$1"; }
ratio() { python3 -c "import sys; a,b=float(sys.argv[1] or 0),float(sys.argv[2] or 0); print(f'{b/a:.2f}' if a else '-')" "$1" "$2"; }

printf '%-16s %14s %16s %12s\n' registry "manifest req/s" "blob GET /s" "push MB/s"

P1=$(free_port)
"$BIN" serve --addr "127.0.0.1:$P1" --root "$WORK/berth" --no-accesslog --log-level warn 2>"$WORK/berth.log" &
PIDS+=($!)
wait_up "$P1"
bench_one berth-registry "$P1" B

if command -v docker-registry >/dev/null; then
  P2=$(free_port)
  cat > "$WORK/distribution.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $WORK/distribution
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$P2
YML
  docker-registry serve "$WORK/distribution.yml" >"$WORK/distribution.log" 2>&1 &
  PIDS+=($!)
  wait_up "$P2"
  bench_one docker-registry "$P2" P
else
  echo "docker-registry unavailable: peer skipped"
fi

MAN_P=${MAN_P:-}; BLOB_P=${BLOB_P:-}; PUSH_P=${PUSH_P:-}
echo "| registry manifest GET req/s | $MAN_B | ${MAN_P:--} | $(ratio "$MAN_B" "$MAN_P") |"
echo "| registry blob GET MB/s (4 MiB) | $(to_mb "$BLOB_B") | $( [ -n "$BLOB_P" ] && to_mb "$BLOB_P" || echo -) | $( [ -n "$BLOB_P" ] && ratio "$(to_mb "$BLOB_B")" "$(to_mb "$BLOB_P")" || echo -) |"
echo "| registry push MB/s (4x64 MiB) | $PUSH_B | ${PUSH_P:--} | $(ratio "$PUSH_B" "$PUSH_P") |"
