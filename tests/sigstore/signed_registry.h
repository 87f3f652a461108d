// A docker-registry fixture that pushes a policy and signs it the way cosign stores signatures
// (simple-signing layer under the `sha256-<hex>.sig` tag, signature and certificate
// annotations). Shared by the verifier and `kwctl verify` tests.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "oci/reference.h"
#include "oci/registry_client.h"
#include "sigstore/constraints.h"
#include "sigstore/cosign_fixture.h"
#include "sigstore/signature_fetch.h"
#include "sigstore/signature_layer.h"
#include "sigstore/verifier.h"
#include "support/cant_run.h"
#include "support/registry_process.h"
#include "support/test_env.h"

namespace kw::sigstore::fixture {

namespace cs = kw::test::cosign;
using json = nlohmann::json;
using test::RegistryProcess;

inline constexpr const char* kIssuer = "https://accounts.example.com";
inline const std::string kWorkflow =
    "https://github.com/kubewarden/policy/.github/workflows/release.yml@refs/tags/v1";

struct Signature {
  std::string payload;
  std::string signature;  // raw bytes
  std::map<std::string, std::string> annotations;
};

class SignedRegistryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!RegistryProcess::unavailableReason(RegistryProcess::Mode::Http).empty()) return;
    registry_ = new RegistryProcess(RegistryProcess::Mode::Http);
    policy_ = std::filesystem::temp_directory_path() /
              ("kw-sigstore-" + std::to_string(::getpid()) + ".wasm");
    auto annotated = test::guestDir() / "annotated" / "pod_privileged.wasm";
    if (std::filesystem::exists(annotated)) {
      std::filesystem::copy_file(annotated, policy_,
                                 std::filesystem::copy_options::overwrite_existing);
    } else {
      // The registry does not look inside; a module header is enough when guests are not built.
      std::ofstream(policy_, std::ios::binary) << std::string("\0asm\1\0\0\0", 8);
    }
  }
  static void TearDownTestSuite() {
    delete registry_;
    registry_ = nullptr;
    std::filesystem::remove(policy_);
  }

  void SetUp() override {
    auto why = RegistryProcess::unavailableReason(RegistryProcess::Mode::Http);
    if (!why.empty()) KW_CANT_RUN() << why;
    ASSERT_TRUE(registry_->ready()) << registry_->error();
    client_ = std::make_unique<oci::RegistryClient>(registry_->clientOptions());
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // A fresh folder for the running test (removed afterwards) holding sources.yml, which lets
  // the binaries reach the plain-HTTP registry, and key.pub, the public half of key_.
  void makeScratchDir(const std::string& tag) {
    dir_ = std::filesystem::temp_directory_path() /
           ("kw-" + tag + "-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    write("sources.yml", "insecure_sources: [\"" + registry_->host() + "\"]\n");
    write("key.pub", cs::publicKeyPem(key_));
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }

  oci::Reference ref(const std::string& repo, const std::string& tag = "v1") {
    return oci::Reference{registry_->host(), repo, tag, ""};
  }
  std::string image(const std::string& repo) { return registry_->host() + "/" + repo + ":v1"; }

  // Pushes the policy to `repo:v1`; the manifest digest.
  std::string push(const std::string& repo) {
    auto pushed = client_->pushPolicy(ref(repo), policy_);
    EXPECT_TRUE(pushed.ok()) << pushed.error().message;
    return pushed.ok() ? pushed->manifest_digest : "";
  }

  // Stores `sigs` as cosign does: one simple-signing layer each, in the manifest tagged
  // sha256-<hex>.sig beside the image.
  void attach(const std::string& repo, const std::string& digest,
              const std::vector<Signature>& sigs) {
    auto sig_ref = ref(repo, signatureTag(digest));
    json layers = json::array();
    for (const auto& s : sigs) {
      auto blob = client_->pushBlob(sig_ref, oci::Upload{kSimpleSigningMediaType, s.payload, {}});
      ASSERT_TRUE(blob.ok()) << blob.error().message;
      auto annotations = s.annotations;
      annotations[kSignatureAnnotation] = cs::b64(s.signature);
      layers.push_back({{"mediaType", kSimpleSigningMediaType},
                        {"size", s.payload.size()},
                        {"digest", *blob},
                        {"annotations", annotations}});
    }
    std::string config =
        R"({"architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":[]}})";
    auto config_digest = client_->pushBlob(
        sig_ref, oci::Upload{"application/vnd.oci.image.config.v1+json", config, {}});
    ASSERT_TRUE(config_digest.ok()) << config_digest.error().message;
    json manifest = {{"schemaVersion", 2},
                     {"mediaType", oci::kOciManifestMediaType},
                     {"config",
                      {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                       {"size", config.size()},
                       {"digest", *config_digest}}},
                     {"layers", layers}};
    auto pushed = client_->pushManifest(sig_ref, manifest.dump(), oci::kOciManifestMediaType);
    ASSERT_TRUE(pushed.ok()) << pushed.error().message;
  }

  Signature keySigned(const cs::Key& key, const std::string& repo, const std::string& digest,
                      std::map<std::string, std::string> annotations = {}) {
    auto payload = cs::simpleSigningPayload(registry_->host() + "/" + repo, digest, annotations);
    return Signature{payload, cs::sign(key, payload), {}};
  }

  // A keyless signature: leaf key certified by the fake Fulcio CA for `spec`, logged in the
  // fake Rekor (a bundle bound to this signature) unless `logged` is false.
  Signature keyless(const cs::CertSpec& spec, const std::string& repo, const std::string& digest,
                    bool logged = true) {
    auto leaf_key = cs::newEcKey();
    auto leaf = cs::issue(spec, leaf_key, fulcio_, fulcio_key_);
    auto payload = cs::simpleSigningPayload(registry_->host() + "/" + repo, digest);
    Signature sig{
        payload,
        cs::sign(leaf_key, payload),
        {{kCertificateAnnotation, cs::certPem(leaf)}, {kChainAnnotation, cs::certPem(fulcio_)}}};
    if (logged) {
      sig.annotations[kBundleAnnotation] =
          cs::rekorBundle(rekor_key_, static_cast<long>(std::time(nullptr)) - 60,
                          cs::hashedRekordBody(sig.payload, sig.signature, cs::certPem(leaf)));
    }
    return sig;
  }

  Result<std::string> v2(const json& payload, TrustRoot trust = {}) {
    Verifier verifier(*client_, std::move(trust));
    return verifier.verifyV2(payload.dump());
  }
  TrustRoot fulcioTrust() {
    return TrustRoot{{cs::certPem(fulcio_)}, cs::publicKeyPem(rekor_key_)};
  }

  static std::string trustedReply(const std::string& digest) {
    return R"({"is_trusted":true,"digest":")" + digest + R"("})";
  }

  static inline RegistryProcess* registry_ = nullptr;
  static inline std::filesystem::path policy_;
  std::unique_ptr<oci::RegistryClient> client_;
  std::filesystem::path dir_;  // set by makeScratchDir
  cs::Key key_ = cs::newEcKey();
  cs::Key rekor_key_ = cs::newEcKey();
  cs::Key fulcio_key_ = cs::newEcKey();
  cs::Certificate fulcio_ =
      cs::issue({.common_name = "fake fulcio", .ca = true}, fulcio_key_, nullptr, nullptr);
};

}  // namespace kw::sigstore::fixture
