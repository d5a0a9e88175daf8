// SPDX-License-Identifier: Apache-2.0
// Embedded DNS for user-defined networks (Docker's 127.0.0.11). For every container, a UDP socket
// is created *inside its netns* (run_in_netns) and bound to 127.0.0.11:53; one daemon thread
// serves all of them with epoll. A/AAAA questions for names the resolver callback knows (container
// names and aliases on networks shared with the asking container) are answered locally;
// everything else is forwarded unchanged to the upstream servers (from the host netns) and the
// reply relayed back. UDP only (TCP: documented gap).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
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
};
Result<DnsQuestion> dns_parse_query(const std::uint8_t* p, std::size_t n);
// A response to `query` carrying `addrs` (those matching qtype) as answers; NXDOMAIN if
// `nxdomain`.
std::vector<std::uint8_t> dns_make_answer(const std::uint8_t* query, std::size_t n,
                                          const DnsQuestion& q, const std::vector<IpAddr>& addrs,
                                          bool nxdomain = false);

class DnsServer {
 public:
  // (container key, name, qtype) -> addresses; empty = not ours (forward).
  using Resolver = std::function<std::vector<IpAddr>(const std::string& key,
                                                     const std::string& name)>;
  // upstreams: "ip" or "ip:port" (host netns).
  static Result<std::unique_ptr<DnsServer>> start(Resolver r, std::vector<std::string> upstreams,
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
  void loop();
  void handle_query(int fd);
  void handle_upstream(int fd);
  struct Pending {
    int client_fd;
    std::vector<std::uint8_t> client_addr;
    std::int64_t deadline_ms;
  };
  using Upstreams = std::vector<std::pair<IpAddr, std::uint16_t>>;
  static Result<Upstreams> parse_upstreams(const std::vector<std::string>& v);
  Resolver resolver_;
  Upstreams upstreams_;
  std::map<std::string, Upstreams> own_upstreams_;  // key -> per-container upstreams
  std::string listen_ip_;
  UniqueFd epoll_, wake_;
  std::mutex mu_;
  std::map<std::string, UniqueFd> listeners_;  // key -> socket in the container netns
  std::map<int, std::string> key_of_;          // fd -> key
  std::map<int, Pending> pending_;             // upstream socket fd -> client
  std::map<int, UniqueFd> upstream_fds_;
  std::thread thread_;
  bool stop_ = false;
};

}  // namespace berth::net
