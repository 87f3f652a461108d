// Signature layers and constraints in memory: real OpenSSL keys and certificates made by the
// test fixture, no registry.
#include "sigstore/signature_layer.h"

#include <gtest/gtest.h>

#include <ctime>

#include "sigstore/constraints.h"
#include "sigstore/cosign_fixture.h"

namespace kw::sigstore {
namespace {

namespace cs = kw::test::cosign;

const std::string kDigest = "sha256:" + std::string(64, 'a');
const std::string kOtherDigest = "sha256:" + std::string(64, 'b');
constexpr const char* kIssuer = "https://accounts.example.com";

std::string digestOf(const std::string& blob) {
  unsigned char md[32];
  unsigned int n = 0;
  EVP_Digest(blob.data(), blob.size(), md, &n, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned i = 0; i < n; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

RawLayer layerFor(const std::string& payload, const std::string& signature,
                  std::map<std::string, std::string> annotations = {}) {
  annotations[kSignatureAnnotation] = cs::b64(signature);
  return RawLayer{kSimpleSigningMediaType, digestOf(payload), annotations, payload};
}

Constraint pubKey(const cs::Key& key, std::optional<Annotations> a = std::nullopt) {
  return Constraint{PubKeyConstraint{cs::publicKeyPem(key), std::nullopt}, std::move(a)};
}

Constraint issuer(const std::string& iss, const std::string& subject, bool prefix = false) {
  return Constraint{IssuerConstraint{iss, subject, prefix}, std::nullopt};
}

struct Fulcio {
  cs::Key root_key = cs::newEcKey();
  cs::Certificate root =
      cs::issue({.common_name = "fake fulcio", .ca = true, .not_before_offset = -86400}, root_key,
                nullptr, nullptr);
  cs::Key rekor_key = cs::newEcKey();  // the fake transparency log's signing key
  ParsedTrust trust() const {
    auto t = parseTrustRoot(TrustRoot{{cs::certPem(root)}, cs::publicKeyPem(rekor_key)});
    if (!t.ok()) throw std::runtime_error(t.error().message);
    return *t;
  }
};

// How a keyless signature was logged: a bundle bound to it (the default), none, or one signed
// by another log key.
struct Logging {
  bool logged = true;
  long integrated_time = static_cast<long>(std::time(nullptr)) - 60;
  const cs::Key* log_key = nullptr;  // null: the Fulcio fixture's Rekor key
};

// A keyless signature: a leaf key certified by `ca`, the payload signed with it.
RawLayer keylessLayer(const Fulcio& ca, cs::CertSpec spec,
                      const std::map<std::string, std::string>& payload_annotations = {},
                      Logging log = {}) {
  auto leaf_key = cs::newEcKey();
  auto leaf = cs::issue(spec, leaf_key, ca.root, ca.root_key);
  auto payload = cs::simpleSigningPayload("registry.local/p", kDigest, payload_annotations);
  auto signature = cs::sign(leaf_key, payload);
  std::map<std::string, std::string> extra;
  extra[kCertificateAnnotation] = cs::certPem(leaf);
  extra[kChainAnnotation] = cs::certPem(ca.root);
  if (log.logged) {
    extra[kBundleAnnotation] =
        cs::rekorBundle(log.log_key ? *log.log_key : ca.rekor_key, log.integrated_time,
                        cs::hashedRekordBody(payload, signature, cs::certPem(leaf)));
  }
  return layerFor(payload, signature, extra);
}

TEST(SigstoreLayers, PublicKeySignatureIsTrustedOnlyWithTheRightKey) {
  auto key = cs::newEcKey();
  auto payload = cs::simpleSigningPayload("registry.local/p", kDigest);
  auto layers = buildSignatureLayers({layerFor(payload, cs::sign(key, payload))}, kDigest, {});
  ASSERT_EQ(layers.size(), 1u);
  EXPECT_TRUE(satisfied(pubKey(key), layers));
  EXPECT_FALSE(satisfied(pubKey(cs::newEcKey()), layers));
  EXPECT_FALSE(satisfied(Constraint{PubKeyConstraint{"not a key", {}}, {}}, layers));
}

TEST(SigstoreLayers, AlteredSignatureOrPayloadFails) {
  auto key = cs::newEcKey();
  auto payload = cs::simpleSigningPayload("registry.local/p", kDigest);
  auto sig = cs::sign(key, payload);
  sig[sig.size() / 2] ^= 0x01;
  auto layers = buildSignatureLayers({layerFor(payload, sig)}, kDigest, {});
  ASSERT_EQ(layers.size(), 1u);
  EXPECT_FALSE(satisfied(pubKey(key), layers));

  // A payload changed after signing (its blob digest updated to match) no longer verifies.
  auto good_sig = cs::sign(key, payload);
  auto changed = cs::simpleSigningPayload("registry.local/p", kDigest, {{"env", "prod"}});
  layers = buildSignatureLayers({layerFor(changed, good_sig)}, kDigest, {});
  ASSERT_EQ(layers.size(), 1u);
  EXPECT_FALSE(satisfied(pubKey(key), layers));
}

TEST(SigstoreLayers, LayersThatDoNotDescribeTheImageAreSkipped) {
  auto key = cs::newEcKey();
  auto other = cs::simpleSigningPayload("registry.local/p", kOtherDigest);
  EXPECT_TRUE(buildSignatureLayers({layerFor(other, cs::sign(key, other))}, kDigest, {}).empty());

  auto payload = cs::simpleSigningPayload("registry.local/p", kDigest);
  auto wrong_digest = layerFor(payload, cs::sign(key, payload));
  wrong_digest.digest = kOtherDigest;
  EXPECT_TRUE(buildSignatureLayers({wrong_digest}, kDigest, {}).empty());

  auto wrong_type = layerFor(payload, cs::sign(key, payload));
  wrong_type.media_type = "application/octet-stream";
  EXPECT_TRUE(buildSignatureLayers({wrong_type}, kDigest, {}).empty());

  auto unsigned_layer = layerFor(payload, "");
  unsigned_layer.annotations.erase(kSignatureAnnotation);
  EXPECT_TRUE(buildSignatureLayers({unsigned_layer}, kDigest, {}).empty());

  auto typed = nlohmann::json::parse(payload);
  typed["critical"]["type"] = "something else";
  auto retyped = typed.dump();
  EXPECT_TRUE(
      buildSignatureLayers({layerFor(retyped, cs::sign(key, retyped))}, kDigest, {}).empty());
}

TEST(SigstoreLayers, AnnotationsMustAllMatch) {
  auto key = cs::newEcKey();
  auto payload = cs::simpleSigningPayload("r/p", kDigest, {{"env", "prod"}, {"stable", "true"}});
  auto layers = buildSignatureLayers({layerFor(payload, cs::sign(key, payload))}, kDigest, {});
  EXPECT_TRUE(satisfied(pubKey(key, Annotations{{"env", "prod"}}), layers));
  EXPECT_TRUE(satisfied(pubKey(key, Annotations{{"env", "prod"}, {"stable", "true"}}), layers));
  EXPECT_FALSE(satisfied(pubKey(key, Annotations{{"env", "dev"}}), layers));
  EXPECT_FALSE(satisfied(pubKey(key, Annotations{{"owner", "me"}}), layers));
}

TEST(SigstoreLayers, KeylessIdentityNeedsTheConfiguredFulcioRoot) {
  Fulcio ca;
  auto layer = keylessLayer(ca, {.email = "dev@example.com", .oidc_issuer = kIssuer});
  auto layers = buildSignatureLayers({layer}, kDigest, ca.trust());
  ASSERT_EQ(layers.size(), 1u);
  ASSERT_TRUE(layers[0].identity.has_value());
  EXPECT_TRUE(satisfied(issuer(kIssuer, "dev@example.com"), layers));
  EXPECT_FALSE(satisfied(issuer(kIssuer, "other@example.com"), layers));
  EXPECT_FALSE(satisfied(issuer("https://other-issuer", "dev@example.com"), layers));

  Fulcio other;  // another root, the same log
  auto other_root =
      parseTrustRoot(TrustRoot{{cs::certPem(other.root)}, cs::publicKeyPem(ca.rekor_key)});
  ASSERT_TRUE(other_root.ok());
  auto untrusted = buildSignatureLayers({layer}, kDigest, *other_root);
  ASSERT_EQ(untrusted.size(), 1u);
  EXPECT_FALSE(untrusted[0].identity.has_value());
  EXPECT_FALSE(satisfied(issuer(kIssuer, "dev@example.com"), untrusted));
  EXPECT_FALSE(
      satisfied(issuer(kIssuer, "dev@example.com"), buildSignatureLayers({layer}, kDigest, {})));
}

TEST(SigstoreLayers, KeylessRejectsCertificatesWithoutCodeSigningOrExpiredWhenLogged) {
  Fulcio ca;
  auto no_eku = keylessLayer(ca, {.email = "a@b.c", .oidc_issuer = kIssuer, .code_signing = false});
  EXPECT_FALSE(buildSignatureLayers({no_eku}, kDigest, ca.trust())[0].identity.has_value());
  // Logged a minute ago, but the certificate had expired an hour before.
  auto expired = keylessLayer(ca, {.email = "a@b.c",
                                   .oidc_issuer = kIssuer,
                                   .not_before_offset = -7200,
                                   .not_after_offset = -3600});
  EXPECT_FALSE(buildSignatureLayers({expired}, kDigest, ca.trust())[0].identity.has_value());
}

TEST(SigstoreLayers, RekorBundleMovesTheCheckToTheSigningTime) {
  Fulcio ca;
  long signed_at = static_cast<long>(std::time(nullptr)) - 5400;  // inside the validity window
  auto expired = keylessLayer(ca,
                              {.email = "a@b.c",
                               .oidc_issuer = kIssuer,
                               .not_before_offset = -7200,
                               .not_after_offset = -3600},
                              {}, {.integrated_time = signed_at});
  auto layers = buildSignatureLayers({expired}, kDigest, ca.trust());
  ASSERT_EQ(layers.size(), 1u);
  EXPECT_EQ(layers[0].integrated_time, signed_at);
  EXPECT_TRUE(satisfied(issuer(kIssuer, "a@b.c"), layers));

  // A bundle signed by another Rekor key discards the layer.
  auto other_log = cs::newEcKey();
  auto forged = keylessLayer(ca, {.email = "a@b.c", .oidc_issuer = kIssuer}, {},
                             {.integrated_time = signed_at, .log_key = &other_log});
  EXPECT_TRUE(buildSignatureLayers({forged}, kDigest, ca.trust()).empty());
}

// Issue 17, point 5: sigstore-rs ignores a certificate without a verified bundle; so do we,
// instead of checking it at the current time.
TEST(SigstoreLayers, KeylessWithoutRekorBundleHasNoIdentity) {
  Fulcio ca;
  auto unlogged =
      keylessLayer(ca, {.email = "a@b.c", .oidc_issuer = kIssuer}, {}, {.logged = false});
  auto layers = buildSignatureLayers({unlogged}, kDigest, ca.trust());
  ASSERT_EQ(layers.size(), 1u);
  EXPECT_FALSE(layers[0].identity.has_value());
  EXPECT_FALSE(satisfied(issuer(kIssuer, "a@b.c"), layers));
  // No Rekor key configured: a bundle cannot be trusted, so no identity either.
  auto fulcio_only = parseTrustRoot(TrustRoot{{cs::certPem(ca.root)}, ""});
  ASSERT_TRUE(fulcio_only.ok());
  auto logged = keylessLayer(ca, {.email = "a@b.c", .oidc_issuer = kIssuer});
  EXPECT_FALSE(buildSignatureLayers({logged}, kDigest, *fulcio_only)[0].identity.has_value());
}

// Issue 17, point 4: a genuine bundle vouches only for the entry it names.
TEST(SigstoreLayers, RekorBundleCopiedFromAnotherSignatureIsRefused) {
  Fulcio ca;
  long signed_at = static_cast<long>(std::time(nullptr)) - 5400;
  auto genuine = keylessLayer(ca,
                              {.email = "a@b.c",
                               .oidc_issuer = kIssuer,
                               .not_before_offset = -7200,
                               .not_after_offset = -3600},
                              {}, {.integrated_time = signed_at});
  // An expired certificate whose signature was never logged borrows the genuine bundle.
  auto thief = keylessLayer(ca,
                            {.email = "a@b.c",
                             .oidc_issuer = kIssuer,
                             .not_before_offset = -7200,
                             .not_after_offset = -3600},
                            {}, {.logged = false});
  thief.annotations[kBundleAnnotation] = genuine.annotations.at(kBundleAnnotation);
  EXPECT_TRUE(buildSignatureLayers({thief}, kDigest, ca.trust()).empty());
  ASSERT_EQ(buildSignatureLayers({genuine}, kDigest, ca.trust()).size(), 1u);
}

TEST(SigstoreLayers, RekorEntryMustLogThisPayloadSignatureAndCertificate) {
  Fulcio ca;
  auto key = cs::newEcKey();
  auto payload = cs::simpleSigningPayload("r/p", kDigest);
  auto signature = cs::sign(key, payload);
  auto rekor = parsePublicKeyPem(cs::publicKeyPem(ca.rekor_key));
  ASSERT_TRUE(rekor.ok());
  auto check = [&](const std::string& body) {
    return verifyRekorBundle(cs::rekorBundle(ca.rekor_key, 1700000000, body), rekor->get(),
                             LoggedArtifact{payload, signature, nullptr});
  };
  auto bound = check(cs::hashedRekordBody(payload, signature, cs::publicKeyPem(key)));
  ASSERT_TRUE(bound.ok()) << bound.error().message;
  EXPECT_EQ(*bound, 1700000000);

  auto other_payload = check(cs::hashedRekordBody(payload + " ", signature, cs::publicKeyPem(key)));
  ASSERT_FALSE(other_payload.ok());
  EXPECT_EQ(other_payload.error().message, "the Rekor entry logs another payload");
  auto other_key = cs::newEcKey();
  auto other_sig = check(
      cs::hashedRekordBody(payload, cs::sign(other_key, payload), cs::publicKeyPem(other_key)));
  ASSERT_FALSE(other_sig.ok());
  EXPECT_EQ(other_sig.error().message, "the Rekor entry logs another signature");
  auto wrong_signer = check(cs::hashedRekordBody(payload, signature, cs::publicKeyPem(other_key)));
  ASSERT_FALSE(wrong_signer.ok());
  EXPECT_EQ(wrong_signer.error().message,
            "the Rekor entry logs a key that did not make this signature");
  auto kind = check(R"({"apiVersion":"0.0.1","kind":"intoto","spec":{}})");
  ASSERT_FALSE(kind.ok());
  EXPECT_NE(kind.error().message.find("of kind intoto"), std::string::npos);

  // With a certificate on the layer, the entry must log that very certificate.
  auto cert = cs::issue({.email = "a@b.c"}, key, ca.root, ca.root_key);
  auto other_cert = cs::issue({.email = "a@b.c"}, key, ca.root, ca.root_key);
  std::string cert_pem = cs::certPem(cert);
  auto with_cert = [&](const std::string& logged_pem) {
    return verifyRekorBundle(cs::rekorBundle(ca.rekor_key, 1700000000,
                                             cs::hashedRekordBody(payload, signature, logged_pem)),
                             rekor->get(), LoggedArtifact{payload, signature, &cert_pem});
  };
  EXPECT_TRUE(with_cert(cert_pem).ok());
  auto swapped = with_cert(cs::certPem(other_cert));
  ASSERT_FALSE(swapped.ok());
  EXPECT_EQ(swapped.error().message, "the Rekor entry logs another certificate");
}

TEST(SigstoreLayers, UrlPrefixIsPostfixedWithSlash) {
  Fulcio ca;
  const std::string wf =
      "https://github.com/kubewarden/policy/.github/workflows/release.yml@refs/heads/main";
  auto layers = buildSignatureLayers(
      {keylessLayer(ca, {.uri = wf, .oidc_issuer_v2 = kGithubActionsIssuer})}, kDigest, ca.trust());
  ASSERT_EQ(layers.size(), 1u);
  ASSERT_TRUE(layers[0].identity.has_value());
  EXPECT_EQ(layers[0].identity->issuer, kGithubActionsIssuer);  // read from …57264.1.8
  EXPECT_TRUE(
      satisfied(issuer(kGithubActionsIssuer, "https://github.com/kubewarden", true), layers));
  EXPECT_TRUE(
      satisfied(issuer(kGithubActionsIssuer, "https://github.com/kubewarden/", true), layers));
  EXPECT_FALSE(satisfied(issuer(kGithubActionsIssuer, "https://github.com/kube", true), layers));
  EXPECT_FALSE(satisfied(issuer(kIssuer, "https://github.com/kubewarden", true), layers));
}

TEST(SigstoreLayers, GithubActionsOwnerAndRepoComeFromTheSanUri) {
  Fulcio ca;
  const std::string wf =
      "https://github.com/kubewarden/policy/.github/workflows/release.yml@refs/tags/v1";
  auto layers = buildSignatureLayers(
      {keylessLayer(ca, {.uri = wf, .oidc_issuer = kGithubActionsIssuer})}, kDigest, ca.trust());
  auto gh = [](std::string owner, std::optional<std::string> repo) {
    return Constraint{GithubConstraint{std::move(owner), std::move(repo)}, std::nullopt};
  };
  EXPECT_TRUE(satisfied(gh("kubewarden", std::nullopt), layers));
  EXPECT_TRUE(satisfied(gh("kubewarden", "policy"), layers));
  EXPECT_FALSE(satisfied(gh("kubewarden", "other"), layers));
  EXPECT_FALSE(satisfied(gh("someone", std::nullopt), layers));

  // Same URI from a non-GitHub issuer is not a GitHub Actions signature.
  auto foreign = buildSignatureLayers({keylessLayer(ca, {.uri = wf, .oidc_issuer = kIssuer})},
                                      kDigest, ca.trust());
  EXPECT_FALSE(satisfied(gh("kubewarden", std::nullopt), foreign));
}

TEST(SigstoreLayers, CertificateConstraintChecksChainKeyAndRekorRequirement) {
  Fulcio ca;
  auto key = cs::newEcKey();
  auto cert = cs::issue({.email = "ci@example.com"}, key, ca.root, ca.root_key);
  auto payload = cs::simpleSigningPayload("r/p", kDigest, {{"env", "prod"}});
  auto layers = buildSignatureLayers({layerFor(payload, cs::sign(key, payload))}, kDigest, {});
  auto constraint = [&](std::string c, std::optional<std::vector<std::string>> chain, bool rekor) {
    return Constraint{CertificateConstraint{std::move(c), std::move(chain), rekor}, std::nullopt};
  };
  EXPECT_TRUE(
      satisfied(constraint(cs::certPem(cert), std::vector{cs::certPem(ca.root)}, false), layers));
  EXPECT_TRUE(
      satisfied(constraint(cs::certDer(cert), std::vector{cs::certDer(ca.root)}, false), layers));
  EXPECT_TRUE(satisfied(constraint(cs::certPem(cert), std::nullopt, false), layers));
  Fulcio other;
  EXPECT_FALSE(satisfied(constraint(cs::certPem(cert), std::vector{cs::certPem(other.root)}, false),
                         layers));
  EXPECT_FALSE(satisfied(constraint(cs::certPem(cert), std::nullopt, true), layers));
  auto other_cert = cs::issue({.email = "ci@example.com"}, cs::newEcKey(), ca.root, ca.root_key);
  EXPECT_FALSE(satisfied(constraint(cs::certPem(other_cert), std::nullopt, false), layers));
  auto with_annotations = constraint(cs::certPem(cert), std::nullopt, false);
  with_annotations.annotations = Annotations{{"env", "dev"}};
  EXPECT_FALSE(satisfied(with_annotations, layers));

  // requireRekorBundle is met by a bundle that logs this signature, not by one copied from
  // another signature (which discards the layer).
  auto signature = cs::sign(key, payload);
  auto logged =
      layerFor(payload, signature,
               {{kBundleAnnotation,
                 cs::rekorBundle(ca.rekor_key, static_cast<long>(std::time(nullptr)),
                                 cs::hashedRekordBody(payload, signature, cs::certPem(cert)))}});
  auto logged_layers = buildSignatureLayers({logged}, kDigest, ca.trust());
  ASSERT_EQ(logged_layers.size(), 1u);
  EXPECT_TRUE(satisfied(constraint(cs::certPem(cert), std::nullopt, true), logged_layers));
  auto other_key = cs::newEcKey();
  auto other_payload = cs::simpleSigningPayload("r/other", kDigest);
  auto other_sig = cs::sign(other_key, other_payload);
  auto copied = layerFor(
      payload, signature,
      {{kBundleAnnotation, cs::rekorBundle(ca.rekor_key, static_cast<long>(std::time(nullptr)),
                                           cs::hashedRekordBody(other_payload, other_sig,
                                                                cs::publicKeyPem(other_key)))}});
  EXPECT_TRUE(buildSignatureLayers({copied}, kDigest, ca.trust()).empty());
}

TEST(SigstoreEvaluate, AllOfNeedsEveryConstraintAndAnyOfTheMinimum) {
  auto k1 = cs::newEcKey(), k2 = cs::newEcKey(), k3 = cs::newEcKey();
  auto payload = cs::simpleSigningPayload("r/p", kDigest);
  auto layers = buildSignatureLayers(
      {layerFor(payload, cs::sign(k1, payload)), layerFor(payload, cs::sign(k2, payload))}, kDigest,
      {});
  ASSERT_EQ(layers.size(), 2u);

  VerificationConfig both{std::vector{pubKey(k1), pubKey(k2)}, std::nullopt};
  EXPECT_TRUE(evaluate(both, layers).ok());

  VerificationConfig missing{std::vector{pubKey(k1), pubKey(k3)}, std::nullopt};
  auto st = evaluate(missing, layers);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message.rfind("Image verification failed: missing signatures\n", 0), 0u);
  EXPECT_NE(st.error().message.find(cs::publicKeyPem(k3).substr(27, 40)), std::string::npos);
  EXPECT_EQ(st.error().message.find(cs::publicKeyPem(k1).substr(27, 40)), std::string::npos);

  VerificationConfig any2{std::nullopt, AnyOf{2, {pubKey(k1), pubKey(k2), pubKey(k3)}}};
  EXPECT_TRUE(evaluate(any2, layers).ok());
  VerificationConfig any3{std::nullopt, AnyOf{3, {pubKey(k1), pubKey(k2), pubKey(k3)}}};
  st = evaluate(any3, layers);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("minimum number of signatures not reached: needed 3, got 2"),
            std::string::npos);
}

// Issue 17, point 3: a config that constrains nothing must not pass, whatever the layers.
TEST(SigstoreEvaluate, ConfigThatConstrainsNothingFails) {
  auto key = cs::newEcKey();
  auto payload = cs::simpleSigningPayload("r/p", kDigest);
  auto layers = buildSignatureLayers({layerFor(payload, cs::sign(key, payload))}, kDigest, {});
  ASSERT_EQ(layers.size(), 1u);
  auto empty_all = evaluate(VerificationConfig{std::vector<Constraint>{}, std::nullopt}, layers);
  ASSERT_FALSE(empty_all.ok());
  EXPECT_EQ(empty_all.error().message, "Image verification failed: no signatures to verify");
  auto zero_any =
      evaluate(VerificationConfig{std::nullopt, AnyOf{0, {pubKey(cs::newEcKey())}}}, layers);
  ASSERT_FALSE(zero_any.ok());
  EXPECT_NE(zero_any.error().message.find("minimumMatches must be at least 1"), std::string::npos);
  EXPECT_FALSE(evaluate(VerificationConfig{}, layers).ok());
}

}  // namespace
}  // namespace kw::sigstore
