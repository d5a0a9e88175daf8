// SPDX-License-Identifier: Apache-2.0
#include "registry/auth.hpp"

#include <crypt.h>

#include <ctime>
#include <map>

#include <nlohmann/json.hpp>
#include <openssl/bio.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/base64.hpp"
#include "common/file.hpp"
#include "common/strings.hpp"
#include "registry/acl.hpp"

namespace berth::registry {

// ---- scopes, base64 ----

std::string Scope::str() const { return type + ":" + name + ":" + join(actions, ","); }

std::optional<Scope> parse_scope(std::string_view s) {
  auto first = s.find(':');
  auto last = s.rfind(':');
  if (first == s.npos || last == first) return std::nullopt;
  Scope sc;
  sc.type = std::string(s.substr(0, first));
  if (auto p = sc.type.find('('); p != std::string::npos) sc.type.resize(p);
  sc.name = std::string(s.substr(first + 1, last - first - 1));
  for (auto& a : split(s.substr(last + 1), ','))
    if (!a.empty()) sc.actions.push_back(a);
  return sc;
}

namespace {
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::optional<std::string> b64_decode_impl(std::string_view s, bool url) {
  std::string out;
  unsigned val = 0;
  int bits = 0;
  for (char c : s) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == (url ? '-' : '+')) v = 62;
    else if (c == (url ? '_' : '/')) v = 63;
    else if (c == '=') break;
    else return std::nullopt;
    val = (val << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((val >> bits) & 0xff));
    }
  }
  return out;
}
}  // namespace

std::string base64url_encode(std::string_view data) { return base64_encode(data, true, false); }
std::optional<std::string> base64url_decode(std::string_view s) { return b64_decode_impl(s, true); }
std::optional<std::string> base64_decode(std::string_view s) { return b64_decode_impl(s, false); }

// ---- keys ----

namespace {

struct PkeyDel {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDel>;

Result<Pkey> load_public_key(const std::string& path) {
  auto pem = TRYC(read_file(path, 1 << 20), "read rootcertbundle");
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* k = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  if (!k) {
    (void)BIO_reset(bio);
    if (X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
      k = X509_get_pubkey(x);
      X509_free(x);
    }
  }
  BIO_free(bio);
  if (!k) return fail(Errc::InvalidArgument, "no public key or certificate in " + path);
  return Pkey(k);
}

Result<Pkey> load_private_key(const std::string& path) {
  auto pem = TRYC(read_file(path, 1 << 20), "read signing key");
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* k = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (!k) return fail(Errc::InvalidArgument, "no private key in " + path);
  return Pkey(k);
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

bool const_eq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char d = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d |= static_cast<unsigned char>(a[i] ^ b[i]);
  return d == 0;
}

// ES256 signatures in JWS are raw r||s (32+32 bytes); OpenSSL speaks DER.
std::optional<std::string> ecdsa_raw_to_der(std::string_view raw) {
  if (raw.size() != 64) return std::nullopt;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), 32, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + 32, 32, nullptr);
  ECDSA_SIG_set0(sig, r, s);
  unsigned char* der = nullptr;
  int n = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  if (n <= 0) return std::nullopt;
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  return out;
}

std::optional<std::string> ecdsa_der_to_raw(std::string_view der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  if (!sig) return std::nullopt;
  std::string out(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(out.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(out.data()) + 32, 32);
  ECDSA_SIG_free(sig);
  return out;
}

bool verify_sig(EVP_PKEY* key, std::string_view data, std::string_view sig) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

std::optional<std::string> sign(EVP_PKEY* key, std::string_view data) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::size_t len = 0;
  std::string out;
  if (EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
      EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1) {
    out.resize(len);
    if (EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(out.data()), &len,
                       reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1)
      out.resize(len);
    else
      out.clear();
  }
  EVP_MD_CTX_free(ctx);
  if (out.empty()) return std::nullopt;
  return out;
}

}  // namespace

struct Auth::Impl {
  Config cfg;
  Acl acl;  // empty: every authenticated user may do everything
  std::map<std::string, std::string, std::less<>> users;  // user -> hash
  Pkey verify_key;
  Pkey signing_key;
  bool token_mode = false;

  bool basic_ok(std::string_view authorization, std::string* user) const {
    if (authorization.size() < 6 || !iequals_prefix(authorization, "basic ")) return false;
    auto dec = base64_decode(trim(authorization.substr(6)));
    if (!dec) return false;
    auto [u, p] = split_once(*dec, ':');
    if (!check_pw(u, p)) return false;
    *user = std::string(u);
    return true;
  }
  static bool iequals_prefix(std::string_view s, std::string_view p) {
    return s.size() >= p.size() && to_lower(s.substr(0, p.size())) == p;
  }
  bool check_pw(std::string_view u, std::string_view p) const {
    auto it = users.find(u);
    if (it == users.end()) return false;
    crypt_data data{};
    std::string pw(p);
    const char* h = crypt_r(pw.c_str(), it->second.c_str(), &data);
    return h && h[0] != '*' && const_eq(h, it->second);
  }
  static bool has_scope(const nlohmann::json& claims, const Scope& needed) {
    try {
      if (!claims.contains("access") || !claims["access"].is_array()) return false;
      for (auto& acc : claims["access"]) {
        if (acc.value("type", "") != needed.type || acc.value("name", "") != needed.name) continue;
        auto& acts = acc["actions"];
        bool all = true;
        for (auto& want : needed.actions) {
          bool has = false;
          for (auto& a : acts) has |= a.is_string() && (a.get<std::string>() == want || a.get<std::string>() == "*");
          all &= has;
        }
        if (all) return true;
      }
    } catch (const std::exception&) {
    }
    return false;
  }
  std::string challenge(const Scope& s) const {
    if (!token_mode) return "Basic realm=\"" + cfg.htpasswd_realm + "\"";
    std::string c = "Bearer realm=\"" + cfg.token_realm + "\",service=\"" + cfg.token_service + "\"";
    if (!s.name.empty()) c += ",scope=\"" + s.str() + "\"";
    return c;
  }
  // Returns the claims of a valid token, or an error message.
  RResult<nlohmann::json> verify_jwt(std::string_view tok) const {
    auto d1 = tok.find('.');
    auto d2 = tok.rfind('.');
    if (d1 == tok.npos || d1 == d2) return rfail(Code::Unauthorized, "malformed token");
    auto hdr = base64url_decode(tok.substr(0, d1));
    auto pay = base64url_decode(tok.substr(d1 + 1, d2 - d1 - 1));
    auto sig = base64url_decode(tok.substr(d2 + 1));
    if (!hdr || !pay || !sig) return rfail(Code::Unauthorized, "malformed token");
    auto h = nlohmann::json::parse(*hdr, nullptr, false);
    auto claims = nlohmann::json::parse(*pay, nullptr, false);
    if (!h.is_object() || !claims.is_object()) return rfail(Code::Unauthorized, "malformed token");
    std::string alg = h.value("alg", "");
    std::string_view signed_part = tok.substr(0, d2);
    bool ok = false;
    if (alg == "HS256" && !cfg.token_secret.empty()) {
      ok = const_eq(hmac_sha256(cfg.token_secret, signed_part), *sig);
    } else if (alg == "RS256" && verify_key && EVP_PKEY_base_id(verify_key.get()) == EVP_PKEY_RSA) {
      ok = verify_sig(verify_key.get(), signed_part, *sig);
    } else if (alg == "ES256" && verify_key && EVP_PKEY_base_id(verify_key.get()) == EVP_PKEY_EC) {
      auto der = ecdsa_raw_to_der(*sig);
      ok = der && verify_sig(verify_key.get(), signed_part, *der);
    }
    if (!ok) return rfail(Code::Unauthorized, "invalid token signature");
    try {
      std::int64_t now = ::time(nullptr);
      constexpr std::int64_t kLeeway = 60;
      if (!claims.contains("exp") || claims["exp"].get<std::int64_t>() + kLeeway < now)
        return rfail(Code::Unauthorized, "token expired");
      if (claims.contains("nbf") && claims["nbf"].get<std::int64_t>() - kLeeway > now)
        return rfail(Code::Unauthorized, "token not yet valid");
      if (!cfg.token_issuer.empty() && claims.value("iss", "") != cfg.token_issuer)
        return rfail(Code::Unauthorized, "token issuer mismatch");
      bool aud_ok = false;
      if (claims.contains("aud")) {
        auto& a = claims["aud"];
        if (a.is_string()) aud_ok = a.get<std::string>() == cfg.token_service;
        if (a.is_array())
          for (auto& x : a) aud_ok |= x.is_string() && x.get<std::string>() == cfg.token_service;
      }
      if (!aud_ok) return rfail(Code::Unauthorized, "token audience mismatch");
    } catch (const std::exception& e) {
      return rfail(Code::Unauthorized, std::string("bad token claims: ") + e.what());
    }
    return claims;
  }
};

Auth::Auth() : impl_(std::make_unique<Impl>()) {}
Auth::~Auth() = default;

Result<std::unique_ptr<Auth>> Auth::create(const Config& c) {
  std::unique_ptr<Auth> a(new Auth());
  a->impl_->cfg = c;
  if (!c.htpasswd_path.empty()) {
    auto text = TRYC(read_file(c.htpasswd_path, 16 << 20), "read htpasswd");
    for (auto& line : split(text, '\n')) {
      auto l = trim(line);
      if (l.empty() || l[0] == '#') continue;
      auto [u, h] = split_once(l, ':');
      if (!u.empty() && !h.empty()) a->impl_->users.emplace(std::string(u), std::string(h));
    }
  }
  if (!c.acl_path.empty()) a->impl_->acl = TRY(Acl::load(c.acl_path));
  if (!c.token_realm.empty()) {
    a->impl_->token_mode = true;
    if (!c.token_rootcertbundle.empty()) a->impl_->verify_key = TRY(load_public_key(c.token_rootcertbundle));
    if (!c.token_signingkey.empty()) {
      a->impl_->signing_key = TRY(load_private_key(c.token_signingkey));
      if (!a->impl_->verify_key) {  // verify our own tokens with the public half
        EVP_PKEY_up_ref(a->impl_->signing_key.get());
        a->impl_->verify_key.reset(a->impl_->signing_key.get());
      }
    }
    if (!a->impl_->verify_key && c.token_secret.empty())
      return fail(Errc::InvalidArgument, "auth.token needs rootcertbundle, signingkey or secret");
  }
  return a;
}

bool Auth::enabled() const { return impl_->token_mode || !impl_->cfg.htpasswd_path.empty(); }
bool Auth::token_mode() const { return impl_->token_mode; }
bool Auth::serves_tokens() const {
  return impl_->token_mode && (impl_->signing_key || !impl_->cfg.token_secret.empty());
}
bool Auth::check_password(std::string_view user, std::string_view password) const {
  return impl_->check_pw(user, password);
}

RResult<std::string> Auth::check(std::string_view authorization, const Scope& needed, std::string* challenge) const {
  if (!enabled()) return std::string();
  *challenge = impl_->challenge(needed);
  if (!impl_->token_mode) {
    std::string user;
    bool is_base = needed.name.empty() && needed.actions.empty();
    if (authorization.empty() && !is_base && !impl_->acl.empty() &&
        impl_->acl.allowed("", needed.type, needed.name, needed.actions).size() == needed.actions.size())
      return user;  // anonymous access the ACL grants
    if (!impl_->basic_ok(authorization, &user)) return rfail(Code::Unauthorized, "authentication required");
    if (!is_base && !impl_->acl.empty() &&
        impl_->acl.allowed(user, needed.type, needed.name, needed.actions).size() != needed.actions.size())
      return rfail(Code::Denied, "requested access to the resource is denied");
    return user;
  }
  if (authorization.size() < 7 || !Impl::iequals_prefix(authorization, "bearer "))
    return rfail(Code::Unauthorized, "authentication required");
  auto claims = RTRY(impl_->verify_jwt(trim(authorization.substr(7))));
  if (needed.name.empty() && needed.actions.empty()) return claims.value("sub", "");  // base /v2/
  if (Impl::has_scope(claims, needed)) return claims.value("sub", "");
  // Valid token without the scope: 401 with error="insufficient_scope" (as distribution), so
  // clients fetch a token for it or stop at once; a bare 403 on HEAD makes docker retry.
  *challenge += ",error=\"insufficient_scope\"";
  return rfail(Code::Unauthorized, "insufficient scope: requested access to the resource is denied");
}

RResult<std::string> Auth::check_all(std::string_view authorization, const std::vector<Scope>& needed,
                                     std::string* challenge) const {
  if (needed.empty()) return rfail(Code::Internal, "no scope to check");
  if (!impl_->token_mode || needed.size() == 1) return check(authorization, needed[0], challenge);
  auto r = check(authorization, needed[0], challenge);
  std::string all;
  for (auto& sc : needed) all += (all.empty() ? "" : " ") + sc.str();
  auto with_all = [&](bool insufficient) {
    *challenge = "Bearer realm=\"" + impl_->cfg.token_realm + "\",service=\"" + impl_->cfg.token_service +
                 "\",scope=\"" + all + "\"" + (insufficient ? ",error=\"insufficient_scope\"" : "");
  };
  if (!r) {
    if (r.error().code == Code::Unauthorized) with_all(r.error().message.starts_with("insufficient scope"));
    return r;
  }
  auto claims = RTRY(impl_->verify_jwt(trim(authorization.substr(7))));
  for (std::size_t i = 1; i < needed.size(); ++i) {
    if (!Impl::has_scope(claims, needed[i])) {
      with_all(true);
      return rfail(Code::Unauthorized, "insufficient scope: requested access to the resource is denied");
    }
  }
  return r;
}

RResult<std::string> Auth::issue(std::string_view authorization, const std::vector<std::string>& scopes,
                                 std::string_view service) const {
  if (!serves_tokens()) return rfail(Code::Unsupported, "token endpoint not enabled");
  std::string user;
  if (!impl_->users.empty()) {
    if (!authorization.empty() && !impl_->basic_ok(authorization, &user))
      return rfail(Code::Unauthorized, "invalid username or password");
    // Anonymous requests get a token without access (docker's first round-trip).
  }
  nlohmann::json access = nlohmann::json::array();
  bool acl = !impl_->acl.empty();
  if (acl || impl_->users.empty() || !user.empty()) {
    for (auto& s : scopes) {
      for (auto& one : split(s, ' ')) {
        auto sc = parse_scope(one);
        if (!sc) continue;
        // With an ACL: only what this user (or @anonymous) has; scopes with nothing left are dropped.
        std::vector<std::string> acts = acl ? impl_->acl.allowed(user, sc->type, sc->name, sc->actions) : sc->actions;
        if (acts.empty()) continue;
        access.push_back({{"type", sc->type}, {"name", sc->name}, {"actions", acts}});
      }
    }
  }
  std::int64_t now = ::time(nullptr);
  constexpr std::int64_t kTtl = 300;
  nlohmann::json claims = {{"iss", impl_->cfg.token_issuer},
                           {"sub", user},
                           {"aud", service.empty() ? impl_->cfg.token_service : std::string(service)},
                           {"exp", now + kTtl},
                           {"nbf", now - 1},
                           {"iat", now},
                           {"jti", random_hex(16)},
                           {"access", access}};
  std::string alg;
  if (impl_->signing_key) alg = EVP_PKEY_base_id(impl_->signing_key.get()) == EVP_PKEY_EC ? "ES256" : "RS256";
  else alg = "HS256";
  std::string head = base64url_encode(nlohmann::json({{"alg", alg}, {"typ", "JWT"}}).dump());
  std::string signing_input = head + "." + base64url_encode(claims.dump());
  std::string sig;
  if (alg == "HS256") {
    sig = hmac_sha256(impl_->cfg.token_secret, signing_input);
  } else {
    auto s = sign(impl_->signing_key.get(), signing_input);
    if (!s) return rfail(Code::Internal, "signing token failed");
    sig = *s;
    if (alg == "ES256") {
      auto raw = ecdsa_der_to_raw(sig);
      if (!raw) return rfail(Code::Internal, "signing token failed");
      sig = *raw;
    }
  }
  std::string token = signing_input + "." + base64url_encode(sig);
  char issued[32];
  time_t tnow = static_cast<time_t>(now);
  struct tm tmv;
  ::gmtime_r(&tnow, &tmv);
  ::strftime(issued, sizeof issued, "%Y-%m-%dT%H:%M:%SZ", &tmv);
  nlohmann::json out = {{"token", token}, {"access_token", token}, {"expires_in", kTtl}, {"issued_at", issued}};
  return out.dump();
}

}  // namespace berth::registry
