#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# berth-registry with real clients, all on 127.0.0.1:
#  - skopeo: push a docker-archive as Docker v2s2 and as OCI, inspect, list-tags, copy back out
#    (layers byte-identical), delete;
#  - mirror mode: a second berth-registry with proxy.remoteurl = the first; pulls through it,
#    then serves from its cache with the upstream stopped; pushes to it are refused;
#  - real dockerd (Debian's docker.io): started only for this script with its own socket,
#    data-root, exec-root, pidfile, no iptables, no bridge, vfs storage; loads busybox.tar,
#    pushes to berth-registry, removes the image, pulls it back (same digest), pulls through
#    the mirror; docker login + token push + ACL denial against a third instance with
#    htpasswd, ACL and its own token endpoint; stopped and removed at the end.
# Exit 77 (ctest SKIP) when skopeo is not installed; without dockerd/docker (Debian's docker.io)
# or root, the dockerd part is skipped with a note.
#
#   tests/integration/registry/interop.sh BUILD_DIR
set -uo pipefail
BUILD=$(readlink -f "${1:-build}")
BIN=$BUILD/bin/berth-registry
IMAGES=$BUILD/test-images
[ -x "$BIN" ] || { echo "no $BIN"; exit 1; }
[ -f "$IMAGES/busybox.tar" ] || { echo "no $IMAGES/busybox.tar (make test-images)"; exit 1; }
command -v skopeo >/dev/null || { echo "SKIP: skopeo not installed"; exit 77; }
with_docker=1
if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null || [ "$(id -u)" != 0 ]; then
  echo "note: dockerd/docker not installed or not root: the dockerd part is skipped"
  with_docker=0
fi

S=$(mktemp -d /tmp/berth-test-regio.XXXXXX)
declare -A PID
passed=0
failed=0
ok() { echo "ok: $* [${SECONDS}s]"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() {  # check "what" cmd...
  local what=$1
  shift
  if "$@" >> "$S/cmd.log" 2>&1; then ok "$what"; else bad "$what (see below)"; tail -5 "$S/cmd.log"; fi
}

stop_dockerd() {
  [ -f "$S/docker/docker.pid" ] || return 0
  local p
  p=$(cat "$S/docker/docker.pid" 2>/dev/null) || return 0
  kill "$p" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$p" 2>/dev/null
  rm -f "$S/docker/docker.pid"
}
cleanup() {
  stop_dockerd
  for k in "${!PID[@]}"; do kill -9 "${PID[$k]}" 2>/dev/null; wait "${PID[$k]}" 2>/dev/null; done
  # dockerd may leave mounts under its roots.
  findmnt -rn -o TARGET | grep "^$S/" | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  rm -rf "$S"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_registry NAME CONFIG-EXTRA [PORT]: sets PORT.
start_registry() {
  local name=$1 extra=${2:-} port=${3:-0}
  mkdir -p "$S/$name"
  printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:%s\n%s' \
    "$S/$name/root" "$port" "$extra" > "$S/$name/config.yml"
  "$BIN" serve --config "$S/$name/config.yml" > /dev/null 2> "$S/$name/log" < /dev/null &
  PID[$name]=$!
  for _ in $(seq 100); do
    if grep -q 'listening on 127.0.0.1:' "$S/$name/log"; then
      PORT=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$S/$name/log" | head -1 | sed 's/.*://')
      return 0
    fi
    sleep 0.1
  done
  cat "$S/$name/log" >&2
  return 1
}

start_registry up || { echo "upstream did not start"; exit 1; }
R=127.0.0.1:$PORT
echo "berth-registry on $R"
sk() { skopeo --insecure-policy "$@"; }

# ---- skopeo ----
check "skopeo push v2s2" sk copy --dest-tls-verify=false --format v2s2 "docker-archive:$IMAGES/busybox.tar" "docker://$R/interop/busybox:v2s2"
check "skopeo push oci" sk copy --dest-tls-verify=false --format oci "docker-archive:$IMAGES/busybox.tar" "docker://$R/interop/busybox:oci"
raw_v2=$(sk inspect --tls-verify=false --raw "docker://$R/interop/busybox:v2s2" 2>>"$S/cmd.log")
raw_oci=$(sk inspect --tls-verify=false --raw "docker://$R/interop/busybox:oci" 2>>"$S/cmd.log")
[[ $raw_v2 == *'application/vnd.docker.distribution.manifest.v2+json'* ]] && ok "v2s2 manifest stored as pushed" || bad "v2s2 manifest: $raw_v2"
[[ $raw_oci == *'application/vnd.oci.image.manifest.v1+json'* ]] && ok "oci manifest stored as pushed" || bad "oci manifest: $raw_oci"
tags=$(sk list-tags --tls-verify=false "docker://$R/interop/busybox" 2>>"$S/cmd.log")
[[ $tags == *'"oci"'* && $tags == *'"v2s2"'* ]] && ok "skopeo list-tags" || bad "list-tags: $tags"
check "skopeo copy out (oci layout)" sk copy --src-tls-verify=false "docker://$R/interop/busybox:v2s2" "oci:$S/out:x"
layer=$(tar -xOf "$IMAGES/busybox.tar" ./manifest.json | sed 's/.*"Layers":\["blobs\/sha256\/\([0-9a-f]*\)".*/\1/')
src_layer_sum=$(tar -xOf "$IMAGES/busybox.tar" "./blobs/sha256/$layer" | gzip -dc 2>/dev/null | sha256sum | cut -d' ' -f1)
[ -n "$src_layer_sum" ] || src_layer_sum=$(tar -xOf "$IMAGES/busybox.tar" "./blobs/sha256/$layer" | sha256sum | cut -d' ' -f1)
out_ok=0
for f in "$S"/out/blobs/sha256/*; do
  s1=$(gzip -dc < "$f" 2>/dev/null | sha256sum | cut -d' ' -f1)
  s2=$(sha256sum < "$f" | cut -d' ' -f1)
  [[ $s1 == "$src_layer_sum" || $s2 == "$src_layer_sum" ]] && out_ok=1
done
((out_ok)) && ok "layer content round-trips" || bad "layer content differs after copy out"
check "skopeo delete" sk delete --tls-verify=false "docker://$R/interop/busybox:oci"
if sk inspect --tls-verify=false --raw "docker://$R/interop/busybox:oci" >> "$S/cmd.log" 2>&1; then
  bad "deleted manifest still served"
else
  ok "deleted manifest gone"
fi
# a wrong-digest push through skopeo's own client is impossible; the API-level bad requests are
# covered by registry_integration_test (BadRequestsGetSpecErrorsAndChangeNothing).

# ---- mirror ----
start_registry mirror "proxy:
  remoteurl: http://$R
" || { echo "mirror did not start"; exit 1; }
MR=127.0.0.1:$PORT
check "pull through mirror" sk copy --src-tls-verify=false "docker://$MR/interop/busybox:v2s2" "dir:$S/m1"
cmp -s "$S/m1/manifest.json" <(printf '%s' "$raw_v2") && ok "mirror serves the upstream manifest" || bad "mirror manifest differs"
if sk copy --dest-tls-verify=false "docker-archive:$IMAGES/busybox.tar" "docker://$MR/interop/pushed:x" >> "$S/cmd.log" 2>&1; then
  bad "push to a mirror accepted"
else
  ok "push to a mirror refused"
fi

# ---- dockerd ----
if ((with_docker)); then
  # A third instance with htpasswd + ACL + its own token endpoint, for docker login.
  AP=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  mkdir -p "$S/auth"
  echo "alice:$(openssl passwd -6 alicepw)" > "$S/auth/htpasswd"  # SHA-512 crypt; crypt(3) checks it
  printf 'alice alice/* *\n@anonymous alice/* pull\n' > "$S/auth/acl"
  start_registry auth "auth:
  htpasswd:
    path: $S/auth/htpasswd
  acl:
    path: $S/auth/acl
  token:
    realm: http://127.0.0.1:$AP/token
    service: berth-test
    issuer: berth-test
    secret: $(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
" "$AP" || { echo "auth registry did not start"; exit 1; }
  AR=127.0.0.1:$AP
  D=$S/docker
  mkdir -p "$D"
  dockerd -H "unix://$D/docker.sock" --data-root "$D/data" --exec-root "$D/exec" --pidfile "$D/docker.pid" \
    --iptables=false --ip6tables=false --bridge=none --storage-driver=vfs \
    --containerd-namespace berth-test-regio --containerd-plugins-namespace berth-test-regio-p \
    --insecure-registry "$R" --insecure-registry "$MR" --insecure-registry "$AR" > "$D/log" 2>&1 < /dev/null &
  for _ in $(seq 100); do [ -S "$D/docker.sock" ] && DOCKER_HOST="unix://$D/docker.sock" docker version >/dev/null 2>&1 && break; sleep 0.2; done
  dk() { DOCKER_HOST="unix://$D/docker.sock" DOCKER_CONFIG="$D/client" docker "$@"; }
  if ! dk version >/dev/null 2>&1; then
    bad "dockerd did not start"
    tail -20 "$D/log"
  else
    check "docker load" dk load -i "$IMAGES/busybox.tar"
    check "docker tag" dk tag busybox:latest "$R/interop/dbusybox:1"
    if dk push "$R/interop/dbusybox:1" > "$S/push.out" 2>&1; then ok "docker push"; else bad "docker push"; cat "$S/push.out"; fi
    pushed=$(grep -o 'digest: sha256:[0-9a-f]*' "$S/push.out" | sed 's/digest: //')
    reg=$(curl -sfI -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
      "http://$R/v2/interop/dbusybox/manifests/1" | tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p')
    [[ -n $pushed && $pushed == "$reg" ]] && ok "registry has the digest docker pushed ($pushed)" || bad "pushed '$pushed' vs registry '$reg'"
    check "docker rmi" dk rmi "$R/interop/dbusybox:1" busybox:latest
    check "docker pull" dk pull "$R/interop/dbusybox:1"
    got=$(dk image inspect --format '{{range .RepoDigests}}{{.}} {{end}}' "$R/interop/dbusybox:1" 2>>"$S/cmd.log")
    [[ $got == *"$pushed"* ]] && ok "pulled image has the pushed digest" || bad "RepoDigests: $got"
    check "docker pull through the mirror" dk pull "$MR/interop/dbusybox:1"
    if dk push "$MR/interop/dbusybox:1" >> "$S/cmd.log" 2>&1; then bad "docker push to mirror accepted"; else ok "docker push to mirror refused"; fi
    # Token auth + ACL with the real client: login, push where allowed, denied elsewhere,
    # anonymous pull where the ACL grants it.
    if dk login -u alice -p wrong "$AR" >> "$S/cmd.log" 2>&1; then bad "docker login with a wrong password accepted"; else ok "docker login with a wrong password refused"; fi
    check "docker login" sh -c "echo alicepw | DOCKER_HOST=unix://$D/docker.sock DOCKER_CONFIG=$D/client docker login -u alice --password-stdin $AR"
    check "docker tag (auth)" dk tag "$R/interop/dbusybox:1" "$AR/alice/bb:1"
    check "docker push with a token" dk push "$AR/alice/bb:1"
    dk tag "$R/interop/dbusybox:1" "$AR/bob/bb:1" >> "$S/cmd.log" 2>&1
    if dk push "$AR/bob/bb:1" > "$S/denied.out" 2>&1; then
      bad "push outside the ACL accepted"
    else
      grep -qi 'denied' "$S/denied.out" && ok "push outside the ACL denied" || { bad "push outside the ACL: unexpected error"; cat "$S/denied.out"; }
    fi
    check "docker logout" dk logout "$AR"
    check "docker rmi (auth)" dk rmi "$AR/alice/bb:1"
    check "anonymous docker pull the ACL grants" dk pull "$AR/alice/bb:1"
    cat_json=$(curl -s "http://$AR/v2/_catalog")
    [[ $cat_json != *bob* ]] && ok "denied push stored nothing" || bad "catalog after denied push: $cat_json"
  fi
  stop_dockerd
fi

# ---- mirror keeps serving with the upstream gone ----
kill -9 "${PID[up]}"
wait "${PID[up]}" 2>/dev/null
unset 'PID[up]'
check "mirror serves from cache, upstream down" sk copy --src-tls-verify=false "docker://$MR/interop/busybox:v2s2" "dir:$S/m2"
cmp -s "$S/m1/manifest.json" "$S/m2/manifest.json" && ok "cached manifest identical" || bad "cached manifest differs"

echo "$passed passed, $failed failed"
((failed == 0))
