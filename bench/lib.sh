# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash disable=SC2034
# (SC2034: the variables set here are read by the scripts that source this file.)
# Sourced by the bench scripts (not a benchmark: run-all.sh skips it). The daemons a benchmark
# compares, each private to the script that starts it: its own socket, data root, exec root and
# pid file, stopped by the script's EXIT trap (bench_stop_daemons) or earlier.
#
#   bench_berthd DIR BIN [args...]   berthd on DIR/s, data DIR/d, exec root DIR/e, pidfile DIR/p,
#                                    an empty config file, log DIR/log, run by BERTH_BENCH_RUNTIME
#                                    (runc when there is no berth-runtime) if set; waits for the
#                                    socket. Sets BERTHD_PID, BERTHD_SOCK, BERTHD_HOST.
#   bench_dockerd [args...]          dockerd (docker.io), if installed, in a fresh /tmp/bt-dk-XXXXXX
#                                    (short: containerd's socket path under the exec root must fit
#                                    a sockaddr_un) with --iptables=false --ip6tables=false and the
#                                    args (default --bridge=none); waits until it answers. Sets
#                                    PEER_PID, PEER_SOCK, PEER_HOST, PEER_DIR, PEER_LOG. Returns 1
#                                    (with the log's tail on stderr) when it is missing or not up.
#   bench_stop_dockerd               removes its containers, stops it (and its containerd).
#   bench_stop_daemons               both daemons, their mounts and the peer's directory.
#
# PEER_HOST and BERTHD_HOST are "DOCKER_HOST=unix://…" words for `env` and compare.py commands.
# Both daemons' exec roots are on a tmpfs of their own, as /run (their default exec-root's home)
# is on a normal host; this VM's /run is on the root ext4 (BENCH_EXEC_TMPFS=0: in the work dir).

BERTHD_PID="" BERTHD_SOCK="" BERTHD_HOST="" BERTHD_DIR=""

# $1: an exec root to be; a tmpfs there unless BENCH_EXEC_TMPFS=0 (unmounted by bench_umount_under).
bench_exec_tmpfs() {
  [[ ${BENCH_EXEC_TMPFS:-1} != 0 ]] || return 0
  mkdir -p "$1" && mount -t tmpfs -o mode=0711 tmpfs "$1"
}
PEER_PID="" PEER_SOCK="" PEER_HOST="" PEER_DIR="" PEER_LOG=""

bench_berthd() {
  local dir=$1 bin=$2 rt=()
  shift 2
  [[ -z ${BERTH_BENCH_RUNTIME:-} && ! -x $bin/berth-runtime ]] && command -v runc >/dev/null && BERTH_BENCH_RUNTIME=runc
  [[ -n ${BERTH_BENCH_RUNTIME:-} ]] && rt=(--add-runtime "b=$(command -v "$BERTH_BENCH_RUNTIME")" --default-runtime b)
  echo '{}' > "$dir/none.json"
  bench_exec_tmpfs "$dir/e"
  "$bin/berthd" -H "unix://$dir/s" --data-root "$dir/d" --exec-root "$dir/e" --pidfile "$dir/p" \
    --config-file "$dir/none.json" "$@" "${rt[@]}" >"$dir/log" 2>&1 &
  BERTHD_PID=$! BERTHD_DIR=$dir BERTHD_SOCK=$dir/s BERTHD_HOST="DOCKER_HOST=unix://$dir/s"
  for _ in $(seq 200); do [[ -S $BERTHD_SOCK ]] && return 0; sleep 0.05; done
  echo "berthd did not come up: $(tail -3 "$dir/log")" >&2
  return 1
}

bench_dockerd() {
  command -v dockerd >/dev/null || { echo "dockerd not installed: berth only" >&2; return 1; }
  PEER_DIR=$(mktemp -d /tmp/bt-dk-XXXXXX)
  PEER_SOCK=$PEER_DIR/d.sock PEER_HOST="DOCKER_HOST=unix://$PEER_DIR/d.sock" PEER_LOG=$PEER_DIR/dockerd.log
  echo '{}' > "$PEER_DIR/none.json"
  bench_exec_tmpfs "$PEER_DIR/x"
  (($#)) || set -- --bridge=none
  dockerd -H "unix://$PEER_SOCK" --data-root "$PEER_DIR/data" --exec-root "$PEER_DIR/x" --pidfile "$PEER_DIR/d.pid" \
    --config-file "$PEER_DIR/none.json" --iptables=false --ip6tables=false "$@" >"$PEER_LOG" 2>&1 &
  PEER_PID=$!
  for _ in $(seq 300); do
    docker -H "unix://$PEER_SOCK" info >/dev/null 2>&1 && return 0
    kill -0 "$PEER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "dockerd did not come up: $(tail -3 "$PEER_LOG")" >&2
  return 1
}

# $1: a pid; TERM, up to 15 s, then KILL.
bench_stop_pid() {
  kill "$1" 2>/dev/null || return 0
  for _ in $(seq 150); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# $1: a socket; removes every container of that daemon.
bench_rm_containers() {
  [[ -S $1 ]] || return 0
  docker -H "unix://$1" ps -aq 2>/dev/null | xargs -r docker -H "unix://$1" rm -f >/dev/null 2>&1 || true
}

bench_stop_dockerd() {
  [[ -n $PEER_PID ]] || return 0
  bench_rm_containers "$PEER_SOCK"
  bench_stop_pid "$PEER_PID"
  # its containerd (pidfile under the exec root), should dockerd not have stopped it
  if [[ -f $PEER_DIR/x/containerd/containerd.pid ]]; then
    kill "$(cat "$PEER_DIR/x/containerd/containerd.pid")" 2>/dev/null || true
  fi
  PEER_PID=""
}

# Unmounts whatever is mounted below the directories (deepest first).
bench_umount_under() {
  local d
  for d in "$@"; do
    [[ -n $d ]] || continue
    awk -v w="$d/" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  done
}

bench_stop_daemons() {
  if [[ -n $BERTHD_PID ]]; then
    bench_rm_containers "$BERTHD_SOCK"
    kill "$BERTHD_PID" 2>/dev/null || true
    wait "$BERTHD_PID" 2>/dev/null || true
    BERTHD_PID=""
  fi
  bench_stop_dockerd
  bench_umount_under "$BERTHD_DIR" "$PEER_DIR"
  [[ -n $PEER_DIR ]] && rm -rf "$PEER_DIR"
  return 0
}
