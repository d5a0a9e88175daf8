#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# berth-registry vs Debian's docker-registry (distribution 2.8) on loopback.
#   bench/registry.sh BUILD_DIR [seconds-per-run] [rounds]
# Measures manifest GET req/s and blob GET MB/s with wrk, and push MB/s (monolithic
# POST+PUT of 4 x 64 MiB fresh random blobs with curl, fsync'd by both). The two registries are
# measured in interleaved rounds (default 3) and the median of each figure is reported, so
# load from other processes on the machine hits both alike. The peer runs with Debian's default
# blob descriptor cache (inmemory). It is installed on demand (apt-get install docker-registry
# wrk) and skipped if unavailable.
set -euo pipefail
BUILD=${1:?usage: bench/registry.sh BUILD_DIR [seconds]}
DUR=${2:-5}
ROUNDS=${3:-3}
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

# Test data: a config, a 4 MiB layer for blob GET, 4 x 64 MiB for push (new for every push).
head -c 4194304 /dev/urandom > "$WORK/layer4m"
fresh_big() { for i in 1 2 3 4; do head -c 67108864 /dev/urandom > "$WORK/big$i"; sha "$WORK/big$i" > "$WORK/big$i.digest"; done; }
echo '{"architecture":"amd64","os":"linux"}' > "$WORK/config"
sha() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }

push_blob() {  # port repo file: POST, then PUT with the body streamed from the file (-T)
  local loc digest
  if [ -f "$3.digest" ]; then digest=$(cat "$3.digest"); else digest=$(sha "$3"); fi  # digests of the push data are made before timing
  loc=$(curl -sf -D- -o /dev/null -X POST "http://127.0.0.1:$1/v2/$2/blobs/uploads/" | tr -d '\r' | awk 'tolower($1)=="location:"{print $2}')
  case "$loc" in http*) ;; *) loc="http://127.0.0.1:$1$loc" ;; esac
  local sep='?'; case "$loc" in *\?*) sep='&' ;; esac
  curl -sf -o /dev/null -T "$3" -H 'Expect:' -H 'Content-Type: application/octet-stream' "$loc${sep}digest=$digest"
}

setup_one() {  # port: the manifest and its blobs
  local port=$1 base="http://127.0.0.1:$1"
  push_blob "$port" bench/app "$WORK/config"
  push_blob "$port" bench/app "$WORK/layer4m"
  cat > "$WORK/manifest.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"$(sha "$WORK/config")","size":$(stat -c%s "$WORK/config")},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"$(sha "$WORK/layer4m")","size":4194304}]}
JSON
  curl -sf -o /dev/null -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary @"$WORK/manifest.json" "$base/v2/bench/app/manifests/latest"
  # Sanity: both URLs answer 200 with the right content before measuring.
  curl -sf -o /dev/null -H 'Accept: application/vnd.oci.image.manifest.v1+json' "$base/v2/bench/app/manifests/latest" ||
    { echo "$port: manifest GET failed" >&2; return 1; }
  [ "$(curl -sf "$base/v2/bench/app/blobs/$(sha "$WORK/layer4m")" | sha256sum | cut -d' ' -f1)" = "$(sha "$WORK/layer4m" | cut -d: -f2)" ] ||
    { echo "$port: blob GET returned wrong content" >&2; return 1; }
}

bench_round() {  # name port key round: appends one figure per metric to $WORK/<key>.<metric>
  local name=$1 port=$2 key=$3 round=$4 base="http://127.0.0.1:$2" out t0 t1
  out=$(wrk -t2 -c32 -d"${DUR}s" -H 'Accept: application/vnd.oci.image.manifest.v1+json' "$base/v2/bench/app/manifests/latest")
  grep -q 'Non-2xx' <<<"$out" && echo "$name: manifest GET had non-2xx responses" >&2
  awk '/Requests\/sec/{print $2}' <<<"$out" >> "$WORK/$key.man"
  out=$(wrk -t2 -c4 -d"${DUR}s" "$base/v2/bench/app/blobs/$(sha "$WORK/layer4m")")
  grep -q 'Non-2xx' <<<"$out" && echo "$name: blob GET had non-2xx responses" >&2
  to_mb "$(awk '/Transfer\/sec/{print $2}' <<<"$out")" >> "$WORK/$key.blob"
  fresh_big
  sync
  t0=$(date +%s.%N)
  for i in 1 2 3 4; do push_blob "$port" "bench/push$round" "$WORK/big$i"; done
  t1=$(date +%s.%N)
  python3 -c "print(f'{256/($t1-$t0):.0f}')" >> "$WORK/$key.push"
  printf '%-16s round %d: %10s req/s %6s MB/s blob GET %5s MB/s push\n' "$name" "$round" \
    "$(tail -1 "$WORK/$key.man")" "$(tail -1 "$WORK/$key.blob")" "$(tail -1 "$WORK/$key.push")"
}
median() { [ -s "$1" ] && python3 -c "import statistics,sys; print(statistics.median(float(l) for l in open(sys.argv[1]) if l.strip()))" "$1" || echo ""; }
# wrk's "123.45MB" -> MB as a number
to_mb() { python3 -c "import re,sys; m=re.match(r'([0-9.]+)([KMG]?)B',sys.argv[1] or '0B'); print(f\"{float(m.group(1))*{'K':1/1024,'M':1,'G':1024,'':1/1048576}[m.group(2)]:.0f}\" if m else '0')" "$1"; }
ratio() { python3 -c "import sys; a,b=float(sys.argv[1] or 0),float(sys.argv[2] or 0); print(f'{b/a:.2f}' if a else '-')" "$1" "$2"; }

P1=$(free_port)
"$BIN" serve --addr "127.0.0.1:$P1" --root "$WORK/berth" --no-accesslog --log-level warn 2>"$WORK/berth.log" &
PIDS+=($!)
wait_up "$P1"
setup_one "$P1"

P2=
if command -v docker-registry >/dev/null; then
  P2=$(free_port)
  cat > "$WORK/distribution.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  cache:
    blobdescriptor: inmemory
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
  setup_one "$P2"
else
  echo "docker-registry unavailable: peer skipped"
fi

for r in $(seq "$ROUNDS"); do
  bench_round berth-registry "$P1" B "$r"
  [ -n "$P2" ] && bench_round docker-registry "$P2" P "$r"
done

MAN_B=$(median "$WORK/B.man") BLOB_B=$(median "$WORK/B.blob") PUSH_B=$(median "$WORK/B.push")
MAN_P=$(median "$WORK/P.man") BLOB_P=$(median "$WORK/P.blob") PUSH_P=$(median "$WORK/P.push")
echo "medians of $ROUNDS interleaved rounds (berth | docker-registry | berth/peer):"
echo "| registry manifest GET req/s | $MAN_B | ${MAN_P:--} | $(ratio "$MAN_P" "$MAN_B") |"
echo "| registry blob GET MB/s (4 MiB) | $BLOB_B | ${BLOB_P:--} | $(ratio "$BLOB_P" "$BLOB_B") |"
echo "| registry push MB/s (4x64 MiB) | $PUSH_B | ${PUSH_P:--} | $(ratio "$PUSH_P" "$PUSH_B") |"
