// SPDX-License-Identifier: Apache-2.0
#include "security/seccomp_bpf.hpp"

#include <linux/audit.h>
#include <linux/seccomp.h>

#include <cstddef>
#include <map>
#include <set>

namespace berth::security::detail {
namespace {

using Code = std::vector<sock_filter>;

constexpr std::uint32_t kX32Bit = 0x40000000;
constexpr std::uint32_t kBadArch = SECCOMP_RET_KILL_THREAD;  // libseccomp's default for a foreign arch
constexpr std::uint32_t kEnosys = SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA);
constexpr std::uint32_t kNrOff = offsetof(seccomp_data, nr), kArchOff = offsetof(seccomp_data, arch);

sock_filter stmt(std::uint16_t code, std::uint32_t k) { return sock_filter{code, 0, 0, k}; }
sock_filter jump(std::uint16_t code, std::uint32_t k, std::size_t jt, std::size_t jf) {
  return sock_filter{code, static_cast<std::uint8_t>(jt), static_cast<std::uint8_t>(jf), k};
}
void append(Code& a, const Code& b) { a.insert(a.end(), b.begin(), b.end()); }

struct Cond {
  unsigned index;
  scmp_compare op;
  std::uint64_t a, b;
};
struct Rule {
  std::vector<Cond> conds;  // all must hold
};
// What one syscall number gets: `action` outright, or when one of `rules` holds (else the default).
struct Entry {
  std::uint32_t action = 0;
  bool outright = false;
  std::vector<Rule> rules;
};
using Table = std::map<std::uint32_t, Entry>;

// x86's socketcall(2) and ipc(2) multiplexers: libseccomp turns a rule for one of their calls
// (a negative pseudo number there) into a rule for the direct syscall, where x86 has one, plus a
// rule for the multiplexer. Direct numbers from the kernel's syscall_32.tbl.
constexpr int kSocketcall = 102, kIpc = 117;
int x86_direct(int pseudo) {
  static const std::map<int, int> direct = {
      {-101, 359}, {-102, 361}, {-103, 362}, {-104, 363}, {-106, 367}, {-107, 368}, {-108, 360},
      {-111, 369}, {-112, 371}, {-113, 373}, {-114, 366}, {-115, 365}, {-116, 370}, {-117, 372},
      {-118, 364}, {-119, 337}, {-120, 345}, {-202, 393}, {-203, 394}, {-211, 400}, {-212, 401},
      {-213, 399}, {-214, 402}, {-221, 397}, {-222, 398}, {-223, 395}, {-224, 396}};
  auto it = direct.find(pseudo);
  return it == direct.end() ? -1 : it->second;
}
bool is_socket_pseudo(int nr) { return nr <= -101 && nr >= -120; }
bool is_ipc_pseudo(int nr) { return nr <= -201 && nr >= -224; }

bool supported_arch(std::uint32_t t) {
  return t == SCMP_ARCH_X86_64 || t == SCMP_ARCH_X86 || t == SCMP_ARCH_X32 || t == SCMP_ARCH_AARCH64 ||
         t == SCMP_ARCH_ARM;
}
// libseccomp compares only the low 32 bits of an argument on these.
bool arch32(std::uint32_t t) { return t == SCMP_ARCH_X86 || t == SCMP_ARCH_X32 || t == SCMP_ARCH_ARM; }

// Adds `rules` (empty: outright) with `action` at nr; false when nr has rules of another action.
bool add(Table& t, std::uint32_t nr, std::uint32_t action, const std::vector<Rule>& rules) {
  auto [it, fresh] = t.try_emplace(nr);
  Entry& e = it->second;
  if (!fresh && e.action != action) return false;
  e.action = action;
  if (rules.empty()) e.outright = true;
  else if (!e.outright) e.rules.insert(e.rules.end(), rules.begin(), rules.end());
  if (e.outright) e.rules.clear();
  return true;
}

// One condition; on failure jumps `fail` instructions past its own end (to the next rule).
Code cond_code(const Cond& c, bool is32, std::size_t fail) {
  const std::uint32_t lo_off = static_cast<std::uint32_t>(offsetof(seccomp_data, args) + 8 * c.index);
  const std::uint32_t hi_off = lo_off + 4;  // little-endian architectures only (supported_arch)
  auto lo = [](std::uint64_t v) { return static_cast<std::uint32_t>(v); };
  auto hi = [](std::uint64_t v) { return static_cast<std::uint32_t>(v >> 32); };
  constexpr std::uint16_t ld = BPF_LD | BPF_W | BPF_ABS;
  constexpr std::uint16_t jeq = BPF_JMP | BPF_JEQ | BPF_K, jgt = BPF_JMP | BPF_JGT | BPF_K,
                          jge = BPF_JMP | BPF_JGE | BPF_K;
  // The low words decide alone on 32-bit architectures; on 64-bit ones after equal high words.
  // Offsets below are relative to each jump, F = to the failure target, P = to the end (pass).
  const std::uint64_t a = c.a;
  std::uint64_t b = c.b;
  auto F = [&](std::size_t at, std::size_t len) { return len - at - 1 + fail; };
  auto P = [&](std::size_t at, std::size_t len) { return len - at - 1; };
  switch (c.op) {
    case SCMP_CMP_EQ:
      if (is32) return {stmt(ld, lo_off), jump(jeq, lo(a), 0, fail)};
      return {stmt(ld, hi_off), jump(jeq, hi(a), 0, F(1, 4)), stmt(ld, lo_off), jump(jeq, lo(a), 0, fail)};
    case SCMP_CMP_NE:
      if (is32) return {stmt(ld, lo_off), jump(jeq, lo(a), fail, 0)};
      return {stmt(ld, hi_off), jump(jeq, hi(a), 0, P(1, 4)), stmt(ld, lo_off), jump(jeq, lo(a), fail, 0)};
    case SCMP_CMP_GT:
    case SCMP_CMP_GE: {
      std::uint16_t last = c.op == SCMP_CMP_GT ? jgt : jge;
      if (is32) return {stmt(ld, lo_off), jump(last, lo(a), 0, fail)};
      return {stmt(ld, hi_off), jump(jgt, hi(a), P(1, 5), 0), jump(jeq, hi(a), 0, F(2, 5)), stmt(ld, lo_off),
              jump(last, lo(a), 0, fail)};
    }
    case SCMP_CMP_LT:
    case SCMP_CMP_LE: {
      // a < v is !(a >= v), a <= v is !(a > v)
      std::uint16_t last = c.op == SCMP_CMP_LT ? jge : jgt;
      if (is32) return {stmt(ld, lo_off), jump(last, lo(a), fail, 0)};
      return {stmt(ld, hi_off), jump(jgt, hi(a), F(1, 5), 0), jump(jeq, hi(a), 0, P(2, 5)), stmt(ld, lo_off),
              jump(last, lo(a), fail, 0)};
    }
    case SCMP_CMP_MASKED_EQ: {
      // value is the mask, valueTwo the datum: libseccomp compares with the datum's masked bits
      b &= a;
      constexpr std::uint16_t band = BPF_ALU | BPF_AND | BPF_K;
      if (is32) return {stmt(ld, lo_off), stmt(band, lo(a)), jump(jeq, lo(b), 0, fail)};
      return {stmt(ld, hi_off), stmt(band, hi(a)), jump(jeq, hi(b), 0, F(2, 6)), stmt(ld, lo_off), stmt(band, lo(a)),
              jump(jeq, lo(b), 0, fail)};
    }
    default:
      break;
  }
  return {};
}

// The code for one syscall number's entry, entered with anything in A; ends in returns.
Code entry_code(const Entry& e, std::uint32_t def, bool is32) {
  if (e.outright) return {stmt(BPF_RET | BPF_K, e.action)};
  Code out;
  for (const Rule& r : e.rules) {
    // conditions, then `ret action`; a failed condition jumps past that return
    std::vector<Code> parts(r.conds.size());
    std::size_t rest = 1;  // the return
    for (std::size_t i = r.conds.size(); i-- > 0;) {
      parts[i] = cond_code(r.conds[i], is32, rest);
      rest += parts[i].size();
    }
    for (auto& p : parts) append(out, p);
    out.push_back(stmt(BPF_RET | BPF_K, e.action));
  }
  out.push_back(stmt(BPF_RET | BPF_K, def));
  return out;
}

// A range of syscall numbers [start, next range's start) with one outcome: a return value, or
// the entry of a syscall with argument rules.
struct Range {
  std::uint32_t start;
  const Entry* entry;  // nullptr: `ret`
  std::uint32_t ret;
};

// Binary search over ranges[lo, hi) with the syscall number in A.
Code search(const std::vector<Range>& rs, std::size_t lo, std::size_t hi, std::uint32_t def, bool is32) {
  if (hi - lo == 1) {
    const Range& r = rs[lo];
    return r.entry ? entry_code(*r.entry, def, is32) : Code{stmt(BPF_RET | BPF_K, r.ret)};
  }
  std::size_t mid = lo + (hi - lo) / 2;
  Code below = search(rs, lo, mid, def, is32), above = search(rs, mid, hi, def, is32);
  Code out;
  if (below.size() <= 255) {
    out.push_back(jump(BPF_JMP | BPF_JGE | BPF_K, rs[mid].start, below.size(), 0));
  } else {
    out.push_back(jump(BPF_JMP | BPF_JGE | BPF_K, rs[mid].start, 0, 1));
    out.push_back(stmt(BPF_JMP | BPF_JA, static_cast<std::uint32_t>(below.size())));
  }
  append(out, below);
  append(out, above);
  return out;
}

// The decision for every number from `base` on: the table's entries, the default up to `last`
// (the highest number the profile names), above it -ENOSYS (deny-by-default) or the default.
Code decide(const Table& t, std::uint32_t base, long last, std::uint32_t def, bool enosys, bool is32,
           std::optional<std::uint32_t> kill_from = std::nullopt) {
  std::vector<Range> rs;
  auto push = [&](std::uint32_t start, const Entry* e, std::uint32_t ret) {
    if (!rs.empty() && rs.back().start == start) rs.pop_back();  // a later outcome for the same start
    // adjacent ranges with the same return merge
    if (!e && !rs.empty() && !rs.back().entry && rs.back().ret == ret) return;
    rs.push_back({start, e, ret});
  };
  push(base, nullptr, def);
  for (const auto& [nr, e] : t) {
    if (e.outright) push(nr, nullptr, e.action);
    else push(nr, &e, 0);
    if (nr != UINT32_MAX) push(nr + 1, nullptr, def);
  }
  if (enosys && last >= 0 && static_cast<std::uint64_t>(last) < UINT32_MAX) push(static_cast<std::uint32_t>(last) + 1, nullptr, kEnosys);
  else if (kill_from) push(*kill_from, nullptr, kBadArch);
  return search(rs, 0, rs.size(), def, is32);
}

}  // namespace

std::optional<std::vector<sock_filter>> compact_program(const SeccompProfile& p, std::uint32_t def,
                                                        const std::vector<std::uint32_t>& archs) {
  for (auto t : archs)
    if (!supported_arch(t)) return std::nullopt;
  bool enosys = !permissive(p.default_action);
  std::map<std::uint32_t, Table> tables;
  std::map<std::uint32_t, long> last;  // highest number any name has, per arch (the -ENOSYS bound)
  std::map<std::uint32_t, std::set<int>> muxed;  // x86 multiplexers the rules need
  std::map<std::uint32_t, std::uint32_t> mux_action;
  for (auto t : archs) {
    tables[t];
    last[t] = -1;
  }
  for (const auto& s : p.syscalls) {
    bool notify = false;
    auto act = action_of(s.action, s.errno_ret, &notify);
    if (!act || notify) return std::nullopt;
    // rules equal to the default are left out (libseccomp refuses them)
    bool skip = *act == def;
    // Conditions on one argument more than once are ORed as separate rules (as runc does).
    std::set<unsigned> idx;
    bool dup = false;
    std::vector<Cond> conds;
    for (const auto& a : s.args) {
      auto op = op_of(a.op);
      if (!op || a.index > 5) return std::nullopt;
      // libseccomp 2.5 orders 64-bit values with a high word in its own way: left to it
      bool ordered = *op == SCMP_CMP_LT || *op == SCMP_CMP_LE || *op == SCMP_CMP_GT || *op == SCMP_CMP_GE;
      if (ordered && a.value > 0xffffffffull) return std::nullopt;
      if (!idx.insert(a.index).second) dup = true;
      conds.push_back({a.index, *op, a.value, a.value_two});
    }
    std::vector<Rule> rules;
    if (dup) {
      for (const auto& c : conds) rules.push_back(Rule{{c}});
    } else if (!conds.empty()) {
      rules.push_back(Rule{conds});
    }
    for (const auto& name : s.names) {
      // a name the native architecture does not know gets no rule (as in the libseccomp path)
      bool known = seccomp_syscall_resolve_name(name.c_str()) != __NR_SCMP_ERROR;
      for (auto t : archs) {
        int nr = seccomp_syscall_resolve_name_arch(t, name.c_str());
        if (nr >= 0 && nr > last[t]) last[t] = nr;
        if (skip || !known) continue;
        if (nr < 0 && t == SCMP_ARCH_X86 && (is_socket_pseudo(nr) || is_ipc_pseudo(nr))) {
          // the multiplexer must let it through whatever its arguments (checked below)
          int mux = is_socket_pseudo(nr) ? kSocketcall : kIpc;
          if (muxed[t].count(mux) && mux_action[static_cast<std::uint32_t>(mux)] != *act) return std::nullopt;
          muxed[t].insert(mux);
          mux_action[static_cast<std::uint32_t>(mux)] = *act;
          int d = x86_direct(nr);
          if (d >= 0 && !add(tables[t], static_cast<std::uint32_t>(d), *act, rules)) return std::nullopt;
          continue;
        }
        if (nr < 0) continue;  // not a syscall of this architecture
        if (!add(tables[t], static_cast<std::uint32_t>(nr), *act, rules)) return std::nullopt;
      }
    }
  }
  // libseccomp adds a rule for the multiplexer call: equivalent only where the multiplexer is
  // already allowed outright with the same action.
  for (const auto& [t, muxes] : muxed)
    for (int mux : muxes) {
      auto it = tables[t].find(static_cast<std::uint32_t>(mux));
      if (it == tables[t].end() || !it->second.outright || it->second.action != mux_action[static_cast<std::uint32_t>(mux)])
        return std::nullopt;
    }

  // [ld arch] then per audit arch [jeq arch][ja its block], [ret bad-arch], the blocks.
  bool has_x32 = tables.count(SCMP_ARCH_X32) > 0;
  std::vector<std::pair<std::uint32_t, Code>> blocks;
  for (auto t : archs) {
    if (t == SCMP_ARCH_X32 && tables.count(SCMP_ARCH_X86_64)) continue;  // in the x86_64 block
    bool is32 = arch32(t);
    Code b{stmt(BPF_LD | BPF_W | BPF_ABS, kNrOff)};
    if (t == SCMP_ARCH_X86_64 || t == SCMP_ARCH_X32) {
      // x32 syscalls come under x86_64's audit arch with bit 30 set in the number
      // Without x32 libseccomp kills numbers from 0x40000000 on but -1 (a tracer's skip).
      Code native = tables.count(SCMP_ARCH_X86_64)
                        ? decide(tables[SCMP_ARCH_X86_64], 0, last[SCMP_ARCH_X86_64], def, enosys, false,
                                 has_x32 ? std::nullopt : std::optional<std::uint32_t>(kX32Bit))
                        : Code{stmt(BPF_RET | BPF_K, kBadArch)};
      Code x32 = has_x32 ? decide(tables[SCMP_ARCH_X32], 0, last[SCMP_ARCH_X32], def, enosys, true)
                         : Code{jump(BPF_JMP | BPF_JEQ | BPF_K, 0xffffffff, 0, 1), stmt(BPF_RET | BPF_K, def),
                                stmt(BPF_RET | BPF_K, kBadArch)};
      b.push_back(jump(BPF_JMP | BPF_JSET | BPF_K, kX32Bit, 0, 1));
      b.push_back(stmt(BPF_JMP | BPF_JA, static_cast<std::uint32_t>(native.size())));
      append(b, native);
      append(b, x32);
      blocks.emplace_back(AUDIT_ARCH_X86_64, std::move(b));
      continue;
    }
    append(b, decide(tables[t], 0, last[t], def, enosys, is32));
    blocks.emplace_back(t, std::move(b));  // the other tokens are their audit arch
  }
  Code out{stmt(BPF_LD | BPF_W | BPF_ABS, kArchOff)};
  std::size_t head = 1 + 2 * blocks.size() + 1;
  std::size_t at = head;  // where the next block starts
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    out.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, blocks[i].first, 0, 1));
    std::size_t ja_at = out.size();
    out.push_back(stmt(BPF_JMP | BPF_JA, static_cast<std::uint32_t>(at - ja_at - 1)));
    at += blocks[i].second.size();
  }
  out.push_back(stmt(BPF_RET | BPF_K, kBadArch));
  for (auto& [t, b] : blocks) append(out, b);
  if (out.size() > BPF_MAXINSNS) return std::nullopt;
  return out;
}

}  // namespace berth::security::detail
