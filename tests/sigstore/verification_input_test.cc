#include "sigstore/verification_input.h"

#include <gtest/gtest.h>

namespace kw::sigstore {
namespace {

TEST(SigstoreInputV1, PubKeyVerifyBecomesOneConstraintPerKey) {
  auto req = parseVerificationInputV1(
      R"({"SigstorePubKeyVerify":{"image":"ghcr.io/a/b:1","pub_keys":["K1","K2"],"annotations":{"env":"prod"}}})");
  ASSERT_TRUE(req.ok()) << req.error().message;
  EXPECT_EQ(req->image, "ghcr.io/a/b:1");
  ASSERT_EQ(req->all_of.size(), 2u);
  EXPECT_EQ(std::get<PubKeyConstraint>(req->all_of[1].what).key_pem, "K2");
  ASSERT_TRUE(req->all_of[0].annotations.has_value());
  EXPECT_EQ(req->all_of[0].annotations->at("env"), "prod");
}

TEST(SigstoreInputV1, KeylessVerifyKeepsIssuerAndSubject) {
  auto req = parseVerificationInputV1(
      R"({"SigstoreKeylessVerify":{"image":"i","keyless":[{"issuer":"https://iss","subject":"me@x.io"}],"annotations":null}})");
  ASSERT_TRUE(req.ok()) << req.error().message;
  const auto& c = std::get<IssuerConstraint>(req->all_of.at(0).what);
  EXPECT_EQ(c.issuer, "https://iss");
  EXPECT_EQ(c.subject, "me@x.io");
  EXPECT_FALSE(c.url_prefix);
  EXPECT_FALSE(req->all_of[0].annotations.has_value());
}

TEST(SigstoreInputV1, RejectsInternallyTaggedAndUnknownVariants) {
  auto internal =
      parseVerificationInputV1(R"({"type":"SigstorePubKeyVerify","image":"i","pub_keys":["k"]})");
  ASSERT_FALSE(internal.ok());
  EXPECT_NE(internal.error().message.find("expected {\"SigstorePubKeyVerify\""), std::string::npos)
      << internal.error().message;
  auto v2only =
      parseVerificationInputV1(R"({"SigstoreGithubActionsVerify":{"image":"i","owner":"o"}})");
  ASSERT_FALSE(v2only.ok());
  EXPECT_NE(v2only.error().message.find("SigstoreGithubActionsVerify"), std::string::npos);
}

TEST(SigstoreInputV1, EmptyKeyListIsUpstreamsError) {
  auto req = parseVerificationInputV1(R"({"SigstorePubKeyVerify":{"image":"i","pub_keys":[]}})");
  ASSERT_FALSE(req.ok());
  EXPECT_NE(req.error().message.find("Must provide at least one pub key"), std::string::npos);
}

TEST(SigstoreInputV2, AllFiveVariantsParse) {
  auto pk =
      parseVerificationInputV2(R"({"type":"SigstorePubKeyVerify","image":"i","pub_keys":["k"]})");
  ASSERT_TRUE(pk.ok()) << pk.error().message;
  EXPECT_TRUE(std::holds_alternative<PubKeyConstraint>(pk->all_of.at(0).what));

  auto kl = parseVerificationInputV2(
      R"({"type":"SigstoreKeylessVerify","image":"i","keyless":[{"issuer":"a","subject":"b"}]})");
  ASSERT_TRUE(kl.ok()) << kl.error().message;
  EXPECT_FALSE(std::get<IssuerConstraint>(kl->all_of.at(0).what).url_prefix);

  auto kp = parseVerificationInputV2(
      R"({"type":"SigstoreKeylessPrefixVerify","image":"i","keyless_prefix":[{"issuer":"a","url_prefix":"https://github.com/org"}]})");
  ASSERT_TRUE(kp.ok()) << kp.error().message;
  const auto& prefix = std::get<IssuerConstraint>(kp->all_of.at(0).what);
  EXPECT_TRUE(prefix.url_prefix);
  EXPECT_EQ(prefix.subject, "https://github.com/org");

  auto gh = parseVerificationInputV2(
      R"({"type":"SigstoreGithubActionsVerify","image":"i","owner":"kubewarden","repo":null})");
  ASSERT_TRUE(gh.ok()) << gh.error().message;
  EXPECT_EQ(std::get<GithubConstraint>(gh->all_of.at(0).what).owner, "kubewarden");
  EXPECT_FALSE(std::get<GithubConstraint>(gh->all_of.at(0).what).repo.has_value());

  auto cert = parseVerificationInputV2(
      R"({"type":"SigstoreCertificateVerify","image":"i","certificate":[65,66],"certificate_chain":[[67]],"require_rekor_bundle":true,"annotations":[{"key":"a","value":"b"}]})");
  ASSERT_TRUE(cert.ok()) << cert.error().message;
  EXPECT_TRUE(cert->certificate);
  const auto& cc = std::get<CertificateConstraint>(cert->all_of.at(0).what);
  EXPECT_EQ(cc.certificate, "AB");
  ASSERT_TRUE(cc.chain.has_value());
  EXPECT_EQ(cc.chain->at(0), "C");
  EXPECT_TRUE(cc.require_rekor_bundle);
  EXPECT_EQ(cert->all_of[0].annotations->at("a"), "b");
}

TEST(SigstoreInputV2, MalformedPayloadsNameWhatIsWrong) {
  struct Case {
    const char* payload;
    const char* expected;
  };
  const Case cases[] = {
      {"not json", "not JSON"},
      {R"({"image":"i"})", "missing field `type`"},
      {R"({"type":"SigstoreMagicVerify","image":"i"})", "unknown variant `SigstoreMagicVerify`"},
      {R"({"type":"SigstorePubKeyVerify","pub_keys":["k"]})", "missing field `image`"},
      {R"({"type":"SigstorePubKeyVerify","image":"i","pub_keys":"k"})",
       "`pub_keys`: expected an array"},
      {R"({"type":"SigstoreKeylessVerify","image":"i","keyless":[{"issuer":"a"}]})",
       "missing field `subject`"},
      {R"({"type":"SigstoreKeylessPrefixVerify","image":"i","keyless_prefix":[{"issuer":"a","url_prefix":"nourl"}]})",
       "invalid url_prefix"},
      {R"({"type":"SigstoreGithubActionsVerify","image":"i"})", "missing field `owner`"},
      {R"({"type":"SigstoreCertificateVerify","image":"i","certificate":[300],"require_rekor_bundle":false})",
       "expected an array of bytes"},
      {R"({"type":"SigstoreCertificateVerify","image":"i","certificate":[1]})",
       "missing field `require_rekor_bundle`"},
      {R"({"type":"SigstorePubKeyVerify","image":"i","pub_keys":["k"],"annotations":{"a":1}})",
       "annotation `a`"},
  };
  for (const auto& c : cases) {
    auto req = parseVerificationInputV2(c.payload);
    ASSERT_FALSE(req.ok()) << c.payload;
    EXPECT_NE(req.error().message.find("oci/v2/verify"), std::string::npos) << req.error().message;
    EXPECT_NE(req.error().message.find(c.expected), std::string::npos)
        << c.payload << " → " << req.error().message;
  }
}

}  // namespace
}  // namespace kw::sigstore
