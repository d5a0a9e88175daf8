// SPDX-License-Identifier: Apache-2.0
#include "build/executor.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "build/copy.hpp"
#include "builder/cache_key.hpp"
#include "builder/dockerfile/parser.hpp"
#include "builder/plan.hpp"
#include "common/digest.hpp"
#include "common/file.hpp"
#include "common/path.hpp"
#include "common/strings.hpp"

namespace berth::build {

using builder::Flag;
using builder::Instruction;
using builder::InstrKind;
using builder::Plan;
using builder::Stage;

Result<std::int64_t> parse_go_duration(std::string_view s) {
  if (s.empty()) return fail(Errc::InvalidArgument, "time: invalid duration \"\"");
  std::int64_t total = 0;
  std::size_t i = 0;
  bool neg = false;
  if (s[0] == '-' || s[0] == '+') {
    neg = s[0] == '-';
    i = 1;
  }
  if (s.substr(i) == "0") return 0;
  while (i < s.size()) {
    std::size_t j = i;
    while (j < s.size() && ((s[j] >= '0' && s[j] <= '9') || s[j] == '.')) ++j;
    if (j == i) return fail(Errc::InvalidArgument, "time: invalid duration \"" + std::string(s) + "\"");
    double v = std::stod(std::string(s.substr(i, j - i)));
    std::size_t k = j;
    while (k < s.size() && !((s[k] >= '0' && s[k] <= '9') || s[k] == '.')) ++k;
    std::string unit(s.substr(j, k - j));
    double mul = 0;
    if (unit == "ns") mul = 1;
    else if (unit == "us" || unit == "µs") mul = 1e3;
    else if (unit == "ms") mul = 1e6;
    else if (unit == "s") mul = 1e9;
    else if (unit == "m") mul = 60e9;
    else if (unit == "h") mul = 3600e9;
    else return fail(Errc::InvalidArgument, "time: " + std::string(unit.empty() ? "missing unit" : "unknown unit \"" + unit + "\"") +
                                                " in duration \"" + std::string(s) + "\"");
    total += static_cast<std::int64_t>(v * mul);
    i = k;
  }
  return neg ? -total : total;
}

namespace {

std::string short_id(const std::string& id) {
  std::string h = id.rfind("sha256:", 0) == 0 ? id.substr(7) : id;
  return h.substr(0, 12);
}

std::string sha(std::string_view a, std::string_view b) {
  Hasher h;
  h.update(a);
  h.update(std::string_view("\0", 1));
  h.update(b);
  return h.finish().str();
}

// Progress that keeps text until flushed (stages built in parallel).
struct Buffered : Progress {
  std::string text;
  void stream(std::string_view t) override { text += t; }
  void aux_id(const std::string&) override {}
};

void env_set(std::vector<std::string>& env, const std::string& k, const std::string& v) {
  for (auto& e : env)
    if (e.compare(0, k.size() + 1, k + "=") == 0) {
      e = k + "=" + v;
      return;
    }
  env.push_back(k + "=" + v);
}

const std::string* env_get(const std::vector<std::string>& env, const std::string& k) {
  for (auto& e : env)
    if (e.compare(0, k.size() + 1, k + "=") == 0) return &e;
  return nullptr;
}

std::map<std::string, std::string> parse_csv_kv(const std::string& s, std::vector<std::string>* bare) {
  std::map<std::string, std::string> m;
  for (const auto& part : split(s, ',')) {
    std::string p(trim(part));
    if (p.empty()) continue;
    auto eq = p.find('=');
    if (eq == std::string::npos) {
      if (bare) bare->push_back(to_lower(p));
      m[to_lower(p)] = "";
    } else {
      m[to_lower(p.substr(0, eq))] = p.substr(eq + 1);
    }
  }
  return m;
}

struct StageState {
  std::string image_id;  // "" = scratch with nothing committed yet
  oci::ContainerConfig cfg;
  bool cmd_set = false;
  bool done = false;
};

// An image named by --cache-from: its steps may serve as cache (matched as the classic
// builder does: the parent's layers and history are a prefix of the image's, and the next
// history entry was created by the same instruction).
struct CacheSource {
  std::string id;
  oci::ImageConfig cfg;
};

struct Shared {
  const BuildRequest& req;
  const Plan& plan;
  const builder::CacheKeys& keys;
  builder::ContextHasher* hasher = nullptr;
  std::vector<CacheSource> sources;
  std::map<std::string, ImageRef> external;  // ref -> resolved image
  std::vector<StageState> stages;
  std::vector<int> first_step;  // step number of each stage's FROM
  int total_steps = 0;
  std::mutex mu;
  int cached = 0;
  int exit_code = 0;
  std::once_flag context_once;
  Status context_status = ok();
  // The context directory, filled on first use when the caller indexed the context instead.
  Result<std::string> context_dir() {
    if (req.prepare_context) std::call_once(context_once, [this] { context_status = req.prepare_context(); });
    if (!context_status) return fail(context_status.error().code(), context_status.error().message());
    return req.context_dir;
  }
};

class StageRunner {
 public:
  StageRunner(Backend& b, CacheStore* cache, Shared& sh, const Stage& st, Progress& out)
      : b_(b), cache_(cache), sh_(sh), st_(st), out_(out) {}

  Status run();

 private:
  Status step_header(int n, const std::string& text) {
    out_.stream("Step " + std::to_string(n) + "/" + std::to_string(sh_.total_steps) + " : " + text + "\n");
    return ok();
  }
  Status exec(const Instruction& ins, const std::string& key, bool from_trigger);
  Result<std::string> created_by(const Instruction& ins, const std::string& key);
  Result<bool> from_cache_source(const Instruction& ins, const std::string& created_by);
  Status metadata(const Instruction& ins);
  Status run_step(const Instruction& ins, const std::string& created_by);
  Status copy_step(const Instruction& ins, const std::string& created_by);
  Status workdir_step(const std::string& created_by);
  Result<std::string> source_root(const std::string& from, std::unique_ptr<Snapshot>* holder);
  std::vector<std::string> shell() const {
    return st_state().cfg.shell.empty() ? std::vector<std::string>{"/bin/sh", "-c"} : st_state().cfg.shell;
  }
  StageState& st_state() const { return sh_.stages[st_.index]; }
  Status finish_step(const std::string& key, const std::string& id, const std::string& parent,
                     const std::string& desc) {
    st_state().image_id = id;
    if (cache_ && !key.empty()) cache_->record(key, id, parent, desc);
    out_.stream(" ---> " + short_id(id) + "\n");
    return ok();
  }

  Backend& b_;
  CacheStore* cache_;
  Shared& sh_;
  const Stage& st_;
  Progress& out_;
  std::string salt_;  // content of ADD <url> fetched in this stage (changes later keys)
  const Instruction* cur_ = nullptr;
  std::vector<const CacheSource*> sources_;  // --cache-from candidates (one once a step matched)
  bool sources_init_ = false;
};

std::string instr_text(const Instruction& ins) {
  std::string t(trim(ins.original));
  // The first line of a heredoc instruction is enough for the progress line.
  if (auto nl = t.find('\n'); nl != std::string::npos) t = t.substr(0, nl);
  return t;
}

Status StageRunner::run() {
  StageState& s = st_state();
  int n = sh_.first_step[st_.index];
  std::string from_text = "FROM " + st_.base + (st_.name.empty() ? "" : " AS " + st_.name);
  step_header(n++, from_text);
  std::string lb = to_lower(st_.base);
  if (st_.base_stage) {
    s.image_id = sh_.stages[*st_.base_stage].image_id;
    s.cfg = sh_.stages[*st_.base_stage].cfg;
  } else if (lb == "scratch") {
    s.image_id.clear();
    s.cfg = {};
  } else {
    auto it = sh_.external.find(st_.base);
    if (it == sh_.external.end()) return fail(Errc::Internal, "base image " + st_.base + " was not resolved");
    s.image_id = it->second.id;
    auto ic = TRY(oci::parse_image_config(it->second.config_json));
    s.cfg = ic.config;
  }
  if (!s.image_id.empty()) out_.stream(" ---> " + short_id(s.image_id) + "\n");
  // ONBUILD triggers of the base image fire now (and are not inherited).
  std::vector<std::string> triggers = s.cfg.on_build;
  s.cfg.on_build.clear();
  if (!triggers.empty()) {
    out_.stream("# Executing " + std::to_string(triggers.size()) + " build trigger" +
                (triggers.size() == 1 ? "" : "s") + "\n");
    std::string key = sh_.keys.base[st_.index];
    for (const auto& t : triggers) {
      builder::BuildOptions o;
      o.build_args = sh_.req.build_args;
      auto p = builder::make_plan("FROM scratch\n" + t + "\n", o);
      if (!p) return fail(Errc::InvalidArgument, "ONBUILD trigger \"" + t + "\": " + p.error().message());
      if (p->stages.empty() || p->stages[0].instructions.empty()) continue;
      key = sha(key, "onbuild\n" + t);
      TRY(exec(p->stages[0].instructions[0], key, true));
    }
    // Later steps chain on the trigger results.
    salt_ = key;
  }
  for (std::size_t i = 0; i < st_.instructions.size(); ++i) {
    const auto& ins = st_.instructions[i];
    step_header(n++, instr_text(ins));
    std::string key = sh_.keys.steps[st_.index].empty() ? "" : sh_.keys.steps[st_.index][i];
    if (!salt_.empty()) key = sha(key, salt_);
    TRY(exec(ins, key, false));
  }
  if (st_.index == sh_.plan.target && !sh_.req.labels.empty()) {
    std::string text = "LABEL";
    for (auto& [k, v] : sh_.req.labels) text += " \"" + k + "\"='" + v + "'";
    step_header(n++, text);
    std::string key = sha(sh_.keys.final_key[st_.index] + salt_, text);
    Instruction li;
    li.kind = InstrKind::Label;
    li.original = text;
    for (auto& [k, v] : sh_.req.labels) {
      li.args.push_back(k);
      li.args.push_back(v);
    }
    TRY(exec(li, key, false));
  }
  s.done = true;
  return ok();
}

Status StageRunner::exec(const Instruction& ins, const std::string& key, bool) {
  StageState& s = st_state();
  cur_ = &ins;
  // Cache.
  if (cache_ && !sh_.req.no_cache && !key.empty()) {
    if (auto e = cache_->lookup(key)) {
      auto img = b_.image(e->image_id);
      if (img) {
        auto ic = oci::parse_image_config(img->config_json);
        if (ic) {
          s.image_id = e->image_id;
          s.cfg = ic->config;
          if (ins.kind == InstrKind::Cmd) s.cmd_set = true;
          cache_->touch(key);
          {
            std::lock_guard lk(sh_.mu);
            sh_.cached++;
          }
          out_.stream(" ---> Using cache\n ---> " + short_id(e->image_id) + "\n");
          return ok();
        }
      } else {
        cache_->forget(key);
      }
    }
  }
  std::string parent = s.image_id;
  std::string created_by = TRY(this->created_by(ins, key));
  if (!sh_.sources.empty() && !sh_.req.no_cache && TRY(from_cache_source(ins, created_by))) {
    if (cache_ && !key.empty()) cache_->record(key, s.image_id, parent, instr_text(ins));
    {
      std::lock_guard lk(sh_.mu);
      sh_.cached++;
    }
    out_.stream(" ---> Using cache\n ---> " + short_id(s.image_id) + "\n");
    return ok();
  }
  switch (ins.kind) {
    case InstrKind::Run:
      TRY(run_step(ins, created_by));
      break;
    case InstrKind::Copy:
    case InstrKind::Add:
      TRY(copy_step(ins, created_by));
      break;
    case InstrKind::Workdir: {
      std::string w = ins.args.empty() ? "/" : ins.args[0];
      if (w.empty() || w[0] != '/') w = (s.cfg.working_dir.empty() ? "/" : s.cfg.working_dir) + "/" + w;
      s.cfg.working_dir = clean_path(w);
      TRY(workdir_step(created_by));
      break;
    }
    default: {
      TRY(metadata(ins));
      std::string id = TRY(b_.commit_config(parent, s.cfg, created_by));
      s.image_id = id;
      break;
    }
  }
  std::string desc = instr_text(ins);
  return finish_step(key, s.image_id, parent, desc);
}

// The history entry of a step, as dockerd's classic builder writes it: RUN is the command
// (with "|N ARG=v…" when build args are in scope); COPY/ADD name what they copied by content
// ("COPY dir:<sha256> in /dest ", flags first), so --cache-from can trust it; the rest is
// "#(nop) <instruction>".
Result<std::string> StageRunner::created_by(const Instruction& ins, const std::string& key) {
  if (ins.kind == InstrKind::Run) {
    std::vector<std::string> av;
    for (auto& [k, v] : ins.args_in_scope) av.push_back(k + "=" + v);
    std::string cmd = ins.json ? join(ins.args, " ") : join(shell(), " ") + " " + join(ins.args, " ");
    return av.empty() ? cmd : "|" + std::to_string(av.size()) + " " + join(av, " ") + " " + cmd;
  }
  if ((ins.kind != InstrKind::Copy && ins.kind != InstrKind::Add) || ins.args.size() < 2)
    return "/bin/sh -c #(nop) " + instr_text(ins);
  std::vector<std::string> srcs(ins.args.begin(), ins.args.end() - 1);
  bool plain = !ins.flag("from") && ins.heredocs.empty();
  for (const auto& src : srcs)
    if (src.rfind("http://", 0) == 0 || src.rfind("https://", 0) == 0 || src.rfind("<<", 0) == 0) plain = false;
  std::string what;
  if (plain && sh_.hasher) {
    std::string d = TRY(sh_.hasher->hash_sources(srcs));
    what = std::string(srcs.size() == 1 ? "dir:" : "multi:") + (d.rfind("sha256:", 0) == 0 ? d.substr(7) : d);
  } else {
    // Another stage, an image, a URL or a heredoc: the step's cache key covers their content.
    std::string k = key.empty() ? sha(instr_text(ins), salt_) : key;
    what = "key:" + (k.rfind("sha256:", 0) == 0 ? k.substr(7) : k);
  }
  std::string op = ins.kind == InstrKind::Copy ? "COPY" : "ADD";
  std::string flags;
  for (const auto& f : ins.flags) flags += "--" + f.name + (f.has_value ? "=" + f.value : "") + " ";
  return "/bin/sh -c #(nop) " + op + " " + flags + what + " in " + ins.args.back() + " ";
}

Result<bool> StageRunner::from_cache_source(const Instruction& ins, const std::string& created_by) {
  StageState& s = st_state();
  if (!sources_init_) {
    for (const auto& c : sh_.sources) sources_.push_back(&c);
    sources_init_ = true;
  }
  if (sources_.empty()) return false;
  oci::ImageConfig parent;
  if (!s.image_id.empty()) {
    auto img = TRY(b_.image(s.image_id));
    parent = TRY(oci::parse_image_config(img.config_json));
  }
  const std::size_t h = parent.history.size();
  auto same = [](const oci::HistoryEntry& a, const oci::HistoryEntry& b) {
    return a.created == b.created && a.created_by == b.created_by && a.author == b.author && a.comment == b.comment &&
           a.empty_layer == b.empty_layer;
  };
  for (const CacheSource* src : sources_) {
    const auto& t = src->cfg;
    if (h >= t.history.size() || parent.diff_ids.size() > t.diff_ids.size()) continue;
    if (!std::equal(parent.diff_ids.begin(), parent.diff_ids.end(), t.diff_ids.begin())) continue;
    bool prefix = true;
    for (std::size_t i = 0; i < h && prefix; ++i) prefix = same(parent.history[i], t.history[i]);
    if (!prefix || t.history[h].created_by != created_by) continue;
    const oci::HistoryEntry& he = t.history[h];
    int layer = -1;
    if (!he.empty_layer) {
      // The layer this entry made: the next diff id after the parent's.
      std::size_t before = 0;
      for (std::size_t i = 0; i < h; ++i) before += t.history[i].empty_layer ? 0 : 1;
      if (before != parent.diff_ids.size() || before >= t.diff_ids.size()) continue;
      layer = static_cast<int>(before);
    } else if (ins.kind == InstrKind::Run || ins.kind == InstrKind::Copy || ins.kind == InstrKind::Add) {
      continue;  // these always make a layer here
    }
    std::size_t layers_after = parent.diff_ids.size() + (layer >= 0 ? 1 : 0);
    if (h + 1 == t.history.size() && layers_after == t.diff_ids.size()) {
      // The source image itself.
      s.image_id = src->id;
      s.cfg = t.config;
    } else {
      // An intermediate image: the parent plus this entry (and its layer).
      oci::ContainerConfig saved = s.cfg;
      bool saved_cmd = s.cmd_set;
      if (ins.kind == InstrKind::Workdir) {
        std::string w = ins.args.empty() ? "/" : ins.args[0];
        if (w.empty() || w[0] != '/') w = (s.cfg.working_dir.empty() ? "/" : s.cfg.working_dir) + "/" + w;
        s.cfg.working_dir = clean_path(w);
      } else if (ins.kind != InstrKind::Run && ins.kind != InstrKind::Copy && ins.kind != InstrKind::Add) {
        TRY(metadata(ins));
      }
      auto id = b_.restore(s.image_id, s.cfg, he, src->id, layer);
      if (!id) {
        s.cfg = std::move(saved);
        s.cmd_set = saved_cmd;
        if (id.error().is(Errc::Unimplemented)) return false;
        return fail(std::move(id).error());
      }
      s.image_id = *id;
    }
    if (ins.kind == InstrKind::Cmd) s.cmd_set = true;
    sources_ = {src};  // as the classic builder: stay on the image that matched
    return true;
  }
  return false;
}

Status StageRunner::metadata(const Instruction& ins) {
  StageState& s = st_state();
  auto& c = s.cfg;
  auto cmdline = [&](const Instruction& i) {
    if (i.json) return i.args;
    std::vector<std::string> v = shell();
    v.push_back(join(i.args, " "));
    return v;
  };
  switch (ins.kind) {
    case InstrKind::Cmd:
      c.cmd = cmdline(ins);
      s.cmd_set = true;
      break;
    case InstrKind::Entrypoint:
      if (ins.json && ins.args.empty()) c.entrypoint = std::nullopt;
      else c.entrypoint = cmdline(ins);
      if (!s.cmd_set) c.cmd = std::nullopt;
      break;
    case InstrKind::Env:
      for (std::size_t i = 0; i + 1 < ins.args.size(); i += 2) env_set(c.env, ins.args[i], ins.args[i + 1]);
      break;
    case InstrKind::Label:
      for (std::size_t i = 0; i + 1 < ins.args.size(); i += 2) c.labels[ins.args[i]] = ins.args[i + 1];
      break;
    case InstrKind::Expose:
      for (const auto& a : ins.args) {
        std::string port = a, proto = "tcp";
        if (auto sl = a.find('/'); sl != std::string::npos) {
          port = a.substr(0, sl);
          proto = to_lower(a.substr(sl + 1));
        }
        if (proto != "tcp" && proto != "udp" && proto != "sctp")
          return fail(Errc::InvalidArgument, "invalid proto: " + proto);
        auto dash = port.find('-');
        auto num = [](const std::string& x) -> std::optional<int> {
          if (x.empty() || x.size() > 5 || x.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
          int v = std::stoi(x);
          if (v > 65535) return std::nullopt;
          return v;
        };
        auto lo = num(port.substr(0, dash));
        auto hi = dash == std::string::npos ? lo : num(port.substr(dash + 1));
        if (!lo || !hi || *hi < *lo) return fail(Errc::InvalidArgument, "invalid containerPort: " + port);
        for (int p = *lo; p <= *hi; ++p) {
          std::string e = std::to_string(p) + "/" + proto;
          if (std::find(c.exposed_ports.begin(), c.exposed_ports.end(), e) == c.exposed_ports.end())
            c.exposed_ports.push_back(e);
        }
      }
      std::sort(c.exposed_ports.begin(), c.exposed_ports.end());
      break;
    case InstrKind::Volume:
      for (const auto& a : ins.args) {
        std::string v(trim(a));
        if (v.empty()) return fail(Errc::InvalidArgument, "VOLUME specified can not be an empty string");
        if (std::find(c.volumes.begin(), c.volumes.end(), v) == c.volumes.end()) c.volumes.push_back(v);
      }
      std::sort(c.volumes.begin(), c.volumes.end());
      break;
    case InstrKind::User:
      c.user = ins.args.empty() ? "" : ins.args[0];
      break;
    case InstrKind::Stopsignal:
      c.stop_signal = ins.args.empty() ? "" : ins.args[0];
      break;
    case InstrKind::Shell:
      c.shell = ins.args;
      break;
    case InstrKind::Onbuild:
      c.on_build.push_back(std::string(trim(ins.trigger)));
      break;
    case InstrKind::Maintainer:
    case InstrKind::Arg:
      break;
    case InstrKind::Healthcheck: {
      oci::Healthcheck h;
      if (to_lower(ins.args[0]) == "none") {
        h.test = {"NONE"};
      } else {
        std::vector<std::string> rest(ins.args.begin() + 1, ins.args.end());
        if (ins.json) {
          h.test = {"CMD"};
          h.test.insert(h.test.end(), rest.begin(), rest.end());
        } else {
          h.test = {"CMD-SHELL", join(rest, " ")};
        }
        for (const auto& f : ins.flags) {
          if (f.name == "retries") {
            if (f.value.empty() || f.value.find_first_not_of("0123456789") != std::string::npos)
              return fail(Errc::InvalidArgument, "strconv.ParseInt: parsing \"" + f.value + "\": invalid syntax");
            h.retries = std::stoi(f.value);
            continue;
          }
          std::int64_t d = TRY(parse_go_duration(f.value));
          if (d != 0 && d < 1000000) return fail(Errc::InvalidArgument, "Interval \"" + f.name + "\" cannot be less than 1ms");
          if (f.name == "interval") h.interval = d;
          else if (f.name == "timeout") h.timeout = d;
          else if (f.name == "start-period") h.start_period = d;
          else if (f.name == "start-interval") h.start_interval = d;
        }
      }
      c.healthcheck = h;
      break;
    }
    default:
      break;
  }
  return ok();
}

Result<std::string> StageRunner::source_root(const std::string& from, std::unique_ptr<Snapshot>* holder) {
  if (from.empty()) return sh_.context_dir();
  std::optional<std::size_t> idx;
  bool numeric = std::all_of(from.begin(), from.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
  if (numeric) idx = std::stoul(from);
  else
    for (const auto& o : sh_.plan.stages)
      if (!o.name.empty() && o.name == to_lower(from)) idx = o.index;
  std::string image_id;
  if (idx) {
    image_id = sh_.stages[*idx].image_id;
  } else {
    auto it = sh_.external.find(from);
    if (it == sh_.external.end()) return fail(Errc::NotFound, "image " + from + " was not resolved");
    image_id = it->second.id;
  }
  *holder = TRY(b_.prepare(image_id));
  return (*holder)->rootfs();
}

Status StageRunner::copy_step(const Instruction& ins, const std::string& created_by) {
  StageState& s = st_state();
  bool add = ins.kind == InstrKind::Add;
  std::vector<std::string> srcs(ins.args.begin(), ins.args.end() - 1);
  std::string dest = ins.args.back();
  auto snap = TRY(b_.prepare(s.image_id));
  CopyOptions o;
  if (const Flag* f = ins.flag("chown"); f && !f->value.empty()) {
    auto [u, g] = TRY(resolve_chown(snap->rootfs(), f->value));
    o.uid = u;
    o.gid = g;
  }
  if (const Flag* f = ins.flag("chmod"); f && !f->value.empty()) o.chmod = TRY(parse_chmod(f->value));
  if (const Flag* f = ins.flag("parents")) o.parents = !f->has_value || f->value == "true";
  for (const auto& f : ins.flags)
    if (f.name == "exclude") o.exclude.push_back(f.value);
  std::string from;
  if (const Flag* f = ins.flag("from")) from = f->value;
  std::unique_ptr<Snapshot> src_snap;
  std::string root = TRY(source_root(from, &src_snap));
  std::string wd = s.cfg.working_dir;
  // Heredocs: COPY <<EOF /dest
  std::vector<std::string> plain;
  std::string tmp;
  for (const auto& src : srcs) {
    const builder::dockerfile::Heredoc* hd = nullptr;
    if (src.rfind("<<", 0) == 0)
      for (const auto& h : ins.heredocs)
        if (src.find(h.name) != std::string::npos) hd = &h;
    bool url = src.rfind("http://", 0) == 0 || src.rfind("https://", 0) == 0;
    if (!hd && !(url && add)) {
      plain.push_back(src);
      continue;
    }
    if (tmp.empty()) tmp = TRY(b_.temp_dir());
    std::string file = tmp + "/" + random_hex(8);
    std::string name;
    mode_t mode = 0644;
    if (hd) {
      std::string content = hd->chomp ? builder::dockerfile::chomp_heredoc_content(hd->content) : hd->content;
      TRY(write_file(file, content, 0644));
      name = hd->name;
    } else {
      if (const Flag* f = ins.flag("checksum"); f && !f->value.empty()) {
        name = TRY(b_.fetch_url(src, file));
        auto got = TRY(digest_file(file));
        if (got.str() != f->value)
          return fail(Errc::InvalidArgument, "digest mismatch " + got.str() + ": " + f->value);
      } else {
        name = TRY(b_.fetch_url(src, file));
      }
      mode = 0600;
    }
    TRY(write_into(file, name, dest, wd, snap->rootfs(), o, o.chmod.value_or(mode)));
  }
  if (!tmp.empty()) (void)remove_all(tmp);
  if (!plain.empty()) {
    o.extract_archives = add && from.empty();
    auto st = copy_into(root, plain, dest, wd, snap->rootfs(), o);
    if (!st) return fail(st.error().code(), st.error().message());
  }
  src_snap.reset();
  std::string id = TRY(b_.commit(*snap, s.image_id, s.cfg, created_by));
  s.image_id = id;
  return ok();
}

Status StageRunner::workdir_step(const std::string& created_by) {
  StageState& s = st_state();
  auto snap = TRY(b_.prepare(s.image_id));
  bool created = TRY(make_dir_in(snap->rootfs(), s.cfg.working_dir));
  if (created) {
    s.image_id = TRY(b_.commit(*snap, s.image_id, s.cfg, created_by));
  } else {
    snap.reset();
    s.image_id = TRY(b_.commit_config(s.image_id, s.cfg, created_by));
  }
  return ok();
}

Status StageRunner::run_step(const Instruction& ins, const std::string& created_by) {
  StageState& s = st_state();
  RunSpec spec;
  std::vector<std::string> sh = shell();
  std::string script;
  if (ins.json) {
    spec.args = ins.args;
  } else {
    std::string cmd = join(ins.args, " ");
    std::string t(trim(cmd));
    if (!ins.heredocs.empty()) {
      const auto& h = ins.heredocs[0];
      std::string content = h.chomp ? builder::dockerfile::chomp_heredoc_content(h.content) : h.content;
      bool only = t == "<<" + h.name || t == "<<-" + h.name || t == "<<\"" + h.name + "\"" ||
                  t == "<<'" + h.name + "'" || t == "<<-\"" + h.name + "\"" || t == "<<-'" + h.name + "'";
      if (only) {
        spec.args = sh;
        spec.args.push_back(content);
      } else {
        spec.args = sh;
        spec.args.push_back(cmd);
        spec.stdin_data = content;
      }
    } else {
      spec.args = sh;
      spec.args.push_back(cmd);
    }
  }
  if (spec.args.empty()) return fail(Errc::InvalidArgument, "RUN requires at least one argument");
  spec.env = s.cfg.env;
  for (auto& [k, v] : ins.args_in_scope)
    if (!env_get(spec.env, k)) spec.env.push_back(k + "=" + v);
  for (auto& [k, v] : sh_.plan.proxy_env)
    if (!env_get(spec.env, k)) spec.env.push_back(k + "=" + v);
  spec.user = s.cfg.user;
  spec.workdir = s.cfg.working_dir.empty() ? "/" : s.cfg.working_dir;
  spec.network = sh_.req.network.empty() ? "default" : sh_.req.network;
  if (const Flag* f = ins.flag("network")) {
    if (f->value != "default" && f->value != "none" && f->value != "host")
      return fail(Errc::InvalidArgument, "invalid network mode \"" + f->value + "\"");  // BuildKit's text
    if (f->value != "default") spec.network = f->value;
  }
  spec.extra_hosts = sh_.req.extra_hosts;
  spec.shm_size = sh_.req.shm_size;

  auto snap = TRY(b_.prepare(s.image_id));
  std::vector<std::unique_ptr<Snapshot>> held;
  std::vector<std::string> tmps;
  for (const auto& f : ins.flags) {
    if (f.name != "mount") continue;
    std::vector<std::string> bare;
    auto kv = parse_csv_kv(f.value, &bare);
    std::string type = kv.count("type") ? kv["type"] : "bind";
    std::string target = kv.count("target") ? kv["target"] : kv.count("dst") ? kv["dst"] : kv.count("destination") ? kv["destination"] : "";
    bool ro = kv.count("readonly") || kv.count("ro") || kv["readonly"] == "true";
    bool rw = kv.count("rw") || kv.count("readwrite");
    if (type == "secret" || type == "ssh") {
      bool required = kv.count("required") && kv["required"] != "false";
      std::string id = kv.count("id") ? kv["id"] : (type == "ssh" ? "default" : basename(target));
      if (required)
        return fail(Errc::InvalidArgument, type + " " + id + ": not provided (the legacy builder API has no secrets or ssh forwarding)");
      continue;
    }
    if (target.empty()) return fail(Errc::InvalidArgument, "mount " + f.value + ": target is required");
    if (target[0] != '/') target = clean_path(spec.workdir + "/" + target);
    RunMount m;
    m.target = target;
    if (type == "tmpfs") {
      m.type = "tmpfs";
      if (kv.count("size")) m.size = std::stoll(kv["size"]);
    } else if (type == "cache") {
      std::string id = kv.count("id") ? kv["id"] : target;
      m.type = "bind";
      m.source = TRY(b_.cache_mount_dir(id));
      m.readonly = ro;
      if (kv.count("uid") || kv.count("gid") || kv.count("mode")) {
        uid_t u = kv.count("uid") ? static_cast<uid_t>(std::stoul(kv["uid"])) : 0;
        gid_t g = kv.count("gid") ? static_cast<gid_t>(std::stoul(kv["gid"])) : 0;
        (void)!::chown(m.source.c_str(), u, g);
        if (kv.count("mode")) ::chmod(m.source.c_str(), static_cast<mode_t>(std::stoul(kv["mode"], nullptr, 8)));
      }
    } else if (type == "bind") {
      std::unique_ptr<Snapshot> h;
      std::string root = TRY(source_root(kv.count("from") ? kv["from"] : "", &h));
      if (h) held.push_back(std::move(h));
      std::string src = TRY(secure_join(root, kv.count("source") ? kv["source"] : kv.count("src") ? kv["src"] : "/"));
      if (!path_exists(src)) return fail(Errc::NotFound, "mount source " + f.value + ": not found");
      m.type = "bind";
      if (rw) {
        // Writes to a rw bind mount are discarded: give the step a private copy.
        std::string t = TRY(b_.temp_dir()) + "/bind";
        std::error_code ec;
        std::filesystem::copy(src, t, std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks, ec);
        if (ec) return fail(Errc::Internal, "copy bind mount source: " + ec.message());
        tmps.push_back(dirname(t));
        src = t;
      }
      m.source = src;
      m.readonly = !rw;
    } else {
      return fail(Errc::InvalidArgument, "unsupported mount type \"" + type + "\"");
    }
    spec.mounts.push_back(std::move(m));
  }
  // Mount points that do not exist yet are created for the run and removed afterwards.
  std::vector<std::string> created;
  for (const auto& m : spec.mounts) {
    std::string sofar;
    for (const auto& comp : split(m.target, '/')) {
      if (comp.empty()) continue;
      sofar += "/" + comp;
      auto h = secure_join(snap->rootfs(), sofar);
      if (h && !path_exists(*h)) {
        created.push_back(sofar);
        break;
      }
    }
  }
  std::string cid = snap->id();
  out_.stream(" ---> Running in " + cid.substr(0, 12) + "\n");
  int code = TRY(b_.run(*snap, spec, [this](std::string_view t) { out_.stream(t); }));
  for (auto it = created.rbegin(); it != created.rend(); ++it) {
    auto h = secure_join(snap->rootfs(), *it);
    if (h) (void)remove_all(*h);
  }
  held.clear();
  for (auto& t : tmps) (void)remove_all(t);
  if (code != 0) {
    std::string shown = ins.json ? "[" + join(spec.args, " ") + "]" : join(spec.args, " ");
    {
      std::lock_guard lk(sh_.mu);
      sh_.exit_code = code;
    }
    return fail(Errc::Internal, "The command '" + shown + "' returned a non-zero code: " + std::to_string(code));
  }
  std::string id = TRY(b_.commit(*snap, s.image_id, s.cfg, created_by));
  out_.stream(" ---> Removed intermediate container " + cid.substr(0, 12) + "\n");
  s.image_id = id;
  return ok();
}

}  // namespace

Result<BuildResult> Executor::build(const BuildRequest& req, Progress& out) {
  last_exit_code_ = 0;
  if (!req.platform.empty()) {
    auto p = oci::parse_platform(req.platform);
    if (!p) return fail(std::move(p).error());
    auto host = oci::host_platform();
    if (!oci::platform_matches(host, *p) && !oci::platform_matches(*p, host))
      return fail(Errc::InvalidArgument, "platform \"" + req.platform + "\" is not supported by this daemon (native: " +
                                              host.str() + "): cross-platform builds need emulation");
  }
  auto parsed = builder::dockerfile::parse(req.dockerfile);
  if (!parsed) return fail(std::move(parsed).error());
  builder::BuildOptions bo;
  bo.build_args = req.build_args;
  bo.target = req.target;
  bo.build_platform = oci::host_platform().str();
  bo.target_platform = req.platform;
  // Pass 1 (no base env) finds the base images; they are resolved (pulled if needed) once.
  auto first = builder::make_plan(*parsed, bo);
  if (!first) return fail(std::move(first).error());
  std::map<std::string, ImageRef> external;
  std::string resolve_error;
  auto resolve = [&](const std::string& ref, const std::string& platform) -> Status {
    if (external.count(ref) || to_lower(ref) == "scratch") return ok();
    auto img = backend_.resolve_image(ref, platform.empty() ? req.platform : platform, req.pull,
                                      [&out](std::string_view t) { out.stream(t); });
    if (!img) return fail(std::move(img).error());
    external[ref] = std::move(*img);
    return ok();
  };
  for (const auto& st : first->stages) {
    if (!first->needed[st.index]) continue;
    if (!st.base_stage) TRY(resolve(st.base, st.platform));
    for (const auto& e : st.external_images) TRY(resolve(e, st.platform));
  }
  bo.base_env = [&external](const std::string& ref, const std::string&) -> std::vector<std::string> {
    auto it = external.find(ref);
    if (it == external.end()) return {};
    auto ic = oci::parse_image_config(it->second.config_json);
    return ic ? ic->config.env : std::vector<std::string>{};
  };
  auto plan = builder::make_plan(*parsed, bo);
  if (!plan) return fail(std::move(plan).error());
  for (const auto& a : plan->unused_build_args)
    out.stream("[Warning] One or more build-args [" + a + "] were not consumed\n");

  std::shared_ptr<builder::ContextHasher> hasher = req.context_hasher;
  if (!hasher) hasher = TRY(builder::DirContextHasher::open(req.context_dir, req.ignore_patterns));
  auto keys = builder::compute_cache_keys(*plan, *hasher, [&external](const std::string& ref, const std::string&) {
    auto it = external.find(ref);
    return it == external.end() ? std::string() : it->second.id;
  });
  if (!keys) return fail(std::move(keys).error());

  Shared sh{req, *plan, *keys, hasher.get(), {}, std::move(external), {}, {}, 0, {}, 0, 0, {}, ok()};
  for (const auto& ref : req.cache_from) {
    auto img = backend_.image(ref);
    auto ic = img ? oci::parse_image_config(img->config_json) : Result<oci::ImageConfig>(fail(std::move(img).error()));
    if (!ic) {
      out.stream("[Warning] --cache-from " + ref + " is not used: " + ic.error().message() + "\n");
      continue;
    }
    sh.sources.push_back({img->id, std::move(*ic)});
  }
  sh.stages.resize(plan->stages.size());
  sh.first_step.assign(plan->stages.size(), 0);
  int n = 1;
  for (const auto& st : plan->stages) {
    if (!plan->needed[st.index]) continue;
    sh.first_step[st.index] = n;
    n += 1 + static_cast<int>(st.instructions.size());
    if (st.index == plan->target && !req.labels.empty()) n += 1;
  }
  sh.total_steps = n - 1;

  for (const auto& level : plan->levels) {
    if (level.size() == 1) {
      StageRunner r(backend_, cache_, sh, plan->stages[level[0]], out);
      Status s = r.run();
      if (cache_) (void)cache_->flush();
      if (!s) {
        last_exit_code_ = sh.exit_code;
        return fail(std::move(s).error());
      }
      continue;
    }
    std::vector<Buffered> bufs(level.size());
    std::vector<Status> res(level.size(), ok());
    std::vector<std::thread> ts;
    for (std::size_t i = 0; i < level.size(); ++i)
      ts.emplace_back([&, i] {
        StageRunner r(backend_, cache_, sh, plan->stages[level[i]], bufs[i]);
        res[i] = r.run();
      });
    for (auto& t : ts) t.join();
    if (cache_) (void)cache_->flush();
    for (std::size_t i = 0; i < level.size(); ++i) {
      out.stream(bufs[i].text);
      if (!res[i]) {
        last_exit_code_ = sh.exit_code;
        return fail(std::move(res[i]).error());
      }
    }
  }
  StageState& fin = sh.stages[plan->target];
  if (fin.image_id.empty()) fin.image_id = TRY(backend_.commit_config("", fin.cfg, ""));
  BuildResult r;
  r.image_id = fin.image_id;
  r.steps = sh.total_steps;
  r.cached = sh.cached;
  return r;
}

}  // namespace berth::build
