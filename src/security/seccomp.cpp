// SPDX-License-Identifier: Apache-2.0
#include "security/seccomp.hpp"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <set>

#include "common/file.hpp"
#include "common/strings.hpp"
#include "common/unique_fd.hpp"
#include "security/seccomp_bpf.hpp"

namespace berth::security {
namespace detail {

Result<std::uint32_t> action_of(const std::string& a, std::optional<std::uint32_t> errno_ret, bool* notify) {
  std::uint32_t e = errno_ret.value_or(EPERM);
  if (a == "SCMP_ACT_KILL" || a == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (a == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (a == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (a == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(e);
  if (a == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(e);
  if (a == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (a == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  if (a == "SCMP_ACT_NOTIFY") {
    *notify = true;
    return SCMP_ACT_NOTIFY;
  }
  return fail(Errc::InvalidArgument, "linux.seccomp: unknown action " + a);
}

Result<scmp_compare> op_of(const std::string& o) {
  if (o == "SCMP_CMP_NE") return SCMP_CMP_NE;
  if (o == "SCMP_CMP_LT") return SCMP_CMP_LT;
  if (o == "SCMP_CMP_LE") return SCMP_CMP_LE;
  if (o == "SCMP_CMP_EQ") return SCMP_CMP_EQ;
  if (o == "SCMP_CMP_GE") return SCMP_CMP_GE;
  if (o == "SCMP_CMP_GT") return SCMP_CMP_GT;
  if (o == "SCMP_CMP_MASKED_EQ") return SCMP_CMP_MASKED_EQ;
  return fail(Errc::InvalidArgument, "linux.seccomp: unknown operator " + o);
}

Result<std::uint32_t> arch_of(const std::string& a) {
  std::string n = a;
  if (n.rfind("SCMP_ARCH_", 0) == 0) n = to_lower(n.substr(10));
  if (n == "x86" ) n = "x86";
  std::uint32_t t = seccomp_arch_resolve_name(n.c_str());
  if (t == 0) return fail(Errc::InvalidArgument, "linux.seccomp: unknown architecture " + a);
  return t;
}

bool permissive(const std::string& a) {
  return a == "SCMP_ACT_ALLOW" || a == "SCMP_ACT_LOG" || a == "SCMP_ACT_TRACE";
}

}  // namespace detail

namespace {

using detail::action_of;
using detail::arch_of;
using detail::op_of;
using detail::permissive;

// runc's -ENOSYS stub, prepended to libseccomp's program: a syscall numbered above the highest
// one the profile names (per architecture) gets -ENOSYS instead of the default action, so that
// programs (glibc, Go) probing for syscalls newer than the profile fall back instead of failing
// with EPERM. Only for non-permissive default actions; x32 syscalls (nr | 0x40000000 under the
// x86_64 audit arch) are judged against x32's own highest number.
class StubAsm {
 public:
  static constexpr int kOrig = -1, kEnosys = -2;
  int label() { return static_cast<int>(ins_.size()); }
  void stmt(std::uint16_t code, std::uint32_t k) { ins_.push_back({{code, 0, 0, k}, 0, 0}); }
  // Conditional jump: targets are instruction indexes or kOrig / kEnosys.
  void jump(std::uint16_t code, std::uint32_t k, int jt, int jf) { ins_.push_back({{code, 0, 0, k}, jt, jf}); }
  int size() const { return static_cast<int>(ins_.size()); }
  // Resolves labels (next-block labels are patched by the caller via set_jf) and lays out
  // [stub][ja orig][ret ENOSYS].
  void set_jf(int at, int target) { ins_[static_cast<std::size_t>(at)].jf = target; }
  Result<std::vector<sock_filter>> finish() {
    int end = size();
    int enosys = end + 1, orig = end + 2;
    std::vector<sock_filter> out;
    auto resolve = [&](int from, int t) -> Result<std::uint8_t> {
      int to = t == kOrig ? orig : t == kEnosys ? enosys : t;
      int off = to - from - 1;
      if (off < 0 || off > 255) return fail(Errc::Internal, "seccomp: -ENOSYS stub too large");
      return static_cast<std::uint8_t>(off);
    };
    for (int i = 0; i < end; ++i) {
      auto in = ins_[static_cast<std::size_t>(i)];
      if (BPF_CLASS(in.f.code) == BPF_JMP && BPF_OP(in.f.code) != BPF_JA) {
        in.f.jt = TRY(resolve(i, in.jt));
        in.f.jf = TRY(resolve(i, in.jf));
      }
      out.push_back(in.f);
    }
    out.push_back(sock_filter{BPF_JMP | BPF_JA, 0, 0, 1});
    out.push_back(sock_filter{BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)});
    return out;
  }

 private:
  struct Ins {
    sock_filter f;
    int jt, jf;
  };
  std::vector<Ins> ins_;
};

constexpr std::uint32_t kX32Bit = 0x40000000;

Result<std::vector<sock_filter>> enosys_stub(const SeccompProfile& p, const std::vector<std::uint32_t>& archs) {
  // Highest syscall number the profile names, per libseccomp architecture token.
  std::vector<std::pair<std::uint32_t, int>> last;
  for (auto a : archs) {
    int mx = -1;
    for (auto& s : p.syscalls)
      for (auto& n : s.names) {
        int nr = seccomp_syscall_resolve_name_arch(a, n.c_str());
        if (nr >= 0 && nr > mx) mx = nr;
      }
    if (mx >= 0) last.emplace_back(a, mx);
  }
  auto max_of = [&](std::uint32_t a) -> int {
    for (auto& [t, m] : last)
      if (t == a) return m;
    return -1;
  };
  StubAsm s;
  constexpr std::uint32_t kArchOff = offsetof(seccomp_data, arch), kNrOff = offsetof(seccomp_data, nr);
  for (auto& [a, mx] : last) {
    if (a == SCMP_ARCH_X32) continue;  // judged in the x86_64 block (same audit arch)
    s.stmt(BPF_LD | BPF_W | BPF_ABS, kArchOff);
    int test = s.size();
    s.jump(BPF_JMP | BPF_JEQ | BPF_K, a, test + 1, StubAsm::kOrig);  // jf patched below
    s.stmt(BPF_LD | BPF_W | BPF_ABS, kNrOff);
    if (a == SCMP_ARCH_X86_64) {
      int x32 = max_of(SCMP_ARCH_X32);
      int j = s.size();
      s.jump(BPF_JMP | BPF_JSET | BPF_K, kX32Bit, j + 2, j + 1);
      s.jump(BPF_JMP | BPF_JGT | BPF_K, static_cast<std::uint32_t>(mx), StubAsm::kEnosys, StubAsm::kOrig);
      if (x32 >= 0)
        s.jump(BPF_JMP | BPF_JGT | BPF_K, static_cast<std::uint32_t>(x32), StubAsm::kEnosys, StubAsm::kOrig);
      else
        s.jump(BPF_JMP | BPF_JEQ | BPF_K, 0, StubAsm::kOrig, StubAsm::kOrig);
    } else {
      s.jump(BPF_JMP | BPF_JGT | BPF_K, static_cast<std::uint32_t>(mx), StubAsm::kEnosys, StubAsm::kOrig);
    }
    s.set_jf(test, s.size());  // not this arch: next block (or the trailing `ja orig`)
  }
  if (s.size() == 0) return std::vector<sock_filter>{};
  return s.finish();
}

struct Ctx {
  scmp_filter_ctx c = nullptr;
  ~Ctx() {
    if (c) seccomp_release(c);
  }
};

}  // namespace

Result<SeccompProgram> compile_seccomp(const SeccompProfile& p, SeccompBackend backend) {
  SeccompProgram prog;
  bool notify = false;
  auto def = TRYC(action_of(p.default_action, p.default_errno_ret, &notify), "linux.seccomp.defaultAction");
  if (notify) return fail(Errc::InvalidArgument, "linux.seccomp: SCMP_ACT_NOTIFY cannot be the default action");
  std::uint32_t native = seccomp_arch_native();
  std::vector<std::uint32_t> archs{native};
  for (auto& a : p.architectures) {
    auto t = TRY(arch_of(a));
    if (std::find(archs.begin(), archs.end(), t) == archs.end()) archs.push_back(t);
  }
  for (auto& f : p.flags) {
    if (f == "SECCOMP_FILTER_FLAG_TSYNC") prog.flags |= SECCOMP_FILTER_FLAG_TSYNC;
    else if (f == "SECCOMP_FILTER_FLAG_LOG") prog.flags |= SECCOMP_FILTER_FLAG_LOG;
    else if (f == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") prog.flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
#ifdef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
    else if (f == "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") prog.flags |= SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
#endif
    else return fail(Errc::InvalidArgument, "linux.seccomp: unknown flag " + f);
  }
  for (auto& s : p.syscalls) {
    bool n = false;
    TRYC(action_of(s.action, s.errno_ret, &n), "linux.seccomp.syscalls");
    notify = notify || n;
    if (n)
      for (auto& name : s.names)
        if (name == "write")  // the runtime's own handshake after loading the filter uses write(2)
          return fail(Errc::InvalidArgument, "linux.seccomp: SCMP_ACT_NOTIFY cannot be used for the write syscall");
    for (auto& a : s.args) {
      if (a.index > 5) return fail(Errc::InvalidArgument, "linux.seccomp: argument index > 5");
      TRY(op_of(a.op));
    }
  }
  if (notify) {
    if (p.listener_path.empty())
      return fail(Errc::InvalidArgument, "linux.seccomp: SCMP_ACT_NOTIFY needs listenerPath");
    prog.flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    prog.notify = true;
  }
  if (backend != SeccompBackend::Libseccomp) {
    if (auto code = detail::compact_program(p, def, archs)) {
      auto* b = reinterpret_cast<const unsigned char*>(code->data());
      prog.bpf.assign(b, b + code->size() * sizeof(sock_filter));
      return prog;
    }
    if (backend == SeccompBackend::Compact)
      return fail(Errc::Unimplemented, "linux.seccomp: the profile needs libseccomp's code generator");
  }

  Ctx ctx;
  ctx.c = seccomp_init(def);
  if (!ctx.c) return fail(Errc::Internal, "seccomp_init failed");
  seccomp_attr_set(ctx.c, SCMP_FLTATR_CTL_NNP, 0);
  for (auto t : archs) {
    if (t == native) continue;
    int rc = seccomp_arch_add(ctx.c, t);
    if (rc != 0 && rc != -EEXIST) return fail(Error::from_errno(-rc, "seccomp add architecture", std::to_string(t)));
  }
  for (auto& s : p.syscalls) {
    bool n = false;
    auto act = TRY(action_of(s.action, s.errno_ret, &n));
    if (act == def) continue;  // libseccomp refuses rules equal to the default
    std::vector<scmp_arg_cmp> cmps;
    std::set<unsigned> idx;
    bool dup = false;
    for (auto& a : s.args) {
      auto op = TRY(op_of(a.op));
      if (!idx.insert(a.index).second) dup = true;
      cmps.push_back(scmp_arg_cmp{a.index, op, a.value, a.value_two});
    }
    for (auto& name : s.names) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) continue;  // unknown on this arch: ignored, like runc
      int rc;
      if (!dup) {
        rc = seccomp_rule_add_array(ctx.c, act, nr, static_cast<unsigned>(cmps.size()),
                                    cmps.empty() ? nullptr : cmps.data());
      } else {
        // Several conditions on one argument: OR them as separate rules (what runc does).
        rc = 0;
        for (auto& c : cmps) {
          rc = seccomp_rule_add_array(ctx.c, act, nr, 1, &c);
          if (rc != 0) break;
        }
      }
      if (rc != 0) return fail(Error::from_errno(-rc, "seccomp add rule for", name));
    }
  }
  int mfd = ::memfd_create("berth-seccomp", MFD_CLOEXEC);
  if (mfd < 0) return fail_errno("memfd_create");
  UniqueFd fd(mfd);
  int rc = seccomp_export_bpf(ctx.c, fd.get());
  if (rc != 0) return fail(Error::from_errno(-rc, "seccomp export bpf"));
  if (::lseek(fd.get(), 0, SEEK_SET) != 0) return fail_errno("lseek");
  auto bytes = TRY(read_fd(fd.get()));
  if (!permissive(p.default_action)) {
    auto stub = TRY(enosys_stub(p, archs));
    auto* b = reinterpret_cast<const unsigned char*>(stub.data());
    prog.bpf.assign(b, b + stub.size() * sizeof(sock_filter));
  }
  if (prog.bpf.size() / sizeof(sock_filter) + bytes.size() / sizeof(sock_filter) > BPF_MAXINSNS)
    return fail(Errc::InvalidArgument, "linux.seccomp: filter longer than the kernel's limit");
  prog.bpf.insert(prog.bpf.end(), bytes.begin(), bytes.end());
  return prog;
}

namespace {

// Everything compile_seccomp's output depends on, as text: the profile, the native
// architecture, libseccomp's version and the running binary (inode, size, mtime).
std::string cache_key(const SeccompProfile& p) {
  std::string k = "berth-seccomp-cache 1\n";
  auto field = [&](std::string_view name, std::string_view v) {
    k += name;
    k += ' ';
    k += std::to_string(v.size());
    k += ':';
    k += v;
    k += '\n';
  };
  const scmp_version* v = seccomp_version();
  field("libseccomp", v ? std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->micro) : "");
  field("native", std::to_string(seccomp_arch_native()));
  struct stat st {};
  if (::stat("/proc/self/exe", &st) == 0)
    field("exe", std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
                     std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec));
  field("default", p.default_action);
  field("default-errno", p.default_errno_ret ? std::to_string(*p.default_errno_ret) : "-");
  for (auto& a : p.architectures) field("arch", a);
  for (auto& f : p.flags) field("flag", f);
  field("listener", p.listener_path);
  for (auto& s : p.syscalls) {
    field("syscall", s.action);
    field("errno", s.errno_ret ? std::to_string(*s.errno_ret) : "-");
    for (auto& n : s.names) field("name", n);
    for (auto& a : s.args)
      field("arg", std::to_string(a.index) + " " + a.op + " " + std::to_string(a.value) + " " + std::to_string(a.value_two));
  }
  return k;
}

std::string key_hash(std::string_view k) {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a: a file name, not an integrity check
  for (unsigned char c : k) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// Entry layout: u32 key length, key, u32 flags, u32 notify, u32 bpf length, bpf.
constexpr std::size_t kMaxEntry = 1u << 20;

std::optional<SeccompProgram> read_entry(const std::string& path, std::string_view key) {
  auto fd = open_file(path, O_RDONLY | O_NOFOLLOW);
  if (!fd) return std::nullopt;
  auto data = read_fd(fd->get(), kMaxEntry);
  if (!data) return std::nullopt;
  std::string_view d = *data;
  auto u32 = [&](std::uint32_t* out) {
    if (d.size() < 4) return false;
    std::memcpy(out, d.data(), 4);
    d.remove_prefix(4);
    return true;
  };
  std::uint32_t klen = 0, flags = 0, notify = 0, blen = 0;
  if (!u32(&klen) || klen != key.size() || d.size() < klen || d.substr(0, klen) != key) return std::nullopt;
  d.remove_prefix(klen);
  if (!u32(&flags) || !u32(&notify) || !u32(&blen) || blen != d.size() || blen % sizeof(sock_filter) != 0 ||
      blen / sizeof(sock_filter) > BPF_MAXINSNS || notify > 1)
    return std::nullopt;
  SeccompProgram prog;
  prog.flags = flags;
  prog.notify = notify == 1;
  prog.bpf.assign(d.begin(), d.end());
  return prog;
}

void store_entry(const std::string& dir, const std::string& path, std::string_view key, const SeccompProgram& prog) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return;
  std::string out;
  auto put = [&](std::uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); };
  put(static_cast<std::uint32_t>(key.size()));
  out += key;
  put(prog.flags);
  put(prog.notify ? 1 : 0);
  put(static_cast<std::uint32_t>(prog.bpf.size()));
  out.append(reinterpret_cast<const char*>(prog.bpf.data()), prog.bpf.size());
  if (out.size() > kMaxEntry) return;
  // Written under a unique name and renamed: concurrent runtimes never see a partial entry.
  std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  auto fd = open_file(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
  if (!fd) return;
  bool ok = write_all(fd->get(), out).has_value();
  fd->reset();
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) ::unlink(tmp.c_str());
}

}  // namespace

Result<SeccompProgram> compile_seccomp_cached(const SeccompProfile& p, const std::string& cache_dir) {
  std::string key = cache_key(p);
  std::string path = cache_dir + "/" + key_hash(key);
  if (auto hit = read_entry(path, key)) return std::move(*hit);
  auto prog = TRY(compile_seccomp(p));
  store_entry(cache_dir, path, key, prog);
  return prog;
}

Result<int> load_seccomp(const SeccompProgram& p) {
  sock_fprog fp{};
  fp.len = static_cast<unsigned short>(p.bpf.size() / sizeof(sock_filter));
  fp.filter = reinterpret_cast<sock_filter*>(const_cast<unsigned char*>(p.bpf.data()));
  long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, p.flags, &fp);
  if (rc < 0) return fail_errno("seccomp(SECCOMP_SET_MODE_FILTER)");
  return p.notify ? static_cast<int>(rc) : -1;
}

std::vector<std::string> seccomp_actions() {
  return {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
          "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"};
}
std::vector<std::string> seccomp_operators() {
  return {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"};
}
std::vector<std::string> seccomp_archs() {
  return {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32",
          "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64",
          "SCMP_ARCH_PPC64LE", "SCMP_ARCH_RISCV64", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_X32",
          "SCMP_ARCH_X86", "SCMP_ARCH_X86_64"};
}
std::vector<std::string> seccomp_flags() {
  return {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC"};
}

}  // namespace berth::security
