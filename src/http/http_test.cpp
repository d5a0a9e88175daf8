// SPDX-License-Identifier: Apache-2.0
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <atomic>
#include <cstring>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "common/file.hpp"
#include "http/http.hpp"

namespace berth::http {
namespace {

// Tests write raw requests to sockets the server may already have closed.
const bool kIgnoreSigpipe = [] {
  ::signal(SIGPIPE, SIG_IGN);
  return true;
}();

class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create("/tmp", "berth-test-http-");
    ASSERT_TRUE(d);
    dir_ = std::move(*d);
    sock_ = dir_.path() + "/s.sock";
    router_.add("GET", "/hello/{name}", [](Request& q, ResponseWriter& w) {
      (void)w.send(200, "hi " + q.param("name") + " " + q.query_value("x").value_or("-"), "text/plain");
    });
    router_.add("POST", "/echo", [](Request& q, ResponseWriter& w) {
      auto b = q.body().read_all(1 << 20);
      if (!b) {
        (void)w.send(413, b.error().message());
        return;
      }
      (void)w.send(200, *b);
    });
    router_.add("POST", "/count", [](Request& q, ResponseWriter& w) {
      // pulls the body in small pieces
      char buf[7];
      std::size_t total = 0;
      for (;;) {
        auto n = q.body().read(buf, sizeof buf);
        if (!n || *n == 0) break;
        total += *n;
      }
      (void)w.send(200, std::to_string(total));
    });
    router_.add("GET", "/stream", [](Request&, ResponseWriter& w) {
      (void)w.begin_stream(200, "text/plain");
      for (int i = 0; i < 5; ++i) (void)w.write("line" + std::to_string(i) + "\n");
      (void)w.end_stream();
    });
    router_.add("GET", "/file", [this](Request&, ResponseWriter& w) {
      auto fd = open_file(dir_.path() + "/f", O_RDONLY);
      (void)w.send_file(200, fd->get(), 2, 5, "application/octet-stream");
    });
    router_.add("GET", "/v2/{name*}", [](Request& q, ResponseWriter& w) { (void)w.send(200, q.param("name")); });
    router_.add("POST", "/attach", [](Request& q, ResponseWriter& w) {
      auto h = w.hijack(q.wants_upgrade() ? 101 : 200);
      if (!h) return;
      // echo: pending bytes first, then everything until EOF, uppercased
      std::string all = h->pending;
      char buf[256];
      for (;;) {
        ssize_t n = ::read(h->fd.get(), buf, sizeof buf);
        if (n <= 0) break;
        all.append(buf, static_cast<std::size_t>(n));
      }
      for (auto& c : all) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      (void)write_all(h->fd.get(), all);
    });
    server_ = std::make_unique<Server>(router_.handler());
    ASSERT_TRUE(server_->listen_unix(sock_, 0600));
    ASSERT_TRUE(server_->start());
  }
  void TearDown() override { server_.reset(); }

  Client client() { return Client(ClientOptions{.unix_path = sock_}); }

  TempDir dir_;
  std::string sock_;
  Router router_;
  std::unique_ptr<Server> server_;
};

TEST_F(HttpTest, RouterParamsAndQuery) {
  auto c = client();
  auto r = c.request("GET", "/hello/bob?x=a%20b");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hi bob a b");
  EXPECT_EQ(r->header("content-type"), "text/plain");
  auto r2 = c.request("GET", "/v2/library/busybox/manifests/latest");
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->body, "library/busybox/manifests/latest");
  auto nf = c.request("GET", "/nothing");
  ASSERT_TRUE(nf);
  EXPECT_EQ(nf->status, 404);
  auto na = c.request("DELETE", "/hello/x");
  ASSERT_TRUE(na);
  EXPECT_EQ(na->status, 405);
}

TEST_F(HttpTest, KeepAliveReusesOneConnection) {
  auto c = client();
  for (int i = 0; i < 50; ++i) {
    auto r = c.request("GET", "/hello/" + std::to_string(i));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->body, "hi " + std::to_string(i) + " -");
  }
  EXPECT_EQ(server_->active_connections(), 1u);
}

TEST_F(HttpTest, HeadHasLengthNoBody) {
  auto c = client();
  auto r = c.request("HEAD", "/hello/x");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "");
  EXPECT_EQ(r->header("Content-Length"), "6");
  auto r2 = c.request("GET", "/hello/y");  // connection still in sync
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->body, "hi y -");
}

TEST_F(HttpTest, BodiesContentLengthAndChunkedStream) {
  auto c = client();
  std::string big(200000, 'z');
  auto r = c.request("POST", "/echo", big);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, big);
  int sent = 0;
  auto r2 = c.request_stream_body("POST", "/count", [&](char* buf, std::size_t n) -> Result<std::size_t> {
    if (sent >= 10) return 0;
    ++sent;
    std::size_t k = std::min<std::size_t>(n, 1000);
    std::memset(buf, 'a', k);
    return k;
  });
  ASSERT_TRUE(r2) << r2.error().message();
  EXPECT_EQ(r2->body, "10000");
  auto tl = c.request("POST", "/echo", std::string((1 << 20) + 1, 'x'));
  ASSERT_TRUE(tl);
  EXPECT_EQ(tl->status, 413);
}

TEST_F(HttpTest, ChunkedResponseStream) {
  auto c = client();
  auto s = c.stream("GET", "/stream");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->status, 200);
  EXPECT_EQ(s->headers.value("Transfer-Encoding"), "chunked");
  auto all = s->body().read_all();
  ASSERT_TRUE(all);
  EXPECT_EQ(*all, "line0\nline1\nline2\nline3\nline4\n");
  auto r = c.request("GET", "/stream");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, *all);
}

TEST_F(HttpTest, SendFileRange) {
  ASSERT_TRUE(write_file(dir_.path() + "/f", "0123456789"));
  auto c = client();
  auto r = c.request("GET", "/file");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "23456");
  EXPECT_EQ(r->header("Content-Length"), "5");
}

TEST_F(HttpTest, HijackKeepsBytesReadAhead) {
  // Raw socket: request + early stdin bytes in a single write.
  auto c = client();
  auto h = c.hijack("POST", "/attach");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 101);
  EXPECT_EQ(h->headers.value("Upgrade"), "tcp");
  ASSERT_TRUE(write_all(h->fd.get(), "hello"));
  ::shutdown(h->fd.get(), SHUT_WR);  // half-close: output must still arrive
  auto out = read_fd(h->fd.get());
  ASSERT_TRUE(out);
  EXPECT_EQ(h->pending + *out, "HELLO");

  // pending bytes on the server side: send head and body data together
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strcpy(sa.sun_path, sock_.c_str());
  ASSERT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ASSERT_TRUE(write_all(fd.get(), "POST /attach HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\nearly bytes"));
  ::shutdown(fd.get(), SHUT_WR);
  auto raw = read_fd(fd.get());
  ASSERT_TRUE(raw);
  EXPECT_NE(raw->find("HTTP/1.1 200 OK\r\n"), std::string::npos);
  EXPECT_NE(raw->find("\r\n\r\nEARLY BYTES"), std::string::npos) << *raw;
}

static std::string raw_exchange(const std::string& sock, const std::string& data) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strcpy(sa.sun_path, sock.c_str());
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return "connect failed";
  (void)write_all(fd.get(), data);
  ::shutdown(fd.get(), SHUT_WR);
  return read_fd(fd.get()).value_or("");
}

TEST_F(HttpTest, MalformedAndOversizedRequests) {
  EXPECT_EQ(raw_exchange(sock_, "GARBAGE\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
  std::string huge = "GET /hello/x HTTP/1.1\r\nX-Big: " + std::string(70 * 1024, 'a') + "\r\n\r\n";
  std::string hr = raw_exchange(sock_, huge);
  EXPECT_EQ(hr.rfind("HTTP/1.1 431", 0), 0u) << hr;
  EXPECT_EQ(raw_exchange(sock_, "POST /echo HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n")
                .rfind("HTTP/1.1 400", 0),
            0u);
  EXPECT_EQ(raw_exchange(sock_, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").find("HTTP/1.1 413"),
            0u);
  // pipelined requests on one connection, answered in order
  std::string two = "GET /hello/a HTTP/1.1\r\n\r\nGET /hello/b HTTP/1.1\r\nConnection: close\r\n\r\n";
  std::string out = raw_exchange(sock_, two);
  auto a = out.find("hi a -"), b = out.find("hi b -");
  EXPECT_NE(a, std::string::npos);
  EXPECT_NE(b, std::string::npos);
  EXPECT_LT(a, b);
  // Expect: 100-continue gets an interim response once the handler reads
  std::string ex = raw_exchange(sock_, "POST /echo HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok");
  EXPECT_EQ(ex.rfind("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK", 0), 0u) << ex;
}

TEST_F(HttpTest, ConcurrentClients) {
  std::vector<std::thread> ts;
  std::atomic<int> good{0};
  for (int t = 0; t < 8; ++t)
    ts.emplace_back([&, t] {
      auto c = client();
      for (int i = 0; i < 100; ++i) {
        auto r = c.request("GET", "/hello/" + std::to_string(t));
        if (r && r->body == "hi " + std::to_string(t) + " -") ++good;
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(good.load(), 800);
}

TEST_F(HttpTest, StopWakesIdleConnections) {
  auto c = client();
  ASSERT_TRUE(c.request("GET", "/hello/x"));
  EXPECT_EQ(server_->active_connections(), 1u);
  server_->stop();
  EXPECT_EQ(server_->active_connections(), 0u);
  EXPECT_FALSE(path_exists(sock_));
}

// Connection threads are reused: a client opening one connection after another does not grow
// the server's threads; bursts of connections are all served; stop() ends the idle ones.
TEST_F(HttpTest, ConnectionThreadsAreReusedAndEndWithTheServer) {
  auto threads = [] {
    std::size_t n = 0;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/proc/self/task", ec)) (void)e, ++n;
    return n;
  };
  auto one = [&](const std::string& who) {
    auto c = client();  // a new connection each time
    auto r = c.request("GET", "/hello/" + who);
    return r && r->body == "hi " + who + " -";
  };
  ASSERT_TRUE(one("warm"));
  std::size_t before = threads();
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(one(std::to_string(i))) << i;
  // (a connection's thread may not have seen its EOF when the next one comes: a few more, at
  // most the idle ones kept)
  EXPECT_LE(threads(), before + 5) << "a thread per connection was left behind";
  std::vector<std::thread> ts;
  std::atomic<int> good{0};
  for (int t = 0; t < 16; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) good += one(std::to_string(t)) ? 1 : 0;
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(good.load(), 320);
  auto t0 = std::chrono::steady_clock::now();
  server_->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_EQ(server_->active_connections(), 0u);
  for (int i = 0; i < 100 && threads() > before - 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  // (before counted the accept thread and the warm-up's idle one: both gone)
  EXPECT_LE(threads(), before - 1) << "idle connection threads outlived stop()";
}

TEST(HttpUtil, QueryAndHeaders) {
  auto q = parse_query("a=1&b=x+y&c=%2Fz&flag");
  ASSERT_EQ(q.size(), 4u);
  EXPECT_EQ(q[1].second, "x y");
  EXPECT_EQ(q[2].second, "/z");
  EXPECT_EQ(q[3].first, "flag");
  Headers h;
  h.add("Connection", "keep-alive, Upgrade");
  EXPECT_TRUE(h.has_token("connection", "upgrade"));
  EXPECT_EQ(h.value("CONNECTION"), "keep-alive, Upgrade");
  EXPECT_EQ(url_encode("a b/c"), "a%20b%2Fc");
  Request r;
  r.query = "all=1&size=false&x=";
  EXPECT_TRUE(r.query_bool("all"));
  EXPECT_FALSE(r.query_bool("size", true));
  EXPECT_FALSE(r.query_bool("x", true));
  EXPECT_TRUE(r.query_bool("missing", true));
}

TEST(HttpTls, MutualTlsOverLoopback) {
  auto d = TempDir::create("/tmp", "berth-test-tls-");
  ASSERT_TRUE(d);
  std::string p = d->path();
  std::string cmd =
      "cd " + p +
      " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem"
      " -days 1 -subj /CN=berth-test-ca 2>/dev/null"
      " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout srv.key -out srv.csr"
      " -subj /CN=localhost 2>/dev/null"
      " && printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ext"
      " && openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 1"
      " -extfile ext 2>/dev/null"
      " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout cli.key -out cli.csr"
      " -subj /CN=berth-client 2>/dev/null"
      " && openssl x509 -req -in cli.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out cli.pem -days 1 2>/dev/null";
  if (std::system(cmd.c_str()) != 0) GTEST_SKIP() << "openssl CLI not usable";
  Router r;
  r.add("GET", "/who", [](Request& q, ResponseWriter& w) { (void)w.send(200, q.tls_client_subject); });
  Server s(r.handler());
  TlsServerConfig tc{p + "/srv.pem", p + "/srv.key", p + "/ca.pem", true};
  auto port = s.listen_tcp("127.0.0.1", 0, &tc);
  ASSERT_TRUE(port) << port.error().message();
  ASSERT_TRUE(s.start());
  ClientOptions o;
  o.host = "localhost";
  o.port = *port;
  o.tls = true;
  o.ca_file = p + "/ca.pem";
  o.cert_file = p + "/cli.pem";
  o.key_file = p + "/cli.key";
  o.timeout_ms = 5000;
  Client c(o);
  auto resp = c.request("GET", "/who");
  ASSERT_TRUE(resp) << resp.error().message();
  EXPECT_NE(resp->body.find("berth-client"), std::string::npos);
  auto resp2 = c.request("GET", "/who");  // keep-alive over TLS
  ASSERT_TRUE(resp2);
  // without a client certificate the handshake fails
  ClientOptions o2 = o;
  o2.cert_file.clear();
  o2.key_file.clear();
  Client c2(o2);
  auto bad = c2.request("GET", "/who");
  EXPECT_FALSE(bad && bad->status == 200);
}

}  // namespace
}  // namespace berth::http
