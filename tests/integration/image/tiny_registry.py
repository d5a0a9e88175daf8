#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# A tiny OCI distribution registry for berth's image tests (loopback only).
#   (chunked uploads: POST, PATCH with Content-Range, GET status, PUT ?digest=)
#   tiny_registry.py --root DIR --port-file F [--seed NAME:TAG=OCI_LAYOUT_DIR]... [--auth USER:PASS]
#                    [--cut-first-blob-get]   (drops the first GET of every blob half-way: tests Range resume)
#                    [--cut-first-patch]      (keeps half of the first PATCH, drops the connection: upload resume)
# Blobs are kept in DIR/blobs/<algo>/<hex>, manifests in DIR/repos/<name>/<ref> (+ .type).
import argparse, base64, hashlib, json, os, re, sys, threading, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

A = None
cut_done = set()
patch_cut = False
uploads = {}  # upload uuid -> bytes received so far (chunked uploads)
lock = threading.Lock()


def blob_path(d):
    algo, hexd = d.split(":", 1)
    if not re.fullmatch(r"[a-f0-9]{64,128}", hexd):
        return None
    return os.path.join(A.root, "blobs", algo, hexd)


def put_blob(data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    p = blob_path(d)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p + ".tmp", "wb") as f:
        f.write(data)
    os.rename(p + ".tmp", p)
    return d


def put_manifest(name, ref, data, mt):
    d = put_blob(data)
    for r in (ref, d):
        p = os.path.join(A.root, "repos", name, r)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
        with open(p + ".type", "w") as f:
            f.write(mt)
    return d


def seed(spec):
    nt, layout = spec.split("=", 1)
    name, tag = nt.rsplit(":", 1)
    idx = json.load(open(os.path.join(layout, "index.json")))
    for m in idx["manifests"]:
        algo, hexd = m["digest"].split(":")
        data = open(os.path.join(layout, "blobs", algo, hexd), "rb").read()
        man = json.loads(data)
        for desc in [man["config"]] + man.get("layers", []):
            a2, h2 = desc["digest"].split(":")
            put_blob(open(os.path.join(layout, "blobs", a2, h2), "rb").read())
        put_manifest(name, tag, data, m["mediaType"])
        break


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, body=b"", headers=None):
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def err(self, code, what):
        self.send(code, json.dumps({"errors": [{"code": what, "message": what.lower()}]}).encode(),
                  {"Content-Type": "application/json"})

    def authorized(self):
        if not A.auth:
            return True
        h = self.headers.get("Authorization", "")
        if h == "Bearer berth-test-token":
            return True
        host = self.headers.get("Host")
        self.send(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                  {"WWW-Authenticate": 'Bearer realm="http://%s/token",service="tiny"' % host,
                   "Content-Type": "application/json"})
        return False

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path.startswith("/token"):
            want = "Basic " + base64.b64encode(A.auth.encode()).decode()
            if self.headers.get("Authorization") != want:
                return self.send(401, b"{}")
            return self.send(200, b'{"token":"berth-test-token"}', {"Content-Type": "application/json"})
        if not self.authorized():
            return
        if path == "/v2/":
            return self.send(200, b"{}", {"Docker-Distribution-API-Version": "registry/2.0"})
        m = re.fullmatch(r"/v2/(.+)/manifests/([^/]+)", path)
        if m:
            p = os.path.join(A.root, "repos", m.group(1), m.group(2))
            if not os.path.exists(p):
                return self.err(404, "MANIFEST_UNKNOWN")
            data = open(p, "rb").read()
            return self.send(200, data, {"Content-Type": open(p + ".type").read(),
                                         "Docker-Content-Digest": "sha256:" + hashlib.sha256(data).hexdigest()})
        m = re.fullmatch(r"/v2/(.+)/blobs/(sha256:[a-f0-9]+)", path)
        if m:
            p = blob_path(m.group(2))
            if not p or not os.path.exists(p):
                return self.err(404, "BLOB_UNKNOWN")
            data = open(p, "rb").read()
            start = 0
            rng = self.headers.get("Range")
            code = 200
            if rng:
                start = int(re.match(r"bytes=(\d+)-", rng).group(1))
                code = 206
            if self.command == "HEAD":
                return self.send(200, b"", {"Content-Length": str(len(data))}) if False else self._head(len(data))
            chunk = data[start:]
            self.send_response(code)
            self.send_header("Content-Length", str(len(chunk)))
            self.send_header("Content-Type", "application/octet-stream")
            if code == 206:
                self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
            self.end_headers()
            with lock:
                cut = A.cut_first_blob_get and m.group(2) not in cut_done and len(chunk) > 4096
                if cut:
                    cut_done.add(m.group(2))
            if cut:
                self.wfile.write(chunk[: len(chunk) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self.wfile.write(chunk)
            return
        if path.startswith("/upload/"):  # upload status
            with lock:
                buf = uploads.get(path[len("/upload/"):])
            if buf is None:
                return self.err(404, "BLOB_UPLOAD_UNKNOWN")
            return self.send(204, b"", {"Location": path, "Range": "0-%d" % (len(buf) - 1)})
        self.err(404, "NAME_UNKNOWN")

    def _head(self, n):
        self.send_response(200)
        self.send_header("Content-Length", str(n))
        self.end_headers()

    def do_POST(self):
        if not self.authorized():
            return
        path, _, q = self.path.partition("?")
        m = re.fullmatch(r"/v2/(.+)/blobs/uploads/", path)
        if not m:
            return self.err(404, "NAME_UNKNOWN")
        self.body()
        qs = dict(kv.split("=", 1) for kv in q.split("&") if "=" in kv)
        if "mount" in qs:
            p = blob_path(qs["mount"].replace("%3A", ":"))
            if p and os.path.exists(p):
                return self.send(201, b"", {"Location": "/v2/%s/blobs/%s" % (m.group(1), qs["mount"])})
        u = str(uuid.uuid4())
        with lock:
            uploads[u] = bytearray()
        return self.send(202, b"", {"Location": "/upload/" + u, "Docker-Upload-UUID": u, "Range": "0-0"})

    def do_PATCH(self):  # chunked upload: Content-Range must continue where the upload is
        if not self.authorized():
            return
        u = self.path.partition("?")[0][len("/upload/"):]
        data = self.body()
        with lock:
            buf = uploads.get(u)
            if buf is None:
                return self.err(404, "BLOB_UPLOAD_UNKNOWN")
            cr = self.headers.get("Content-Range")
            if cr and int(cr.split("-")[0]) != len(buf):
                return self.send(416, b"", {"Location": "/upload/" + u, "Range": "0-%d" % (len(buf) - 1)})
            global patch_cut
            if A.cut_first_patch and not patch_cut and len(data) > 2:
                patch_cut = True  # keep half of the chunk, then drop the connection unanswered
                buf += data[: len(data) // 2]
                self.close_connection = True
                self.connection.shutdown(2)
                return
            buf += data
            n = len(buf)
        return self.send(202, b"", {"Location": "/upload/" + u, "Docker-Upload-UUID": u,
                                    "Range": "0-%d" % (n - 1)})

    def do_PUT(self):
        if not self.authorized():
            return
        path, _, q = self.path.partition("?")
        data = self.body()
        if path.startswith("/upload/"):
            qs = dict(kv.split("=", 1) for kv in q.split("&") if "=" in kv)
            want = qs.get("digest", "").replace("%3A", ":")
            with lock:
                prefix = uploads.pop(path[len("/upload/"):], bytearray())
            d = put_blob(bytes(prefix) + data)
            if d != want:
                return self.err(400, "DIGEST_INVALID")
            return self.send(201, b"", {"Docker-Content-Digest": d})
        m = re.fullmatch(r"/v2/(.+)/manifests/([^/]+)", path)
        if m:
            d = put_manifest(m.group(1), m.group(2), data, self.headers.get("Content-Type"))
            return self.send(201, b"", {"Docker-Content-Digest": d})
        self.err(404, "NAME_UNKNOWN")


def main():
    global A
    p = argparse.ArgumentParser()
    p.add_argument("--root", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--seed", action="append", default=[])
    p.add_argument("--auth", default="")
    p.add_argument("--cut-first-blob-get", action="store_true")
    p.add_argument("--cut-first-patch", action="store_true")
    A = p.parse_args()
    for s in A.seed:
        seed(s)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    with open(A.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(A.port_file + ".tmp", A.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
