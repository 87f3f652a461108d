#include "fetch/fetcher.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "oci/registry_test_util.h"
#include "support/cant_run.h"
#include "support/registry_process.h"
#include "support/server_process.h"

namespace kw::fetch {
namespace {
namespace fs = std::filesystem;
using test::RegistryProcess;
using Mode = RegistryProcess::Mode;

class FetchTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::freshTestDir("fetch"); }
  void TearDown() override { fs::remove_all(dir_); }

  // Starts a registry in `mode` and pushes our policy as org/policy:<tag> (and :latest).
  bool startRegistry(Mode mode) {
    if (auto why = RegistryProcess::unavailableReason(mode); !why.empty()) {
      skip_ = why;
      return false;
    }
    reg_ = std::make_unique<RegistryProcess>(mode);
    if (!reg_->ready()) return false;
    oci::RegistryClient client(reg_->clientOptions());
    for (const char* tag : {"v1", "latest"}) {
      auto ref = oci::parseReference(reg_->host() + "/org/policy:" + tag);
      auto pushed = client.pushPolicy(*ref, test::pushablePolicy());
      if (!pushed.ok()) return false;
    }
    auto manifest = client.fetchManifest(*oci::parseReference(reg_->host() + "/org/policy:v1"));
    if (!manifest.ok()) return false;
    auto doc = nlohmann::json::parse(manifest->bytes);
    layer_ = doc["layers"][0]["digest"];
    config_ = doc["config"]["digest"];
    return true;
  }
  std::string blobUrl(const std::string& scheme, const std::string& digest) const {
    return scheme + "://" + reg_->host() + "/v2/org/policy/blobs/" + digest;
  }
  store::Store store() const { return store::Store(dir_ / "store"); }

  fs::path dir_;
  std::unique_ptr<RegistryProcess> reg_;
  std::string skip_, layer_, config_;
};

#define START_REGISTRY(mode)                                           \
  do {                                                                 \
    bool started = startRegistry(mode);                                \
    if (!skip_.empty()) KW_CANT_RUN() << skip_;                        \
    ASSERT_TRUE(started) << (reg_ ? reg_->error() + reg_->log() : ""); \
  } while (0)

TEST_F(FetchTest, RegistryPullLandsInStoreLayout) {
  START_REGISTRY(Mode::Http);
  Fetcher fetcher(reg_->clientOptions(), store());
  std::string url = "registry://" + reg_->host() + "/org/policy:v1";
  auto fetched = fetcher.fetch(url);
  ASSERT_TRUE(fetched.ok()) << fetched.error().message;
  EXPECT_TRUE(fetched->downloaded);
  EXPECT_EQ(fetched->path, dir_ / "store/registry" / reg_->host() / "org/policy:v1");
  EXPECT_EQ(test::slurp(fetched->path), test::slurp(test::pushablePolicy()));

  auto listed = fetcher.store().list();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].uri, url);

  // A pinned tag already in the store is not fetched again; :latest always is.
  auto again = fetcher.fetch(url);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->downloaded);
  std::string latest = "registry://" + reg_->host() + "/org/policy:latest";
  ASSERT_TRUE(fetcher.fetch(latest).ok());
  auto latest_again = fetcher.fetch(latest);
  ASSERT_TRUE(latest_again.ok());
  EXPECT_TRUE(latest_again->downloaded);

  auto resolved = fetcher.resolveLocal(url);
  ASSERT_TRUE(resolved.ok()) << resolved.error().message;
  EXPECT_EQ(*resolved, fetched->path);
  auto by_sha = fetcher.resolveLocal((*listed)[0].sha256.substr(0, 12));
  ASSERT_TRUE(by_sha.ok()) << by_sha.error().message;
}

TEST_F(FetchTest, OutputPathOverridesTheStore) {
  START_REGISTRY(Mode::Tls);
  Fetcher fetcher(reg_->clientOptions(), store());
  std::string url = "registry://" + reg_->host() + "/org/policy:v1";
  auto to_file = fetcher.fetch(url, dir_ / "out" / "named.wasm");
  ASSERT_TRUE(to_file.ok()) << to_file.error().message;
  EXPECT_EQ(to_file->path, dir_ / "out" / "named.wasm");
  auto to_dir = fetcher.fetch(url, dir_ / "out");
  ASSERT_TRUE(to_dir.ok()) << to_dir.error().message;
  EXPECT_EQ(to_dir->path, dir_ / "out" / "policy:v1");
  EXPECT_EQ(test::slurp(to_dir->path), test::slurp(test::pushablePolicy()));
  EXPECT_TRUE(test::filesUnder(dir_ / "store").empty());
}

TEST_F(FetchTest, HttpOnlyForInsecureSources) {
  START_REGISTRY(Mode::Http);
  std::string url = blobUrl("http", layer_);
  Fetcher strict(oci::ClientOptions{}, store());
  auto refused = strict.fetch(url);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("refusing plain HTTP to " + url), std::string::npos)
      << refused.error().message;
  EXPECT_TRUE(test::filesUnder(dir_).empty());

  Fetcher insecure(reg_->clientOptions(), store());
  auto fetched = insecure.fetch(url);
  ASSERT_TRUE(fetched.ok()) << fetched.error().message;
  EXPECT_EQ(fetched->path, dir_ / "store/http" / reg_->host() / "v2/org/policy/blobs" / layer_);
  EXPECT_EQ(test::slurp(fetched->path), test::slurp(test::pushablePolicy()));
}

TEST_F(FetchTest, HttpsUsesSourceAuthorities) {
  START_REGISTRY(Mode::Tls);
  std::string url = blobUrl("https", layer_);
  Fetcher untrusted(oci::ClientOptions{}, store());
  auto failed = untrusted.fetch(url);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message.find("TLS certificate verification failed for " + url),
            std::string::npos)
      << failed.error().message;
  EXPECT_TRUE(test::filesUnder(dir_).empty());

  // The CA as a PEM file (type Path) this time.
  std::ofstream(dir_ / "ca.pem") << reg_->caPem();
  oci::ClientOptions options;
  oci::SourceAuthority ca;
  ca.type = oci::SourceAuthority::Type::Path;
  ca.path = (dir_ / "ca.pem").string();
  options.sources.source_authorities[reg_->host()].push_back(ca);
  Fetcher trusted(options, store());
  auto fetched = trusted.fetch(url);
  ASSERT_TRUE(fetched.ok()) << fetched.error().message;
  EXPECT_EQ(test::slurp(fetched->path), test::slurp(test::pushablePolicy()));
}

TEST_F(FetchTest, NonWasmDownloadLeavesNothing) {
  START_REGISTRY(Mode::Http);
  Fetcher fetcher(reg_->clientOptions(), store());
  auto fetched = fetcher.fetch(blobUrl("http", config_));
  ASSERT_FALSE(fetched.ok());
  EXPECT_NE(fetched.error().message.find("is not a WebAssembly module"), std::string::npos)
      << fetched.error().message;
  EXPECT_TRUE(test::filesUnder(dir_).empty());
  EXPECT_FALSE(fs::exists(dir_ / "store"));
}

TEST_F(FetchTest, RegistryDownLeavesStoreUnchanged) {
  std::string host = "127.0.0.1:" + std::to_string(test::freePort());
  oci::ClientOptions options;
  options.sources.insecure_sources.insert(host);
  Fetcher fetcher(options, store());
  auto fetched = fetcher.fetch("registry://" + host + "/org/policy:v1");
  ASSERT_FALSE(fetched.ok());
  EXPECT_NE(fetched.error().message.find("cannot reach registry " + host), std::string::npos)
      << fetched.error().message;
  EXPECT_FALSE(fs::exists(dir_ / "store"));
}

TEST_F(FetchTest, LocalFilesResolveWithoutNetwork) {
  Fetcher fetcher(oci::ClientOptions{}, store());
  fs::path wasm = test::pushablePolicy();
  auto by_url = fetcher.fetch("file://" + wasm.string());
  ASSERT_TRUE(by_url.ok()) << by_url.error().message;
  EXPECT_EQ(by_url->path, wasm);
  EXPECT_FALSE(by_url->downloaded);
  auto by_path = fetcher.resolveLocal(wasm.string());
  ASSERT_TRUE(by_path.ok());
  EXPECT_EQ(*by_path, wasm);

  for (const char* missing : {"file:///no/such/policy.wasm", "/no/such/policy.wasm",
                              "registry://ghcr.io/org/not-pulled:v1", "abcdef012"}) {
    auto r = fetcher.resolveLocal(missing);
    ASSERT_FALSE(r.ok()) << missing;
    EXPECT_NE(r.error().message.find(missing), std::string::npos) << r.error().message;
  }
  // Issue 16's probe: a policy `url: file:///etc` was reported as not found.
  for (auto [url, problem] : {std::pair{"file:///etc", "is a directory, not a file"},
                              std::pair{"/etc", "is a directory, not a file"},
                              std::pair{"file:///dev/zero", "is not a regular file"}}) {
    auto r = fetcher.fetch(url);
    ASSERT_FALSE(r.ok()) << url;
    EXPECT_EQ(r.error().message, fmt::format("policy file {} {}", url, problem));
  }
  auto relative = fetcher.fetch("file://relative/path.wasm");
  ASSERT_FALSE(relative.ok());
  EXPECT_NE(relative.error().message.find("file:///absolute/path"), std::string::npos);
}

}  // namespace
}  // namespace kw::fetch
