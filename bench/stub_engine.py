#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""An Engine API stub that answers `docker run --rm busybox true` at once: the docker CLI's
own floor for that command (its start-up, request building, HTTP), which no daemon can go under.

  bench/stub_engine.py SOCKET      serves on the unix socket until killed

Answers _ping, containers/create (201 with a fixed id), attach (101, closed once the container
"ran"), wait (200, body once started), start (204), DELETE containers (204); 404 otherwise.
Nothing is run: a start only releases the attach and wait answers of its container.
"""
import json
import os
import socket
import sys
import threading

HEAD = (b"Api-Version: 1.47\r\nContent-Type: application/json\r\nDocker-Experimental: false\r\n"
        b"Ostype: linux\r\nServer: Docker/27.0.0 (linux)\r\n")
started = threading.Event()


def reply(status, extra=b"", body=b""):
    return b"HTTP/1.1 " + status + b"\r\n" + HEAD + extra + b"Content-Length: %d\r\n\r\n" % len(body) + body


def serve(conn):
    buf = b""
    while True:
        while b"\r\n\r\n" not in buf:
            data = conn.recv(65536)
            if not data:
                conn.close()
                return
            buf += data
        head, _, buf = buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        method, url = lines[0].split(b" ")[:2]
        length = 0
        for line in lines[1:]:
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        while len(buf) < length:
            buf += conn.recv(65536)
        buf = buf[length:]
        path = url.decode().split("?")[0]
        if path.endswith("/_ping"):
            conn.sendall(reply(b"200 OK", b"Builder-Version: 2\r\nCache-Control: no-cache\r\n",
                               b"" if method == b"HEAD" else b"OK"))
        elif path.endswith("/containers/create"):
            started.clear()
            conn.sendall(reply(b"201 Created", body=json.dumps({"Id": "a" * 64, "Warnings": []}).encode()))
        elif path.endswith("/start"):
            conn.sendall(b"HTTP/1.1 204 No Content\r\n" + HEAD + b"\r\n")
            started.set()
        elif path.endswith("/attach"):
            conn.sendall(b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\n"
                         b"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
            started.wait()
            conn.close()
            return
        elif path.endswith("/wait"):
            conn.sendall(b"HTTP/1.1 200 OK\r\n" + HEAD + b"Transfer-Encoding: chunked\r\n\r\n")
            started.wait()
            body = json.dumps({"StatusCode": 0}).encode() + b"\n"
            conn.sendall(b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
        elif method == b"DELETE":
            conn.sendall(b"HTTP/1.1 204 No Content\r\n" + HEAD + b"\r\n")
        else:
            conn.sendall(reply(b"404 Not Found", body=b'{"message":"not in the stub"}'))


def main():
    path = sys.argv[1]
    if os.path.exists(path):
        os.unlink(path)
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen(64)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
