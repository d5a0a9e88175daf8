// SPDX-License-Identifier: Apache-2.0
#include "cli/context_store.hpp"

#include <dirent.h>

#include <algorithm>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "common/file.hpp"

namespace berth::cli {

using nlohmann::json;

std::string ContextStore::default_dir() {
  if (const char* c = std::getenv("BERTH_CONFIG"); c && *c) return c;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/root") + "/.config/berth";
}

Status ContextStore::validate_name(const std::string& name) {
  if (name.empty() || name == "default" || name.size() > 100)
    return fail(Errc::InvalidArgument, "context name \"" + name + "\" is invalid");
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'))
      return fail(Errc::InvalidArgument,
                  "context name \"" + name + "\" is invalid, names are validated against regexp "
                  "\"^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$\"");
  return ok();
}

static Result<ContextInfo> parse_ctx(const std::string& text) {
  try {
    json j = json::parse(text);
    ContextInfo c;
    c.name = j.value("Name", "");
    c.description = j.value("Description", "");
    c.host = j.value("Host", "");
    if (j.contains("TLS") && j["TLS"].is_object()) {
      c.ca_cert = j["TLS"].value("CA", "");
      c.cert = j["TLS"].value("Cert", "");
      c.key = j["TLS"].value("Key", "");
      c.skip_tls_verify = j["TLS"].value("SkipVerify", false);
    }
    return c;
  } catch (const std::exception& e) {
    return fail(Errc::DataLoss, std::string("bad context file: ") + e.what());
  }
}

Result<std::vector<ContextInfo>> ContextStore::list() const {
  std::vector<ContextInfo> out;
  std::string d = dir_ + "/contexts";
  DIR* dp = ::opendir(d.c_str());
  if (!dp) return out;
  while (auto* e = ::readdir(dp)) {
    std::string n = e->d_name;
    if (n.size() < 6 || n.substr(n.size() - 5) != ".json") continue;
    auto txt = read_file(d + "/" + n);
    if (!txt) continue;
    if (auto c = parse_ctx(*txt)) out.push_back(std::move(*c));
  }
  ::closedir(dp);
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.name < b.name; });
  return out;
}

Result<ContextInfo> ContextStore::get(const std::string& name) const {
  auto txt = read_file(dir_ + "/contexts/" + name + ".json");
  if (!txt) {
    if (txt.error().is(Errc::NotFound))
      return fail(Errc::NotFound, "context \"" + name + "\" does not exist");
    return fail(std::move(txt).error());
  }
  return parse_ctx(*txt);
}

Status ContextStore::save(const ContextInfo& c) const {
  TRY(validate_name(c.name));
  TRY(mkdir_all(dir_ + "/contexts", 0700));
  json j = {{"Name", c.name}, {"Description", c.description}, {"Host", c.host}};
  if (!c.ca_cert.empty() || !c.cert.empty() || !c.key.empty() || c.skip_tls_verify)
    j["TLS"] = {{"CA", c.ca_cert}, {"Cert", c.cert}, {"Key", c.key}, {"SkipVerify", c.skip_tls_verify}};
  return atomic_write_file(dir_ + "/contexts/" + c.name + ".json", j.dump(2) + "\n", 0600);
}

Status ContextStore::remove(const std::string& name) const {
  std::string p = dir_ + "/contexts/" + name + ".json";
  if (!path_exists(p)) return fail(Errc::NotFound, "context \"" + name + "\" does not exist");
  if (::unlink(p.c_str()) != 0) return fail_errno("remove", p);
  if (current() == name) TRY(set_current(""));
  return ok();
}

std::string ContextStore::current() const {
  auto txt = read_file(dir_ + "/config.json");
  if (!txt) return "";
  try {
    json j = json::parse(*txt);
    return j.value("currentContext", "");
  } catch (...) {
    return "";
  }
}

Status ContextStore::set_current(const std::string& name) const {
  json j = json::object();
  if (auto txt = read_file(dir_ + "/config.json")) {
    try {
      j = json::parse(*txt);
    } catch (...) {
    }
  }
  if (name.empty() || name == "default")
    j.erase("currentContext");
  else
    j["currentContext"] = name;
  TRY(mkdir_all(dir_, 0700));
  return atomic_write_file(dir_ + "/config.json", j.dump(1, '\t') + "\n", 0600);
}

}  // namespace berth::cli
