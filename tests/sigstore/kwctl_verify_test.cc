// `kwctl verify` end to end: the built binary against a signed policy in a local registry.
#include <fmt/format.h>

#include "sigstore/signed_registry.h"

namespace kw::sigstore {
namespace {

using namespace kw::sigstore::fixture;

class SigstoreKwctlVerify : public SignedRegistryTest {
 protected:
  void SetUp() override {
    SignedRegistryTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    makeScratchDir("kwctl-verify");
    write("other.pub", cs::publicKeyPem(cs::newEcKey()));
    write("fulcio.pem", cs::certPem(fulcio_));
    write("rekor.pub", cs::publicKeyPem(rekor_key_));
  }
  static std::string kwctl() { return (test::binDir() / "kwctl").string(); }
  // The fake Fulcio root and Rekor key that keyless signatures need.
  std::string trust() {
    return "--fulcio-cert-path " + path("fulcio.pem") + " --rekor-public-key-path " +
           path("rekor.pub");
  }
  test::CommandResult verify(const std::string& repo, const std::string& flags) {
    return test::runCommand(fmt::format("{} verify --sources-path {} {} registry://{} 2>&1",
                                        kwctl(), path("sources.yml"), flags, image(repo)));
  }
};

TEST_F(SigstoreKwctlVerify, KeyAndAnnotationFlags) {
  auto digest = push("kwctl/pubkey");
  attach("kwctl/pubkey", digest, {keySigned(key_, "kwctl/pubkey", digest, {{"env", "prod"}})});

  auto ok = verify("kwctl/pubkey", "-k " + path("key.pub") + " -a env=prod");
  EXPECT_EQ(ok.status, 0) << ok.out;
  EXPECT_NE(ok.out.find("Policy successfully verified"), std::string::npos) << ok.out;

  auto wrong_key = verify("kwctl/pubkey", "-k " + path("other.pub"));
  EXPECT_NE(wrong_key.status, 0);
  EXPECT_NE(wrong_key.out.find("Image verification failed: missing signatures"), std::string::npos)
      << wrong_key.out;

  auto wrong_annotation = verify("kwctl/pubkey", "-k " + path("key.pub") + " -a env=dev");
  EXPECT_NE(wrong_annotation.status, 0);

  auto only_annotation = verify("kwctl/pubkey", "-a env=prod");
  EXPECT_NE(only_annotation.status, 0);
  EXPECT_NE(only_annotation.out.find("Intending to verify annotations, but no verification keys"),
            std::string::npos)
      << only_annotation.out;

  auto missing_key = verify("kwctl/pubkey", "-k " + path("nope.pub"));
  EXPECT_NE(missing_key.status, 0);
  EXPECT_NE(missing_key.out.find("No such file or directory"), std::string::npos)
      << missing_key.out;
}

TEST_F(SigstoreKwctlVerify, VerificationConfigFileWithAnyOf) {
  auto digest = push("kwctl/config");
  attach("kwctl/config", digest,
         {keySigned(key_, "kwctl/config", digest),
          keyless({.email = "dev@example.com", .oidc_issuer = kIssuer}, "kwctl/config", digest)});
  auto indented = [](std::string pem) {
    std::string out;
    for (char c : pem) {
      out += c;
      if (c == '\n') out += "          ";
    }
    return out;
  };
  write("config.yml", fmt::format(R"(apiVersion: v1
anyOf:
  minimumMatches: 2
  signatures:
    - kind: pubKey
      key: |
          {}
    - kind: genericIssuer
      issuer: {}
      subject:
        equal: dev@example.com
    - kind: githubAction
      owner: kubewarden
)",
                                  indented(cs::publicKeyPem(key_)), kIssuer));
  auto ok = verify("kwctl/config", trust() + " --verification-config-path " + path("config.yml"));
  EXPECT_EQ(ok.status, 0) << ok.out;
  EXPECT_NE(ok.out.find("Policy successfully verified"), std::string::npos) << ok.out;

  // Without the Fulcio root only one signature can be checked: keyless needs the flag.
  auto no_root = verify("kwctl/config", "--verification-config-path " + path("config.yml"));
  EXPECT_NE(no_root.status, 0);
  EXPECT_NE(no_root.out.find("--fulcio-cert-path"), std::string::npos) << no_root.out;

  // Keyless signatures count only with a Rekor bundle, so the Rekor key is needed as well.
  auto no_rekor = verify("kwctl/config", "--fulcio-cert-path " + path("fulcio.pem") +
                                             " --verification-config-path " + path("config.yml"));
  EXPECT_NE(no_rekor.status, 0);
  EXPECT_NE(no_rekor.out.find("--rekor-public-key-path"), std::string::npos) << no_rekor.out;

  auto email = verify("kwctl/config", fmt::format("{} --cert-email dev@example.com "
                                                  "--cert-oidc-issuer {}",
                                                  trust(), kIssuer));
  EXPECT_EQ(email.status, 0) << email.out;
  auto wrong_email = verify("kwctl/config", fmt::format("{} --cert-email x@example.com "
                                                        "--cert-oidc-issuer {}",
                                                        trust(), kIssuer));
  EXPECT_NE(wrong_email.status, 0) << wrong_email.out;
}

TEST_F(SigstoreKwctlVerify, UnsignedPolicyFails) {
  push("kwctl/unsigned");
  auto r = verify("kwctl/unsigned", "-k " + path("key.pub"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("no signatures found for image"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace kw::sigstore
