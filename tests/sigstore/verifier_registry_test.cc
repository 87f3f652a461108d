// End to end against a real docker-registry: a policy is pushed, signed as cosign does, then
// checked through the oci/v1/verify and oci/v2/verify entry points.
#include "sigstore/signed_registry.h"

namespace kw::sigstore {
namespace {

using namespace kw::sigstore::fixture;

class SigstoreRegistry : public SignedRegistryTest {};

TEST_F(SigstoreRegistry, PublicKeySignatureIsTrustedWithTheImageDigest) {
  auto digest = push("pubkey/good");
  attach("pubkey/good", digest, {keySigned(key_, "pubkey/good", digest, {{"env", "prod"}})});

  auto v1 = Verifier(*client_, {})
                .verifyV1(json{{"SigstorePubKeyVerify",
                                {{"image", image("pubkey/good")},
                                 {"pub_keys", {cs::publicKeyPem(key_)}},
                                 {"annotations", nullptr}}}}
                              .dump());
  ASSERT_TRUE(v1.ok()) << v1.error().message;
  EXPECT_EQ(*v1, trustedReply(digest));

  auto with_annotation = v2({{"type", "SigstorePubKeyVerify"},
                             {"image", "registry://" + image("pubkey/good")},
                             {"pub_keys", {cs::publicKeyPem(key_)}},
                             {"annotations", {{"env", "prod"}}}});
  ASSERT_TRUE(with_annotation.ok()) << with_annotation.error().message;
  EXPECT_EQ(*with_annotation, trustedReply(digest));
}

TEST_F(SigstoreRegistry, TamperedSignaturesAreRejectedWithUpstreamsErrors) {
  auto digest = push("pubkey/tampered");
  auto altered = keySigned(key_, "pubkey/tampered", digest);
  altered.signature[altered.signature.size() / 2] ^= 0x20;
  attach("pubkey/tampered", digest, {altered});
  auto pubkey = [&](const std::string& repo, const cs::Key& key, json annotations = nullptr) {
    return json{{"type", "SigstorePubKeyVerify"},
                {"image", image(repo)},
                {"pub_keys", {cs::publicKeyPem(key)}},
                {"annotations", annotations}};
  };
  auto r = v2(pubkey("pubkey/tampered", key_));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("Image verification failed: missing signatures"),
            std::string::npos)
      << r.error().message;

  // Right signature, wrong key; then right key, annotation not signed.
  auto good = push("pubkey/other-key");
  attach("pubkey/other-key", good, {keySigned(key_, "pubkey/other-key", good, {{"env", "dev"}})});
  r = v2(pubkey("pubkey/other-key", cs::newEcKey()));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("missing signatures"), std::string::npos);
  r = v2(pubkey("pubkey/other-key", key_, {{"env", "prod"}}));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("missing signatures"), std::string::npos);
  EXPECT_NE(r.error().message.find("env: prod"), std::string::npos) << r.error().message;
  EXPECT_TRUE(v2(pubkey("pubkey/other-key", key_, {{"env", "dev"}})).ok());
}

TEST_F(SigstoreRegistry, SignatureOfAnotherImageOrNoneAtAllIsAnError) {
  auto digest = push("pubkey/moved");
  const std::string other = "sha256:" + std::string(64, 'c');
  attach("pubkey/moved", digest, {keySigned(key_, "pubkey/moved", other)});
  json request = {{"type", "SigstorePubKeyVerify"},
                  {"image", image("pubkey/moved")},
                  {"pub_keys", {cs::publicKeyPem(key_)}}};
  auto r = v2(request);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("no signature layer passed verification"), std::string::npos)
      << r.error().message;

  push("pubkey/unsigned");
  request["image"] = image("pubkey/unsigned");
  r = v2(request);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("no signatures found for image: " + image("pubkey/unsigned")),
            std::string::npos)
      << r.error().message;
}

TEST_F(SigstoreRegistry, EveryRequestedKeyMustHaveSigned) {
  auto digest = push("pubkey/two");
  auto second = cs::newEcKey();
  attach("pubkey/two", digest,
         {keySigned(key_, "pubkey/two", digest), keySigned(second, "pubkey/two", digest)});
  json request = {{"type", "SigstorePubKeyVerify"},
                  {"image", image("pubkey/two")},
                  {"pub_keys", {cs::publicKeyPem(key_), cs::publicKeyPem(second)}}};
  auto r = v2(request);
  ASSERT_TRUE(r.ok()) << r.error().message;
  request["pub_keys"].push_back(cs::publicKeyPem(cs::newEcKey()));
  EXPECT_FALSE(v2(request).ok());
}

TEST_F(SigstoreRegistry, KeylessSignatureChecksRootSubjectAndIssuer) {
  auto digest = push("keyless/email");
  attach("keyless/email", digest,
         {keyless({.email = "dev@example.com", .oidc_issuer = kIssuer}, "keyless/email", digest)});
  auto request = [&](std::string issuer, std::string subject) {
    return json{{"type", "SigstoreKeylessVerify"},
                {"image", image("keyless/email")},
                {"keyless", {{{"issuer", issuer}, {"subject", subject}}}}};
  };
  auto r = v2(request(kIssuer, "dev@example.com"), fulcioTrust());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, trustedReply(digest));

  auto other_key = cs::newEcKey();
  auto other_root = cs::issue({.common_name = "other", .ca = true}, other_key, nullptr, nullptr);
  EXPECT_FALSE(
      v2(request(kIssuer, "dev@example.com"), TrustRoot{{cs::certPem(other_root)}, ""}).ok());
  EXPECT_FALSE(v2(request(kIssuer, "dev@example.com")).ok());  // no Fulcio root at all
  EXPECT_FALSE(v2(request(kIssuer, "someone@example.com"), fulcioTrust()).ok());
  EXPECT_FALSE(v2(request("https://other.example.com", "dev@example.com"), fulcioTrust()).ok());
}

TEST_F(SigstoreRegistry, KeylessPrefixAndGithubActions) {
  auto digest = push("keyless/github");
  attach(
      "keyless/github", digest,
      {keyless({.uri = kWorkflow, .oidc_issuer = kGithubActionsIssuer}, "keyless/github", digest)});
  auto prefix = [&](std::string url) {
    return json{{"type", "SigstoreKeylessPrefixVerify"},
                {"image", image("keyless/github")},
                {"keyless_prefix", {{{"issuer", kGithubActionsIssuer}, {"url_prefix", url}}}}};
  };
  EXPECT_TRUE(v2(prefix("https://github.com/kubewarden"), fulcioTrust()).ok());
  EXPECT_FALSE(v2(prefix("https://github.com/kube"), fulcioTrust()).ok());

  auto github = [&](std::string owner, json repo) {
    return json{{"type", "SigstoreGithubActionsVerify"},
                {"image", image("keyless/github")},
                {"owner", owner},
                {"repo", repo}};
  };
  auto r = v2(github("kubewarden", "policy"), fulcioTrust());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, trustedReply(digest));
  EXPECT_TRUE(v2(github("kubewarden", nullptr), fulcioTrust()).ok());
  EXPECT_FALSE(v2(github("kubewarden", "other"), fulcioTrust()).ok());
  EXPECT_FALSE(v2(github("evil", nullptr), fulcioTrust()).ok());
}

TEST_F(SigstoreRegistry, CertificateVerifyUsesTheGivenCertificateAndChain) {
  auto digest = push("cert/signed");
  auto key = cs::newEcKey();
  auto cert = cs::issue({.email = "ci@example.com"}, key, fulcio_, fulcio_key_);
  attach("cert/signed", digest, {keySigned(key, "cert/signed", digest)});
  auto bytes = [](const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); };
  json request = {{"type", "SigstoreCertificateVerify"},
                  {"image", image("cert/signed")},
                  {"certificate", bytes(cs::certPem(cert))},
                  {"certificate_chain", {bytes(cs::certPem(fulcio_))}},
                  {"require_rekor_bundle", false}};
  auto r = v2(request);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, trustedReply(digest));

  request["require_rekor_bundle"] = true;  // the signature has no Rekor bundle
  r = v2(request);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind("verification failed: ", 0), 0u) << r.error().message;

  auto stranger = cs::issue({.common_name = "x", .ca = true}, cs::newEcKey(), nullptr, nullptr);
  request["require_rekor_bundle"] = false;
  request["certificate_chain"] = {bytes(cs::certPem(stranger))};
  EXPECT_FALSE(v2(request).ok());
}

TEST_F(SigstoreRegistry, MalformedPayloadIsAnErrorBeforeAnyNetworkCall) {
  auto r = Verifier(*client_, {}).verifyV2(R"({"type":"SigstorePubKeyVerify","pub_keys":[]})");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("missing field `image`"), std::string::npos);
}

}  // namespace
}  // namespace kw::sigstore
