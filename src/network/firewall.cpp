// SPDX-License-Identifier: Apache-2.0
#include "network/firewall.hpp"

#include <nftables/libnftables.h>

#include "common/strings.hpp"

namespace berth::net {

std::string_view proto_name(Proto p) {
  switch (p) {
    case Proto::Tcp: return "tcp";
    case Proto::Udp: return "udp";
    case Proto::Sctp: return "sctp";
  }
  return "tcp";
}

Result<Proto> parse_proto(std::string_view s) {
  std::string l = to_lower(s);
  if (l.empty() || l == "tcp") return Proto::Tcp;
  if (l == "udp") return Proto::Udp;
  if (l == "sctp") return Proto::Sctp;
  return fail(Errc::InvalidArgument, "invalid protocol \"" + std::string(s) + "\"");
}

namespace {
constexpr Proto kProtos[] = {Proto::Tcp, Proto::Udp, Proto::Sctp};

std::string quote(const std::string& s) { return "\"" + s + "\""; }

std::string map_name(Proto p, bool v6, bool by_addr) {
  return std::string(proto_name(p)) + (v6 ? "6" : "4") + (by_addr ? "_addr" : "");
}
}  // namespace

std::string nft_base_ruleset(const FirewallConfig& c) {
  const std::string t = "inet " + c.table;
  std::string o;
  o += "add table " + t + "\n";
  for (Proto p : kProtos) {
    for (bool v6 : {false, true}) {
      std::string a = v6 ? "ipv6_addr" : "ipv4_addr";
      o += "add map " + t + " " + map_name(p, v6, false) + " { type inet_service : " + a +
           " . inet_service; }\n";
      o += "add map " + t + " " + map_name(p, v6, true) + " { type " + a + " . inet_service : " +
           a + " . inet_service; }\n";
    }
  }
  o += "add chain " + t + " " + c.user_chain + "\n";
  o += "add chain " + t + " filter_fwd { type filter hook forward priority -1; policy accept; }\n";
  o += "add chain " + t + " nat_pre { type nat hook prerouting priority -100; policy accept; }\n";
  o += "add chain " + t + " nat_out { type nat hook output priority -100; policy accept; }\n";
  o += "add chain " + t + " nat_post { type nat hook postrouting priority 100; policy accept; }\n";
  o += "add chain " + t + " publish\n";
  o += "flush chain " + t + " nat_pre\n";
  o += "add rule " + t + " nat_pre fib daddr type local jump publish\n";
  o += "flush chain " + t + " nat_out\n";
  o += "add rule " + t + " nat_out fib daddr type local jump publish\n";
  o += "flush chain " + t + " publish\n";
  for (Proto p : kProtos) {
    std::string pn(proto_name(p));
    o += "add rule " + t + " publish dnat ip to ip daddr . " + pn + " dport map @" +
         map_name(p, false, true) + "\n";
    o += "add rule " + t + " publish dnat ip to " + pn + " dport map @" + map_name(p, false, false) + "\n";
    o += "add rule " + t + " publish dnat ip6 to ip6 daddr . " + pn + " dport map @" +
         map_name(p, true, true) + "\n";
    o += "add rule " + t + " publish dnat ip6 to " + pn + " dport map @" + map_name(p, true, false) + "\n";
  }
  return o;
}

std::string nft_network_rules(const FirewallConfig& c, const std::vector<FirewallNetwork>& nets) {
  const std::string t = "inet " + c.table;
  std::string o;
  o += "flush chain " + t + " filter_fwd\n";
  o += "add rule " + t + " filter_fwd jump " + c.user_chain + "\n";
  o += "flush chain " + t + " nat_post\n";
  for (const auto& n : nets) {
    const std::string br = quote(n.bridge);
    if (n.internal) {
      o += "add rule " + t + " filter_fwd iifname " + br + " oifname != " + br + " drop\n";
      o += "add rule " + t + " filter_fwd oifname " + br + " iifname != " + br + " drop\n";
    }
    std::vector<std::string> others;
    for (const auto& m : nets)
      if (m.bridge != n.bridge) others.push_back(quote(m.bridge));
    if (!others.empty())
      o += "add rule " + t + " filter_fwd iifname " + br + " oifname { " + join(others, ", ") + " } drop\n";
    if (!n.internal && n.masquerade) {
      for (const auto& s : n.subnets) {
        std::string fam = s.addr.is_v4() ? "ip" : "ip6";
        o += "add rule " + t + " nat_post " + fam + " saddr " + s.network().str() + " oifname != " +
             br + " masquerade\n";
      }
    }
    // Host -> 127.0.0.1:PORT -> container: the source must become the bridge address.
    o += "add rule " + t + " nat_post oifname " + br + " ip saddr 127.0.0.0/8 masquerade\n";
    // Hairpin: a container reaching a published port of its own network.
    o += "add rule " + t + " nat_post iifname " + br + " oifname " + br + " ct status dnat masquerade\n";
  }
  return o;
}

std::string nft_port_elements(const FirewallConfig& c, std::string_view verb,
                              const std::vector<PortMapping>& ports) {
  const std::string t = "inet " + c.table;
  std::string o;
  for (const auto& p : ports) {
    bool v6 = p.container_ip.is_v6();
    bool by_addr = p.host_ip.valid() && !p.host_ip.is_unspecified();
    std::string key = (by_addr ? p.host_ip.str() + " . " : "") + std::to_string(p.host_port);
    o += std::string(verb) + " element " + t + " " + map_name(p.proto, v6, by_addr) + " { " + key;
    if (verb == "add" || verb == "create")
      o += " : " + p.container_ip.str() + " . " + std::to_string(p.container_port);
    o += " }\n";
  }
  return o;
}

Result<std::unique_ptr<Firewall>> Firewall::open(FirewallConfig c) {
  std::unique_ptr<Firewall> fw(new Firewall());
  fw->c_ = std::move(c);
  fw->ctx_ = nft_ctx_new(NFT_CTX_DEFAULT);
  if (!fw->ctx_) return fail(Errc::Internal, "nft_ctx_new failed");
  nft_ctx_buffer_output(fw->ctx_);
  nft_ctx_buffer_error(fw->ctx_);
  if (auto st = fw->run(nft_base_ruleset(fw->c_)); !st) {
    if (auto why = nft_unavailable_reason(st.error().message()); !why.empty())
      return fail(Errc::Unavailable, why + " (" + st.error().message() + ")");
    return fail(std::move(st).error().context("set up nftables table " + fw->c_.table));
  }
  return fw;
}

std::string nft_unavailable_reason(const std::string& err) {
  if (err.find("Protocol not supported") != std::string::npos || err.find("Operation not supported") != std::string::npos ||
      err.find("Address family not supported") != std::string::npos)
    return "nftables is not available in this kernel (needs nf_tables, nft_nat, nft_fib, nft_masq; try "
           "`modprobe nf_tables`); berth has no iptables fallback, so bridge networking is off";
  if (err.find("Operation not permitted") != std::string::npos)
    return "nftables refused berth's table: berthd needs CAP_NET_ADMIN in the host's network namespace";
  return {};
}

Firewall::~Firewall() {
  if (ctx_) nft_ctx_free(ctx_);
}

Status Firewall::run(const std::string& cmds) {
  std::lock_guard lk(mu_);
  int r = nft_run_cmd_from_buffer(ctx_, cmds.c_str());
  std::string err = nft_ctx_get_error_buffer(ctx_);
  if (r != 0) {
    Errc code = Errc::Internal;
    if (err.find("File exists") != std::string::npos) code = Errc::Conflict;
    if (err.find("No such file") != std::string::npos) code = Errc::NotFound;
    return fail(code, "nftables: " + std::string(trim(err)));
  }
  return ok();
}

Status Firewall::sync_networks(const std::vector<FirewallNetwork>& nets) {
  TRYC(run(nft_network_rules(c_, nets)), "nftables network rules");
  return ok();
}

Status Firewall::add_ports(const std::vector<PortMapping>& ports) {
  if (ports.empty()) return ok();
  // "add element" of an existing key silently succeeds; "create element" refuses it.
  auto st = run(nft_port_elements(c_, "create", ports));
  if (!st && st.error().is(Errc::Conflict)) {
    return fail(Errc::Conflict, "port is already allocated");
  }
  return st;
}

Status Firewall::remove_ports(const std::vector<PortMapping>& ports) {
  if (ports.empty()) return ok();
  // All at once; if that fails (e.g. one is already gone), one by one so a missing element
  // does not keep the others.
  if (run(nft_port_elements(c_, "delete", ports))) return ok();
  Status first = ok();
  for (const auto& p : ports) {
    auto st = run(nft_port_elements(c_, "delete", {p}));
    if (!st && !st.error().is(Errc::NotFound) && first) first = st;
  }
  return first;
}

Status Firewall::destroy() { return run("delete table inet " + c_.table + "\n"); }

Result<std::string> Firewall::list() {
  std::lock_guard lk(mu_);
  if (nft_run_cmd_from_buffer(ctx_, ("list table inet " + c_.table).c_str()) != 0)
    return fail(Errc::NotFound, "nftables: " + std::string(nft_ctx_get_error_buffer(ctx_)));
  return std::string(nft_ctx_get_output_buffer(ctx_));
}

}  // namespace berth::net
