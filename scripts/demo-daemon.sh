#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# berthd demo: start berthd on a private socket and data root, load the locally built busybox
# image, run a container that prints a greeting, show it, clean up.
#   scripts/demo-daemon.sh BUILD_DIR
# Client: build/bin/berth if built, else the docker CLI if on PATH, else curl --unix-socket.
# Runtime: berth-runtime (berthd's default); BERTH_DEMO_RUNTIME=runc to use runc instead.
set -euo pipefail
BUILD=$(realpath "${1:-build}")
BIN=$BUILD/bin
IMAGES=$BUILD/test-images
[[ -x $BIN/berthd ]] || { echo "demo-daemon: $BIN/berthd not built" >&2; exit 1; }
[[ -f $IMAGES/busybox.tar ]] || { echo "demo-daemon: run make test-images first" >&2; exit 1; }

WORK=$(mktemp -d /tmp/berth-test-demo-XXXXXX)
SOCK=$WORK/berth.sock
RUNTIME_ARGS=()
if [[ -z ${BERTH_DEMO_RUNTIME:-} && ! -x $BIN/berth-runtime ]] && command -v runc >/dev/null; then
  echo "demo-daemon: berth-runtime not built, using runc"
  BERTH_DEMO_RUNTIME=runc
fi
if [[ -n ${BERTH_DEMO_RUNTIME:-} ]]; then
  RUNTIME_ARGS=(--add-runtime "demo=$(command -v "$BERTH_DEMO_RUNTIME" || echo "$BERTH_DEMO_RUNTIME")" --default-runtime demo)
fi
echo '{}' > "$WORK/daemon.json"
# Nothing of the host's own: no bridge (the demo's container runs with --network none) and an
# nftables table of its own, removed at the end.
NFT_TABLE=berth-demo-$$
"$BIN/berthd" -H "unix://$SOCK" --data-root "$WORK/data" --exec-root "$WORK/exec" --pidfile "$WORK/berthd.pid" \
  --config-file "$WORK/daemon.json" --bridge none --nft-table "$NFT_TABLE" "${RUNTIME_ARGS[@]}" >"$WORK/berthd.log" 2>&1 &
DPID=$!
cleanup() {
  kill -TERM "$DPID" 2>/dev/null || true
  wait "$DPID" 2>/dev/null || true
  nft delete table inet "$NFT_TABLE" 2>/dev/null || true
  # leftover mounts of a failed run
  grep -o "$WORK[^ ]*" /proc/mounts 2>/dev/null | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
for _ in $(seq 100); do [[ -S $SOCK ]] && break; sleep 0.05; done
[[ -S $SOCK ]] || { cat "$WORK/berthd.log"; exit 1; }
echo "berthd (pid $DPID) listening on unix://$SOCK"

if [[ -x $BIN/berth ]]; then
  CLI=("$BIN/berth" -H "unix://$SOCK")
elif command -v docker >/dev/null; then
  CLI=(docker -H "unix://$SOCK")
else
  CLI=()
fi

if [[ ${#CLI[@]} -gt 0 ]]; then
  set -x
  "${CLI[@]}" version --format 'server {{.Server.Version}} (API {{.Server.APIVersion}}, {{.Server.Os}}/{{.Server.Arch}})'
  "${CLI[@]}" load -i "$IMAGES/busybox.tar"
  "${CLI[@]}" run --name berth-demo --network none busybox sh -c 'echo "Hello from berth! I am $(hostname), pid $$, running busybox."'
  "${CLI[@]}" ps -a
  "${CLI[@]}" logs berth-demo
  "${CLI[@]}" rm berth-demo
  set +x
else
  C=(curl -sS --unix-socket "$SOCK")
  set -x
  "${C[@]}" http://berth/v1.47/version; echo
  "${C[@]}" -X POST -H 'Content-Type: application/x-tar' --data-binary "@$IMAGES/busybox.tar" http://berth/v1.47/images/load
  id=$("${C[@]}" -X POST -H 'Content-Type: application/json' \
    -d '{"Image":"busybox","Cmd":["sh","-c","echo Hello from berth! I am $(hostname)."],"HostConfig":{"NetworkMode":"none"}}' \
    'http://berth/v1.47/containers/create?name=berth-demo' | python3 -c 'import json,sys; print(json.load(sys.stdin)["Id"])')
  "${C[@]}" -X POST "http://berth/v1.47/containers/$id/start"
  "${C[@]}" -X POST "http://berth/v1.47/containers/$id/wait"; echo
  "${C[@]}" "http://berth/v1.47/containers/$id/logs?stdout=1" | tail -c +9; echo
  "${C[@]}" -X DELETE "http://berth/v1.47/containers/$id"
  set +x
fi
echo "demo: done"
