#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every component's benchmark (bench/<component>.sh BUILD_DIR) and prints the table rows
# to paste into docs/benchmarks.md. Benchmarks never fail on a wall-clock number.
set -euo pipefail
BUILD=$(realpath "${1:-build}")
cd "$(dirname "$0")"
echo "| benchmark | berth | peer | peer/berth |"
echo "|---|---|---|---|"
for b in ./*.sh; do
  [[ $(basename "$b") == run-all.sh || $(basename "$b") == lib.sh ]] && continue
  bash "$b" "$BUILD" | grep '^|' || echo "| $(basename "$b" .sh) | failed | | |"
done
