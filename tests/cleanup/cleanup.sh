#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Removes what a crashed or interrupted test run may have left behind. Everything tests create
# carries the prefix "berth-test-" (or "bt" for short kernel names such as interfaces), so this
# never touches anything else. Safe to run any time; prints what it removed.
set -uo pipefail
P=berth-test-

# Processes whose command line names a test path or a test daemon.
for pid in $(pgrep -f -- "/tmp/${P}" 2>/dev/null); do
  [[ $pid == $$ ]] && continue
  echo "cleanup: kill $pid $(tr '\0' ' ' < /proc/$pid/cmdline 2>/dev/null | cut -c1-80)"
  kill -9 "$pid" 2>/dev/null
done

# Mounts below test scratch dirs, deepest first.
awk -v p="/tmp/${P}" 'index($5, p) == 1 {print $5}' /proc/self/mountinfo | sort -r | while read -r m; do
  echo "cleanup: umount $m"; umount -l "$m" 2>/dev/null
done

# Network namespaces and interfaces.
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^(${P}|bt)"); do
  echo "cleanup: netns $ns"; ip netns delete "$ns"
done
for ifc in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E '^bt[0-9a-f]'); do
  echo "cleanup: link $ifc"; ip link delete "$ifc" 2>/dev/null
done

# nftables tables created by tests.
if command -v nft >/dev/null; then
  nft list tables 2>/dev/null | awk '{print $2" "$3}' | grep -E " (${P}|bt)" | while read -r fam t; do
    echo "cleanup: nft table $fam $t"; nft delete table "$fam" "$t"
  done
fi

# cgroups (v1 hierarchies and v2), deepest first.
for root in /sys/fs/cgroup /sys/fs/cgroup/*; do
  [[ -d $root ]] || continue
  find "$root" -mindepth 1 -maxdepth 4 -type d -name "${P}*" 2>/dev/null | sort -r | while read -r cg; do
    for t in $(find "$cg" -type d | sort -r); do
      for p in $(cat "$t/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
      rmdir "$t" 2>/dev/null && echo "cleanup: cgroup $t"
    done
  done
done

# Scratch directories.
for d in /tmp/${P}*; do
  [[ -e $d ]] || continue
  rm -rf --one-file-system "$d" 2>/dev/null && echo "cleanup: rm $d"
done
exit 0
