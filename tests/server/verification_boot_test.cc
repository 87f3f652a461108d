// policy-server --enable-verification: a registry:// policy is downloaded only once its cosign
// signatures satisfy --verification-path, and an unsigned one stops the boot.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "sigstore/signed_registry.h"
#include "support/cant_run.h"
#include "support/server_process.h"

namespace kw::sigstore::fixture {
namespace {

namespace fs = std::filesystem;

class PolicyServerVerification : public SignedRegistryTest {
 protected:
  void SetUp() override {
    SignedRegistryTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    if (!fs::exists(test::binDir() / "policy-server")) KW_CANT_RUN() << "policy-server not built";
    dir_ = fs::temp_directory_path() / ("kw-psverify-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()
                                            ->current_test_info()
                                            ->name());
    fs::create_directories(dir_);
    std::ofstream(dir_ / "sources.yml") << "insecure_sources: [\"" << registry_->host() << "\"]\n";
    std::ofstream verification(dir_ / "verification.yml");
    verification << "apiVersion: v1\nallOf:\n  - kind: pubKey\n    key: |\n";
    std::istringstream pem(cs::publicKeyPem(key_));
    for (std::string line; std::getline(pem, line);) verification << "      " << line << "\n";
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  std::vector<std::string> args() const {
    return {"--sources-path", (dir_ / "sources.yml").string(), "--enable-verification",
            "--verification-path", (dir_ / "verification.yml").string()};
  }
  std::string policies(const std::string& repo) const {
    return "p:\n  url: registry://" + registry_->host() + "/" + repo + ":v1\n";
  }

  fs::path dir_;
};

TEST_F(PolicyServerVerification, SignedPolicyBootsAndServes) {
  auto digest = push("verified/privileged");
  attach("verified/privileged", digest, {keySigned(key_, "verified/privileged", digest)});
  test::ServerProcess server(policies("verified/privileged"), args());
  ASSERT_TRUE(server.waitReady()) << server.log();
  EXPECT_EQ(server.get("/readiness").status, 200);
  server.terminate();
}

TEST_F(PolicyServerVerification, UnsignedPolicyStopsTheBootNamingThePolicy) {
  push("verified/unsigned");
  test::ServerProcess server(policies("verified/unsigned"), args());
  EXPECT_NE(server.waitExit(), 0);
  EXPECT_NE(server.log().find("policy \"p\""), std::string::npos) << server.log();
  EXPECT_NE(server.log().find("verification failed"), std::string::npos) << server.log();
}

TEST_F(PolicyServerVerification, SignatureFromAnotherKeyIsRefused) {
  auto digest = push("verified/otherkey");
  auto other = cs::newEcKey();
  attach("verified/otherkey", digest, {keySigned(other, "verified/otherkey", digest)});
  test::ServerProcess server(policies("verified/otherkey"), args());
  EXPECT_NE(server.waitExit(), 0);
  EXPECT_NE(server.log().find("verification failed"), std::string::npos) << server.log();
}

TEST_F(PolicyServerVerification, EnableVerificationWithoutConfigIsAnError) {
  test::ServerProcess server(policies("verified/any"),
                             {"--sources-path", (dir_ / "sources.yml").string(),
                              "--enable-verification"});
  EXPECT_NE(server.waitExit(), 0);
  EXPECT_NE(server.log().find("--enable-verification needs --verification-path"),
            std::string::npos)
      << server.log();
}

}  // namespace
}  // namespace kw::sigstore::fixture
