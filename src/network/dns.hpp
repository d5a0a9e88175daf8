// SPDX-License-Identifier: Apache-2.0
// Embedded DNS for user-defined networks (Docker's 127.0.0.11). For every container, a UDP and a
// TCP socket are created *inside its netns* (run_in_netns) and bound to 127.0.0.11:53; one daemon
// thread serves all of them with epoll. A/AAAA questions for names the resolver callback knows
// (container names and aliases on networks shared with the asking container) and PTR questions
// for their addresses are answered locally; everything else is forwarded unchanged to the
// upstream servers (from the host netns, over the transport the question came on) and the reply
// relayed back.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "network/ip.hpp"

namespace berth::net {

// Parsed question of a DNS query (only what the server needs).
struct DnsQuestion {
  std::uint16_t id = 0;
  std::string name;      // lower case, no trailing dot
  std::uint16_t qtype = 0;
  std::uint16_t qclass = 0;
  std::size_t question_end = 0;  // offset just past the first question
  std::uint16_t edns_size = 0;   // requestor's UDP payload size from an OPT record (0 = none)
};
Result<DnsQuestion> dns_parse_query(const std::uint8_t* p, std::size_t n);
// A response to `query` carrying `addrs` (those matching qtype) as answers; NXDOMAIN if
// `nxdomain`.
std::vector<std::uint8_t> dns_make_answer(const std::uint8_t* query, std::size_t n,
                                          const DnsQuestion& q, const std::vector<IpAddr>& addrs,
                                          bool nxdomain = false);
// A response to a PTR `query` naming `host` (no trailing dot).
std::vector<std::uint8_t> dns_make_ptr_answer(const std::uint8_t* query, const DnsQuestion& q,
                                              const std::string& host);
// The address of a reverse name ("4.3.2.1.in-addr.arpa", nibbles ".ip6.arpa"); nullopt if not one.
std::optional<IpAddr> dns_ptr_addr(const std::string& name);
// Drops trailing answer records of a response this file made until it fits in `max` bytes, and
// sets TC when any were dropped and `set_tc` (UDP; over TCP the client cannot retry bigger).
void dns_truncate(std::vector<std::uint8_t>& msg, std::size_t question_end, std::size_t max, bool set_tc);

class DnsServer {
 public:
  // (container key, name) -> addresses; empty = not ours (forward).
  using Resolver = std::function<std::vector<IpAddr>(const std::string& key,
                                                     const std::string& name)>;
  // (container key, address) -> "name.network" (no trailing dot); "" = not ours (forward).
  using ReverseResolver = std::function<std::string(const std::string& key, const IpAddr& addr)>;
  // upstreams: "ip" or "ip:port" (host netns).
  static Result<std::unique_ptr<DnsServer>> start(Resolver r, ReverseResolver rr,
                                                  std::vector<std::string> upstreams,
                                                  std::string listen_ip = "127.0.0.11");
  ~DnsServer();
  // Starts serving inside netns `netns_fd` for container `key` (idempotent per key).
  // `upstreams` (same syntax as start's) replace the server-wide ones for this container's
  // forwarded queries (docker run --dns on a user network); empty = the server-wide ones.
  Status add(const std::string& key, int netns_fd, const std::vector<std::string>& upstreams = {});
  void remove(const std::string& key);
  bool serves(const std::string& key);

 private:
  DnsServer() = default;
  using Upstreams = std::vector<std::pair<IpAddr, std::uint16_t>>;
  static Result<Upstreams> parse_upstreams(const std::vector<std::string>& v);
  // Everything below runs on the server thread with mu_ held (add/remove take mu_ too).
  enum class Kind { Udp, TcpListen, TcpClient, UdpUpstream, TcpUpstream };
  struct Sock {
    Kind kind;
    UniqueFd fd;
    std::string key;                     // the container (listeners and clients)
    std::int64_t deadline_ms = 0;        // upstreams: answer by; clients: idle until
    // UdpUpstream: where to relay the answer.
    std::uint64_t client = 0;            // listener (UDP) or client connection (TCP) token
    std::vector<std::uint8_t> client_addr;
    // TcpClient / TcpUpstream buffers (length-prefixed messages).
    std::vector<std::uint8_t> in, out;
    std::vector<std::uint8_t> query;     // upstreams: the question (for the next upstream)
    std::size_t attempt = 0;             // upstreams: index into the upstream list
    int inflight = 0;                    // TcpClient: questions forwarded, not yet answered
    bool eof = false;                    // TcpClient: peer shut down its side
  };
  void loop();
  std::uint64_t add_sock(Kind k, UniqueFd fd, std::string key, std::uint32_t events);
  void close_sock(std::uint64_t token);
  void set_events(std::uint64_t token, std::uint32_t events);
  void on_udp(std::uint64_t token);
  void on_accept(std::uint64_t token);
  void on_client(std::uint64_t token, std::uint32_t events);
  void on_udp_upstream(std::uint64_t token);
  void on_tcp_upstream(std::uint64_t token, std::uint32_t events);
  void expire();
  // The reply to a question asked by `key` if it is ours to answer (A/AAAA/PTR of known names).
  std::optional<std::vector<std::uint8_t>> local_answer(const std::string& key, const std::uint8_t* msg,
                                                        std::size_t n, const DnsQuestion& q);
  const Upstreams& upstreams_for(const std::string& key) const;
  void send_tcp(std::uint64_t client, const std::vector<std::uint8_t>& msg);
  void flush(std::uint64_t client);
  void maybe_close_client(std::uint64_t client);
  // Sends `query` to upstream number `attempt` of `key`'s list, or the next ones if a socket
  // cannot be set up; false when none is left (dockerd tries at most three, in order).
  bool forward(const std::string& key, std::uint64_t client, std::vector<std::uint8_t> query,
               std::vector<std::uint8_t> client_addr, bool tcp, std::size_t attempt);
  // Upstream `token` failed (no answer, SERVFAIL, REFUSED, non-authoritative NXDOMAIN): ask the
  // next one; when none is left relay `reply` if there is one (TCP: else SERVFAIL).
  void next_upstream(std::uint64_t token, std::vector<std::uint8_t> reply);
  void deliver(std::uint64_t token, const std::vector<std::uint8_t>& reply);

  Resolver resolver_;
  ReverseResolver reverse_;
  Upstreams upstreams_;
  std::map<std::string, Upstreams> own_upstreams_;  // key -> per-container upstreams
  std::string listen_ip_;
  UniqueFd epoll_, wake_;
  std::mutex mu_;
  std::uint64_t next_token_ = 1;                    // 0 = the wake eventfd
  std::map<std::uint64_t, Sock> socks_;
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> listeners_;  // key -> udp, tcp
  std::vector<std::uint8_t> buf_ = std::vector<std::uint8_t>(65536);
  std::minstd_rand rng_{std::random_device{}()};  // answer order (round robin like dockerd)
  std::thread thread_;
  bool stop_ = false;
};

}  // namespace berth::net
