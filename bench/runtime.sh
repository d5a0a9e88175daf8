#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# berth-runtime vs runc: `run` of busybox `true` and a create -> start -> delete loop, 50
# interleaved runs each (bench/compare.py, wall-clock and CPU time), and a container with
# memory.limit = 512k running `true`. Installs runc with apt-get when missing; without it,
# reports berth alone. Needs root and the busybox test image (make test-images).
set -euo pipefail
BUILD=$(realpath "${1:-build}")
HERE=$(cd "$(dirname "$0")" && pwd)
RT="$BUILD/bin/berth-runtime"
ROOTFS=$(realpath -m "$BUILD/test-images/busybox/rootfs")
[[ -x $RT ]] || { echo "bench/runtime: $RT missing (build first)" >&2; exit 1; }
[[ -d $ROOTFS ]] || { echo "bench/runtime: $ROOTFS missing (make test-images)" >&2; exit 1; }
if ! command -v runc >/dev/null 2>&1; then
  apt-get install -y -q runc >/dev/null 2>&1 || true
fi
RUNC=$(command -v runc || true)

WORK=$(mktemp -d /tmp/berth-test-bench-runtime-XXXXXX)
cleanup() {
  "$RT" --root "$WORK/berth" delete --force berth-test-bench >/dev/null 2>&1 || true
  [[ -n $RUNC ]] && "$RUNC" --root "$WORK/runc" delete --force berth-test-bench >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/bundle"
# runc's default config (terminal off), running busybox `true` from the test image.
"$RT" spec --bundle "$WORK/bundle"
python3 - "$ROOTFS" "$WORK/bundle/config.json" "$WORK/mem.json" <<'PY'
import json, sys
p = sys.argv[2]
c = json.load(open(p))
c["root"]["path"] = sys.argv[1]
c["process"]["terminal"] = False
c["process"]["args"] = ["true"]
json.dump(c, open(p, "w"), indent=1)
c["linux"].setdefault("resources", {})["memory"] = {"limit": 512 * 1024}
json.dump(c, open(sys.argv[3], "w"), indent=1)
PY
mkdir -p "$WORK/mem" && mv "$WORK/mem.json" "$WORK/mem/config.json"
B="$RT --root $WORK/berth"
args=(--runs "${BENCH_RUNS:-50}" --cpu --a-label berth-runtime --b-label runc)
run_b=() ; loop_b=()
if [[ -n $RUNC ]]; then
  run_b=(--b "$RUNC --root $WORK/runc run --bundle $WORK/bundle berth-test-bench")
  loop_b=(--b "$RUNC --root $WORK/runc create --bundle $WORK/bundle berth-test-bench && $RUNC --root $WORK/runc start berth-test-bench && $RUNC --root $WORK/runc delete --force berth-test-bench")
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$HERE/compare.py" --name "runtime run busybox true" "${args[@]}" \
  --a "$B run --bundle $WORK/bundle berth-test-bench" "${run_b[@]}"
python3 "$HERE/compare.py" --name "runtime create+start+delete" "${args[@]}" \
  --a "$B create --bundle $WORK/bundle berth-test-bench && $B start berth-test-bench && $B delete --force berth-test-bench" \
  "${loop_b[@]}"
# memory.limit = 512k: berth-runtime sets the limit before anything joins the cgroup and its
# init is small; runc 1.1 fails here ("unable to set memory limit ... current usage"), so it is
# timed alone and runc's outcome is printed.
python3 "$HERE/compare.py" --name "runtime run true, memory.limit=512k" --runs "${BENCH_RUNS:-50}" --cpu \
  --a-label berth-runtime --a "$B run --bundle $WORK/mem berth-test-bench"
if [[ -n $RUNC ]]; then
  if out=$("$RUNC" --root "$WORK/runc" run --bundle "$WORK/mem" berth-test-bench 2>&1); then
    echo "  runc with memory.limit=512k: ok"
  else
    echo "  runc with memory.limit=512k: failed: ${out##*msg=}"
  fi
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
