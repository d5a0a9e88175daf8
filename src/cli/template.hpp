// SPDX-License-Identifier: Apache-2.0
// A subset of Go's text/template, enough for docker's --format:
//   text, {{.Field}}, {{.A.B}}, {{.}}, {{$}}, {{$v := ...}}, pipelines {{.X | lower}},
//   {{if}}/{{else if}}/{{else}}/{{end}}, {{range}} (also `range $i, $e := .X`), {{with}},
//   trim markers {{- -}}, string/number/bool literals, parentheses, and the functions
//   json, join, lower, upper, title, split, truncate, pad, len, index, printf, print, println,
//   eq, ne, lt, le, gt, ge, not, and, or.
// Values are JSON (nlohmann::ordered_json, so {{json .}} keeps the daemon's key order). A key
// missing from an object prints "<no value>", null prints "<nil>", arrays "[a b]", objects
// "map[k:v]" like Go does for maps and slices.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "common/result.hpp"

namespace berth::cli {

using Json = nlohmann::ordered_json;

struct TemplateNode;

class Template {
 public:
  static Result<Template> parse(std::string_view text);
  // header_mode: docker's HeaderFunctions — every function returns its first argument as a
  // string, so `table {{upper .Name}}` renders the header context's "NAME" unchanged.
  Result<std::string> execute(const Json& dot, bool header_mode = false) const;

  Template();
  Template(Template&&) noexcept;
  Template& operator=(Template&&) noexcept;
  ~Template();

 private:
  std::shared_ptr<const TemplateNode> root_;
};

// Go's fmt %v of a JSON value.
std::string go_print(const Json& v);
// Go's json.Marshal of a JSON value: compact, with <, >, & and U+2028/U+2029 escaped. docker's
// template function `json` does not escape (an encoder with SetEscapeHTML(false)), but its list
// rows marshal themselves with json.Marshal, so `--format json` / `{{json .}}` of a `ps`,
// `images`, … row prints "\u003cnone\u003e" where `{{json .Digest}}` prints "<none>".
std::string go_json_marshal(const Json& v);
std::string go_json_marshal(const Json& v);

}  // namespace berth::cli
