// SPDX-License-Identifier: Apache-2.0
// GET /containers/{id}/attach/ws against a private berthd with real websocket clients: docker-py's
// attach_socket(ws=True) (over TCP: docker-py builds a ws:// URL only from an http:// base) and
// python3-websocket over the unix socket; plus the HTTP refusals before the handshake.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "e2e/docker_e2e.hpp"

namespace berth::test {
namespace {

using nlohmann::json;

// Shared by the scripts: a websocket over berthd's unix socket, frames read until the close.
const char* const kPyPrelude = R"PY(
import json, socket, sys, time, docker, websocket
SOCK = sys.argv[1]
api = docker.APIClient(base_url='unix://' + SOCK)
def ws_connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(SOCK)
    ws = websocket.create_connection('ws://localhost' + path, socket=s)
    ws.settimeout(60)
    return ws
def as_bytes(d):
    return d.encode() if isinstance(d, str) else d
# every frame until the server's close: ([(opcode, bytes)], close code or None)
def until_close(ws):
    frames = []
    while True:
        try:
            op, data = ws.recv_data(control_frame=True)
        except (websocket.WebSocketConnectionClosedException, ConnectionResetError):
            return frames, None
        if op == 8:
            return frames, int.from_bytes(as_bytes(data)[:2], 'big')
        frames.append((op, as_bytes(data)))
)PY";

// Picks a python3 with the websocket and docker modules (Debian's python3-websocket and
// python3-docker; a pyenv python3 first on PATH may have neither); "" if none.
std::string python_with_websocket() {
  for (const char* py : {"python3", "/usr/bin/python3"})
    if (run({py, "-c", "import websocket, docker"}, {}, 20).status == 0) return py;
  return "";
}

std::uint16_t free_tcp_port() {
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  std::uint16_t port = 0;
  if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(s);
  return port;
}

class AttachWs : public DockerE2E {
 protected:
  void SetUp() override {
    py_ = python_with_websocket();
    if (py_.empty()) GTEST_SKIP() << "python3-websocket / python3-docker missing";
    port_ = free_tcp_port();
    ASSERT_NE(port_, 0);
    DockerE2EOptions o;
    o.extra_args = {"-H", "tcp://127.0.0.1:" + std::to_string(port_), "--insecure-tcp"};
    start_berthd("e2e-attachws", o);
  }
  // Runs kPyPrelude + body with argv[1] = the unix socket, argv[2..] = args; stdout as JSON.
  json py(const std::string& body, std::vector<std::string> args = {}) {
    std::vector<std::string> argv = {py_, "-c", std::string(kPyPrelude) + body, d_->sock()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run(argv, {}, 120);
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    try {
      return json::parse(r.out);
    } catch (...) {
      ADD_FAILURE() << "not json: " << r.out << r.err;
      return json::object();
    }
  }

  std::string py_;
  std::uint16_t port_ = 0;
};

// docker-py's own websocket attach: output of a running busybox arrives, stdin reaches `cat`,
// ping gets pong, and the container's end closes the socket with 1000.
TEST_F(AttachWs, DockerPyAttachSocketWs) {
  auto j = py(R"PY(
cl = docker.DockerClient(base_url='tcp://127.0.0.1:' + sys.argv[2])
ct = cl.containers.run('busybox', ['cat'], stdin_open=True, detach=True, network_mode='none', name='berth-test-ws-cat')
ws = cl.api.attach_socket(ct.id, params={'stdin': 1, 'stdout': 1, 'stderr': 1, 'stream': 1, 'logs': 1}, ws=True)
ws.settimeout(60)
got, ops = b'', set()
ws.send_binary(b'hello over ws\n')
ws.send('as text\n')
while b'as text\n' not in got:
    op, data = ws.recv_data()
    got += as_bytes(data); ops.add(op)
ws.ping(b'pp')
pop, pdata = ws.recv_data(control_frame=True)
ct.kill()
frames, code = until_close(ws)
for op, d in frames:
    got += d
rc = ct.wait(timeout=60)['StatusCode']
print(json.dumps({'out': got.decode(), 'ops': sorted(ops), 'pong': [pop, as_bytes(pdata).decode()],
                  'close': code, 'rc': rc}))
ct.remove(force=True)
)PY",
              {std::to_string(port_)});
  EXPECT_EQ(j["out"], "hello over ws\nas text\n") << j;
  EXPECT_EQ(j["ops"], json::array({2})) << "binary frames from API 1.28 on";
  EXPECT_EQ(j["pong"], json::array({10, "pp"}));
  EXPECT_EQ(j["close"], 1000);
  EXPECT_EQ(j["rc"], 137);
}

// Attached before the start: stdout and stderr both arrive raw (no 8-byte headers, even without
// a tty), then the container's exit closes the socket.
TEST_F(AttachWs, OutputRawUntilExitThenClose) {
  auto j = py(R"PY(
c = api.create_container('busybox', ['sh', '-c', 'echo to-out; echo to-err >&2; exit 3'],
                         name='berth-test-ws-out', host_config=api.create_host_config(network_mode='none'))
ws = ws_connect('/v1.47/containers/berth-test-ws-out/attach/ws?stream=1&stdout=1&stderr=1')
api.start(c['Id'])
frames, code = until_close(ws)
rc = api.wait(c['Id'])['StatusCode']
api.remove_container(c['Id'], force=True)
data = b''.join(d for _, d in frames)
print(json.dumps({'data': data.decode('latin-1'), 'lines': sorted(data.decode().split()), 'close': code, 'rc': rc,
                  'ops': sorted({op for op, _ in frames})}))
)PY");
  EXPECT_EQ(j["lines"], json::array({"to-err", "to-out"})) << j;
  EXPECT_EQ(j["data"].get<std::string>().find('\x01'), std::string::npos) << j;
  EXPECT_EQ(j["close"], 1000);
  EXPECT_EQ(j["rc"], 3);
  EXPECT_EQ(j["ops"], json::array({2}));
}

// The answer (101) comes once the session is subscribed: a client that starts the container as
// soon as it has it never loses the first output, over websocket and over POST /attach.
TEST_F(AttachWs, AttachThenStartAtOnceLosesNothing) {
  auto j = py(R"PY(
res = {'ws': 0, 'post': 0}
for i in range(6):
    for kind in ('ws', 'post'):
        name = 'berth-test-ws-race-%s-%d' % (kind, i)
        c = api.create_container('busybox', ['echo', 'first-%d' % i], name=name,
                                 host_config=api.create_host_config(network_mode='none'))
        if kind == 'ws':
            ws = ws_connect('/v1.47/containers/%s/attach/ws?stream=1&stdout=1' % name)
            api.start(c['Id'])
            frames, code = until_close(ws)
            data = b''.join(d for _, d in frames)
        else:
            sock = api.attach_socket(c['Id'], params={'stdout': 1, 'stream': 1})
            raw = getattr(sock, '_sock', sock)
            raw.settimeout(60)
            api.start(c['Id'])
            data = b''
            while True:
                chunk = raw.recv(65536)
                if not chunk:
                    break
                data += chunk
            sock.close()
        if ('first-%d\n' % i).encode() in data:
            res[kind] += 1
        api.remove_container(c['Id'], force=True)
print(json.dumps(res))
)PY");
  EXPECT_EQ(j["ws"], 6) << j;
  EXPECT_EQ(j["post"], 6) << j;
}

// Detach keys work only with a tty, as in dockerd: without one ctrl-p ctrl-q reach the container;
// with one they end the session (close 1000) and the container keeps running.
TEST_F(AttachWs, DetachKeysOnlyWithTty) {
  auto j = py(R"PY(
out = {}
for tty in (False, True):
    name = 'berth-test-ws-det-%d' % tty
    c = api.create_container('busybox', ['cat'], stdin_open=True, tty=tty, name=name,
                             host_config=api.create_host_config(network_mode='none'))
    api.start(c['Id'])
    ws = ws_connect('/v1.47/containers/%s/attach/ws?stream=1&stdin=1&stdout=1' % name)
    if not tty:
        ws.send_binary(b'a\x10\x11b\n')
        got = b''
        while b'b\n' not in got:
            op, data = ws.recv_data()
            got += as_bytes(data)
        ws.close()
        out['raw'] = list(got)
    else:
        ws.send_binary(b'\x10\x11')
        frames, code = until_close(ws)
        out['close'] = code
    out['running_%d' % tty] = api.inspect_container(c['Id'])['State']['Running']
    api.remove_container(c['Id'], force=True)
print(json.dumps(out))
)PY");
  EXPECT_EQ(j["raw"], json::array({'a', 0x10, 0x11, 'b', '\n'})) << j;
  EXPECT_EQ(j["close"], 1000) << j;
  EXPECT_EQ(j["running_1"], true) << j;
}

// logs=1&stream=0: the past output, one frame per log line, then the close; stdout= and
// stderr= are honoured from API 1.42 and ignored before it; text frames before API 1.28.
TEST_F(AttachWs, LogsReplayAndVersionRules) {
  auto j = py(R"PY(
c = api.create_container('busybox', ['sh', '-c', 'echo one; echo two >&2; echo three'],
                         name='berth-test-ws-logs', host_config=api.create_host_config(network_mode='none'))
api.start(c['Id']); api.wait(c['Id'])
out = {}
for key, path in [('v147_out', '/v1.47/containers/berth-test-ws-logs/attach/ws?logs=1&stream=0&stdout=1'),
                  ('v147_none', '/v1.47/containers/berth-test-ws-logs/attach/ws?logs=1&stream=0'),
                  ('v127', '/v1.27/containers/berth-test-ws-logs/attach/ws?logs=1&stream=0&stdout=0')]:
    frames, code = until_close(ws_connect(path))
    out[key] = {'frames': [d.decode() for _, d in frames], 'ops': sorted({op for op, _ in frames}), 'close': code}
api.remove_container(c['Id'], force=True)
print(json.dumps(out))
)PY");
  EXPECT_EQ(j["v147_out"]["frames"], json::array({"one\n", "three\n"})) << j;
  EXPECT_EQ(j["v147_out"]["ops"], json::array({2}));
  EXPECT_EQ(j["v147_out"]["close"], 1000);
  EXPECT_EQ(j["v147_none"]["frames"], json::array()) << j;
  EXPECT_EQ(j["v147_none"]["close"], 1000);
  auto old = j["v127"]["frames"];
  EXPECT_EQ(old.size(), 3u) << j;  // before 1.42 all three streams whatever the parameters
  EXPECT_EQ(j["v127"]["ops"], json::array({1})) << "text frames before API 1.28";
}

// A client's close frame ends stdin: with StdinOnce the container's stdin closes (cat ends, its
// output was kept), and berthd answers with its own close.
TEST_F(AttachWs, ClientCloseIsStdinEofWithStdinOnce) {
  auto j = py(R"PY(
# docker-py has no stdin_once: the body by hand, as `docker run -i` sends it
res = api._post_json(api._url('/containers/create'), params={'name': 'berth-test-ws-once'},
                     data={'Image': 'busybox', 'Cmd': ['cat'], 'OpenStdin': True, 'StdinOnce': True, 'Tty': False,
                           'AttachStdin': True, 'HostConfig': {'NetworkMode': 'none'}})
c = api._result(res, True)
ws = ws_connect('/v1.47/containers/berth-test-ws-once/attach/ws?stream=1&stdin=1&stdout=1')
api.start(c['Id'])
ws.send_binary(b'line one\n')
got = b''
while b'line one\n' not in got:
    op, data = ws.recv_data()
    got += as_bytes(data)
ws.close()
rc = api.wait(c['Id'], timeout=60)['StatusCode']
logs = api.logs(c['Id']).decode()
api.remove_container(c['Id'], force=True)
print(json.dumps({'got': got.decode(), 'rc': rc, 'logs': logs}))
)PY");
  EXPECT_EQ(j["got"], "line one\n") << j;
  EXPECT_EQ(j["rc"], 0) << "cat saw the end of its stdin";
  EXPECT_EQ(j["logs"], "line one\n");
}

// Before the handshake the answers are dockerd's JSON errors; a request that is not a
// websocket handshake gets x/net's plain 400.
TEST_F(AttachWs, RefusalsBeforeAndAtTheHandshake) {
  auto c = d_->client();
  auto r = c.request("GET", "/v1.47/containers/berth-test-ws-nope/attach/ws?stream=1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(json::parse(r->body)["message"], "No such container: berth-test-ws-nope");

  auto cr = docker({"create", "--name", "berth-test-ws-plain", "--network", "none", "busybox", "true"});
  ASSERT_EQ(cr.status, 0) << cr.err;
  auto bad_keys = d_->client().request("GET", "/v1.47/containers/berth-test-ws-plain/attach/ws?detachKeys=ctrl-%3F%3F");
  ASSERT_TRUE(bad_keys);
  EXPECT_EQ(bad_keys->status, 400);
  auto plain = d_->client().request("GET", "/v1.47/containers/berth-test-ws-plain/attach/ws?stream=1");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->status, 400);
  EXPECT_EQ(plain->body, "not websocket protocol");
  auto ver = d_->client().request("GET", "/v1.47/containers/berth-test-ws-plain/attach/ws?stream=1", {},
                                  {{"Connection", "Upgrade"}, {"Upgrade", "websocket"}, {"Sec-WebSocket-Key", "a2V5"},
                                   {"Sec-WebSocket-Version", "8"}});
  ASSERT_TRUE(ver);
  EXPECT_EQ(ver->status, 400);
  EXPECT_EQ(ver->header("Sec-WebSocket-Version"), "13");
  EXPECT_EQ(docker({"rm", "-f", "berth-test-ws-plain"}).status, 0);

  // paused: 409 on both attach endpoints (dockerd's ContainerAttach)
  ASSERT_EQ(docker({"run", "-d", "--name", "berth-test-ws-paused", "--network", "none", "busybox", "sleep", "60"}).status, 0);
  ASSERT_EQ(docker({"pause", "berth-test-ws-paused"}).status, 0);
  auto paused = d_->client().request("GET", "/v1.47/containers/berth-test-ws-paused/attach/ws?stream=1");
  ASSERT_TRUE(paused);
  EXPECT_EQ(paused->status, 409);
  EXPECT_EQ(json::parse(paused->body)["message"],
            "container berth-test-ws-paused is paused, unpause the container before attach");
  // (the docker CLI refuses on its own after an inspect; the API answers too)
  auto post = d_->client().request("POST", "/v1.47/containers/berth-test-ws-paused/attach?stream=1&stdout=1");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 409);
  EXPECT_EQ(docker({"rm", "-f", "berth-test-ws-paused"}).status, 0);
}

}  // namespace
}  // namespace berth::test
