// Issue 17: the seven ways signature verification could be bypassed, each reproduced against
// the real docker-registry with signatures made in the test, and each now refused.
#include <fmt/format.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "fetch/fetcher.h"
#include "oci/digest.h"
#include "sigstore/signed_registry.h"
#include "store/store.h"
#include "support/server_process.h"

namespace kw::sigstore {
namespace {

namespace fs = std::filesystem;
using namespace kw::sigstore::fixture;

class VerificationBypass : public SignedRegistryTest {
 protected:
  void SetUp() override {
    SignedRegistryTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    makeScratchDir("bypass");
    std::ostringstream config;
    config << "apiVersion: v1\nallOf:\n  - kind: pubKey\n    key: |\n";
    std::istringstream pem(cs::publicKeyPem(key_));
    for (std::string line; std::getline(pem, line);) config << "      " << line << "\n";
    write("verification.yml", config.str());
  }
  // Pushes `module` as repo:v1 (moving the tag if it existed); the manifest digest.
  std::string pushModule(const std::string& repo, const fs::path& module) {
    auto pushed = client_->pushPolicy(ref(repo), module);
    EXPECT_TRUE(pushed.ok()) << pushed.error().message;
    return pushed.ok() ? pushed->manifest_digest : "";
  }
  std::string url(const std::string& repo) const {
    return "registry://" + registry_->host() + "/" + repo + ":v1";
  }
  static std::string sha256Of(const fs::path& file) {
    auto hex = oci::sha256File(file);
    return hex.ok() ? *hex : "unreadable: " + hex.error().message;
  }
};

// Point 1: with verification on, a file://, https:// or plain-path policy would run unsigned.
TEST_F(VerificationBypass, ServerRefusesPoliciesThatCannotBeVerified) {
  fs::path module = fs::absolute(policy_);
  std::string policies = fmt::format(
      "local:\n  url: file://{}\nweb:\n  url: https://127.0.0.1:{}/policy.wasm\n"
      "plain:\n  url: {}\n",
      module.string(), test::freePort(), module.string());
  test::ServerProcess server(policies, {"--sources-path", path("sources.yml"),
                                        "--verification-path", path("verification.yml")});
  EXPECT_NE(server.waitExit(), 0) << server.log();
  for (const char* id : {"local", "web", "plain"}) {
    EXPECT_NE(server.log().find(fmt::format("policy \"{}\"", id)), std::string::npos)
        << id << "\n"
        << server.log();
  }
  EXPECT_NE(server.log().find("Verification only works with OCI images"), std::string::npos)
      << server.log();
}

// Point 2: `repo:v1@sha256:X` must mean X even after v1 moved to another signed build Y.
TEST_F(VerificationBypass, DigestPinWinsOverAMovedTag) {
  std::string pinned = pushModule("pin/policy", policy_);
  attach("pin/policy", pinned, {keySigned(key_, "pin/policy", pinned)});
  std::string moved = pushModule("pin/policy", test::guestPath("always_accept"));
  attach("pin/policy", moved, {keySigned(key_, "pin/policy", moved)});
  ASSERT_NE(pinned, moved);

  oci::Reference both{registry_->host(), "pin/policy", "v1", pinned};
  auto digest = client_->manifestDigest(both);
  ASSERT_TRUE(digest.ok()) << digest.error().message;
  EXPECT_EQ(*digest, pinned);

  // kwctl pull -k verifies X and stores X's module under the name the user wrote.
  std::string uri = url("pin/policy") + "@" + pinned;
  auto pull = test::runCommand(
      fmt::format("XDG_CACHE_HOME={} {} pull --sources-path {} -k {} {} 2>&1", dir_.string(),
                  (test::binDir() / "kwctl").string(), path("sources.yml"), path("key.pub"), uri));
  ASSERT_EQ(pull.status, 0) << pull.out;
  store::Store store(dir_ / "kubewarden" / "store");
  auto stored = store.pathFor(uri);
  ASSERT_TRUE(stored.ok()) << stored.error().message;
  EXPECT_EQ(sha256Of(*stored), sha256Of(policy_));

  // A store entry holding Y's bytes under X's name (as the old pull wrote it) is re-hashed
  // against X's manifest before reuse, and pulled again.
  fs::copy_file(test::guestPath("always_accept"), *stored, fs::copy_options::overwrite_existing);
  fetch::Fetcher fetcher(registry_->clientOptions(), store);
  auto fetched = fetcher.fetch(uri);
  ASSERT_TRUE(fetched.ok()) << fetched.error().message;
  EXPECT_TRUE(fetched->downloaded);
  EXPECT_EQ(sha256Of(fetched->path), sha256Of(policy_));
  // An intact entry is reused as it is.
  auto again = fetcher.fetch(uri);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_FALSE(again->downloaded);

  // A digest the repository does not hold is not found, whatever the tag says.
  std::string absent = "sha256:" + std::string(64, '0');
  auto missing = client_->manifestDigest({registry_->host(), "pin/policy", "v1", absent});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("manifest not found"), std::string::npos)
      << missing.error().message;
}

// Point 3: an empty allOf (or anyOf with minimumMatches 0) accepted a forged `.sig` manifest.
TEST_F(VerificationBypass, ConfigThatConstrainsNothingIsRefused) {
  std::string digest = push("forged/policy");
  auto payload = cs::simpleSigningPayload(registry_->host() + "/forged/policy", digest);
  attach("forged/policy", digest, {Signature{payload, "not a signature", {}}});

  VerificationConfig empty{std::vector<Constraint>{}, std::nullopt};
  auto verified = Verifier(*client_, {}).verifyConfig(image("forged/policy"), empty);
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.error().message, "Image verification failed: no signatures to verify");

  write("empty.yml", "apiVersion: v1\nallOf: []\n");
  test::ServerProcess server(
      "p:\n  url: " + url("forged/policy") + "\n",
      {"--sources-path", path("sources.yml"), "--verification-path", path("empty.yml")});
  EXPECT_NE(server.waitExit(), 0) << server.log();
  EXPECT_NE(server.log().find("allOf lists no signature"), std::string::npos) << server.log();

  write("zero.yml",
        "apiVersion: v1\nanyOf:\n  minimumMatches: 0\n  signatures:\n"
        "    - kind: githubAction\n      owner: kubewarden\n");
  auto kwctl = test::runCommand(
      fmt::format("{} verify --sources-path {} --verification-config-path {} {} 2>&1",
                  (test::binDir() / "kwctl").string(), path("sources.yml"), path("zero.yml"),
                  url("forged/policy")));
  EXPECT_NE(kwctl.status, 0);
  EXPECT_NE(kwctl.out.find("`minimumMatches` is 0"), std::string::npos) << kwctl.out;
}

// Point 4: a genuine Rekor bundle copied from another signature lent its log time to a layer.
TEST_F(VerificationBypass, RekorBundleFromAnotherSignatureLendsNoTime) {
  std::string digest = push("rekor/copied");
  auto signer = cs::newEcKey();
  auto cert = cs::issue({.email = "ci@example.com"}, signer, fulcio_, fulcio_key_);
  auto bytes = [](const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); };
  json request = {{"type", "SigstoreCertificateVerify"},
                  {"image", image("rekor/copied")},
                  {"certificate", bytes(cs::certPem(cert))},
                  {"certificate_chain", {bytes(cs::certPem(fulcio_))}},
                  {"require_rekor_bundle", true}};
  auto trust = fulcioTrust();

  // The bundle of some other logged signature, genuine and signed by the log.
  auto other =
      keyless({.email = "someone@example.com", .oidc_issuer = kIssuer}, "rekor/copied", digest);
  auto copied = keySigned(signer, "rekor/copied", digest);
  copied.annotations[kBundleAnnotation] = other.annotations.at(kBundleAnnotation);
  attach("rekor/copied", digest, {copied});
  auto refused = v2(request, trust);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message.rfind("verification failed: ", 0), 0u)
      << refused.error().message;

  // The same signature with a bundle that logs it passes.
  auto logged = keySigned(signer, "rekor/copied", digest);
  logged.annotations[kBundleAnnotation] =
      cs::rekorBundle(rekor_key_, static_cast<long>(std::time(nullptr)) - 60,
                      cs::hashedRekordBody(logged.payload, logged.signature, cs::certPem(cert)));
  attach("rekor/copied", digest, {logged});
  auto accepted = v2(request, trust);
  ASSERT_TRUE(accepted.ok()) << accepted.error().message;
  EXPECT_EQ(*accepted, trustedReply(digest));
}

// Point 5: a keyless certificate was checked at the current time when no bundle came with it.
TEST_F(VerificationBypass, KeylessNeedsTransparencyLogProof) {
  std::string digest = push("keyless/unlogged");
  json request = {{"type", "SigstoreKeylessVerify"},
                  {"image", image("keyless/unlogged")},
                  {"keyless", {{{"issuer", kIssuer}, {"subject", "dev@example.com"}}}}};
  cs::CertSpec spec{.email = "dev@example.com", .oidc_issuer = kIssuer};
  attach("keyless/unlogged", digest, {keyless(spec, "keyless/unlogged", digest, false)});
  EXPECT_FALSE(v2(request, fulcioTrust()).ok());

  attach("keyless/unlogged", digest, {keyless(spec, "keyless/unlogged", digest, true)});
  auto logged = v2(request, fulcioTrust());
  ASSERT_TRUE(logged.ok()) << logged.error().message;
  // Without a Rekor key no bundle can be trusted, so the certificate counts for nothing.
  EXPECT_FALSE(v2(request, TrustRoot{{cs::certPem(fulcio_)}, ""}).ok());
}

// Point 6: upstream verifies whenever a verification config is given; the controller sets only
// KUBEWARDEN_VERIFICATION_CONFIG_PATH.
TEST_F(VerificationBypass, VerificationConfigAloneTurnsVerificationOn) {
  push("alone/unsigned");
  std::string policies = "p:\n  url: " + url("alone/unsigned") + "\n";
  test::ServerProcess by_flag(policies, {"--sources-path", path("sources.yml"),
                                         "--verification-path", path("verification.yml")});
  EXPECT_NE(by_flag.waitExit(), 0) << by_flag.log();
  EXPECT_NE(by_flag.log().find("policy \"p\""), std::string::npos) << by_flag.log();
  EXPECT_NE(by_flag.log().find("no signatures found for image"), std::string::npos)
      << by_flag.log();

  ::setenv("KUBEWARDEN_VERIFICATION_CONFIG_PATH", path("verification.yml").c_str(), 1);
  test::ServerProcess by_env(policies, {"--sources-path", path("sources.yml")});
  ::unsetenv("KUBEWARDEN_VERIFICATION_CONFIG_PATH");
  EXPECT_NE(by_env.waitExit(), 0) << by_env.log();
  EXPECT_NE(by_env.log().find("no signatures found for image"), std::string::npos) << by_env.log();

  std::string digest = push("alone/signed");
  attach("alone/signed", digest, {keySigned(key_, "alone/signed", digest)});
  test::ServerProcess signed_server(
      "p:\n  url: " + url("alone/signed") + "\n",
      {"--sources-path", path("sources.yml"), "--verification-path", path("verification.yml")});
  ASSERT_TRUE(signed_server.waitReady()) << signed_server.log();
  signed_server.terminate();
}

// Point 7: bodies collected in memory had no cap, so a hostile registry could grow the process
// (reachable from a policy's oci/v1/manifest_digest and oci/v*/verify host calls).
TEST_F(VerificationBypass, OversizedRegistryBodiesAreRefused) {
  const std::string big(5u << 20, 'x');
  auto blob = client_->pushBlob(ref("huge/blob"), oci::Upload{"application/octet-stream", big, {}});
  ASSERT_TRUE(blob.ok()) << blob.error().message;
  auto fetched = client_->fetchBlob(ref("huge/blob"), *blob);
  ASSERT_FALSE(fetched.ok());
  EXPECT_NE(fetched.error().message.find("its body is larger than 4194304 bytes"),
            std::string::npos)
      << fetched.error().message;

  // A signature layer that large stops verification with the same words.
  std::string digest = push("huge/signed");
  attach("huge/signed", digest, {Signature{big, "sig", {}}});
  auto verified = v2({{"type", "SigstorePubKeyVerify"},
                      {"image", image("huge/signed")},
                      {"pub_keys", {cs::publicKeyPem(key_)}}});
  ASSERT_FALSE(verified.ok());
  EXPECT_NE(verified.error().message.find("its body is larger than 4194304 bytes"),
            std::string::npos)
      << verified.error().message;
}

}  // namespace
}  // namespace kw::sigstore
