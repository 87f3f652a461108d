// Verify-then-pull in `kwctl pull` and `kwctl run`: the built binary against a policy pushed to
// a local registry and signed in the test with a freshly generated key.
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "kwctl/verification.h"
#include "sigstore/signed_registry.h"
#include "store/store.h"
#include "support/cant_run.h"

namespace kw::kwctl {
namespace {

namespace fs = std::filesystem;
using namespace kw::sigstore::fixture;

class KwctlVerificationFlow : public SignedRegistryTest {
 protected:
  void SetUp() override {
    SignedRegistryTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    makeScratchDir("verifyflow");
    write("other.pub", cs::publicKeyPem(cs::newEcKey()));
  }
  // A private store and config dir, so the user's ~/.cache and ~/.config play no part.
  test::CommandResult kwctl(const std::string& args) {
    return test::runCommand(fmt::format(
        "XDG_CACHE_HOME={} XDG_CONFIG_HOME={} {} {} --sources-path {} 2>&1", path("cache"),
        path("config"), (test::binDir() / "kwctl").string(), args, path("sources.yml")));
  }
  std::string uri(const std::string& repo) { return "registry://" + image(repo); }
  // Where the store layout (checked by the store's own tests) puts `repo:v1`.
  fs::path stored(const std::string& repo) {
    auto p = store::Store(dir_ / "cache" / "kubewarden" / "store").pathFor(uri(repo));
    EXPECT_TRUE(p.ok()) << p.error().message;
    return p.ok() ? *p : fs::path();
  }
  bool storeEmpty() {
    std::error_code ec;
    auto root = dir_ / "cache" / "kubewarden" / "store";
    if (!fs::exists(root, ec)) return true;
    for (const auto& e : fs::recursive_directory_iterator(root, ec)) {
      if (e.is_regular_file()) return false;
    }
    return true;
  }
  // Push `repo:v1` and sign it with the test's key.
  void pushSigned(const std::string& repo) {
    auto digest = push(repo);
    ASSERT_FALSE(digest.empty());
    attach(repo, digest, {keySigned(key_, repo, digest)});
  }
};

TEST_F(KwctlVerificationFlow, PullWithTheSigningKeyStoresTheModule) {
  pushSigned("flow/pull");
  auto r = kwctl("pull " + uri("flow/pull") + " -k " + path("key.pub"));
  ASSERT_EQ(r.status, 0) << r.out;
  auto file = stored("flow/pull");
  ASSERT_TRUE(fs::is_regular_file(file)) << file << "\n" << r.out;
  EXPECT_EQ(test::readFile(file), test::readFile(policy_));
}

TEST_F(KwctlVerificationFlow, PullWithAWrongKeyFailsAndStoresNothing) {
  pushSigned("flow/wrongkey");
  auto r = kwctl("pull " + uri("flow/wrongkey") + " -k " + path("other.pub"));
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("Policy " + uri("flow/wrongkey") + " cannot be validated"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("Image verification failed: missing signatures"), std::string::npos)
      << r.out;
  EXPECT_TRUE(storeEmpty()) << r.out;

  // -o FILE is not written either.
  auto out = kwctl("pull " + uri("flow/wrongkey") + " -k " + path("other.pub") + " -o " +
                   path("policy.wasm"));
  EXPECT_NE(out.status, 0) << out.out;
  EXPECT_FALSE(fs::exists(dir_ / "policy.wasm"));
}

TEST_F(KwctlVerificationFlow, UnsignedImageWithAKeyFails) {
  ASSERT_FALSE(push("flow/unsigned").empty());
  auto r = kwctl("pull " + uri("flow/unsigned") + " -k " + path("key.pub"));
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("no signatures found for image"), std::string::npos) << r.out;
  EXPECT_TRUE(storeEmpty()) << r.out;

  // Without verification flags the same image pulls fine: the failure above is the check.
  auto plain = kwctl("pull " + uri("flow/unsigned"));
  EXPECT_EQ(plain.status, 0) << plain.out;
  EXPECT_TRUE(fs::is_regular_file(stored("flow/unsigned"))) << plain.out;
}

TEST_F(KwctlVerificationFlow, InconsistentFlagsAreRejectedBeforeAnyDownload) {
  pushSigned("flow/flags");
  write("config.yml", "apiVersion: v1\nallOf:\n  - kind: githubAction\n    owner: kubewarden\n");
  auto both = kwctl("pull " + uri("flow/flags") + " -k " + path("key.pub") +
                    " --verification-config-path " + path("config.yml"));
  EXPECT_NE(both.status, 0);
  EXPECT_NE(both.out.find("cannot be used in conjunction with other verification flags"),
            std::string::npos)
      << both.out;

  auto local = kwctl("pull file://" + policy_.string() + " -k " + path("key.pub"));
  EXPECT_NE(local.status, 0);
  EXPECT_NE(local.out.find("only for registry:// policies"), std::string::npos) << local.out;
  EXPECT_TRUE(storeEmpty());
}

TEST_F(KwctlVerificationFlow, RunVerifiesThenEvaluates) {
  if (!fs::exists(test::guestDir() / "annotated" / "pod_privileged.wasm")) {
    KW_CANT_RUN() << "annotated guests not built (ninja annotated_guests)";
  }
  pushSigned("flow/run");
  nlohmann::json request = {
      {"uid", "verified-uid"},
      {"kind", {{"group", ""}, {"version", "v1"}, {"kind", "Pod"}}},
      {"resource", {{"group", ""}, {"version", "v1"}, {"resource", "pods"}}},
      {"operation", "CREATE"},
      {"object",
       {{"apiVersion", "v1"},
        {"kind", "Pod"},
        {"metadata", {{"name", "web"}}},
        {"spec",
         {{"containers",
           {{{"name", "c"}, {"image", "nginx"}, {"securityContext", {{"privileged", true}}}}}}}}}}};
  write("request.json", request.dump());

  auto r =
      kwctl("run " + uri("flow/run") + " -k " + path("key.pub") + " -r " + path("request.json"));
  ASSERT_EQ(r.status, 0) << r.out;
  nlohmann::json response;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("{")) response = nlohmann::json::parse(line, nullptr, false);
  }
  ASSERT_TRUE(response.is_object()) << r.out;
  EXPECT_EQ(response["uid"], "verified-uid") << r.out;
  EXPECT_EQ(response["allowed"], false) << r.out;
  EXPECT_TRUE(fs::is_regular_file(stored("flow/run")));

  auto wrong =
      kwctl("run " + uri("flow/run") + " -k " + path("other.pub") + " -r " + path("request.json"));
  EXPECT_NE(wrong.status, 0) << wrong.out;
  EXPECT_NE(wrong.out.find("cannot be validated"), std::string::npos) << wrong.out;
  EXPECT_EQ(wrong.out.find("verified-uid"), std::string::npos) << wrong.out;
}

// Upstream reads <config dir>/verification-config.yml when no verification flag is given.
TEST_F(KwctlVerificationFlow, DefaultConfigFileAppliesToRegistryPolicies) {
  pushSigned("flow/default");
  auto pubKeyConfig = [](const std::string& pem) {
    std::string indented;
    for (char c : pem) indented += c == '\n' ? std::string("\n      ") : std::string(1, c);
    return "apiVersion: v1\nallOf:\n  - kind: pubKey\n    key: |\n      " + indented + "\n";
  };
  fs::create_directories(dir_ / "config" / "kubewarden");
  write("config/kubewarden/verification-config.yml",
        pubKeyConfig(cs::publicKeyPem(cs::newEcKey())));
  auto refused = kwctl("pull " + uri("flow/default"));
  EXPECT_NE(refused.status, 0) << refused.out;
  EXPECT_NE(refused.out.find("cannot be validated"), std::string::npos) << refused.out;
  EXPECT_TRUE(storeEmpty()) << refused.out;

  // Local files cannot carry signatures: the default file does not block them.
  auto local = kwctl("pull file://" + policy_.string());
  EXPECT_EQ(local.status, 0) << local.out;

  write("config/kubewarden/verification-config.yml", pubKeyConfig(cs::publicKeyPem(key_)));
  auto accepted = kwctl("pull " + uri("flow/default"));
  EXPECT_EQ(accepted.status, 0) << accepted.out;
  EXPECT_TRUE(fs::is_regular_file(stored("flow/default"))) << accepted.out;
}

TEST(KwctlVerificationFlowUnit, PinnedUriNamesTheVerifiedManifestOnly) {
  const std::string digest = "sha256:" + std::string(64, 'a');
  auto tagged = pinnedUri("registry://ghcr.io/kubewarden/policies/pod-privileged:v0.2.2", digest);
  ASSERT_TRUE(tagged.ok()) << tagged.error().message;
  // The tag is dropped: the registry client would otherwise resolve it, and it may have moved.
  EXPECT_EQ(*tagged, "registry://ghcr.io/kubewarden/policies/pod-privileged@" + digest);

  auto with_port =
      pinnedUri("registry://127.0.0.1:5000/a/b@sha256:" + std::string(64, 'b'), digest);
  ASSERT_TRUE(with_port.ok()) << with_port.error().message;
  EXPECT_EQ(*with_port, "registry://127.0.0.1:5000/a/b@" + digest);

  EXPECT_FALSE(pinnedUri("registry://", digest).ok());
}

TEST(KwctlVerificationFlowUnit, FlagsOnUnverifiablePoliciesAreRefused) {
  VerificationFlags none;
  EXPECT_TRUE(requireVerifiable("policy.wasm", none).ok());
  VerificationFlags key;
  key.keys = {"key.pub"};
  EXPECT_TRUE(requireVerifiable("registry://ghcr.io/a/b:v1", key).ok());
  auto local = requireVerifiable("file:///tmp/policy.wasm", key);
  ASSERT_FALSE(local.ok());
  EXPECT_NE(local.error().message.find("only for registry:// policies"), std::string::npos);
  EXPECT_FALSE(requireVerifiable("https://example.com/policy.wasm", key).ok());
}

}  // namespace
}  // namespace kw::kwctl
