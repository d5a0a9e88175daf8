// SPDX-License-Identifier: Apache-2.0
// Per-repository access rules (berth extension, `auth.acl.path` in the config file).
//
// One rule a line, whitespace separated; `#` starts a comment; every matching rule adds its
// actions (there is no deny):
//
//   # who        what                 actions
//   alice        alice/*              pull,push,delete
//   *            library/*            pull          (* = any authenticated user)
//   @anonymous   public/*             pull          (requests without credentials)
//   admin        *                    *             (* as actions = pull,push,delete)
//   admin        registry:catalog     *             (the _catalog scope)
//
// `what` is a repository glob (`*` matches any run of characters, `/` included; `?` one
// character) or `registry:catalog`; a `repository:` prefix is allowed. With rules loaded the
// token endpoint grants each requested scope only the actions the user has, and Basic auth
// (htpasswd without a token realm) checks every request against them; without an ACL file
// every authenticated user may do everything (distribution's behaviour).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace berth::registry {

class Acl {
 public:
  static Result<Acl> parse(std::string_view text);
  static Result<Acl> load(const std::string& path);
  bool empty() const { return rules_.empty(); }
  // The subset of `wanted` that `user` may do on type:name (user "" = anonymous).
  std::vector<std::string> allowed(std::string_view user, std::string_view type, std::string_view name,
                                   const std::vector<std::string>& wanted) const;

 private:
  struct Rule {
    std::string who, type, pattern;
    std::vector<std::string> actions;
  };
  std::vector<Rule> rules_;
};

// Glob with `*` (any run, `/` included) and `?` (one character).
bool glob_match(std::string_view pattern, std::string_view s);

}  // namespace berth::registry
