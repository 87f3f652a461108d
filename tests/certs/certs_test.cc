#include "certs/certs.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <chrono>
#include <memory>

namespace kw::certs {
namespace {

using std::chrono::hours;
using std::chrono::system_clock;

// One CA for the suite: RSA key generation is the slow part and each test only reads it.
const CertificateAuthority& sharedCa() {
  static const CertificateAuthority ca = [] {
    auto made = makeRootCa();
    EXPECT_TRUE(made.ok()) << made.error().message;
    return *made;
  }();
  return ca;
}

// A second, unrelated CA for the "wrong CA" cases.
const CertificateAuthority& otherCa() {
  static const CertificateAuthority ca = [] {
    auto made = makeRootCa();
    EXPECT_TRUE(made.ok()) << made.error().message;
    return *made;
  }();
  return ca;
}

std::unique_ptr<X509, decltype(&X509_free)> parsePem(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), int(pem.size())),
                                                BIO_free);
  return {PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free};
}

// Plain OpenSSL chain verification, independent of servingCertFits.
int verifyWithOpenssl(const std::string& ca_pem, const std::string& cert_pem) {
  auto ca = parsePem(ca_pem);
  auto cert = parsePem(cert_pem);
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), X509_STORE_free);
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(),
                                                                      X509_STORE_CTX_free);
  X509_STORE_add_cert(store.get(), ca.get());
  X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr);
  if (X509_verify_cert(ctx.get()) == 1) return X509_V_OK;
  return X509_STORE_CTX_get_error(ctx.get());
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

TEST(Certs, RootCaIsSelfSignedCaValidTenYears) {
  const auto& ca = sharedCa();
  EXPECT_NE(ca.cert_pem.find("-----BEGIN CERTIFICATE-----"), std::string::npos);
  auto info = inspect(ca.cert_pem);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_TRUE(info->is_ca);
  auto now = system_clock::now();
  EXPECT_LE(info->not_before, now + hours(1));
  EXPECT_GE(info->not_before, now - hours(1));
  auto years =
      std::chrono::duration_cast<hours>(info->not_after - info->not_before).count() / 24 / 365.0;
  EXPECT_NEAR(years, 10.0, 0.02);
  // Self-signed: it verifies against itself.
  EXPECT_EQ(verifyWithOpenssl(ca.cert_pem, ca.cert_pem), X509_V_OK);
  // The DER and PEM forms are the same certificate.
  auto der = certPemToDer(ca.cert_pem);
  ASSERT_TRUE(der.ok());
  EXPECT_EQ(*der, ca.cert_der);
}

TEST(Certs, TwoRootCasDiffer) {
  const CertificateAuthority* other = &otherCa();
  EXPECT_NE(other->cert_der, sharedCa().cert_der);
  EXPECT_NE(other->key_der, sharedCa().key_der);
}

TEST(Certs, CaKeyIsPkcs1DerAsUpstreamStoresIt) {
  const auto& ca = sharedCa();
  // PKCS#1 RSAPrivateKey parses with the RSA-specific type, PKCS#8 would not.
  const auto* p = reinterpret_cast<const unsigned char*>(ca.key_der.data());
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      d2i_PrivateKey(EVP_PKEY_RSA, nullptr, &p, long(ca.key_der.size())), EVP_PKEY_free);
  ASSERT_NE(key, nullptr);
  EXPECT_GE(EVP_PKEY_get_bits(key.get()), 2048);
}

TEST(Certs, ServingCertChainsToCaWithSansAndOneYear) {
  const auto& ca = sharedCa();
  auto serving = issueServingCert(ca, {"policy-server-default.kubewarden.svc", "localhost"},
                                  {"127.0.0.1", "::1"});
  ASSERT_TRUE(serving.ok()) << serving.error().message;
  EXPECT_NE(serving->key_pem.find("-----BEGIN RSA PRIVATE KEY-----"), std::string::npos);
  EXPECT_EQ(verifyWithOpenssl(ca.cert_pem, serving->cert_pem), X509_V_OK);

  auto info = inspect(serving->cert_pem);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_FALSE(info->is_ca);
  EXPECT_EQ(info->subject_cn, "policy-server-default.kubewarden.svc");
  EXPECT_TRUE(contains(info->dns_sans, "policy-server-default.kubewarden.svc"));
  EXPECT_TRUE(contains(info->dns_sans, "localhost"));
  EXPECT_TRUE(contains(info->ip_sans, "127.0.0.1"));
  EXPECT_TRUE(contains(info->ip_sans, "0:0:0:0:0:0:0:1"));
  auto days = std::chrono::duration_cast<hours>(info->not_after - info->not_before).count() / 24;
  EXPECT_EQ(days, 365);
  EXPECT_LE(info->not_before, system_clock::now() + hours(1));

  // The key is the certificate's.
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(serving->key_pem.data(), int(serving->key_pem.size())), BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
  auto cert = parsePem(serving->cert_pem);
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
}

// A PolicyServer's Service name can pass X.509's 64-character CN limit; the certificate then
// has no CN and still serves its name through the SAN.
TEST(Certs, ServingCertForANameLongerThanACommonNameCanHold) {
  std::string name = "policy-server-" + std::string(40, 'p') + ".kubewarden-system.svc";
  ASSERT_GT(name.size(), 64u);
  auto serving = issueServingCert(sharedCa(), {name});
  ASSERT_TRUE(serving.ok()) << serving.error().message;
  auto info = inspect(serving->cert_pem);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->subject_cn, "");
  EXPECT_TRUE(contains(info->dns_sans, name));
  EXPECT_TRUE(servingCertFits(sharedCa(), serving->cert_pem, name).ok());
}

TEST(Certs, ServingCertFromAnotherCaDoesNotVerify) {
  const CertificateAuthority* other = &otherCa();
  auto serving = issueServingCert(*other, {"policy-server-default.kubewarden.svc"});
  ASSERT_TRUE(serving.ok());
  EXPECT_NE(verifyWithOpenssl(sharedCa().cert_pem, serving->cert_pem), X509_V_OK);
  auto fits =
      servingCertFits(sharedCa(), serving->cert_pem, "policy-server-default.kubewarden.svc");
  ASSERT_FALSE(fits.ok());
  EXPECT_NE(fits.error().message.find("does not verify"), std::string::npos)
      << fits.error().message;
  EXPECT_TRUE(
      servingCertFits(*other, serving->cert_pem, "policy-server-default.kubewarden.svc").ok());
}

TEST(Certs, ServingCertFitsOnlyItsName) {
  auto serving = issueServingCert(sharedCa(), {"policy-server-a.kubewarden.svc"});
  ASSERT_TRUE(serving.ok());
  EXPECT_TRUE(
      servingCertFits(sharedCa(), serving->cert_pem, "policy-server-a.kubewarden.svc").ok());
  auto other = servingCertFits(sharedCa(), serving->cert_pem, "policy-server-b.kubewarden.svc");
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.error().message.find("policy-server-b.kubewarden.svc"), std::string::npos);
}

TEST(Certs, LoadCaRoundTripsPemAndDerAndSignsAgain) {
  const auto& ca = sharedCa();
  auto from_der = loadCa(ca.cert_der, ca.key_der);
  ASSERT_TRUE(from_der.ok()) << from_der.error().message;
  EXPECT_EQ(from_der->cert_der, ca.cert_der);
  EXPECT_EQ(from_der->cert_pem, ca.cert_pem);
  EXPECT_EQ(from_der->key_der, ca.key_der);
  auto from_pem = loadCa(ca.cert_pem, ca.key_der);
  ASSERT_TRUE(from_pem.ok()) << from_pem.error().message;
  EXPECT_EQ(from_pem->cert_der, ca.cert_der);
  // A CA read back from storage issues certificates the original verifies.
  auto serving = issueServingCert(*from_der, {"x.kubewarden.svc"});
  ASSERT_TRUE(serving.ok());
  EXPECT_EQ(verifyWithOpenssl(ca.cert_pem, serving->cert_pem), X509_V_OK);
}

TEST(Certs, LoadCaRejectsGarbageAndForeignKeys) {
  const auto& ca = sharedCa();
  auto bad_cert = loadCa("not a certificate", ca.key_der);
  ASSERT_FALSE(bad_cert.ok());
  EXPECT_NE(bad_cert.error().message.find("root CA certificate"), std::string::npos);
  auto bad_key = loadCa(ca.cert_der, "");
  ASSERT_FALSE(bad_key.ok());
  EXPECT_NE(bad_key.error().message.find("root CA private key: empty"), std::string::npos);
  const CertificateAuthority* other = &otherCa();
  auto mismatch = loadCa(ca.cert_der, other->key_der);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.error().message, "root CA private key does not belong to its certificate");
}

TEST(Certs, IssueRejectsBadSans) {
  auto none = issueServingCert(sharedCa(), {}, {});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("at least one"), std::string::npos);
  auto bad_ip = issueServingCert(sharedCa(), {"a.svc"}, {"300.1.1.1"});
  ASSERT_FALSE(bad_ip.ok());
  EXPECT_EQ(bad_ip.error().message, "not an IP address: \"300.1.1.1\"");
  auto bad_dns = issueServingCert(sharedCa(), {"a,DNS:evil"}, {});
  ASSERT_FALSE(bad_dns.ok());
  EXPECT_NE(bad_dns.error().message.find("invalid DNS name"), std::string::npos);
}

TEST(Certs, PemDerConversionRejectsGarbage) {
  auto der = certPemToDer("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  EXPECT_FALSE(der.ok());
  auto pem = certDerToPem(sharedCa().cert_der);
  ASSERT_TRUE(pem.ok());
  EXPECT_EQ(*pem, sharedCa().cert_pem);
}

}  // namespace
}  // namespace kw::certs
