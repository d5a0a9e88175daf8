#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# berth CLI vs docker CLI latency against the same berthd.
#   bench/cli.sh BUILD_DIR [runs]
# Reports the median wall time (ms) of `version` and `ps` (with 0 and N containers) for
# `berth` and `docker` (when installed). Needs root (starts a private berthd).
set -euo pipefail
BUILD=${1:?usage: bench/cli.sh BUILD_DIR [runs]}
RUNS=${2:-30}
NCTR=${NCTR:-100}
BERTH=$BUILD/bin/berth
BERTHD=$BUILD/bin/berthd
IMG=$BUILD/test-images/busybox.tar
for f in "$BERTH" "$BERTHD" "$IMG"; do [ -e "$f" ] || { echo "missing $f" >&2; exit 1; }; done
DOCKER=$(command -v docker || true)

WORK=$(mktemp -d /tmp/berth-test-clibench-XXXXXX)
SOCK=$WORK/d.sock
export BERTH_CONFIG=$WORK/cfg DOCKER_CONFIG=$WORK/dcfg
cleanup() {
  if [ -n "${DPID:-}" ]; then
    "$BERTH" -H "unix://$SOCK" ps -aq 2>/dev/null | xargs -r "$BERTH" -H "unix://$SOCK" rm -f >/dev/null 2>&1 || true
    kill "$DPID" 2>/dev/null || true; wait "$DPID" 2>/dev/null || true
  fi
  umount -R "$WORK" 2>/dev/null || true
  nft delete table inet "berth-bench-cli-$$" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
# networking is not measured here: no default bridge, a table of its own (removed in cleanup)
"$BERTHD" -H "unix://$SOCK" --data-root "$WORK/data" --exec-root "$WORK/exec" --pidfile "$WORK/berthd.pid" \
  --bridge none --nft-table "berth-bench-cli-$$" >"$WORK/berthd.log" 2>&1 &
DPID=$!
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
"$BERTH" -H "unix://$SOCK" load -i "$IMG" >/dev/null

median_ms() {  # command...
  local i t0 t1 times=()
  for ((i = 0; i < RUNS; i++)); do
    t0=$(date +%s%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]/1000}'
}

# CPU time (user+sys, ms) per run of the command and its children: robust on a loaded machine.
cpu_ms() {
  local out
  out=$( { for ((i = 0; i < RUNS; i++)); do "$@" >/dev/null 2>&1 || true; done; times; } | tail -1)
  # "XmY.YYYs XmY.YYYs" = children user, children sys
  echo "$out" | awk -v n="$RUNS" '{ split($1,u,/[ms]/); split($2,s,/[ms]/); printf "%.2f", (u[1]*60+u[2]+s[1]*60+s[2])*1000/n }'
}

row() {  # label berth-args...
  local label=$1; shift
  local b d="-" bc dc="-"
  b=$(median_ms "$BERTH" -H "unix://$SOCK" "$@")
  bc=$(cpu_ms "$BERTH" -H "unix://$SOCK" "$@")
  if [ -n "$DOCKER" ]; then
    d=$(DOCKER_HOST="unix://$SOCK" median_ms "$DOCKER" "$@")
    dc=$(DOCKER_HOST="unix://$SOCK" cpu_ms "$DOCKER" "$@")
  fi
  printf '%-28s %10s %10s %12s %12s\n' "$label" "$b" "$d" "$bc" "$dc"
}

printf '%-28s %10s %10s %12s %12s   (%d runs; wall = median ms, cpu = user+sys ms per run)\n' \
  "command" "berth wall" "docker" "berth cpu" "docker cpu" "$RUNS"
row "--version (no daemon)" --version
printf '  (spawn baseline: /bin/true %s ms wall)\n' "$(median_ms /bin/true)"
row "version (client only)" version --format '{{.Client.Version}}'
row "version" version
row "ps (0 containers)" ps
for ((i = 0; i < NCTR; i++)); do
  "$BERTH" -H "unix://$SOCK" create --name "berth-test-b$i" busybox sleep 1000 >/dev/null 2>&1
done
row "ps -a ($NCTR containers)" ps -a
# berthd's own CPU per GET /containers/json?all=1 (utime+stime of the daemon over RUNS requests)
daemon_ticks() { awk '{print $14 + $15}' "/proc/$DPID/stat"; }
t0=$(daemon_ticks)
for ((i = 0; i < RUNS; i++)); do "$BERTH" -H "unix://$SOCK" ps -a >/dev/null 2>&1 || true; done
t1=$(daemon_ticks)
printf '  (berthd cpu per ps -a: %s ms)\n' "$(awk -v a="$t0" -v b="$t1" -v n="$RUNS" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", (b - a) * 1000 / hz / n}')"
row "images" images
