#include "oci/registry_client.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "oci/digest.h"
#include "oci/registry_test_util.h"
#include "support/cant_run.h"
#include "support/registry_process.h"
#include "support/server_process.h"

namespace kw::oci {
namespace {
namespace fs = std::filesystem;
using test::RegistryProcess;
using Mode = RegistryProcess::Mode;

#define REQUIRE_REGISTRY(reg)                                                      \
  do {                                                                             \
    if (auto why = RegistryProcess::unavailableReason((reg).mode()); !why.empty()) \
      KW_CANT_RUN() << why;                                                        \
    ASSERT_TRUE((reg).process->ready()) << (reg).process->error();                 \
  } while (0)

struct Running {
  std::unique_ptr<RegistryProcess> process;
  Mode m;
  Mode mode() const { return m; }
};

Running start(Mode mode) {
  Running r{nullptr, mode};
  if (RegistryProcess::unavailableReason(mode).empty()) {
    r.process = std::make_unique<RegistryProcess>(mode);
  }
  return r;
}

Reference refFor(const RegistryProcess& reg, const std::string& repo_tag) {
  auto ref = parseReference("registry://" + reg.host() + "/" + repo_tag);
  EXPECT_TRUE(ref.ok()) << ref.error().message;
  return *ref;
}

class OciRegistryRoundTrip : public ::testing::TestWithParam<Mode> {
 protected:
  void SetUp() override { dir_ = test::freshTestDir("oci"); }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_P(OciRegistryRoundTrip, PushPullDigestAndTags) {
  Running reg = start(GetParam());
  REQUIRE_REGISTRY(reg);
  fs::path wasm = test::pushablePolicy();
  ASSERT_TRUE(fs::exists(wasm)) << wasm;

  uint64_t last_done = 0, last_total = 0;
  ClientOptions options = reg.process->clientOptions();
  options.progress = [&](uint64_t done, uint64_t total) {
    last_done = done;
    last_total = total;
  };
  RegistryClient client(options);
  Reference ref = refFor(*reg.process, "kubewarden/pod-privileged:v1");
  auto pushed = client.pushPolicy(ref, wasm, {{"io.kubewarden.test", "yes"}});
  ASSERT_TRUE(pushed.ok()) << pushed.error().message;
  EXPECT_EQ(pushed->reference,
            reg.process->host() + "/kubewarden/pod-privileged@" + pushed->manifest_digest);
  EXPECT_EQ(last_done, fs::file_size(wasm));

  auto digest = client.manifestDigest(ref);
  ASSERT_TRUE(digest.ok()) << digest.error().message;
  EXPECT_EQ(*digest, pushed->manifest_digest);

  auto manifest = client.fetchManifest(ref);
  ASSERT_TRUE(manifest.ok()) << manifest.error().message;
  EXPECT_EQ(manifest->digest, pushed->manifest_digest);
  auto doc = nlohmann::json::parse(manifest->bytes);
  EXPECT_EQ(doc["mediaType"], kOciManifestMediaType);
  EXPECT_EQ(doc["config"]["mediaType"], kWasmConfigMediaType);
  EXPECT_EQ(doc["layers"][0]["mediaType"], kWasmLayerMediaType);
  EXPECT_EQ(doc["layers"][0]["size"], fs::file_size(wasm));
  EXPECT_EQ(doc["annotations"]["io.kubewarden.test"], "yes");
  auto config = client.fetchBlob(ref, doc["config"]["digest"].get<std::string>());
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(*config, "{}");

  last_done = last_total = 0;
  fs::path dest = dir_ / "pulled" / "deeper" / "policy.wasm";
  auto pulled = client.pullPolicy(ref, dest);
  ASSERT_TRUE(pulled.ok()) << pulled.error().message;
  EXPECT_EQ(test::slurp(dest), test::slurp(wasm));
  EXPECT_EQ(pulled->size, fs::file_size(wasm));
  EXPECT_EQ(last_done, fs::file_size(wasm));
  EXPECT_EQ(last_total, fs::file_size(wasm));
  EXPECT_EQ(test::filesUnder(dir_).size(), 1u);

  // By digest, through a second tag pushed from the same blobs (HEAD finds them).
  Reference pinned = refFor(*reg.process, "kubewarden/pod-privileged@" + pushed->manifest_digest);
  auto by_digest = client.pullPolicy(pinned, dir_ / "pinned.wasm");
  ASSERT_TRUE(by_digest.ok()) << by_digest.error().message;
  auto again = client.pushPolicy(refFor(*reg.process, "kubewarden/pod-privileged:v2"), wasm,
                                 {{"io.kubewarden.test", "yes"}});
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->manifest_digest, pushed->manifest_digest);
  auto tags = client.listTags(ref);
  ASSERT_TRUE(tags.ok()) << tags.error().message;
  EXPECT_EQ(*tags, (std::vector<std::string>{"v1", "v2"}));
}

TEST_P(OciRegistryRoundTrip, ParallelCallsShareOneClient) {
  Running reg = start(GetParam());
  REQUIRE_REGISTRY(reg);
  RegistryClient client(reg.process->clientOptions());
  Reference ref = refFor(*reg.process, "parallel/policy:v1");
  auto pushed = client.pushPolicy(ref, test::pushablePolicy());
  ASSERT_TRUE(pushed.ok()) << pushed.error().message;
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      auto d = client.manifestDigest(ref);
      auto p = client.pullPolicy(ref, dir_ / ("p" + std::to_string(i) + ".wasm"));
      if (d.ok() && *d == pushed->manifest_digest && p.ok()) ++good;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 6);
}

std::string modeName(const ::testing::TestParamInfo<Mode>& info) {
  switch (info.param) {
    case Mode::Http:
      return "Http";
    case Mode::Tls:
      return "Tls";
    case Mode::BasicAuth:
      return "BasicAuth";
  }
  return "Unknown";
}

INSTANTIATE_TEST_SUITE_P(Oci, OciRegistryRoundTrip,
                         ::testing::Values(Mode::Http, Mode::Tls, Mode::BasicAuth), modeName);

class OciRegistryErrors : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::freshTestDir("oci"); }
  void TearDown() override { fs::remove_all(dir_); }

  // Pull that must fail with `needle` in its message and leave `dir_` empty.
  void expectPullFails(RegistryClient& client, const Reference& ref, const std::string& needle) {
    fs::path dest = dir_ / "store" / "policy.wasm";
    auto pulled = client.pullPolicy(ref, dest);
    ASSERT_FALSE(pulled.ok());
    EXPECT_NE(pulled.error().message.find(needle), std::string::npos) << pulled.error().message;
    EXPECT_EQ(pulled.error().message.find('\n'), std::string::npos) << pulled.error().message;
    EXPECT_TRUE(test::filesUnder(dir_).empty());
    EXPECT_FALSE(fs::exists(dir_ / "store"));
  }
  fs::path dir_;
};

TEST_F(OciRegistryErrors, RegistryDown) {
  std::string host = "127.0.0.1:" + std::to_string(test::freePort());
  ClientOptions options;
  options.sources.insecure_sources.insert(host);
  RegistryClient client(options);
  expectPullFails(client, *parseReference(host + "/nobody/home:v1"),
                  "cannot reach registry " + host + ": ");
}

TEST_F(OciRegistryErrors, MissingTag) {
  Running reg = start(Mode::Http);
  REQUIRE_REGISTRY(reg);
  RegistryClient client(reg.process->clientOptions());
  ASSERT_TRUE(
      client.pushPolicy(refFor(*reg.process, "org/policy:v1"), test::pushablePolicy()).ok());
  expectPullFails(client, refFor(*reg.process, "org/policy:nope"),
                  "manifest not found: " + reg.process->host() + "/org/policy:nope");
  auto digest = client.manifestDigest(refFor(*reg.process, "org/absent:v1"));
  ASSERT_FALSE(digest.ok());
  EXPECT_EQ(digest.error().message,
            "manifest not found: " + reg.process->host() + "/org/absent:v1");
}

TEST_F(OciRegistryErrors, CorruptedBlobIsRejected) {
  Running reg = start(Mode::Http);
  REQUIRE_REGISTRY(reg);
  RegistryClient client(reg.process->clientOptions());
  Reference ref = refFor(*reg.process, "org/policy:v1");
  ASSERT_TRUE(client.pushPolicy(ref, test::pushablePolicy()).ok());
  auto manifest = client.fetchManifest(ref);
  ASSERT_TRUE(manifest.ok());
  std::string layer = nlohmann::json::parse(manifest->bytes)["layers"][0]["digest"];
  fs::path data = reg.process->blobDataPath(layer);
  ASSERT_TRUE(fs::exists(data)) << data;
  std::string bytes = test::slurp(data);
  bytes[bytes.size() / 2] ^= 0x5a;
  std::ofstream(data, std::ios::binary | std::ios::trunc) << bytes;
  expectPullFails(client, ref, "digest mismatch for blob " + layer + ": got " + ociDigest(bytes));
}

TEST_F(OciRegistryErrors, WrongCredentials) {
  Running reg = start(Mode::BasicAuth);
  REQUIRE_REGISTRY(reg);
  RegistryClient good(reg.process->clientOptions());
  Reference ref = refFor(*reg.process, "org/policy:v1");
  ASSERT_TRUE(good.pushPolicy(ref, test::pushablePolicy()).ok());

  ClientOptions wrong = reg.process->clientOptions();
  wrong.docker_config_dir = dir_ / "wrong-docker";
  RegistryProcess::writeDockerConfig(*wrong.docker_config_dir, reg.process->host(), "kwuser",
                                     "not-the-password");
  RegistryClient bad(wrong);
  auto pulled = bad.pullPolicy(ref, dir_ / "store" / "policy.wasm");
  ASSERT_FALSE(pulled.ok());
  EXPECT_NE(pulled.error().message.find("registry " + reg.process->host() +
                                        ": authentication failed (401 Unauthorized) for "
                                        "repository org/policy"),
            std::string::npos)
      << pulled.error().message;
  EXPECT_FALSE(fs::exists(dir_ / "store"));

  ClientOptions none = reg.process->clientOptions();
  none.docker_config_dir = dir_ / "no-such-docker";
  RegistryClient anonymous(none);
  auto denied = anonymous.manifestDigest(ref);
  ASSERT_FALSE(denied.ok());
  EXPECT_NE(denied.error().message.find("authentication required"), std::string::npos)
      << denied.error().message;
}

TEST_F(OciRegistryErrors, TlsWithoutTheCaFailsVerification) {
  Running reg = start(Mode::Tls);
  REQUIRE_REGISTRY(reg);
  ClientOptions options;  // no source_authorities, not insecure
  RegistryClient client(options);
  expectPullFails(client, refFor(*reg.process, "org/policy:v1"),
                  "TLS certificate verification failed for registry " + reg.process->host());
}

TEST_F(OciRegistryErrors, PlainHttpRegistryNeedsInsecureSources) {
  Running reg = start(Mode::Http);
  REQUIRE_REGISTRY(reg);
  RegistryClient client(ClientOptions{});
  expectPullFails(client, refFor(*reg.process, "org/policy:v1"),
                  "cannot reach registry " + reg.process->host());
}

TEST_F(OciRegistryErrors, ArtifactWithoutWasmLayer) {
  Running reg = start(Mode::Http);
  REQUIRE_REGISTRY(reg);
  RegistryClient client(reg.process->clientOptions());
  Reference ref = refFor(*reg.process, "org/image:v1");
  auto config = client.pushBlob(ref, Upload{"application/vnd.oci.image.config.v1+json", "{}", {}});
  auto layer = client.pushBlob(ref, Upload{"application/vnd.oci.image.layer.v1.tar", "tar!", {}});
  ASSERT_TRUE(config.ok() && layer.ok());
  nlohmann::json m = {{"schemaVersion", 2},
                      {"mediaType", kOciManifestMediaType},
                      {"config",
                       {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                        {"digest", *config},
                        {"size", 2}}},
                      {"layers",
                       {{{"mediaType", "application/vnd.oci.image.layer.v1.tar"},
                         {"digest", *layer},
                         {"size", 4}}}}};
  ASSERT_TRUE(client.pushManifest(ref, m.dump(), kOciManifestMediaType).ok());
  expectPullFails(client, ref,
                  "has no layer with media type application/vnd.wasm.content.layer.v1+wasm "
                  "(found: application/vnd.oci.image.layer.v1.tar)");
}

TEST_F(OciRegistryErrors, VerboseLogRedactsCredentials) {
  Running reg = start(Mode::BasicAuth);
  REQUIRE_REGISTRY(reg);
  std::ostringstream captured;
  auto previous = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(captured));
  logger->set_level(spdlog::level::debug);
  spdlog::set_default_logger(logger);
  ClientOptions options = reg.process->clientOptions();
  options.verbose = true;
  RegistryClient client(options);
  auto pushed = client.pushPolicy(refFor(*reg.process, "org/policy:v1"), test::pushablePolicy());
  spdlog::set_default_logger(previous);
  ASSERT_TRUE(pushed.ok()) << pushed.error().message;
  std::string log = captured.str();
  EXPECT_NE(log.find("Authorization: <redacted>"), std::string::npos) << log;
  EXPECT_NE(log.find("> PUT "), std::string::npos) << log;
  EXPECT_NE(log.find("< HTTP/1.1 201 Created"), std::string::npos) << log;
  std::string secret = test::slurp(reg.process->dockerConfigDir() / "config.json");
  auto auth =
      nlohmann::json::parse(secret)["auths"][reg.process->host()]["auth"].get<std::string>();
  EXPECT_EQ(log.find(auth), std::string::npos);
  EXPECT_EQ(log.find(RegistryProcess::kPassword), std::string::npos);
}

TEST_F(OciRegistryErrors, CaAsDerFileWorksAndBadCaFileIsNamed) {
  Running reg = start(Mode::Tls);
  REQUIRE_REGISTRY(reg);
  BIO* bio =
      BIO_new_mem_buf(reg.process->caPem().data(), static_cast<int>(reg.process->caPem().size()));
  X509* ca = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ASSERT_NE(ca, nullptr);
  unsigned char* der = nullptr;
  int len = i2d_X509(ca, &der);
  X509_free(ca);
  std::ofstream(dir_ / "ca.der", std::ios::binary).write(reinterpret_cast<char*>(der), len);
  OPENSSL_free(der);

  ClientOptions options;
  SourceAuthority authority;
  authority.type = SourceAuthority::Type::Path;
  authority.path = (dir_ / "ca.der").string();
  options.sources.source_authorities[reg.process->host()].push_back(authority);
  RegistryClient client(options);
  Reference ref = refFor(*reg.process, "org/policy:v1");
  ASSERT_TRUE(client.pushPolicy(ref, test::pushablePolicy()).ok());
  ASSERT_TRUE(client.manifestDigest(ref).ok());

  std::ofstream(dir_ / "garbage.pem") << "not a certificate";
  options.sources.source_authorities[reg.process->host()][0].path = (dir_ / "garbage.pem").string();
  RegistryClient broken(options);
  auto failed = broken.manifestDigest(ref);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(
      failed.error().message.find("cannot load the certificate authority (" +
                                  (dir_ / "garbage.pem").string() + ") for " + reg.process->host()),
      std::string::npos)
      << failed.error().message;
}

}  // namespace
}  // namespace kw::oci
