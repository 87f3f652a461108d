// The policy-server fetching its modules from an OCI registry at start-up: registry:// URLs in
// policies.yml, downloaded into --policies-download-dir, with --sources-path honoured.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "oci/reference.h"
#include "oci/registry_client.h"
#include "support/cant_run.h"
#include "support/registry_process.h"
#include "support/server_process.h"
#include "support/test_env.h"

namespace kw::test {
namespace {
namespace fs = std::filesystem;

std::string readText(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class PolicyServerRegistry : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(binDir() / "policy-server")) KW_CANT_RUN() << "policy-server not built";
    if (auto why = RegistryProcess::unavailableReason(RegistryProcess::Mode::Http); !why.empty()) {
      KW_CANT_RUN() << why;
    }
    dir_ = fs::temp_directory_path() /
           ("kw-psreg-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    reg_ = std::make_unique<RegistryProcess>(RegistryProcess::Mode::Http);
    ASSERT_TRUE(reg_->ready()) << reg_->error();
    std::ofstream(dir_ / "sources.yml") << "insecure_sources: [\"" << reg_->host() << "\"]\n";
  }
  void TearDown() override {
    reg_.reset();
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // Pushes an annotated guest and returns its registry:// URL.
  std::string push(const std::string& guest, const std::string& repo_tag) {
    std::string url = "registry://" + reg_->host() + "/" + repo_tag;
    auto ref = oci::parseReference(url);
    EXPECT_TRUE(ref.ok());
    oci::RegistryClient client(reg_->clientOptions());
    auto pushed = client.pushPolicy(*ref, guestDir() / "annotated" / (guest + ".wasm"));
    EXPECT_TRUE(pushed.ok()) << pushed.error().message;
    return url;
  }

  std::vector<std::string> args() const {
    // ServerProcess already points --policies-download-dir at its own folder.
    return {"--sources-path", (dir_ / "sources.yml").string()};
  }

  fs::path dir_;
  std::unique_ptr<RegistryProcess> reg_;
};

TEST_F(PolicyServerRegistry, BootsFromRegistryUrlsAndValidates) {
  std::string url = push("pod_privileged", "kw/pod-privileged:v1");
  // Two ids on one URL: downloaded once.
  ServerProcess server("privileged:\n  url: " + url + "\nalso-privileged:\n  url: " + url +
                           "\n  policyMode: monitor\n",
                       args());
  ASSERT_TRUE(server.waitReady()) << server.log();
  EXPECT_TRUE(fs::exists(server.dir() / "registry" / reg_->host() / "kw" / "pod-privileged:v1"));

  std::string body = readText(sourceDir() / "examples" / "requests" / "privileged-pod.json");
  auto r = server.post("/validate/privileged", body);
  ASSERT_EQ(r.status, 200) << r.body << server.log();
  auto answer = nlohmann::json::parse(r.body);
  EXPECT_FALSE(answer["response"]["allowed"].get<bool>()) << r.body;
  auto monitor = server.post("/validate/also-privileged", body);
  ASSERT_EQ(monitor.status, 200);
  EXPECT_TRUE(nlohmann::json::parse(monitor.body)["response"]["allowed"].get<bool>());
  EXPECT_EQ(server.terminate(), 0);
}

// The kubewarden-defaults chart writes its modules as host/repo:tag, with no scheme: upstream
// reads that as a registry reference (spec §4.1), so must we.
TEST_F(PolicyServerRegistry, ModuleWithoutSchemeIsARegistryReference) {
  std::string url = push("pod_privileged", "kw/pod-privileged:v1");
  std::string bare = url.substr(std::string("registry://").size());
  ServerProcess server("privileged:\n  url: " + bare + "\n", args());
  ASSERT_TRUE(server.waitReady()) << server.log();
  EXPECT_TRUE(fs::exists(server.dir() / "registry" / reg_->host() / "kw" / "pod-privileged:v1"));
  std::string body = readText(sourceDir() / "examples" / "requests" / "privileged-pod.json");
  auto r = server.post("/validate/privileged", body);
  ASSERT_EQ(r.status, 200) << r.body << server.log();
  EXPECT_FALSE(nlohmann::json::parse(r.body)["response"]["allowed"].get<bool>()) << r.body;
  EXPECT_EQ(server.terminate(), 0);
}

TEST_F(PolicyServerRegistry, EveryFailedDownloadIsListed) {
  std::string good = push("pod_privileged", "kw/pod-privileged:v1");
  std::string missing = "registry://" + reg_->host() + "/kw/absent:v1";
  std::string nowhere = "registry://127.0.0.1:1/kw/down:v1";
  ServerProcess server("good:\n  url: " + good + "\nmissing:\n  url: " + missing +
                           "\ndown:\n  url: " + nowhere + "\n",
                       args());
  EXPECT_NE(server.waitExit(), 0);
  std::string log = server.log();
  EXPECT_NE(log.find("policy \"missing\": cannot fetch " + missing), std::string::npos) << log;
  EXPECT_NE(log.find("policy \"down\": cannot fetch " + nowhere), std::string::npos) << log;
  EXPECT_EQ(log.find("policy \"good\""), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(server.dir() / "registry" / reg_->host() / "kw" / "absent:v1"));
}

TEST_F(PolicyServerRegistry, UntrustedRegistryWithoutSourcesFails) {
  std::string url = push("pod_privileged", "kw/pod-privileged:v1");
  // No sources.yml: plain HTTP to the registry is not allowed.
  ServerProcess server("p:\n  url: " + url + "\n");
  EXPECT_NE(server.waitExit(), 0);
  EXPECT_NE(server.log().find("policy \"p\""), std::string::npos) << server.log();
}

}  // namespace
}  // namespace kw::test
