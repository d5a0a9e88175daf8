#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# BuildKit's Dockerfile parser corpus through `berth build --dump-ast` (no daemon needed).
#   tests/conformance/dockerfile-parser.sh BUILD_DIR BUILDKIT
# BUILDKIT is a moby/buildkit checkout (a work tree, or a bare git directory such as the one the
# `fetch` tool leaves in /work/.mirror/moby+buildkit/repo: its HEAD is exported to a temp dir).
# Positive cases (frontend/dockerfile/parser/testfiles/*): the dump must equal `result`
# byte for byte, as BuildKit's TestParseCases (Dump() + "\n"). Negative cases
# (testfiles-negative/*): the parse must fail (TestParseErrorCases). Exit 0 only if all pass.
set -uo pipefail
BUILD=$(realpath "${1:?usage: dockerfile-parser.sh BUILD_DIR BUILDKIT}")
SRC=${2:?usage: dockerfile-parser.sh BUILD_DIR BUILDKIT}
BERTH=$BUILD/bin/berth
[[ -x $BERTH ]] || { echo "missing $BERTH" >&2; exit 2; }
TMP=$(mktemp -d /tmp/berth-test-dfcorpus-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
P=frontend/dockerfile/parser
if [[ -d $SRC/$P ]]; then
  ROOT=$SRC
  REV=$(git -C "$SRC" rev-parse HEAD 2>/dev/null || echo "work tree")
else
  git --git-dir="$SRC" archive HEAD "$P/testfiles" "$P/testfiles-negative" | tar -x -C "$TMP" ||
    { echo "$SRC: neither a checkout nor a git directory with $P" >&2; exit 2; }
  ROOT=$TMP
  REV=$(git --git-dir="$SRC" rev-parse HEAD)
fi
pass=0 fail=0
for d in "$ROOT/$P"/testfiles/*/; do
  name=$(basename "$d")
  if cmp -s <("$BERTH" build --dump-ast "$d/Dockerfile" 2>/dev/null) "$d/result"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL testfiles/$name"
    diff <("$BERTH" build --dump-ast "$d/Dockerfile" 2>&1) "$d/result" | head -20
  fi
done
npass=0 nfail=0
for d in "$ROOT/$P"/testfiles-negative/*/; do
  name=$(basename "$d")
  if "$BERTH" build --dump-ast "$d/Dockerfile" >/dev/null 2>"$TMP/err"; then
    nfail=$((nfail + 1))
    echo "FAIL testfiles-negative/$name: accepted"
  else
    npass=$((npass + 1))
    echo "ok   testfiles-negative/$name: $(head -1 "$TMP/err")"
  fi
done
echo "buildkit $REV: positive $pass/$((pass + fail)) equal, negative $npass/$((npass + nfail)) rejected"
[[ $fail -eq 0 && $nfail -eq 0 ]]
