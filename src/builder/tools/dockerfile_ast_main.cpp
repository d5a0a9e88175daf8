// SPDX-License-Identifier: Apache-2.0
// berth-dockerfile-ast [--heredocs] FILE...: prints each Dockerfile's AST in BuildKit's parser
// test format (what `berth build --dump-ast FILE` prints). Exit 1 on a parse error. Used to run
// BuildKit's parser corpus from a fetched moby/buildkit checkout:
//   for d in frontend/dockerfile/parser/testfiles/*; do
//     diff <(berth-dockerfile-ast $d/Dockerfile) $d/result; done
// Diagnostic modes for differential testing against BuildKit:
//   --heredocs FILE...  also prints "start-end [name fd expand chomp content]..." per instruction
//   --lex FILE          ProcessWord/ProcessWords of every line with a fixed environment
//   --ignore FILE       blocks of ".dockerignore lines, --, paths, %%": the patterns read and
//                       whether each path is excluded (MatchesOrParentMatches)
#include <cstdio>
#include <string>
#include <string_view>

#include "builder/dockerfile/parser.hpp"
#include "builder/dockerfile/shell_lex.hpp"
#include "builder/dockerfile/utf8.hpp"
#include "builder/dockerignore.hpp"
#include "common/file.hpp"

namespace df = berth::builder::dockerfile;

namespace {

void print(const std::string& s) { std::fwrite(s.data(), 1, s.size(), stdout); }

std::string quote_list(const std::vector<std::string>& v) {
  std::string o = "[";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) o += ' ';
    o += df::utf8::go_quote(v[i]);
  }
  return o + "]";
}

int lex_mode(const char* path) {
  auto text = berth::read_file(path);
  if (!text) return 1;
  auto env = df::EnvList::from_strings({"A=hello.tar.gz", "E=", "S=a  b ", "P=/usr/local/bin"});
  std::string_view t = *text;
  while (!t.empty()) {
    auto nl = t.find('\n');
    std::string_view w = t.substr(0, nl);
    t = nl == std::string_view::npos ? std::string_view() : t.substr(nl + 1);
    if (!w.empty() && w.back() == '\r') w.remove_suffix(1);
    for (bool skip : {false, true}) {
      df::ShellLex lex('\\');
      lex.skip_unset_env = skip;
      lex.raw_quotes = skip;
      auto r = lex.process_word(w, env);
      auto ws = lex.process_words(w, env);
      print(df::utf8::go_quote(r ? *r : "ERROR") + " " +
            quote_list(ws ? *ws : std::vector<std::string>{"ERROR"}) + "\n");
    }
  }
  return 0;
}

int ignore_mode(const char* path) {
  auto text = berth::read_file(path);
  if (!text) return 1;
  std::vector<std::string> ign, paths;
  bool in_paths = false;
  auto flush = [&]() {
    std::string content;
    for (std::size_t i = 0; i < ign.size(); ++i) content += (i ? "\n" : "") + ign[i];
    auto pats = berth::builder::read_dockerignore(content);
    print(quote_list(pats) + "\n");
    auto pm = berth::builder::PatternMatcher::create(pats);
    for (const auto& p : paths) {
      if (!pm) {
        print("ERROR\n");
        continue;
      }
      auto m = pm->matches_or_parent_matches(p);
      print(!m ? "ERROR\n" : *m ? "true\n" : "false\n");
    }
    ign.clear();
    paths.clear();
    in_paths = false;
  };
  std::string_view t = *text;
  while (!t.empty()) {
    auto nl = t.find('\n');
    std::string l(t.substr(0, nl));
    t = nl == std::string_view::npos ? std::string_view() : t.substr(nl + 1);
    if (l == "%%") {
      flush();
    } else if (l == "--" && !in_paths) {
      in_paths = true;
    } else if (in_paths) {
      paths.push_back(l);
    } else {
      ign.push_back(l);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s [--heredocs] DOCKERFILE... | --lex FILE\n", argv[0]);
    return 2;
  }
  std::string_view first = argv[1];
  if (first == "--lex" && argc == 3) return lex_mode(argv[2]);
  if (first == "--ignore" && argc == 3) return ignore_mode(argv[2]);
  bool heredocs = first == "--heredocs";
  int rc = 0;
  for (int i = heredocs ? 2 : 1; i < argc; ++i) {
    auto text = berth::read_file(argv[i]);
    if (!text) {
      std::fprintf(stderr, "%s: %s\n", argv[i], text.error().message().c_str());
      rc = 1;
      continue;
    }
    auto parsed = df::parse(*text);
    if (!parsed) {
      std::fprintf(stderr, "%s: %s\n", argv[i], parsed.error().message().c_str());
      rc = 1;
      continue;
    }
    print(parsed->ast.dump() + "\n");
    if (!heredocs) continue;
    for (const auto& c : parsed->ast.children) {
      std::string l = std::to_string(c.start_line) + "-" + std::to_string(c.end_line);
      for (const auto& h : c.heredocs) {
        l += " [" + df::utf8::go_quote(h.name) + " " + std::to_string(h.file_descriptor) + " " +
             (h.expand ? "true" : "false") + " " + (h.chomp ? "true" : "false") + " " +
             df::utf8::go_quote(h.content) + "]";
      }
      print(l + "\n");
    }
  }
  return rc;
}
