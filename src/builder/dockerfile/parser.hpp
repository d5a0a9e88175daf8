// SPDX-License-Identifier: Apache-2.0
// Dockerfile parser: text -> AST with exactly the shape of BuildKit's parser
// (moby/buildkit frontend/dockerfile/parser), including its Dump() format, so BuildKit's
// parser corpus can be used as the conformance suite.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace berth::builder::dockerfile {

struct Heredoc {
  std::string name;
  unsigned file_descriptor = 0;
  bool expand = false;
  bool chomp = false;
  std::string content;
  bool operator==(const Heredoc&) const = default;
};

// One AST node. The root's children are the instructions; an instruction's value is the
// command word as written (e.g. "RUN"), flags are its leading --flags, args its argument
// nodes (ONBUILD's single arg node carries the nested instruction in its children).
struct Node {
  std::string value;
  std::vector<std::string> flags;
  std::vector<Node> args;
  std::vector<Node> children;
  std::vector<Heredoc> heredocs;
  bool json = false;            // exec/JSON form
  std::string original;         // the joined logical line
  int start_line = 0;           // 1-based
  int end_line = 0;
  std::vector<std::string> prev_comment;

  // BuildKit's Node.Dump() (no trailing newline).
  std::string dump() const;
  // Lower-cased command word.
  std::string command() const;
};

struct Directive {
  std::string name;   // lower-case: syntax, escape, check
  std::string value;
  int line = 0;
};

struct Warning {
  std::string message;
  int line = 0;
};

struct ParseResult {
  Node ast;
  char32_t escape_token = '\\';
  std::vector<Directive> directives;
  std::vector<Warning> warnings;
};

// Parses a whole Dockerfile. Errors are Errc::InvalidArgument with messages of the form
// "dockerfile parse error on line N: <reason>".
Result<ParseResult> parse(std::string_view dockerfile);

// Parses a heredoc word such as "<<-'EOF'"; returns an empty name if src is no heredoc.
Result<Heredoc> parse_heredoc(std::string_view src);
// Removes leading tabs of every line (for <<- heredocs).
std::string chomp_heredoc_content(std::string_view src);

// What `berth build --dump-ast FILE` prints: the AST dump followed by a newline.
Result<std::string> dump_ast(std::string_view dockerfile);

}  // namespace berth::builder::dockerfile
