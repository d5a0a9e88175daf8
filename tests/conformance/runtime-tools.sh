#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs the OCI runtime-tools validation suite (opencontainers/runtime-tools validation/*) against
# berth-runtime and, for the baseline, runc; prints per-test and total TAP counts. Not part of
# `make check` (network once for the source, Go to build ~60 test programs, minutes).
#
#   tests/conformance/runtime-tools.sh [BUILD_DIR] [--berth-only] [TEST ...]   (TEST: e.g. linux_sysctl)
#
# Environment: RT_TOOLS_SRC=<dir> (a runtime-tools tree; else cloned at REV into $WORKDIR),
# RUNC_BIN (default `command -v runc`), WORKDIR (default /tmp/berth-runtime-tools). Needs root.
# REV is the last runtime-tools commit that builds with Go 1.19 (Debian 12's); later ones need
# Go 1.21. Nothing of runtime-tools is committed into berth.
set -euo pipefail
BUILD=$(realpath "${1:-build}"); [[ $# -gt 0 ]] && shift
BERTH_ONLY=0; TESTS=()
while [[ $# -gt 0 ]]; do
  case $1 in --berth-only) BERTH_ONLY=1 ;; *) TESTS+=("$1") ;; esac
  shift
done
REV=260e151b8552afa2678ef6d41820ea0f31cd8be1
WORKDIR=${WORKDIR:-/tmp/berth-runtime-tools}
RT="$BUILD/bin/berth-runtime"
[[ -x $RT ]] || { echo "runtime-tools: $RT missing (build berth-runtime first)" >&2; exit 1; }
mkdir -p "$WORKDIR"
for t in go git; do command -v $t >/dev/null || apt-get install -y -q "$([[ $t == go ]] && echo golang-go || echo $t)" >/dev/null; done

SRC=${RT_TOOLS_SRC:-$WORKDIR/runtime-tools}
if [[ ! -d $SRC/validation ]]; then
  git clone -q https://github.com/opencontainers/runtime-tools "$SRC"
  git -C "$SRC" checkout -q "$REV"
fi
export GOFLAGS=-mod=vendor GOCACHE="$WORKDIR/gocache"
cd "$SRC"
# runtimetest runs inside the suite's busybox rootfs: static, like the project's Makefile.
[[ -x runtimetest ]] || CGO_ENABLED=0 go build -buildvcs=false -ldflags "-extldflags -static" -o runtimetest ./cmd/runtimetest
mapfile -t all < <(find validation -mindepth 2 -name '*.go' ! -path '*/util/*' | sort)
for f in "${all[@]}"; do [[ -x ${f%.go}.t ]] || go build -buildvcs=false -o "${f%.go}.t" "$f"; done
if [[ ${#TESTS[@]} -eq 0 ]]; then for f in "${all[@]}"; do TESTS+=("$(basename "$(dirname "$f")")"); done; fi

run_suite() {  # label runtime
  local label=$1 runtime=$2 out="$WORKDIR/$1" ok=0 bad=0 files_bad=()
  rm -rf "$out" && mkdir -p "$out"
  for t in "${TESTS[@]}"; do
    local rc=0
    RUNTIME=$runtime timeout 120 "validation/$t/$t.t" >"$out/$t.tap" 2>&1 || rc=$?
    local o b; o=$(grep -c '^ok' "$out/$t.tap" || true); b=$(grep -c '^not ok' "$out/$t.tap" || true)
    if [[ $rc -ne 0 && $b -eq 0 ]]; then b=1; fi  # died before printing a result
    ok=$((ok + o)); bad=$((bad + b))
    [[ $b -eq 0 ]] || files_bad+=("$t")
  done
  echo "$label: $ok ok, $bad not ok; tests with failures (${#files_bad[@]}/${#TESTS[@]}): ${files_bad[*]:-none} — $out/"
}
run_suite berth "$RT"
RUNC_BIN=${RUNC_BIN:-$(command -v runc || true)}
if [[ $BERTH_ONLY -eq 0 && -n $RUNC_BIN ]]; then run_suite runc "$RUNC_BIN"; fi
