#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The demo: what exists today, end to end. With berthd: start it on a private socket, load the
# locally built busybox image, run a container that prints a greeting, through the daemon.
# Before the daemon exists: run the busybox bundle with berth-runtime.
set -euo pipefail
BUILD=$(realpath "${1:-build}")
BIN=$BUILD/bin
IMAGES=$BUILD/test-images

if [[ -x $BIN/berthd ]]; then
  exec bash "$(dirname "$0")/demo-daemon.sh" "$BUILD"
fi

if [[ -x $BIN/berth-runtime ]]; then
  id=berth-demo-$$
  bundle=$(mktemp -d /tmp/berth-demo-XXXXXX)
  trap 'rm -rf "$bundle"' EXIT
  ln -s "$IMAGES/busybox/rootfs" "$bundle/rootfs"
  sed 's/"echo hello from busybox"/"echo Hello from berth! I am $(hostname), pid $$, running busybox."/' \
    "$IMAGES/busybox/bundle/config.json" > "$bundle/config.json"
  echo "+ berth-runtime run --bundle $bundle $id"
  "$BIN/berth-runtime" run --bundle "$bundle" "$id"
  exit 0
fi

echo "demo: neither berthd nor berth-runtime is built yet; test images are ready in $IMAGES"
ls "$IMAGES"
