// SPDX-License-Identifier: Apache-2.0
#include "http/websocket.hpp"

#include <gtest/gtest.h>

#include <random>

#include "http/http.hpp"

namespace berth::http::websocket {
namespace {

const std::uint8_t kMask[4] = {0x37, 0xfa, 0x21, 0x3d};

std::string client_frame(Opcode op, std::string_view payload, bool fin = true) {
  return encode_frame(op, payload, fin, kMask);
}

Request upgrade_request() {
  Request q;
  q.method = "GET";
  q.headers = {{"Host", "localhost"},
               {"Upgrade", "websocket"},
               {"Connection", "Upgrade"},
               {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
               {"Sec-WebSocket-Version", "13"}};
  return q;
}

TEST(WebSocket, AcceptKeyOfRfc6455Example) {
  EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WebSocket, HandshakeAnswersAsXNetWebsocket) {
  auto h = server_handshake(upgrade_request());
  EXPECT_EQ(h.status, 101);
  EXPECT_EQ(h.response,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
  // header values are case-insensitive, Connection may list other tokens
  auto q = upgrade_request();
  q.headers.set("Upgrade", "WebSocket");
  q.headers.set("Connection", "keep-alive, Upgrade");
  EXPECT_EQ(server_handshake(q).status, 101);
  // no Origin check (dockerd's websocket.Server has no Handshake hook)
  q.headers.set("Origin", "http://elsewhere.example");
  EXPECT_EQ(server_handshake(q).status, 101);
  // one subprotocol offered: echoed
  q.headers.set("Sec-WebSocket-Protocol", " chat ");
  EXPECT_NE(server_handshake(q).response.find("\r\nSec-WebSocket-Protocol: chat\r\n"), std::string::npos);
}

TEST(WebSocket, HandshakeRefusals) {
  auto q = upgrade_request();
  q.headers.remove("Upgrade");
  auto h = server_handshake(q);
  EXPECT_EQ(h.status, 400);
  EXPECT_EQ(h.response, "HTTP/1.1 400 Bad Request\r\n\r\nnot websocket protocol");

  q = upgrade_request();
  q.headers.set("Connection", "keep-alive");
  EXPECT_EQ(server_handshake(q).status, 400);

  q = upgrade_request();
  q.headers.remove("Sec-WebSocket-Key");
  h = server_handshake(q);
  EXPECT_EQ(h.status, 400);
  EXPECT_EQ(h.response, "HTTP/1.1 400 Bad Request\r\n\r\nmismatch challenge/response");

  q = upgrade_request();
  q.headers.set("Sec-WebSocket-Version", "8");
  h = server_handshake(q);
  EXPECT_EQ(h.status, 400);
  EXPECT_EQ(h.response,
            "HTTP/1.1 400 Bad Request\r\nSec-WebSocket-Version: 13\r\n\r\nmissing or bad WebSocket Version");

  q = upgrade_request();
  q.headers.set("Sec-WebSocket-Protocol", "a, b");
  h = server_handshake(q);
  EXPECT_EQ(h.status, 400);
  EXPECT_EQ(h.response, "HTTP/1.1 400 Bad Request\r\n\r\n");

  q = upgrade_request();
  q.method = "POST";
  EXPECT_EQ(server_handshake(q).status, 405);
}

TEST(WebSocket, ServerFramesAreUnmaskedWithMinimalLengths) {
  EXPECT_EQ(encode_frame(Opcode::Binary, "hi"), std::string("\x82\x02hi", 4));
  EXPECT_EQ(encode_frame(Opcode::Text, ""), std::string("\x81\x00", 2));
  EXPECT_EQ(encode_frame(Opcode::Binary, std::string(125, 'x')).substr(0, 2), std::string("\x82\x7d", 2));
  auto f = encode_frame(Opcode::Binary, std::string(126, 'x'));
  EXPECT_EQ(f.substr(0, 4), std::string("\x82\x7e\x00\x7e", 4));
  EXPECT_EQ(f.size(), 4u + 126);
  f = encode_frame(Opcode::Binary, std::string(65535, 'x'));
  EXPECT_EQ(f.substr(0, 4), std::string("\x82\x7e\xff\xff", 4));
  f = encode_frame(Opcode::Binary, std::string(65536, 'x'));
  EXPECT_EQ(f.substr(0, 10), std::string("\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10));
  EXPECT_EQ(f.size(), 10u + 65536);
  EXPECT_EQ(close_frame(1000), std::string("\x88\x02\x03\xe8", 4));
  EXPECT_EQ(encode_frame(Opcode::Text, "x", false), std::string("\x01\x01x", 3));
}

TEST(WebSocket, MaskingRoundTripsAndIsApplied) {
  auto f = client_frame(Opcode::Binary, "Hello");
  // RFC 6455 §5.7 example: a masked "Hello" with key 37 fa 21 3d
  EXPECT_EQ(f, std::string("\x82\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11));
  Decoder d;
  Decoder::Output o;
  d.feed(f, &o);
  EXPECT_EQ(o.data, "Hello");
  EXPECT_EQ(o.error, 0);
  EXPECT_TRUE(o.reply.empty());
}

TEST(WebSocket, ByteByByteAndAcrossFrames) {
  std::string payload;
  for (int i = 0; i < 300; ++i) payload.push_back(static_cast<char>(i));
  std::string wire = client_frame(Opcode::Binary, payload) + client_frame(Opcode::Text, "tail");
  Decoder d;
  Decoder::Output o;
  for (char c : wire) d.feed(std::string_view(&c, 1), &o);
  EXPECT_EQ(o.data, payload + "tail");
  EXPECT_EQ(o.error, 0);
}

TEST(WebSocket, PayloadIsStreamedBeforeTheFrameEnds) {
  std::string wire = client_frame(Opcode::Binary, std::string(1000, 'a'));
  Decoder d;
  Decoder::Output o;
  d.feed(std::string_view(wire).substr(0, 4 + 4 + 10), &o);  // header (16-bit length) + 10 bytes
  EXPECT_EQ(o.data, std::string(10, 'a'));
  d.feed(std::string_view(wire).substr(18), &o);
  EXPECT_EQ(o.data, std::string(1000, 'a'));
}

TEST(WebSocket, SixteenAndSixtyFourBitLengths) {
  for (std::size_t n : {126u, 65535u, 65536u, 70001u}) {
    std::string payload(n, 'z');
    payload[n - 1] = '!';
    Decoder d;
    Decoder::Output o;
    d.feed(client_frame(Opcode::Binary, payload), &o);
    EXPECT_EQ(o.data, payload) << n;
  }
  // a non-minimal 64-bit encoding of 5 bytes is accepted (as x/net does)
  std::string f("\x82\xff\x00\x00\x00\x00\x00\x00\x00\x05", 10);
  f.append(reinterpret_cast<const char*>(kMask), 4);
  for (int i = 0; i < 5; ++i) f.push_back(static_cast<char>("Hello"[i] ^ kMask[i % 4]));
  Decoder d;
  Decoder::Output o;
  d.feed(f, &o);
  EXPECT_EQ(o.data, "Hello");
}

TEST(WebSocket, FragmentsWithInterleavedPing) {
  Decoder d;
  Decoder::Output o;
  d.feed(client_frame(Opcode::Text, "ab", false), &o);
  d.feed(client_frame(Opcode::Ping, "p1"), &o);
  d.feed(client_frame(Opcode::Continuation, "cd", false), &o);
  d.feed(client_frame(Opcode::Continuation, "ef", true), &o);
  d.feed(client_frame(Opcode::Binary, "gh"), &o);
  EXPECT_EQ(o.data, "abcdefgh");
  EXPECT_EQ(o.reply, encode_frame(Opcode::Pong, "p1"));
  EXPECT_EQ(o.error, 0);
}

TEST(WebSocket, PingGetsPongPongIsIgnored) {
  Decoder d;
  Decoder::Output o;
  d.feed(client_frame(Opcode::Ping, "") + client_frame(Opcode::Pong, "x") + client_frame(Opcode::Ping, "12345"), &o);
  EXPECT_EQ(o.reply, std::string("\x8a\x00", 2) + std::string("\x8a\x05" "12345", 7));
  EXPECT_TRUE(o.data.empty());
  EXPECT_FALSE(o.closed);
}

TEST(WebSocket, CloseEndsInputAndLaterBytesAreIgnored) {
  Decoder d;
  Decoder::Output o;
  std::string code("\x03\xe9", 2);  // 1001
  d.feed(client_frame(Opcode::Binary, "x") + client_frame(Opcode::Close, code) + client_frame(Opcode::Binary, "y"), &o);
  EXPECT_EQ(o.data, "x");
  EXPECT_TRUE(o.closed);
  EXPECT_EQ(o.close_code, 1001);
  EXPECT_TRUE(d.done());
  EXPECT_TRUE(o.reply.empty());  // the session answers with its own close when it ends

  Decoder e;
  Decoder::Output p;
  e.feed(client_frame(Opcode::Close, ""), &p);
  EXPECT_TRUE(p.closed);
  EXPECT_EQ(p.close_code, 1005);
}

void expect_failure(const std::string& wire, std::uint16_t code, Decoder::Options opts = {}) {
  Decoder d(opts);
  Decoder::Output o;
  d.feed(wire, &o);
  EXPECT_EQ(o.error, code);
  EXPECT_EQ(o.reply, close_frame(code));
  EXPECT_TRUE(d.done());
  // nothing is read after a failure
  Decoder::Output more;
  d.feed(client_frame(Opcode::Binary, "x"), &more);
  EXPECT_TRUE(more.data.empty());
}

TEST(WebSocket, ProtocolViolationsClose1002) {
  expect_failure(encode_frame(Opcode::Binary, "unmasked"), kCloseProtocolError);
  std::string rsv = client_frame(Opcode::Binary, "x");
  rsv[0] = static_cast<char>(rsv[0] | 0x40);
  expect_failure(rsv, kCloseProtocolError);
  std::string unknown = client_frame(Opcode::Binary, "x");
  unknown[0] = static_cast<char>(0x83);
  expect_failure(unknown, kCloseProtocolError);
  expect_failure(client_frame(Opcode::Ping, "x", false), kCloseProtocolError);           // fragmented control
  expect_failure(client_frame(Opcode::Ping, std::string(126, 'p')), kCloseProtocolError);  // control > 125
  expect_failure(client_frame(Opcode::Continuation, "x"), kCloseProtocolError);          // nothing to continue
  expect_failure(client_frame(Opcode::Text, "a", false) + client_frame(Opcode::Text, "b"), kCloseProtocolError);
  expect_failure(client_frame(Opcode::Close, "\x03"), kCloseProtocolError);  // 1-byte close body
  // 64-bit length with the most significant bit set
  std::string huge("\x82\xff\x80\x00\x00\x00\x00\x00\x00\x01", 10);
  huge.append(reinterpret_cast<const char*>(kMask), 4);
  expect_failure(huge, kCloseProtocolError);
}

TEST(WebSocket, AbsurdLengthsAreRefusedBeforeAnyPayload) {
  // 2^40 announced: refused from the header alone, nothing buffered
  std::string f("\x82\xff\x00\x00\x01\x00\x00\x00\x00\x00", 10);
  f.append(reinterpret_cast<const char*>(kMask), 4);
  expect_failure(f, kCloseTooBig);
  // the limit is an option
  expect_failure(client_frame(Opcode::Binary, std::string(2000, 'x')), kCloseTooBig, {.max_frame = 1024});
  Decoder d({.max_frame = 1024});
  Decoder::Output o;
  d.feed(client_frame(Opcode::Binary, std::string(1024, 'x')), &o);
  EXPECT_EQ(o.data.size(), 1024u);
  EXPECT_EQ(o.error, 0);
}

TEST(WebSocket, UnmaskedAllowedWhenNotRequired) {
  Decoder d({.require_mask = false});
  Decoder::Output o;
  d.feed(encode_frame(Opcode::Binary, "server says"), &o);
  EXPECT_EQ(o.data, "server says");
}

// Valid messages of random sizes and kinds, fed in random pieces, come out whole and in order.
TEST(WebSocket, RandomSplitsRoundTrip) {
  std::mt19937 rng(7);
  for (int round = 0; round < 50; ++round) {
    std::string wire, want, pongs;
    for (int m = 0; m < 5; ++m) {
      std::size_t n = rng() % 3 == 0 ? rng() % 70000 : rng() % 300;
      std::string msg(n, '\0');
      for (auto& ch : msg) ch = static_cast<char>(rng());
      // split into 1-3 fragments, sometimes with a ping between them
      std::size_t cut = n ? rng() % n : 0;
      if (rng() % 2 && n > 1) {
        wire += client_frame(Opcode::Binary, std::string_view(msg).substr(0, cut), false);
        if (rng() % 2) {
          wire += client_frame(Opcode::Ping, "p");
          pongs += encode_frame(Opcode::Pong, "p");
        }
        wire += client_frame(Opcode::Continuation, std::string_view(msg).substr(cut), true);
      } else {
        wire += client_frame(Opcode::Text, msg);
      }
      want += msg;
    }
    Decoder d;
    Decoder::Output o;
    std::size_t pos = 0;
    while (pos < wire.size()) {
      std::size_t k = std::min<std::size_t>(wire.size() - pos, 1 + rng() % 20000);
      d.feed(std::string_view(wire).substr(pos, k), &o);
      pos += k;
    }
    ASSERT_EQ(o.error, 0) << round;
    EXPECT_EQ(o.data, want) << round;
    EXPECT_EQ(o.reply, pongs) << round;
  }
}

// Arbitrary bytes (untrusted input): no crash (run under ASan+UBSan by make check-asan), no
// more payload out than bytes in, and a failure always ends with its close frame.
TEST(WebSocket, GarbageIsHandled) {
  std::mt19937 rng(11);
  for (int round = 0; round < 2000; ++round) {
    std::string junk(rng() % 64, '\0');
    for (auto& ch : junk) ch = static_cast<char>(rng());
    Decoder d({.max_frame = 4096});
    Decoder::Output o;
    d.feed(junk, &o);
    EXPECT_LE(o.data.size(), junk.size());
    if (o.error) {
      EXPECT_EQ(o.reply.substr(o.reply.size() - 4), close_frame(o.error));
    }
  }
}

}  // namespace
}  // namespace berth::http::websocket
