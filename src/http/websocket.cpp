// SPDX-License-Identifier: Apache-2.0
#include "http/websocket.hpp"

#include <cctype>

#include "common/base64.hpp"
#include "common/digest.hpp"
#include "common/strings.hpp"
#include "http/http.hpp"

namespace berth::http::websocket {

std::string accept_key(std::string_view key) {
  std::string in(key);
  in += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  auto h = sha1(in);
  return base64_encode(std::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
}

namespace {

std::string lower(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

// x/net/websocket's error answer: status line, extra header lines, blank line, the error text;
// no Content-Length (the connection closes after it).
Handshake refuse(int status, std::string_view text, std::string_view extra_headers = {}) {
  Handshake h;
  h.status = status;
  h.response = "HTTP/1.1 " + std::to_string(status) + " " + std::string(status_text(status)) + "\r\n";
  h.response += extra_headers;
  h.response += "\r\n";
  h.response += text;
  return h;
}

}  // namespace

Handshake server_handshake(const Request& q) {
  if (q.method != "GET") return refuse(405, "bad method");
  if (lower(q.headers.value("Upgrade")) != "websocket" ||
      lower(q.headers.value("Connection")).find("upgrade") == std::string::npos)
    return refuse(400, "not websocket protocol");
  std::string key = q.headers.value("Sec-WebSocket-Key");
  if (key.empty()) return refuse(400, "mismatch challenge/response");
  if (q.headers.value("Sec-WebSocket-Version") != "13")
    return refuse(400, "missing or bad WebSocket Version", "Sec-WebSocket-Version: 13\r\n");
  std::vector<std::string> protocols;
  if (auto p = std::string(trim(q.headers.value("Sec-WebSocket-Protocol"))); !p.empty())
    for (const auto& one : split(p, ',')) protocols.emplace_back(trim(one));
  // x/net: more than one offered and no Handshake hook to choose: 400 with no text
  if (protocols.size() > 1) return refuse(400, "");
  Handshake h;
  h.status = 101;
  h.response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
  h.response += "Sec-WebSocket-Accept: " + accept_key(key) + "\r\n";
  if (!protocols.empty()) h.response += "Sec-WebSocket-Protocol: " + protocols[0] + "\r\n";
  h.response += "\r\n";
  return h;
}

std::string encode_frame(Opcode op, std::string_view payload, bool fin, const std::uint8_t* mask) {
  std::string f;
  f.reserve(payload.size() + 14);
  f.push_back(static_cast<char>((fin ? 0x80 : 0x00) | static_cast<std::uint8_t>(op)));
  std::uint8_t mbit = mask ? 0x80 : 0x00;
  std::uint64_t n = payload.size();
  if (n <= 125) {
    f.push_back(static_cast<char>(mbit | n));
  } else if (n <= 0xffff) {
    f.push_back(static_cast<char>(mbit | 126));
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n));
  } else {
    f.push_back(static_cast<char>(mbit | 127));
    for (int i = 7; i >= 0; --i) f.push_back(static_cast<char>(n >> (8 * i)));
  }
  if (!mask) {
    f.append(payload);
    return f;
  }
  f.append(reinterpret_cast<const char*>(mask), 4);
  for (std::size_t i = 0; i < payload.size(); ++i) f.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
  return f;
}

std::string close_frame(std::uint16_t code) {
  char p[2] = {static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
  return encode_frame(Opcode::Close, std::string_view(p, 2));
}

void Decoder::fail(std::uint16_t code, Output* out) {
  out->reply += close_frame(code);
  out->error = code;
  done_ = true;
}

bool Decoder::header_complete(Output* out) {
  auto b0 = static_cast<std::uint8_t>(hdr_[0]), b1 = static_cast<std::uint8_t>(hdr_[1]);
  fin_ = (b0 & 0x80) != 0;
  masked_ = (b1 & 0x80) != 0;
  std::uint8_t len7 = b1 & 0x7f;
  std::uint8_t op = b0 & 0x0f;
  if (b0 & 0x70) return fail(kCloseProtocolError, out), false;  // RSV bits: no extension agreed
  if (op != 0x0 && op != 0x1 && op != 0x2 && op != 0x8 && op != 0x9 && op != 0xa)
    return fail(kCloseProtocolError, out), false;
  op_ = static_cast<Opcode>(op);
  if (opts_.require_mask && !masked_) return fail(kCloseProtocolError, out), false;
  std::uint64_t len = len7;
  std::size_t at = 2;
  if (len7 == 126 || len7 == 127) {
    int bytes = len7 == 126 ? 2 : 8;
    len = 0;
    for (int i = 0; i < bytes; ++i) len = (len << 8) | static_cast<std::uint8_t>(hdr_[at++]);
    if (bytes == 8 && (len >> 63)) return fail(kCloseProtocolError, out), false;  // §5.2: MSB must be 0
  }
  bool control = op >= 0x8;
  if (control && (!fin_ || len > kMaxControlPayload)) return fail(kCloseProtocolError, out), false;
  if (len > opts_.max_frame) return fail(kCloseTooBig, out), false;
  if (op_ == Opcode::Continuation && !in_message_) return fail(kCloseProtocolError, out), false;
  if ((op_ == Opcode::Text || op_ == Opcode::Binary) && in_message_) return fail(kCloseProtocolError, out), false;
  if (masked_)
    for (int i = 0; i < 4; ++i) mask_[i] = static_cast<std::uint8_t>(hdr_[at++]);
  remaining_ = len;
  pos_ = 0;
  control_.clear();
  in_payload_ = true;
  return true;
}

void Decoder::feed(std::string_view in, Output* out) {
  while (!done_) {
    if (!in_payload_) {
      // the header: 2 bytes, then 0/2/8 length bytes and 0/4 mask bytes
      std::size_t need = 2;
      for (;;) {
        if (hdr_.size() >= 2) {
          auto b1 = static_cast<std::uint8_t>(hdr_[1]);
          std::uint8_t len7 = b1 & 0x7f;
          need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((b1 & 0x80) ? 4 : 0);
        }
        if (hdr_.size() >= need || in.empty()) break;
        std::size_t take = std::min(need - hdr_.size(), in.size());
        hdr_.append(in.substr(0, take));
        in.remove_prefix(take);
      }
      if (hdr_.size() < need) return;  // wait for more
      if (!header_complete(out)) return;
      hdr_.clear();
    } else {
      if (remaining_ > 0 && in.empty()) return;
      auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size()));
      bool control = static_cast<std::uint8_t>(op_) >= 0x8;
      std::string& dst = control ? control_ : out->data;
      std::size_t base = dst.size();
      dst.append(in.substr(0, n));
      if (masked_)
        for (std::size_t i = 0; i < n; ++i) dst[base + i] = static_cast<char>(dst[base + i] ^ mask_[(pos_ + i) % 4]);
      in.remove_prefix(n);
      remaining_ -= n;
      pos_ += n;
      if (remaining_ > 0) return;
      // the frame is complete
      in_payload_ = false;
      switch (op_) {
        case Opcode::Ping:
          out->reply += encode_frame(Opcode::Pong, control_);
          break;
        case Opcode::Pong:
          break;
        case Opcode::Close:
          if (control_.size() == 1) return fail(kCloseProtocolError, out);
          out->closed = true;
          out->close_code = control_.size() >= 2 ? static_cast<std::uint16_t>(
                                                       (static_cast<std::uint8_t>(control_[0]) << 8) |
                                                       static_cast<std::uint8_t>(control_[1]))
                                                 : 1005;
          done_ = true;
          return;
        default:
          in_message_ = !fin_;
          break;
      }
    }
  }
}

}  // namespace berth::http::websocket
