#include "oci/docker_config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "oci/registry_test_util.h"

namespace kw::oci {
namespace {
namespace fs = std::filesystem;

class OciDockerConfig : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::freshTestDir("dockercfg"); }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path write(const std::string& json) {
    std::ofstream(dir_ / "config.json") << json;
    return dir_ / "config.json";
  }
  fs::path dir_;
};

TEST_F(OciDockerConfig, ReadsAuthAndUsernamePasswordEntries) {
  // "alice:s3cr:et" in base64: the password may itself contain ':'.
  fs::path file = write(R"({"auths":{
    "127.0.0.1:5000": {"auth": "YWxpY2U6czNjcjpldA=="},
    "https://registry.example.com/v2/": {"username": "bob", "password": "pw"},
    "https://index.docker.io/v1/": {"auth": "aHViOmh1YnB3"}
  }})");
  auto local = findCredentials(file, "127.0.0.1:5000");
  ASSERT_TRUE(local.has_value());
  EXPECT_EQ(local->username, "alice");
  EXPECT_EQ(local->password, "s3cr:et");
  auto normalized = findCredentials(file, "registry.example.com");
  ASSERT_TRUE(normalized.has_value());
  EXPECT_EQ(normalized->username, "bob");
  EXPECT_EQ(normalized->password, "pw");
  auto hub = findCredentials(file, "docker.io");
  ASSERT_TRUE(hub.has_value());
  EXPECT_EQ(hub->username, "hub");
  EXPECT_EQ(hub->password, "hubpw");
  EXPECT_FALSE(findCredentials(file, "127.0.0.1:5001").has_value());
}

TEST_F(OciDockerConfig, MissingOrBrokenFileMeansNoCredentials) {
  EXPECT_FALSE(findCredentials(dir_ / "absent.json", "ghcr.io").has_value());
  EXPECT_FALSE(findCredentials(write("{not json"), "ghcr.io").has_value());
  EXPECT_FALSE(findCredentials(write(R"({"credsStore":"desktop"})"), "ghcr.io").has_value());
}

TEST_F(OciDockerConfig, FileLocation) {
  EXPECT_EQ(dockerConfigFile(dir_), dir_ / "config.json");
  const char* old = std::getenv("DOCKER_CONFIG");
  std::string saved = old ? old : "";
  ::setenv("DOCKER_CONFIG", dir_.c_str(), 1);
  EXPECT_EQ(dockerConfigFile(std::nullopt), dir_ / "config.json");
  ::unsetenv("DOCKER_CONFIG");
  EXPECT_EQ(dockerConfigFile(std::nullopt), fs::path(std::getenv("HOME")) / ".docker/config.json");
  if (old) ::setenv("DOCKER_CONFIG", saved.c_str(), 1);
}

}  // namespace
}  // namespace kw::oci
