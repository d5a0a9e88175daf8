#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the local test images, cached under <build>/test-images (no Docker Hub here):
#   busybox/rootfs         busybox-static + applet links + /etc/{passwd,group} + /bin/probe
#   busybox/bundle         OCI runtime bundle (config.json + rootfs -> ../rootfs)
#   busybox/oci            OCI image layout (index.json, blobs/), also a docker-archive when tarred
#   busybox.tar            docker-archive / OCI tarball ("docker load -i" and POST /images/load)
#   debian/...             the same for debian:bookworm (debootstrap --variant=minbase)
#   probe/bundle           a bundle whose rootfs holds only the static probe
# Usage: make-test-images.sh BUILD_DIR [busybox|debian|all]   (default all)
set -euo pipefail

BUILD=$(realpath "${1:-build}")
WHAT=${2:-all}
OUT=${BERTH_TEST_IMAGES:-$BUILD/test-images}
PROBE=$BUILD/tests/berth-probe
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"

[[ -x $PROBE ]] || { echo "make-test-images: $PROBE missing (run make build first)" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || { echo "make-test-images: needs root (device nodes, ownership)" >&2; exit 1; }

sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }

# write_config ROOTFS_REL ARGS_JSON HOSTNAME > config.json  -- runc-like default spec
write_config() {
  local args=$1 hostname=$2
  cat <<JSON
{
  "ociVersion": "1.2.0",
  "process": {
    "terminal": false,
    "user": {"uid": 0, "gid": 0},
    "args": $args,
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "$hostname",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
  ],
  "linux": {
    "resources": {"devices": [{"allow": false, "access": "rwm"}]},
    "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}],
    "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
}
JSON
}

# make_bundle NAME ARGS_JSON: bundle dir whose rootfs is a symlink-free bind target (../rootfs).
make_bundle() {
  local dir=$OUT/$1/bundle
  rm -rf "$dir"; mkdir -p "$dir"
  ln -s ../rootfs "$dir/rootfs"
  write_config "$2" "$1" > "$dir/config.json"
}

# make_oci NAME REF CMD_JSON: OCI image layout + docker-archive tarball from $OUT/NAME/rootfs.
make_oci() {
  local name=$1 ref=$2 cmd=$3 dir=$OUT/$1/oci tmp
  rm -rf "$dir"; mkdir -p "$dir/blobs/sha256"; tmp=$(mktemp -d)
  tar -C "$OUT/$name/rootfs" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
      --xattrs -cf "$tmp/layer.tar" .
  local diff_id; diff_id=$(sha "$tmp/layer.tar")
  gzip -n -1 -c "$tmp/layer.tar" > "$tmp/layer.tar.gz"
  local layer; layer=$(sha "$tmp/layer.tar.gz")
  mv "$tmp/layer.tar.gz" "$dir/blobs/sha256/$layer"
  local lsize; lsize=$(size "$dir/blobs/sha256/$layer")
  cat > "$tmp/config.json" <<JSON
{"architecture":"amd64","os":"linux","created":"2024-01-01T00:00:00Z","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":$cmd},"rootfs":{"type":"layers","diff_ids":["sha256:$diff_id"]},"history":[{"created":"2024-01-01T00:00:00Z","created_by":"berth make-test-images.sh $name"}]}
JSON
  local cfg; cfg=$(sha "$tmp/config.json"); local csize; csize=$(size "$tmp/config.json")
  mv "$tmp/config.json" "$dir/blobs/sha256/$cfg"
  cat > "$tmp/manifest.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:$cfg","size":$csize},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:$layer","size":$lsize}]}
JSON
  local man; man=$(sha "$tmp/manifest.json"); local msize; msize=$(size "$tmp/manifest.json")
  mv "$tmp/manifest.json" "$dir/blobs/sha256/$man"
  echo '{"imageLayoutVersion":"1.0.0"}' > "$dir/oci-layout"
  cat > "$dir/index.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:$man","size":$msize,"annotations":{"io.containerd.image.name":"docker.io/library/$ref","org.opencontainers.image.ref.name":"${ref##*:}"}}]}
JSON
  # docker-archive view of the same blobs (what `docker save` writes since Docker 25).
  cat > "$dir/manifest.json" <<JSON
[{"Config":"blobs/sha256/$cfg","RepoTags":["$ref"],"Layers":["blobs/sha256/$layer"]}]
JSON
  echo "{\"${ref%%:*}\":{\"${ref##*:}\":\"sha256:$cfg\"}}" > "$dir/repositories"
  tar -C "$dir" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$OUT/$name.tar" .
  rm -rf "$tmp"
}

stamp_ok() { [[ -f $OUT/$1/.stamp && "$(cat "$OUT/$1/.stamp")" == "$2" ]]; }

busybox() {
  local key; key=$(cat "$0" /bin/busybox "$PROBE" | sha256sum | cut -c1-16)
  stamp_ok busybox "$key" && { echo "test-images: busybox cached"; return; }
  local r=$OUT/busybox/rootfs
  rm -rf "$OUT/busybox"; mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,proc,sys,dev,home,var/tmp}
  chmod 1777 "$r/tmp" "$r/var/tmp"; chmod 0700 "$r/root"
  cp /bin/busybox "$r/bin/busybox"
  for applet in $(/bin/busybox --list-full); do
    [[ -e $r/$applet ]] || ln -s /bin/busybox "$r/$applet"
  done
  cp "$PROBE" "$r/bin/probe"
  printf 'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$r/etc/passwd"
  printf 'root:x:0:\ndaemon:x:1:\ntty:x:5:\nusers:x:100:\nnogroup:x:65534:\n' > "$r/etc/group"
  make_bundle busybox '["sh", "-c", "echo hello from busybox"]'
  make_oci busybox busybox:latest '["sh"]'
  echo "$key" > "$OUT/busybox/.stamp"
  echo "test-images: busybox ready in $OUT/busybox"
}

probe_only() {
  local key; key=$(cat "$0" "$PROBE" | sha256sum | cut -c1-16)
  stamp_ok probe "$key" && return
  rm -rf "$OUT/probe"; mkdir -p "$OUT/probe/rootfs"/{bin,proc,sys,dev,tmp}
  cp "$PROBE" "$OUT/probe/rootfs/bin/probe"
  make_bundle probe '["/bin/probe"]'
  echo "$key" > "$OUT/probe/.stamp"
}

debian() {
  local key; key=$(grep -v '^#' "$0" | sha256sum | cut -c1-16)-$(sha256sum "$PROBE" | cut -c1-8)
  stamp_ok debian "$key" && { echo "test-images: debian cached"; return; }
  local r=$OUT/debian/rootfs mirror
  # The first active Debian mirror apt uses (deb822 "URIs:" or one-line "deb URL" form).
  mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null |
    grep -v '^[[:space:]]*#' | grep -oE 'https?://[^ ]+/debian/?( |$)' | grep -v security | head -1 | tr -d ' ' || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  rm -rf "$OUT/debian"; mkdir -p "$OUT/debian"
  local tries=0
  until debootstrap --variant=minbase bookworm "$r" "$mirror" > "$OUT/debian/debootstrap.log" 2>&1; do
    tries=$((tries + 1))
    if ((tries >= 2)); then tail -20 "$OUT/debian/debootstrap.log" >&2; exit 1; fi
    rm -rf "$r"
  done
  rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/*
  cp "$PROBE" "$r/usr/local/bin/probe"
  make_bundle debian '["cat", "/etc/debian_version"]'
  make_oci debian debian:bookworm '["bash"]'
  echo "$key" > "$OUT/debian/.stamp"
  echo "test-images: debian ready in $OUT/debian"
}

case $WHAT in
  busybox) busybox; probe_only ;;
  debian) debian ;;
  all) busybox; probe_only; debian ;;
  *) echo "usage: $0 BUILD_DIR [busybox|debian|all]" >&2; exit 2 ;;
esac
