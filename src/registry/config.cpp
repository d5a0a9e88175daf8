// SPDX-License-Identifier: Apache-2.0
#include "registry/config.hpp"

#include <vector>

#include "common/file.hpp"
#include "common/strings.hpp"

namespace berth::registry {

namespace {
std::string unquote(std::string_view v) {
  v = trim(v);
  if (v.size() >= 2 && ((v.front() == '"' && v.back() == '"') || (v.front() == '\'' && v.back() == '\'')))
    return std::string(v.substr(1, v.size() - 2));
  return std::string(v);
}
// Strips a " #comment" outside quotes.
std::string_view strip_comment(std::string_view line) {
  char q = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (q) {
      if (c == q) q = 0;
    } else if (c == '"' || c == '\'') {
      q = c;
    } else if (c == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) {
      return line.substr(0, i);
    }
  }
  return line;
}
bool truthy(const std::string& v) { return v == "true" || v == "yes" || v == "on" || v == "1"; }
}  // namespace

Result<std::map<std::string, std::string>> parse_yaml_subset(std::string_view text) {
  std::map<std::string, std::string> out;
  std::vector<std::pair<std::size_t, std::string>> stack;  // indent, key
  std::size_t lineno = 0;
  for (auto& raw : split(text, '\n')) {
    ++lineno;
    std::string_view line = strip_comment(raw);
    if (trim(line).empty() || trim(line) == "---") continue;
    std::size_t indent = line.find_first_not_of(' ');
    if (line[indent] == '\t') return fail(Errc::InvalidArgument, "config line " + std::to_string(lineno) + ": tabs are not allowed");
    if (line[indent] == '-')
      return fail(Errc::InvalidArgument, "config line " + std::to_string(lineno) + ": lists are not supported");
    std::string_view body = trim(line);
    auto colon = body.find(':');
    if (colon == std::string_view::npos)
      return fail(Errc::InvalidArgument, "config line " + std::to_string(lineno) + ": expected key: value");
    std::string key = unquote(body.substr(0, colon));
    std::string value = unquote(body.substr(colon + 1));
    while (!stack.empty() && stack.back().first >= indent) stack.pop_back();
    std::string full;
    for (auto& [i, k] : stack) full += k + ".";
    full += to_lower(key);
    if (value.empty()) {
      stack.emplace_back(indent, to_lower(key));
      out[full];  // a map (or empty value)
    } else {
      out[full] = value;
    }
  }
  return out;
}

Result<std::chrono::seconds> parse_duration(std::string_view s) {
  s = trim(s);
  if (s.empty()) return fail(Errc::InvalidArgument, "empty duration");
  std::int64_t mult = 1;
  char u = s.back();
  if (u == 's' || u == 'm' || u == 'h' || u == 'd') {
    mult = u == 's' ? 1 : u == 'm' ? 60 : u == 'h' ? 3600 : 86400;
    s.remove_suffix(1);
  }
  auto n = parse_int(s);
  if (!n || *n < 0) return fail(Errc::InvalidArgument, "invalid duration");
  return std::chrono::seconds(*n * mult);
}

Result<Config> config_from_yaml(std::string_view text) {
  auto kv = TRY(parse_yaml_subset(text));
  Config c;
  auto get = [&](const char* k) -> const std::string* {
    auto it = kv.find(k);
    return it == kv.end() || it->second.empty() ? nullptr : &it->second;
  };
  if (auto v = get("storage.filesystem.rootdirectory")) c.root = *v;
  if (auto v = get("http.addr")) c.addr = *v;
  if (auto v = get("http.tls.certificate")) c.tls_certificate = *v;
  if (auto v = get("http.tls.key")) c.tls_key = *v;
  if (auto v = get("auth.htpasswd.path")) c.htpasswd_path = *v;
  if (auto v = get("auth.htpasswd.realm")) c.htpasswd_realm = *v;
  if (auto v = get("auth.acl.path")) c.acl_path = *v;
  if (auto v = get("auth.token.realm")) c.token_realm = *v;
  if (auto v = get("auth.token.service")) c.token_service = *v;
  if (auto v = get("auth.token.issuer")) c.token_issuer = *v;
  if (auto v = get("auth.token.rootcertbundle")) c.token_rootcertbundle = *v;
  if (auto v = get("auth.token.signingkey")) c.token_signingkey = *v;
  if (auto v = get("auth.token.secret")) c.token_secret = *v;
  if (auto v = get("proxy.remoteurl")) c.proxy_remoteurl = *v;
  if (auto v = get("proxy.username")) c.proxy_username = *v;
  if (auto v = get("proxy.password")) c.proxy_password = *v;
  if (auto v = get("proxy.ttl")) c.proxy_ttl = TRY(parse_duration(*v));
  if (auto v = get("storage.delete.enabled")) c.delete_enabled = truthy(*v);
  if (auto v = get("storage.maintenance.readonly.enabled")) c.readonly = truthy(*v);
  if (auto v = get("storage.maintenance.readonly")) c.readonly = truthy(*v);
  if (auto v = get("storage.maintenance.uploadpurging.age")) c.upload_purge_age = TRY(parse_duration(*v));
  if (auto v = get("storage.gc.interval")) c.gc_interval = TRY(parse_duration(*v));
  if (auto v = get("storage.gc.grace")) c.gc_grace = TRY(parse_duration(*v));
  if (auto v = get("log.accesslog.disabled")) c.accesslog = !truthy(*v);
  if (auto v = get("log.level")) c.log_level = *v;
  return c;
}

Result<Config> load_config(const std::string& path) {
  auto text = TRYC(read_file(path, 1 << 20), "read config " + path);
  return TRYC(config_from_yaml(text), "config " + path);
}

Result<std::pair<std::string, std::uint16_t>> split_addr(std::string_view addr) {
  auto c = addr.rfind(':');
  if (c == std::string_view::npos) return fail(Errc::InvalidArgument, "address without port: " + std::string(addr));
  std::string host(addr.substr(0, c));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  auto port = parse_uint(addr.substr(c + 1));
  if (!port || *port > 65535) return fail(Errc::InvalidArgument, "invalid port in " + std::string(addr));
  return std::pair{host, static_cast<std::uint16_t>(*port)};
}

}  // namespace berth::registry
