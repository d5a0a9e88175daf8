// SPDX-License-Identifier: Apache-2.0
#include "registry/auth.hpp"

#include <crypt.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/file.hpp"
#include "registry/config.hpp"

namespace berth::registry {
namespace {

std::string bcrypt(const std::string& pw) {
  char salt[64];
  EXPECT_NE(crypt_gensalt_rn("$2b$", 5, nullptr, 0, salt, sizeof salt), nullptr);
  crypt_data d{};
  return crypt_r(pw.c_str(), salt, &d);
}

std::string basic(const std::string& up) {
  // tiny standard base64 for the test
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned v = 0;
  int bits = 0;
  for (unsigned char c : up) {
    v = (v << 8) | c;
    bits += 8;
    while (bits >= 6) out += t[(v >> (bits -= 6)) & 63];
  }
  if (bits) out += t[(v << (6 - bits)) & 63];
  while (out.size() % 4) out += '=';
  return "Basic " + out;
}

struct Tmp {
  TempDir d = std::move(*TempDir::create("/tmp", "berth-test-auth-"));
  std::string file(const std::string& name, const std::string& content) {
    std::string p = d.path() + "/" + name;
    EXPECT_TRUE(write_file(p, content));
    return p;
  }
};

TEST(Auth, Base64Url) {
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(*base64url_decode("-_8"), "\xfb\xff");
  EXPECT_EQ(*base64_decode("dXNlcjpwYXNz"), "user:pass");
  auto s = parse_scope("repository:a/b:pull,push");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->name, "a/b");
  EXPECT_EQ(s->actions.size(), 2u);
  EXPECT_EQ(s->str(), "repository:a/b:pull,push");
}

TEST(Auth, Htpasswd) {
  Tmp t;
  Config c;
  c.htpasswd_path = t.file("htpasswd", "alice:" + bcrypt("secret") + "\n");
  auto a = std::move(*Auth::create(c));
  std::string ch;
  Scope need{"repository", "x", {"push"}};
  EXPECT_EQ(*a->check(basic("alice:secret"), need, &ch), "alice");
  auto bad = a->check(basic("alice:wrong"), need, &ch);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().status(), 401);
  EXPECT_EQ(ch, "Basic realm=\"berth-registry\"");
  EXPECT_FALSE(a->check("", need, &ch));
  EXPECT_FALSE(a->check(basic("bob:secret"), need, &ch));
}

TEST(Auth, TokenHs256RoundTripAndScopes) {
  Tmp t;
  Config c;
  c.htpasswd_path = t.file("htpasswd", "alice:" + bcrypt("pw") + "\n");
  c.token_realm = "http://127.0.0.1/token";
  c.token_secret = "shh";
  auto a = std::move(*Auth::create(c));
  ASSERT_TRUE(a->serves_tokens());
  auto body = a->issue(basic("alice:pw"), {"repository:app:pull,push"}, "berth-registry");
  ASSERT_TRUE(body) << body.error().message;
  std::string tok = nlohmann::json::parse(*body)["token"];
  std::string ch;
  EXPECT_TRUE(a->check("Bearer " + tok, Scope{"repository", "app", {"pull"}}, &ch));
  auto denied = a->check("Bearer " + tok, Scope{"repository", "other", {"pull"}}, &ch);
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code, Code::Unauthorized);
  EXPECT_NE(ch.find(",error=\"insufficient_scope\""), std::string::npos) << ch;
  EXPECT_FALSE(a->check("Bearer " + tok, Scope{"repository", "app", {"delete"}}, &ch));
  EXPECT_EQ(ch, R"(Bearer realm="http://127.0.0.1/token",service="berth-registry",scope="repository:app:delete",error="insufficient_scope")");
  // Tampered payload fails the signature.
  std::string bad = tok;
  bad[bad.find('.') + 3] ^= 1;
  EXPECT_EQ(a->check("Bearer " + bad, Scope{"repository", "app", {"pull"}}, &ch).error().code, Code::Unauthorized);
  EXPECT_FALSE(a->issue(basic("alice:nope"), {"repository:app:pull"}, ""));
  // Anonymous: a token without access.
  auto anon = a->issue("", {"repository:app:pull"}, "");
  ASSERT_TRUE(anon);
  std::string atok = nlohmann::json::parse(*anon)["token"];
  EXPECT_EQ(a->check("Bearer " + atok, Scope{"repository", "app", {"pull"}}, &ch).error().code, Code::Unauthorized);
}

std::string pem_private(EVP_PKEY* k) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
  char* p;
  long n = BIO_get_mem_data(b, &p);
  std::string s(p, static_cast<std::size_t>(n));
  BIO_free(b);
  return s;
}
std::string pem_public(EVP_PKEY* k) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(b, k);
  char* p;
  long n = BIO_get_mem_data(b, &p);
  std::string s(p, static_cast<std::size_t>(n));
  BIO_free(b);
  return s;
}

void asym_round_trip(EVP_PKEY* k) {
  ASSERT_NE(k, nullptr);
  Tmp t;
  Config issuer;
  issuer.token_realm = "r";
  issuer.token_signingkey = t.file("key.pem", pem_private(k));
  auto ia = std::move(*Auth::create(issuer));
  auto body = ia->issue("", {"repository:app:pull"}, "");
  ASSERT_TRUE(body);
  std::string tok = nlohmann::json::parse(*body)["token"];
  // A registry that only has the public key validates it.
  Config verifier;
  verifier.token_realm = "r";
  verifier.token_rootcertbundle = t.file("pub.pem", pem_public(k));
  auto va = std::move(*Auth::create(verifier));
  std::string ch;
  EXPECT_TRUE(va->check("Bearer " + tok, Scope{"repository", "app", {"pull"}}, &ch));
  EXPECT_FALSE(va->check("Bearer " + tok, Scope{"repository", "app", {"push"}}, &ch));
  EVP_PKEY_free(k);
}

TEST(Auth, TokenRs256) { asym_round_trip(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048))); }
TEST(Auth, TokenEs256) { asym_round_trip(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")); }

TEST(Config, YamlSubsetAndOverrides) {
  auto c = config_from_yaml(R"(version: 0.1
log:
  level: debug   # comment
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: "/srv/reg"
  delete:
    enabled: true
  maintenance:
    readonly:
      enabled: false
    uploadpurging:
      age: 2h
  gc:
    interval: 10m
http:
  addr: ":5001"
  tls:
    certificate: /c.pem
    key: /k.pem
auth:
  htpasswd:
    realm: r
    path: /etc/htpasswd
proxy:
  remoteurl: https://registry-1.docker.io
  username: u
  password: 'p#x'
)");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->root, "/srv/reg");
  EXPECT_TRUE(c->delete_enabled);
  EXPECT_FALSE(c->readonly);
  EXPECT_FALSE(c->accesslog);
  EXPECT_EQ(c->log_level, "debug");
  EXPECT_EQ(c->upload_purge_age.count(), 7200);
  EXPECT_EQ(c->gc_interval.count(), 600);
  EXPECT_EQ(c->addr, ":5001");
  EXPECT_EQ(c->tls_key, "/k.pem");
  EXPECT_EQ(c->htpasswd_path, "/etc/htpasswd");
  EXPECT_EQ(c->proxy_remoteurl, "https://registry-1.docker.io");
  EXPECT_EQ(c->proxy_password, "p#x");
  EXPECT_FALSE(config_from_yaml("a:\n\t- b\n"));
  auto hp = split_addr(":5000");
  EXPECT_EQ(hp->first, "");
  EXPECT_EQ(hp->second, 5000);
  EXPECT_EQ(split_addr("[::1]:80")->first, "::1");
  EXPECT_FALSE(split_addr("nohost"));
}

}  // namespace
}  // namespace berth::registry
