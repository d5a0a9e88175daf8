#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs runc's own integration suite (runc v1.1.5 tests/integration/*.bats) against berth-runtime
# and, for the baseline on this machine, against runc; prints pass/fail/skip counts for both and
# the tests berth fails that runc passes. Not part of `make check` (it needs the network once to
# get runc's source, Go to build runc's test helpers, and takes minutes).
#
#   tests/conformance/runc-bats.sh [BUILD_DIR] [--berth-only] [--filter REGEX] [FILE.bats ...]
#
# Environment: RUNC_SRC=<dir> (a runc v1.1.5 source tree; else cloned into $WORKDIR),
# RUNC_BIN (the baseline runc, default `command -v runc`), WORKDIR (default /tmp/berth-runc-bats).
# Needs root. runc's own code is only used here, never committed into berth.
set -euo pipefail
BUILD=$(realpath "${1:-build}"); [[ $# -gt 0 ]] && shift
BERTH_ONLY=0; FILTER=(); FILES=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --berth-only) BERTH_ONLY=1 ;;
    --filter) FILTER=(--filter "$2"); shift ;;
    *) FILES+=("$1") ;;
  esac
  shift
done
WORKDIR=${WORKDIR:-/tmp/berth-runc-bats}
RT="$BUILD/bin/berth-runtime"
IMAGES=$(realpath -m "$BUILD/test-images")
[[ -x $RT ]] || { echo "runc-bats: $RT missing (build berth-runtime first)" >&2; exit 1; }
[[ -d $IMAGES/busybox/rootfs && -d $IMAGES/debian/rootfs ]] || { echo "runc-bats: $IMAGES missing (make test-images)" >&2; exit 1; }
mkdir -p "$WORKDIR"

# Tools the suite uses (bats, jq, gawk, go for the helpers, criu optional).
need=()
for t in bats jq gawk go git; do command -v $t >/dev/null || need+=("$t"); done
if [[ ${#need[@]} -gt 0 ]]; then
  pkgs=(); for t in "${need[@]}"; do case $t in go) pkgs+=(golang-go) ;; *) pkgs+=("$t") ;; esac; done
  apt-get install -y -q "${pkgs[@]}" >/dev/null
fi

# runc's source at the tag the issue names.
SRC=${RUNC_SRC:-$WORKDIR/runc}
if [[ ! -f $SRC/tests/integration/helpers.bash ]]; then
  git clone -q --depth 1 --branch v1.1.5 https://github.com/opencontainers/runc "$SRC"
fi
INT="$SRC/tests/integration"

# The suite's images, from berth's local test images instead of the network (get-images.sh
# skips the download when the file exists; tar detects that they are not compressed).
for img in busybox debian; do
  t="$INT/testdata/$img-amd64.tar.xz"
  [[ -s $t ]] || tar -C "$IMAGES/$img/rootfs" -cf "$t" .
done

# runc's Go test helpers (vendored deps, Debian's go works).
export GOFLAGS=-mod=vendor GOCACHE="$WORKDIR/gocache"
for c in recvtty sd-helper seccompagent; do
  [[ -x $SRC/contrib/cmd/$c/$c ]] && continue
  (cd "$SRC" && go build -buildvcs=false -tags seccomp -o "contrib/cmd/$c/$c" "./contrib/cmd/$c")
done

files=("${FILES[@]}")
[[ ${#files[@]} -gt 0 ]] || files=("$INT"/*.bats)
run_suite() {  # label runtime-binary
  local out="$WORKDIR/$1.tap"
  # Under a pty like runc's CI (`script`): many tests `runc run` with terminal: true.
  local cmd="RUNC=$(printf %q "$2") bats -t"
  for a in "${FILTER[@]}" "${files[@]}"; do cmd+=" $(printf %q "$a")"; done
  (cd "$INT" && script -qec "$cmd" /dev/null | tr -d '\r' >"$out" 2>&1) || true
  echo "$1: $(grep -c '^ok' "$out" | tr -d '\n') ok ($(grep -c '^ok .*# skip' "$out") skipped), $(grep -c '^not ok' "$out") failed — $out"
}
# The suite checks `runc -v` / `runc -h` texts: drive berth-runtime through a symlink named
# runc (it names itself after argv[0], as urfave/cli programs do).
mkdir -p "$WORKDIR/bin" && ln -sfn "$RT" "$WORKDIR/bin/runc"
run_suite berth "$WORKDIR/bin/runc"
RUNC_BIN=${RUNC_BIN:-$(command -v runc || true)}
if [[ $BERTH_ONLY -eq 0 && -n $RUNC_BIN ]]; then
  run_suite runc "$RUNC_BIN"
  echo "== failing with berth-runtime, passing with runc:"
  comm -12 <(grep '^not ok' "$WORKDIR/berth.tap" | sed 's/^not ok [0-9]* //' | sort) \
           <(grep '^ok' "$WORKDIR/runc.tap" | sed 's/^ok [0-9]* //' | sort) || true
  echo "== passing with berth-runtime, failing with runc:"
  comm -12 <(grep '^ok' "$WORKDIR/berth.tap" | grep -v '# skip' | sed 's/^ok [0-9]* //' | sort) \
           <(grep '^not ok' "$WORKDIR/runc.tap" | sed 's/^not ok [0-9]* //' | sort) || true
fi
