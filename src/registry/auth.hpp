// SPDX-License-Identifier: Apache-2.0
// Authentication and per-repository authorization.
//
// Modes (from Config):
//  - none: everything allowed.
//  - htpasswd only: "Authorization: Basic" checked against an htpasswd file (bcrypt $2y$/$2b$,
//    or any crypt(3) hash libcrypt knows); a valid user may pull/push/delete everywhere.
//    Challenge: Basic realm="...".
//  - token (auth.token.realm set): "Authorization: Bearer <JWT>" signed RS256/ES256 (key in
//    rootcertbundle: PEM public key or certificate) or HS256 (secret). Claims checked: exp, nbf,
//    iss, aud (= service) and access [{type,name,actions}] for the needed scope. Challenge:
//    Bearer realm="...",service="...",scope="repository:<name>:pull,push".
//    With signingkey (PEM private key) or secret, the registry also serves its own token
//    endpoint (GET /token?service=&scope=...), authenticating users against htpasswd when it is
//    configured (otherwise anyone gets a token for what they ask).
//  - auth.acl.path (acl.hpp): the token endpoint grants only the actions the rules give the
//    user, and Basic auth checks every request against the rules (anonymous access included).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/config.hpp"
#include "registry/errors.hpp"

namespace berth::registry {

struct Scope {
  std::string type = "repository";
  std::string name;
  std::vector<std::string> actions;
  std::string str() const;  // "repository:name:pull,push"
};
// "repository:foo/bar:pull,push" (also "repository(plugin):x:pull"); nullopt if malformed.
std::optional<Scope> parse_scope(std::string_view s);

std::string base64url_encode(std::string_view data);
std::optional<std::string> base64url_decode(std::string_view s);
std::optional<std::string> base64_decode(std::string_view s);

class Auth {
 public:
  static Result<std::unique_ptr<Auth>> create(const Config& c);
  ~Auth();
  bool enabled() const;
  // Checks `authorization` (the request header, may be empty) for `needed`. On failure:
  // Unauthorized (missing/invalid credentials) or Denied (valid, without the scope); *challenge
  // receives the WWW-Authenticate value to send with 401.
  RResult<std::string> check(std::string_view authorization, const Scope& needed, std::string* challenge) const;
  // Several scopes at once (a cross-repository mount needs pull on `from` too). In token mode a
  // token lacking any of them gets 401 with a challenge naming all of them, so the client asks
  // for one token covering both (as distribution); otherwise the same as check(needed[0]).
  RResult<std::string> check_all(std::string_view authorization, const std::vector<Scope>& needed,
                                 std::string* challenge) const;
  bool token_mode() const;
  bool serves_tokens() const;
  // Body of the token endpoint's answer: {"token":..,"access_token":..,"expires_in":..,"issued_at":..}
  RResult<std::string> issue(std::string_view authorization, const std::vector<std::string>& scopes,
                             std::string_view service) const;
  // Verifies user:password against the htpasswd file.
  bool check_password(std::string_view user, std::string_view password) const;

 private:
  Auth();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::registry
