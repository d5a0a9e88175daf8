#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs the OCI distribution-spec conformance suite (v1.1.x, the ginkgo one with the four
# workflows pull / push / content discovery / content management) against a scratch
# berth-registry on 127.0.0.1. Not part of `make check`: the suite is third-party Go code that
# CI cannot fetch, so this script neither fetches nor builds it. Point OCI_CONFORMANCE at a
# `conformance.test` binary built from opencontainers/distribution-spec (tag v1.1.x, folder
# conformance/); results of the last run are in docs/design/registry.md.
#
#   OCI_CONFORMANCE=/path/conformance.test tests/conformance/distribution-spec.sh [build-dir]
set -euo pipefail
BUILD=${1:-build}
BIN=$BUILD/bin/berth-registry
: "${OCI_CONFORMANCE:?set OCI_CONFORMANCE to the suite binary (see the header of this script)}"
[ -x "$BIN" ] || { echo "no $BIN: build berth-registry first" >&2; exit 2; }
[ -x "$OCI_CONFORMANCE" ] || { echo "not executable: $OCI_CONFORMANCE" >&2; exit 2; }
BIN=$(readlink -f "$BIN")
SUITE=$(readlink -f "$OCI_CONFORMANCE")

dir=$(mktemp -d /tmp/berth-test-conformance.XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT
cat > "$dir/config.yml" <<CFG
version: 0.1
storage:
  filesystem:
    rootdirectory: $dir/root
  delete:
    enabled: true
http:
  addr: 127.0.0.1:0
CFG
"$BIN" serve --config "$dir/config.yml" --no-accesslog 2> "$dir/registry.log" &
pid=$!
port=
for _ in $(seq 100); do
  port=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$dir/registry.log" | sed 's/.*://' || true)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat "$dir/registry.log" >&2; exit 1; }

mkdir -p "$dir/report"
cd "$dir"
rc=0
env OCI_ROOT_URL="http://127.0.0.1:$port" \
  OCI_NAMESPACE=conformance/repo1 OCI_CROSSMOUNT_NAMESPACE=conformance/repo2 \
  OCI_TEST_PULL=1 OCI_TEST_PUSH=1 OCI_TEST_CONTENT_DISCOVERY=1 OCI_TEST_CONTENT_MANAGEMENT=1 \
  OCI_AUTOMATIC_CROSSMOUNT=1 OCI_HIDE_SKIPPED_WORKFLOWS=0 OCI_DEBUG=${OCI_DEBUG:-0} \
  OCI_REPORT_DIR="$dir/report" \
  timeout 600 "$SUITE" > "$dir/out.txt" 2>&1 || rc=$?
sed 's/\x1b\[[0-9;]*m//g' "$dir/out.txt" | grep -E '\[FAIL\]|^Ran |Passed|FAIL!|SUCCESS!' || true
[ -n "${KEEP_REPORT:-}" ] && cp -r "$dir/report" "$KEEP_REPORT"
exit $rc
