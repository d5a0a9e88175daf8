// SPDX-License-Identifier: Apache-2.0
// Expansion rules follow BuildKit's dockerfile frontend (the facts, not the code):
//  - global ARGs (before the first FROM) are visible in FROM lines only; a stage sees one only
//    after redeclaring it with a bare `ARG name`;
//  - ADD COPY ENV EXPOSE FROM LABEL STOPSIGNAL USER VOLUME WORKDIR (and the flags of ADD/COPY/
//    RUN/FROM) are expanded; RUN CMD ENTRYPOINT SHELL HEALTHCHECK are not (the shell does it);
//    ONBUILD triggers are expanded when they fire, not where they are declared;
//  - ENV wins over ARG of the same name; all pairs of one ENV/LABEL/ARG see the environment as
//    it was before the instruction;
//  - --build-arg overrides an ARG default; the proxy args are usable without ARG and stay out
//    of the cache key unless declared.
#include "builder/plan.hpp"

#include <algorithm>
#include <cctype>

#include "common/strings.hpp"

namespace berth::builder {

namespace df = dockerfile;

namespace {

struct KindName {
  std::string_view lower;
  std::string_view upper;
  InstrKind kind;
};
constexpr KindName kKinds[] = {
    {"from", "FROM", InstrKind::From},         {"run", "RUN", InstrKind::Run},
    {"cmd", "CMD", InstrKind::Cmd},            {"label", "LABEL", InstrKind::Label},
    {"maintainer", "MAINTAINER", InstrKind::Maintainer},
    {"expose", "EXPOSE", InstrKind::Expose},   {"env", "ENV", InstrKind::Env},
    {"add", "ADD", InstrKind::Add},            {"copy", "COPY", InstrKind::Copy},
    {"entrypoint", "ENTRYPOINT", InstrKind::Entrypoint},
    {"volume", "VOLUME", InstrKind::Volume},   {"user", "USER", InstrKind::User},
    {"workdir", "WORKDIR", InstrKind::Workdir}, {"arg", "ARG", InstrKind::Arg},
    {"onbuild", "ONBUILD", InstrKind::Onbuild}, {"stopsignal", "STOPSIGNAL", InstrKind::Stopsignal},
    {"healthcheck", "HEALTHCHECK", InstrKind::Healthcheck}, {"shell", "SHELL", InstrKind::Shell},
};

constexpr std::string_view kProxyArgs[] = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
                                           "FTP_PROXY",  "ftp_proxy",  "NO_PROXY",    "no_proxy",
                                           "ALL_PROXY",  "all_proxy"};

bool is_proxy_arg(std::string_view n) {
  return std::find(std::begin(kProxyArgs), std::end(kProxyArgs), n) != std::end(kProxyArgs);
}

std::string lower(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

Error at_line(int line, const std::string& msg) {
  return Error(Errc::InvalidArgument, "dockerfile parse error on line " + std::to_string(line) + ": " + msg);
}

// ENV first, then the stage's ARGs.
class StageEnv final : public df::EnvGetter {
 public:
  StageEnv(const df::EnvList& env, const df::EnvList& args) : env_(env), args_(args) {}
  const std::string* get(std::string_view k) const override {
    if (auto* v = env_.get(k)) return v;
    return args_.get(k);
  }

 private:
  const df::EnvList& env_;
  const df::EnvList& args_;
};

std::vector<std::string_view> allowed_flags(InstrKind k) {
  switch (k) {
    case InstrKind::From: return {"platform"};
    case InstrKind::Run: return {"mount", "network", "security", "device"};
    case InstrKind::Add: return {"chown", "chmod", "checksum", "keep-git-dir", "link", "exclude", "unpack"};
    case InstrKind::Copy: return {"from", "chown", "chmod", "link", "parents", "exclude"};
    case InstrKind::Healthcheck: return {"interval", "timeout", "start-period", "start-interval", "retries"};
    default: return {};
  }
}

Result<std::vector<Flag>> parse_flags(const df::Node& n, InstrKind kind) {
  std::vector<Flag> out;
  auto allowed = allowed_flags(kind);
  for (const auto& raw : n.flags) {
    std::string_view f = raw;
    if (f.substr(0, 2) != "--") return fail(at_line(n.start_line, "invalid flag: " + raw));
    f.remove_prefix(2);
    Flag fl;
    auto eq = f.find('=');
    fl.name = std::string(f.substr(0, eq));
    if (eq != std::string_view::npos) {
      fl.value = std::string(f.substr(eq + 1));
      fl.has_value = true;
    }
    if (std::find(allowed.begin(), allowed.end(), fl.name) == allowed.end()) {
      return fail(at_line(n.start_line, "unknown flag: " + fl.name));
    }
    if (fl.name != "mount" && fl.name != "exclude" &&
        std::any_of(out.begin(), out.end(), [&](const Flag& o) { return o.name == fl.name; })) {
      return fail(at_line(n.start_line, "duplicate flag specified: " + fl.name));
    }
    // BuildKit's BFlags (which the classic builder parses with too): bool flags take no value,
    // "true" or "false" (any case) and are normalised to that; the others need "=value".
    std::string dashed = "--" + fl.name;
    if (fl.name == "link" || fl.name == "parents" || fl.name == "keep-git-dir" || fl.name == "unpack") {
      if (fl.has_value && fl.value.empty()) return fail(at_line(n.start_line, "missing a value on flag: " + dashed));
      std::string v = to_lower(fl.value);
      if (v != "" && v != "true" && v != "false")
        return fail(at_line(n.start_line, "expecting boolean value for flag " + dashed + ", not: " + fl.value));
      fl.value = v == "false" ? "false" : "true";
      fl.has_value = true;
    } else if (!fl.has_value) {
      return fail(at_line(n.start_line, "missing a value on flag: " + dashed));
    }
    out.push_back(std::move(fl));
  }
  return out;
}

bool valid_stage_name(std::string_view s) {
  if (s.empty() || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  });
}

std::string mount_from(std::string_view v) {
  std::size_t i = 0;
  while (i <= v.size()) {
    auto j = v.find(',', i);
    if (j == std::string_view::npos) j = v.size();
    auto field = v.substr(i, j - i);
    if (field.substr(0, 5) == "from=") return std::string(field.substr(5));
    i = j + 1;
  }
  return {};
}

}  // namespace

std::string_view instr_name(InstrKind k) {
  for (const auto& e : kKinds) {
    if (e.kind == k) return e.upper;
  }
  return "?";
}

const Flag* Instruction::flag(std::string_view name) const {
  for (const auto& f : flags) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

Result<Plan> make_plan(std::string_view dockerfile, const BuildOptions& opts) {
  auto parsed = TRY(df::parse(dockerfile));
  return make_plan(parsed, opts);
}

Result<Plan> make_plan(const df::ParseResult& parsed, const BuildOptions& opts) {
  Plan plan;
  plan.escape = parsed.escape_token;
  df::ShellLex lex(parsed.escape_token);

  auto build_arg = [&](std::string_view name) -> const std::string* {
    for (auto it = opts.build_args.rbegin(); it != opts.build_args.rend(); ++it) {
      if (it->first == name) return &it->second;
    }
    return nullptr;
  };
  std::vector<std::string> consumed;

  // Automatic platform args live in the global scope.
  std::string target_platform = opts.target_platform.empty() ? opts.build_platform : opts.target_platform;
  auto add_platform = [&](std::string_view prefix, const std::string& platform) {
    std::vector<std::string> parts;
    std::size_t i = 0;
    for (;;) {
      auto j = platform.find('/', i);
      parts.push_back(platform.substr(i, j == std::string::npos ? std::string::npos : j - i));
      if (j == std::string::npos) break;
      i = j + 1;
    }
    df::EnvList& m = plan.meta_args;
    m.set(std::string(prefix) + "PLATFORM", platform);
    m.set(std::string(prefix) + "OS", parts.size() > 0 ? parts[0] : "");
    m.set(std::string(prefix) + "ARCH", parts.size() > 1 ? parts[1] : "");
    m.set(std::string(prefix) + "VARIANT", parts.size() > 2 ? parts[2] : "");
  };
  add_platform("BUILD", opts.build_platform);
  add_platform("TARGET", target_platform);

  Stage* cur = nullptr;
  df::EnvList stage_args;

  for (const auto& n : parsed.ast.children) {
    const std::string cmd = n.command();
    const KindName* kn = nullptr;
    for (const auto& e : kKinds) {
      if (e.lower == cmd) kn = &e;
    }
    if (!kn) return fail(at_line(n.start_line, "unknown instruction: " + n.value));
    Instruction ins;
    ins.kind = kn->kind;
    ins.line = n.start_line;
    ins.original = n.original;
    ins.json = n.json;
    ins.heredocs = n.heredocs;
    ins.flags = TRY(parse_flags(n, ins.kind));
    std::vector<std::string> raw;
    if (ins.kind == InstrKind::Env || ins.kind == InstrKind::Label) {
      for (std::size_t i = 0; i + 1 < n.args.size(); i += 3) {
        raw.push_back(n.args[i].value);
        raw.push_back(n.args[i + 1].value);
      }
    } else if (ins.kind != InstrKind::Onbuild) {
      for (const auto& a : n.args) raw.push_back(a.value);
    }

    auto expand = [&](const std::string& w, const df::EnvGetter& env) -> Result<std::string> {
      auto r = lex.process_word(w, env);
      if (!r) return fail(at_line(n.start_line, r.error().message()));
      return std::move(*r);
    };

    if (ins.kind == InstrKind::Arg && cur == nullptr) {
      // Global ARG: visible to FROM lines.
      df::EnvList none;
      StageEnv env(none, plan.meta_args);
      for (const auto& w : raw) {
        auto eq = w.find('=');
        std::string key = w.substr(0, eq);
        if (key.empty()) return fail(at_line(n.start_line, "ARG names can not be blank"));
        consumed.push_back(key);
        if (auto* b = build_arg(key)) {
          plan.meta_args.set(key, *b);
        } else if (eq != std::string::npos) {
          plan.meta_args.set(key, TRY(expand(w.substr(eq + 1), env)));
        } else {
          plan.meta_args.erase(key);  // declared without value: unset unless a build arg
        }
      }
      continue;
    }

    if (ins.kind == InstrKind::From) {
      if (!(raw.size() == 1 || (raw.size() == 3 && lower(raw[1]) == "as"))) {
        return fail(at_line(n.start_line, "FROM requires either one or three arguments"));
      }
      Stage st;
      st.index = plan.stages.size();
      st.line = n.start_line;
      df::EnvList none;
      StageEnv env(none, plan.meta_args);
      st.base = TRY(expand(raw[0], env));
      if (st.base.empty()) return fail(at_line(n.start_line, "base name (" + raw[0] + ") should not be blank"));
      if (raw.size() == 3) {
        st.name = lower(raw[2]);
        if (!valid_stage_name(st.name)) {
          return fail(at_line(n.start_line, "invalid name for build stage: \"" + raw[2] +
                                                "\", name can't start with a number or contain symbols"));
        }
        for (const auto& o : plan.stages) {
          if (o.name == st.name) return fail(at_line(n.start_line, "duplicate stage name \"" + st.name + "\""));
        }
      }
      if (const Flag* p = ins.flag("platform")) st.platform = TRY(expand(p->value, env));
      std::string lb = lower(st.base);
      for (const auto& o : plan.stages) {
        if (!o.name.empty() && o.name == lb) {
          st.base_stage = o.index;
          st.deps.push_back(o.index);
          st.env = o.env;
        }
      }
      if (!st.base_stage && opts.base_env && lb != "scratch") st.env = df::EnvList::from_strings(opts.base_env(st.base, st.platform));
      plan.stages.push_back(std::move(st));
      cur = &plan.stages.back();
      stage_args = df::EnvList();
      continue;
    }

    if (cur == nullptr) {
      return fail(at_line(n.start_line, "no build stage in current context"));
    }
    StageEnv env(cur->env, stage_args);

    auto stage_ref = [&](const std::string& from) -> Status {
      if (from.empty()) return ok();
      bool numeric = std::all_of(from.begin(), from.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (numeric) {
        std::size_t idx = std::stoul(from);
        if (idx >= cur->index) {
          return fail(at_line(n.start_line, "invalid from flag value " + from +
                                                ": refers to current or future build stage"));
        }
        cur->deps.push_back(idx);
        return ok();
      }
      std::string l = lower(from);
      if (l == cur->name) return fail(at_line(n.start_line, "circular dependency detected on stage: " + l));
      for (const auto& o : plan.stages) {
        if (&o != cur && o.name == l) {
          cur->deps.push_back(o.index);
          return ok();
        }
      }
      cur->external_images.push_back(from);
      return ok();
    };

    switch (ins.kind) {
      case InstrKind::Arg: {
        for (const auto& w : raw) {
          auto eq = w.find('=');
          std::string key = w.substr(0, eq);
          if (key.empty()) return fail(at_line(n.start_line, "ARG names can not be blank"));
          consumed.push_back(key);
          if (auto* b = build_arg(key)) {
            stage_args.set(key, *b);
          } else if (eq != std::string::npos) {
            stage_args.set(key, TRY(expand(w.substr(eq + 1), env)));
          } else if (auto* g = plan.meta_args.get(key)) {
            stage_args.set(key, *g);
          }
        }
        ins.args = raw;
        break;
      }
      case InstrKind::Env:
      case InstrKind::Label: {
        if (raw.empty()) {
          return fail(at_line(n.start_line, std::string(kn->upper) + " requires at least one argument"));
        }
        std::vector<std::string> out;
        for (const auto& w : raw) out.push_back(TRY(expand(w, env)));
        if (ins.kind == InstrKind::Env) {
          for (std::size_t i = 0; i + 1 < out.size(); i += 2) cur->env.set(out[i], out[i + 1]);
        }
        ins.args = std::move(out);
        break;
      }
      case InstrKind::Add:
      case InstrKind::Copy: {
        if (raw.size() < 2) {
          return fail(at_line(n.start_line, std::string(kn->upper) +
                                                " requires at least two arguments, but only one was provided. "
                                                "Destination could not be determined"));
        }
        for (auto& f : ins.flags) {
          if (f.name != "link" && f.name != "parents" && f.name != "keep-git-dir") f.value = TRY(expand(f.value, env));
        }
        for (const auto& w : raw) {
          bool heredoc = false;
          for (const auto& h : ins.heredocs) heredoc = heredoc || (w.rfind("<<", 0) == 0 && w.find(h.name) != std::string::npos);
          ins.args.push_back(heredoc ? w : TRY(expand(w, env)));
        }
        if (const Flag* f = ins.flag("from")) TRY(stage_ref(f->value));
        break;
      }
      case InstrKind::Run: {
        if (raw.empty() && ins.heredocs.empty()) return fail(at_line(n.start_line, "RUN requires at least one argument"));
        for (auto& f : ins.flags) {
          f.value = TRY(expand(f.value, env));
          if (f.name == "mount") TRY(stage_ref(mount_from(f.value)));
        }
        ins.args = raw;
        break;
      }
      case InstrKind::Expose:
      case InstrKind::Volume:
      case InstrKind::User:
      case InstrKind::Workdir:
      case InstrKind::Stopsignal: {
        if (raw.empty()) return fail(at_line(n.start_line, std::string(kn->upper) + " requires at least one argument"));
        for (const auto& w : raw) ins.args.push_back(TRY(expand(w, env)));
        break;
      }
      case InstrKind::Shell:
        if (!ins.json) return fail(at_line(n.start_line, "SHELL requires the arguments to be in JSON form"));
        if (raw.empty()) return fail(at_line(n.start_line, "SHELL requires at least one argument"));
        ins.args = raw;
        break;
      case InstrKind::Healthcheck: {
        if (raw.empty()) return fail(at_line(n.start_line, "HEALTHCHECK requires an argument"));
        std::string t = lower(raw[0]);
        if (t == "none") {
          if (raw.size() > 1) return fail(at_line(n.start_line, "HEALTHCHECK NONE takes no arguments"));
        } else if (t == "cmd") {
          if (raw.size() < 2) return fail(at_line(n.start_line, "Missing command after HEALTHCHECK CMD"));
        } else {
          return fail(at_line(n.start_line, "Unknown type \"" + raw[0] + "\" in HEALTHCHECK (try CMD)"));
        }
        ins.args = raw;
        break;
      }
      case InstrKind::Onbuild: {
        if (n.args.empty() || n.args[0].children.empty()) {
          return fail(at_line(n.start_line, "ONBUILD requires at least one argument"));
        }
        const auto& t = n.args[0].children[0];
        std::string tc = t.command();
        if (tc == "onbuild") return fail(at_line(n.start_line, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"));
        if (tc == "from" || tc == "maintainer") {
          return fail(at_line(n.start_line, t.value + " isn't allowed as an ONBUILD trigger"));
        }
        ins.trigger = t.original;
        break;
      }
      case InstrKind::Cmd:
      case InstrKind::Entrypoint:
      case InstrKind::Maintainer:
        ins.args = raw;
        break;
      case InstrKind::From:
        break;
    }
    for (const auto& [k, v] : stage_args.entries()) ins.args_in_scope.emplace_back(k, v);
    cur->instructions.push_back(std::move(ins));
  }

  if (plan.stages.empty()) return fail(Errc::InvalidArgument, "dockerfile contains no stages to build");

  for (auto& st : plan.stages) {
    std::sort(st.deps.begin(), st.deps.end());
    st.deps.erase(std::unique(st.deps.begin(), st.deps.end()), st.deps.end());
  }

  // Target and the stages it needs.
  plan.target = plan.stages.size() - 1;
  if (!opts.target.empty()) {
    std::string t = lower(opts.target);
    bool found = false;
    for (const auto& st : plan.stages) {
      if (st.name == t) {
        plan.target = st.index;
        found = true;
      }
    }
    if (!found) return fail(Errc::NotFound, "target stage \"" + opts.target + "\" could not be found");
  }
  plan.needed.assign(plan.stages.size(), false);
  std::vector<std::size_t> todo{plan.target};
  while (!todo.empty()) {
    auto s = todo.back();
    todo.pop_back();
    if (plan.needed[s]) continue;
    plan.needed[s] = true;
    for (auto d : plan.stages[s].deps) todo.push_back(d);
  }
  // Dependencies always point to earlier stages, so one pass computes depths.
  std::vector<std::size_t> depth(plan.stages.size(), 0);
  for (const auto& st : plan.stages) {
    if (!plan.needed[st.index]) continue;
    std::size_t d = 0;
    for (auto dep : st.deps) d = std::max(d, depth[dep] + 1);
    depth[st.index] = d;
    if (plan.levels.size() <= d) plan.levels.resize(d + 1);
    plan.levels[d].push_back(st.index);
  }

  for (const auto& [k, v] : opts.build_args) {
    if (is_proxy_arg(k)) {
      plan.proxy_env.emplace_back(k, v);
      continue;
    }
    if (std::find(consumed.begin(), consumed.end(), k) != consumed.end()) continue;
    if (std::find(plan.unused_build_args.begin(), plan.unused_build_args.end(), k) == plan.unused_build_args.end()) {
      plan.unused_build_args.push_back(k);
    }
  }
  return plan;
}

}  // namespace berth::builder
