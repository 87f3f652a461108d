// kwctl's distribution commands end to end: the built kwctl binary against Debian's
// docker-registry (plain HTTP, TLS with a private CA, basic auth), with a throwaway store
// (XDG_CACHE_HOME) and config dir (XDG_CONFIG_HOME) per test.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/sha256.h"
#include "kwctl/signatures.h"
#include "oci/reference.h"
#include "oci/registry_client.h"
#include "support/cant_run.h"
#include "support/registry_process.h"
#include "support/test_env.h"

namespace kw::kwctl {
namespace {
namespace fs = std::filesystem;
using test::RegistryProcess;
using Mode = RegistryProcess::Mode;

std::string quote(const std::string& s) {
  return "'" + s + "'";
}

fs::path annotatedGuest(const std::string& name) {
  return test::guestDir() / "annotated" / (name + ".wasm");
}

std::string fileSha(const fs::path& p) {
  return sha256Hex(test::readFile(p));
}

// sources.yml as a user would write it for this registry: the private CA as a PEM file for
// TLS, plain HTTP allowed otherwise.
std::string sourcesYaml(const RegistryProcess& reg, Mode mode, const fs::path& dir) {
  if (mode == Mode::Tls) {
    std::ofstream(dir / "ca.pem") << reg.caPem();
    return "source_authorities:\n  \"" + reg.host() +
           "\":\n    - type: Path\n      path: " + (dir / "ca.pem").string() + "\n";
  }
  return "insecure_sources: [\"" + reg.host() + "\"]\n";
}

class KwctlDistributionRegistry : public ::testing::TestWithParam<Mode> {
 protected:
  void SetUp() override {
    if (!fs::exists(test::binDir() / "kwctl")) KW_CANT_RUN() << "kwctl binary not built";
    if (auto why = RegistryProcess::unavailableReason(GetParam()); !why.empty()) {
      KW_CANT_RUN() << why;
    }
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (char& c : name) c = c == '/' ? '_' : c;  // parameterised names hold a '/'
    dir_ = fs::temp_directory_path() / ("kw-dist-" + std::to_string(::getpid()) + "-" + name);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    reg_ = std::make_unique<RegistryProcess>(GetParam());
    ASSERT_TRUE(reg_->ready()) << reg_->error();
    std::ofstream(dir_ / "sources.yml") << sourcesYaml(*reg_, GetParam(), dir_);
    ASSERT_TRUE(fs::exists(annotatedGuest("pod_privileged"))) << "build annotated_guests";
  }
  void TearDown() override {
    reg_.reset();
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  fs::path storeRoot() const { return dir_ / "cache" / "kubewarden" / "store"; }
  std::string uri(const std::string& repo_tag) const {
    return "registry://" + reg_->host() + "/" + repo_tag;
  }
  // Runs kwctl with this test's store, config dir and registry options; stderr joins stdout
  // unless `split` (then stderr is dropped so stdout can be parsed).
  test::CommandResult kwctl(const std::string& args, bool remote = true, bool split = false) {
    std::string env = "XDG_CACHE_HOME=" + quote((dir_ / "cache").string()) +
                      " XDG_CONFIG_HOME=" + quote((dir_ / "config").string()) +
                      " DOCKER_CONFIG=" + quote((dir_ / "no-docker").string()) + " ";
    std::string cmd = env + quote((test::binDir() / "kwctl").string()) + " " + args;
    if (remote) {
      cmd += " --sources-path " + quote((dir_ / "sources.yml").string());
      if (GetParam() == Mode::BasicAuth) {
        cmd += " --docker-config-json-path " + quote(docker_config_.empty()
                                                         ? reg_->dockerConfigDir().string()
                                                         : docker_config_.string());
      }
    }
    return test::runCommand(cmd + (split ? " 2>/dev/null" : " 2>&1"));
  }
  std::string request(const std::string& name) const {
    return quote((test::sourceDir() / "examples" / "requests" / name).string());
  }

  fs::path dir_;
  fs::path docker_config_;
  std::unique_ptr<RegistryProcess> reg_;
};

TEST_P(KwctlDistributionRegistry, PushPullRunInspectDigestPoliciesRm) {
  fs::path wasm = annotatedGuest("pod_privileged");
  std::string policy = uri("kw/pod-privileged:v1");

  auto pushed = kwctl("push " + quote(wasm.string()) + " " + policy + " -o json", true, true);
  ASSERT_EQ(pushed.status, 0) << pushed.out;
  auto answer = nlohmann::json::parse(pushed.out, nullptr, false);
  ASSERT_TRUE(answer.is_object()) << pushed.out;
  std::string immutable = answer.value("immutable_ref", "");
  ASSERT_NE(immutable.find("@sha256:"), std::string::npos) << pushed.out;
  std::string digest = immutable.substr(immutable.find('@') + 1);

  auto text = kwctl("push " + quote(wasm.string()) + " " + policy);
  ASSERT_EQ(text.status, 0) << text.out;
  EXPECT_EQ(text.out, "Policy successfully pushed: " + immutable + "\n");

  auto d = kwctl("digest " + policy);
  ASSERT_EQ(d.status, 0) << d.out;
  EXPECT_EQ(d.out, policy + "@" + digest + "\n");

  auto pulled = kwctl("pull " + policy);
  ASSERT_EQ(pulled.status, 0) << pulled.out;
  EXPECT_EQ(pulled.out, "");  // quiet on success, and no progress bar off a terminal
  fs::path stored = storeRoot() / "registry" / reg_->host() / "kw" / "pod-privileged:v1";
  ASSERT_TRUE(fs::exists(stored)) << stored;
  std::string sha = fileSha(wasm);
  EXPECT_EQ(fileSha(stored), sha);

  auto listed = kwctl("policies", false);
  ASSERT_EQ(listed.status, 0) << listed.out;
  EXPECT_NE(listed.out.find("| Policy "), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("| " + policy + " | no       | no            | " + sha.substr(0, 12)),
            std::string::npos)
      << listed.out;

  // run from the registry, and from the store by SHA prefix.
  auto run = kwctl("run " + policy + " -r " + request("privileged-pod.json"), true, true);
  ASSERT_EQ(run.status, 0) << run.out;
  EXPECT_EQ(nlohmann::json::parse(run.out).value("allowed", true), false) << run.out;
  auto by_sha =
      kwctl("run " + sha.substr(0, 12) + " -r " + request("unprivileged-pod.json"), false, true);
  ASSERT_EQ(by_sha.status, 0) << by_sha.out;
  EXPECT_EQ(nlohmann::json::parse(by_sha.out).value("allowed", false), true) << by_sha.out;

  auto bench = kwctl("bench " + policy + " -r " + request("privileged-pod.json") +
                         " --iterations 3 --warm-up-time 0 -o json",
                     true, true);
  ASSERT_EQ(bench.status, 0) << bench.out;
  EXPECT_TRUE(nlohmann::json::parse(bench.out, nullptr, false).is_object()) << bench.out;

  auto shown = kwctl("inspect " + policy + " --show-signatures");
  ASSERT_EQ(shown.status, 0) << shown.out;
  EXPECT_NE(shown.out.find("Details"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("No sigstore signatures found"), std::string::npos) << shown.out;

  auto rm = kwctl("rm " + sha.substr(0, 10), false);
  ASSERT_EQ(rm.status, 0) << rm.out;
  EXPECT_FALSE(fs::exists(stored));
  EXPECT_EQ(kwctl("policies", false).out, "");
}

// Issue 16's CLI comparison: inspect and scaffold manifest pulled again even when the policy
// was in the store, and failed offline; upstream reads the store.
TEST_P(KwctlDistributionRegistry, InspectAndScaffoldReadTheStoreOffline) {
  std::string policy = uri("kw/offline:v1");
  ASSERT_EQ(kwctl("push " + quote(annotatedGuest("pod_privileged").string()) + " " + policy).status,
            0);
  auto pulled = kwctl("pull " + policy);
  ASSERT_EQ(pulled.status, 0) << pulled.out;
  reg_->stop();  // from here on, any registry request fails

  auto shown = kwctl("inspect " + policy);
  EXPECT_EQ(shown.status, 0) << shown.out;
  EXPECT_NE(shown.out.find("Details"), std::string::npos) << shown.out;
  auto manifest = kwctl("scaffold manifest -t ClusterAdmissionPolicy " + policy, true, true);
  EXPECT_EQ(manifest.status, 0) << manifest.out;
  EXPECT_NE(manifest.out.find("kind: ClusterAdmissionPolicy"), std::string::npos) << manifest.out;
  // A policy that is not in the store still needs the registry, and says so.
  auto absent = kwctl("inspect " + uri("kw/never-pulled:v1"));
  EXPECT_NE(absent.status, 0) << absent.out;
}

TEST_P(KwctlDistributionRegistry, SaveLoadRoundTrip) {
  fs::path wasm = annotatedGuest("add_label");
  std::string policy = uri("kw/add-label:v2");
  ASSERT_EQ(kwctl("push " + quote(wasm.string()) + " " + policy).status, 0);
  ASSERT_EQ(kwctl("pull " + policy).status, 0);
  fs::path archive = dir_ / "policies.tar.gz";
  // Upstream's short -o (issue 16's CLI comparison: ours took only --output).
  auto saved = kwctl("save -o " + quote(archive.string()) + " " + policy, false);
  ASSERT_EQ(saved.status, 0) << saved.out;
  auto long_form =
      kwctl("save --output " + quote((dir_ / "again.tar.gz").string()) + " " + policy, false);
  EXPECT_EQ(long_form.status, 0) << long_form.out;
  EXPECT_TRUE(fs::is_regular_file(dir_ / "again.tar.gz"));
  ASSERT_EQ(kwctl("rm " + policy, false).status, 0);
  EXPECT_EQ(kwctl("policies", false).out, "");

  auto loaded = kwctl("load --input " + quote(archive.string()), false);
  ASSERT_EQ(loaded.status, 0) << loaded.out;
  auto listed = kwctl("policies", false);
  EXPECT_NE(listed.out.find(policy), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("| yes "), std::string::npos) << "add_label mutates: " << listed.out;
  fs::path stored = storeRoot() / "registry" / reg_->host() / "kw" / "add-label:v2";
  EXPECT_EQ(fileSha(stored), fileSha(wasm));
}

TEST_P(KwctlDistributionRegistry, UnannotatedPushIsRefusedUnlessForced) {
  fs::path raw = test::guestPath("pod_privileged");
  std::string policy = uri("kw/raw:v1");
  auto refused = kwctl("push " + quote(raw.string()) + " " + policy);
  EXPECT_EQ(refused.status, 1);
  EXPECT_EQ(refused.out,
            "Error: Cannot push a policy that is not annotated. Use `annotate` command or `push "
            "--force`\n");
  EXPECT_NE(kwctl("digest " + policy).status, 0) << "nothing may have been pushed";

  auto forced = kwctl("push --force " + quote(raw.string()) + " " + policy);
  EXPECT_EQ(forced.status, 0) << forced.out;
  EXPECT_EQ(kwctl("digest " + policy).status, 0);
}

TEST_P(KwctlDistributionRegistry, FailuresLeaveTheStoreUnchanged) {
  auto missing = kwctl("pull " + uri("kw/absent:v9"));
  EXPECT_NE(missing.status, 0);
  EXPECT_EQ(missing.out.rfind("Error: ", 0), 0u) << missing.out;
  EXPECT_FALSE(fs::exists(storeRoot() / "registry")) << missing.out;

  auto run = kwctl("run " + uri("kw/absent:v9") + " -r " + request("privileged-pod.json"));
  EXPECT_NE(run.status, 0);
  EXPECT_NE(run.out.find("Error: "), std::string::npos) << run.out;

  uint16_t port = reg_->port();
  reg_->stop();
  auto down = kwctl("pull registry://127.0.0.1:" + std::to_string(port) + "/kw/x:v1");
  EXPECT_NE(down.status, 0);
  EXPECT_NE(down.out.find("Error: "), std::string::npos) << down.out;
  EXPECT_FALSE(fs::exists(storeRoot() / "registry")) << down.out;
}

TEST_P(KwctlDistributionRegistry, InspectListsCosignSignatures) {
  std::string policy = uri("kw/signed:v1");
  ASSERT_EQ(kwctl("push " + quote(annotatedGuest("pod_privileged").string()) + " " + policy).status,
            0);
  // A signature artifact as cosign stores it: the sha256-<hex>.sig tag beside the image.
  oci::ClientOptions options = reg_->clientOptions();
  oci::RegistryClient client(options);
  auto ref = oci::parseReference(policy);
  ASSERT_TRUE(ref.ok());
  auto digest = client.manifestDigest(*ref);
  ASSERT_TRUE(digest.ok()) << digest.error().message;
  std::string payload = R"({"critical":{"image":{"docker-manifest-digest":")" + *digest + "\"}}}";
  auto layer = client.pushBlob(*ref, {"application/vnd.dev.cosign.simplesigning.v1+json", payload});
  ASSERT_TRUE(layer.ok()) << layer.error().message;
  auto config = client.pushBlob(*ref, {"application/vnd.oci.image.config.v1+json", "{}"});
  ASSERT_TRUE(config.ok()) << config.error().message;
  nlohmann::json manifest = {
      {"schemaVersion", 2},
      {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
      {"config",
       {{"mediaType", "application/vnd.oci.image.config.v1+json"},
        {"digest", *config},
        {"size", 2}}},
      {"layers",
       {{{"mediaType", "application/vnd.dev.cosign.simplesigning.v1+json"},
         {"digest", *layer},
         {"size", payload.size()},
         {"annotations", {{"dev.cosignproject.cosign/signature", "MEUCtest"}}}}}}};
  oci::Reference sig = *ref;
  sig.tag = signatureTag(*digest);
  auto pushed =
      client.pushManifest(sig, manifest.dump(), "application/vnd.oci.image.manifest.v1+json");
  ASSERT_TRUE(pushed.ok()) << pushed.error().message;

  auto shown = kwctl("inspect " + policy + " --show-signatures");
  ASSERT_EQ(shown.status, 0) << shown.out;
  EXPECT_NE(shown.out.find("Sigstore signatures"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find(*layer), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("dev.cosignproject.cosign/signature: MEUCtest"), std::string::npos)
      << shown.out;
}

INSTANTIATE_TEST_SUITE_P(Modes, KwctlDistributionRegistry,
                         ::testing::Values(Mode::Http, Mode::Tls, Mode::BasicAuth),
                         [](const auto& info) {
                           switch (info.param) {
                             case Mode::Http:
                               return std::string("Http");
                             case Mode::Tls:
                               return std::string("Tls");
                             default:
                               return std::string("BasicAuth");
                           }
                         });

// Wrong credentials: a clear error, non-zero exit, nothing stored.
class KwctlDistributionAuth : public KwctlDistributionRegistry {};

TEST_P(KwctlDistributionAuth, WrongCredentialsAreRejected) {
  docker_config_ = dir_ / "bad-docker";
  RegistryProcess::writeDockerConfig(docker_config_, reg_->host(), RegistryProcess::kUser,
                                     "wrong-password");
  auto pushed =
      kwctl("push " + quote(annotatedGuest("pod_privileged").string()) + " " + uri("kw/p:v1"));
  EXPECT_NE(pushed.status, 0);
  EXPECT_NE(pushed.out.find("Error: "), std::string::npos) << pushed.out;
  auto pulled = kwctl("pull " + uri("kw/p:v1"));
  EXPECT_NE(pulled.status, 0);
  EXPECT_NE(pulled.out.find("401"), std::string::npos) << pulled.out;
  EXPECT_FALSE(fs::exists(storeRoot() / "registry"));
}

INSTANTIATE_TEST_SUITE_P(Modes, KwctlDistributionAuth, ::testing::Values(Mode::BasicAuth));

}  // namespace
}  // namespace kw::kwctl
