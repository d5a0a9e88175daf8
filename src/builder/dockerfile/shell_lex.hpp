// SPDX-License-Identifier: Apache-2.0
// Shell-like word processing and variable substitution for Dockerfile instructions, with the
// semantics of BuildKit's frontend/dockerfile/shell lexer: quotes, the escape token, $var,
// ${var}, ${var:-w} ${var-w} ${var:+w} ${var+w} ${var:?w} ${var?w}, ${var#p} ${var##p}
// ${var%p} ${var%%p}, ${var/p/r} ${var//p/r}.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace berth::builder::dockerfile {

// An ordered environment: later set() of the same key replaces the value in place.
class EnvList {
 public:
  EnvList() = default;
  // Entries "KEY=VALUE" (a missing '=' gives an empty value).
  static EnvList from_strings(const std::vector<std::string>& kv);
  void set(std::string_view key, std::string_view value);
  const std::string* get(std::string_view key) const;
  bool erase(std::string_view key);
  const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }
  std::vector<std::string> to_strings() const;

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

// Lookup interface: returns nullptr when unset.
class EnvGetter {
 public:
  virtual ~EnvGetter() = default;
  virtual const std::string* get(std::string_view key) const = 0;
};

class EnvListGetter final : public EnvGetter {
 public:
  explicit EnvListGetter(const EnvList& l) : l_(l) {}
  const std::string* get(std::string_view key) const override { return l_.get(key); }

 private:
  const EnvList& l_;
};

class ShellLex {
 public:
  explicit ShellLex(char32_t escape = '\\') : escape_(escape) {}
  bool raw_quotes = false;
  bool raw_escapes = false;
  bool skip_process_quotes = false;
  bool skip_unset_env = false;

  // Substitutes variables and removes quotes; keeps whitespace between words.
  Result<std::string> process_word(std::string_view word, const EnvGetter& env) const;
  Result<std::string> process_word(std::string_view word, const EnvList& env) const {
    return process_word(word, EnvListGetter(env));
  }
  // Substitutes and splits into words (splitting happens after substitution, quotes respected).
  Result<std::vector<std::string>> process_words(std::string_view word, const EnvGetter& env) const;
  Result<std::vector<std::string>> process_words(std::string_view word, const EnvList& env) const {
    return process_words(word, EnvListGetter(env));
  }
  // Names of variables referenced by word that were not set in env (for lint/ARG usage).
  char32_t escape() const { return escape_; }

 private:
  char32_t escape_;
};

}  // namespace berth::builder::dockerfile
