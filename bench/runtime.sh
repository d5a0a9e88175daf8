#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# berth-runtime vs runc: `run` of busybox `true` and a create -> start -> delete loop, 50
# interleaved runs each (bench/compare.py). Installs runc with apt-get when missing; without it,
# reports berth alone. Needs root and the busybox test image (make test-images).
set -euo pipefail
BUILD=$(realpath "${1:-build}")
HERE=$(cd "$(dirname "$0")" && pwd)
RT="$BUILD/bin/berth-runtime"
ROOTFS="$BUILD/test-images/busybox/rootfs"
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
python3 - "$ROOTFS" "$WORK/bundle/config.json" <<'PY'
import json, sys
p = sys.argv[2]
c = json.load(open(p))
c["root"]["path"] = sys.argv[1]
c["process"]["terminal"] = False
c["process"]["args"] = ["true"]
json.dump(c, open(p, "w"), indent=1)
PY
B="$RT --root $WORK/berth"
args=(--runs 50 --a-label berth-runtime --b-label runc)
run_b=() ; loop_b=()
if [[ -n $RUNC ]]; then
  run_b=(--b "$RUNC --root $WORK/runc run --bundle $WORK/bundle berth-test-bench")
  loop_b=(--b "$RUNC --root $WORK/runc create --bundle $WORK/bundle berth-test-bench && $RUNC --root $WORK/runc start berth-test-bench && $RUNC --root $WORK/runc delete --force berth-test-bench")
fi
python3 "$HERE/compare.py" --name "runtime run busybox true" "${args[@]}" \
  --a "$B run --bundle $WORK/bundle berth-test-bench" "${run_b[@]}"
python3 "$HERE/compare.py" --name "runtime create+start+delete" "${args[@]}" \
  --a "$B create --bundle $WORK/bundle berth-test-bench && $B start berth-test-bench && $B delete --force berth-test-bench" \
  "${loop_b[@]}"
