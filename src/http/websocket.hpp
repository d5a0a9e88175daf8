// SPDX-License-Identifier: Apache-2.0
// WebSocket (RFC 6455), server side, for GET /containers/{id}/attach/ws: the opening handshake
// and a frame codec. Shaped after what dockerd does with golang.org/x/net/websocket:
//
//   client                                   server
//   GET …/attach/ws  Upgrade: websocket  ──►
//   Sec-WebSocket-Key: k, Version: 13
//                                        ◄──  101 Switching Protocols
//                                             Sec-WebSocket-Accept: base64(sha1(k + GUID))
//   masked frames (text/binary/continuation: ──►  payload bytes, in order, are the stream
//   ping → pong, close → end of input)
//                                        ◄──  unmasked frames, FIN set, one per write
//                                        ◄──  close 1000 when the session ends
//
// No Origin check (dockerd's websocket.Server has no Handshake hook), no extensions. Like
// x/net, an unmasked client frame fails the connection with 1002. Where x/net is lenient (RSV
// bits, unknown opcodes, fragmented or oversized control frames, a continuation with no open
// message, a 64-bit length with the top bit set) this decoder also fails it with 1002, as
// RFC 6455 §5 asks; x/net streams frames of any length, this decoder too, but refuses a frame
// announcing more than Options::max_frame (1009).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace berth::http {

struct Request;

namespace websocket {

enum class Opcode : std::uint8_t {
  Continuation = 0x0,
  Text = 0x1,
  Binary = 0x2,
  Close = 0x8,
  Ping = 0x9,
  Pong = 0xa,
};

// Close status codes (RFC 6455 §7.4.1).
inline constexpr std::uint16_t kCloseNormal = 1000;
inline constexpr std::uint16_t kCloseProtocolError = 1002;
inline constexpr std::uint16_t kCloseTooBig = 1009;

inline constexpr std::size_t kMaxControlPayload = 125;

// base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).
std::string accept_key(std::string_view key);

// The server's answer to an opening handshake, as x/net/websocket writes it.
struct Handshake {
  int status = 0;        // 101 when the connection is now a websocket
  std::string response;  // bytes to write: the head, and on an error a plain text body (the
                         // connection is then closed: the body ends with it)
};
// Checks Upgrade: websocket, Connection: upgrade, Sec-WebSocket-Key, Sec-WebSocket-Version: 13
// and picks the subprotocol (one offered: echoed; several: 400, as x/net without a Handshake hook).
Handshake server_handshake(const Request& q);

// One frame. Server frames are unmasked (mask null); a client masks with a 4-byte key.
std::string encode_frame(Opcode op, std::string_view payload, bool fin = true,
                         const std::uint8_t* mask = nullptr);
// A close frame with a status code.
std::string close_frame(std::uint16_t code);

// Incremental decoder for the frames a client sends. Message payloads are streamed: a frame's
// bytes come out as they arrive, unmasked, without waiting for the end of the frame, so memory
// does not grow with the announced length.
class Decoder {
 public:
  struct Options {
    // A frame announcing more than this fails the connection with 1009 (untrusted input).
    std::uint64_t max_frame = std::uint64_t{1} << 30;
    bool require_mask = true;  // a server requires masked client frames (§5.1)
  };
  struct Output {
    std::string data;   // payload bytes of text/binary messages (continuations included)
    std::string reply;  // frames to send back now: pong for ping; the close frame on an error
    bool closed = false;            // the peer sent a close frame
    std::uint16_t close_code = 0;   // its status (1005 when it gave none)
    std::uint16_t error = 0;        // protocol error: close code sent in `reply`; stop reading
  };

  Decoder() = default;
  explicit Decoder(Options o) : opts_(o) {}
  // Appends to *out; after closed or error further input is ignored.
  void feed(std::string_view in, Output* out);
  bool done() const { return done_; }

 private:
  void fail(std::uint16_t code, Output* out);
  bool header_complete(Output* out);  // parses hdr_ when it holds a whole header

  Options opts_;
  std::string hdr_;               // header bytes collected so far (2..14)
  bool in_payload_ = false;
  bool fin_ = false;
  Opcode op_ = Opcode::Continuation;
  std::uint64_t remaining_ = 0;   // payload bytes of the current frame still to come
  std::uint64_t pos_ = 0;         // offset in the current frame (mask index)
  std::uint8_t mask_[4] = {};
  bool masked_ = false;
  std::string control_;           // payload of the current control frame
  bool in_message_ = false;       // a fragmented message is open (awaits continuations)
  bool done_ = false;
};

}  // namespace websocket
}  // namespace berth::http
