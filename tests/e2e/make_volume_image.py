#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Builds a docker-archive: BASE (a docker-archive, e.g. busybox.tar) plus one layer holding
DIR with NFILES small files owned by UID:GID, and `VOLUME DIR` in the image config.

usage: make_volume_image.py BASE_TAR OUT_TAR TAG DIR NFILES [UID GID]
Used by tests/e2e/volume_e2e_test.cpp (copy-up with ownership) and bench/volume.sh."""
import hashlib, io, json, sys, tarfile, time


def main():
    base, out, tag, vdir, n = sys.argv[1:6]
    uid, gid = (int(sys.argv[6]), int(sys.argv[7])) if len(sys.argv) > 7 else (0, 0)
    n = int(n)
    rel = vdir.strip("/")
    src = tarfile.open(base)
    members = {m.name.lstrip("./"): m for m in src.getmembers()}
    manifest = json.load(src.extractfile(members["manifest.json"]))[0]
    config = json.load(src.extractfile(members[manifest["Config"]]))

    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w", format=tarfile.PAX_FORMAT) as lt:
        parts = rel.split("/")
        for i in range(1, len(parts) + 1):
            d = tarfile.TarInfo("/".join(parts[:i]))
            d.type, d.mode, d.mtime = tarfile.DIRTYPE, 0o755, 1700000000
            if i == len(parts):
                d.mode, d.uid, d.gid = 0o750, uid, gid
            lt.addfile(d)
        sub = tarfile.TarInfo(rel + "/sub")
        sub.type, sub.mode, sub.uid, sub.gid, sub.mtime = tarfile.DIRTYPE, 0o700, uid, gid, 1700000000
        lt.addfile(sub)
        for i in range(n):
            data = b"file %d\n" % i
            f = tarfile.TarInfo("%s/%s/f%05d" % (rel, "sub" if i % 2 else "", i) if i % 2 else "%s/f%05d" % (rel, i))
            f.size, f.mode, f.uid, f.gid, f.mtime = len(data), 0o640, uid, gid, 1700000000
            lt.addfile(f, io.BytesIO(data))
    layer_bytes = layer.getvalue()
    layer_hex = hashlib.sha256(layer_bytes).hexdigest()

    config["rootfs"]["diff_ids"].append("sha256:" + layer_hex)
    config.setdefault("config", {}).setdefault("Volumes", None)
    config["config"]["Volumes"] = dict(config["config"].get("Volumes") or {}, **{"/" + rel: {}})
    config.setdefault("history", []).append(
        {"created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "created_by": "make_volume_image.py"})
    config_bytes = json.dumps(config).encode()
    config_hex = hashlib.sha256(config_bytes).hexdigest()

    name, _, tg = tag.rpartition(":")
    new_manifest = [{"Config": "blobs/sha256/" + config_hex, "RepoTags": [tag],
                     "Layers": manifest["Layers"] + ["blobs/sha256/" + layer_hex]}]
    with tarfile.open(out, "w") as ot:
        def add(path, data):
            ti = tarfile.TarInfo(path)
            ti.size, ti.mtime = len(data), 1700000000
            ot.addfile(ti, io.BytesIO(data))
        for path in manifest["Layers"]:
            add(path, src.extractfile(members[path]).read())
        add("blobs/sha256/" + layer_hex, layer_bytes)
        add("blobs/sha256/" + config_hex, config_bytes)
        add("manifest.json", json.dumps(new_manifest).encode())
        add("repositories", json.dumps({name: {tg: layer_hex}}).encode())


if __name__ == "__main__":
    main()
