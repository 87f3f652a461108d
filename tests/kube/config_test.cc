#include "kube/config.h"

#include <gtest/gtest.h>

#include <fstream>

#include "kube/kube_fixture.h"

namespace kw::kube {
namespace {

namespace fs = std::filesystem;

using test::ScopedEnv;

class KubeConfigTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::tempDir("config"); }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return dir_ / name;
  }
  std::string kubeconfig(const std::string& cluster, const std::string& user) {
    return "apiVersion: v1\nkind: Config\ncurrent-context: dev\n"
           "contexts:\n- name: other\n  context: {cluster: nowhere, user: nobody}\n"
           "- name: dev\n  context:\n    cluster: dev-cluster\n    user: dev-user\n"
           "clusters:\n- name: dev-cluster\n  cluster:\n" +
           cluster + "users:\n- name: dev-user\n  user:\n" + user;
  }
  fs::path dir_;
};

TEST_F(KubeConfigTest, TokenAndCaDataFromCurrentContext) {
  // "LS0tQ0EtLS0=" is base64 of "---CA---".
  auto path = write("kc", kubeconfig("    server: https://10.0.0.1:6443/\n"
                                     "    certificate-authority-data: LS0tQ0EtLS0=\n",
                                     "    token: abc123\n"));
  auto cfg = loadKubeconfig(path);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->server, "https://10.0.0.1:6443");
  EXPECT_EQ(cfg->ca_pem, "---CA---");
  EXPECT_EQ(cfg->token, "abc123");
  EXPECT_FALSE(cfg->insecure_skip_tls_verify);
  EXPECT_NE(cfg->origin.find("context dev"), std::string::npos);
}

TEST_F(KubeConfigTest, FilesAreRelativeToTheKubeconfig) {
  write("ca.pem", "CA-FILE");
  write("client.crt", "CERT-FILE");
  write("client.key", "KEY-FILE");
  write("token", "file-token\n");
  auto path = write("kc", kubeconfig("    server: https://k:6443\n"
                                     "    certificate-authority: ca.pem\n"
                                     "    insecure-skip-tls-verify: true\n",
                                     "    client-certificate: client.crt\n"
                                     "    client-key: client.key\n"
                                     "    tokenFile: token\n"));
  auto cfg = loadKubeconfig(path);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->ca_pem, "CA-FILE");
  EXPECT_EQ(cfg->client_cert_pem, "CERT-FILE");
  EXPECT_EQ(cfg->client_key_pem, "KEY-FILE");
  EXPECT_EQ(cfg->token, "file-token");
  EXPECT_EQ(cfg->token_file, (dir_ / "token").string());
  EXPECT_TRUE(cfg->insecure_skip_tls_verify);
}

TEST_F(KubeConfigTest, ClientCertDataAndBasicAuth) {
  auto path = write("kc", kubeconfig("    server: https://k:6443\n",
                                     "    client-certificate-data: Q0VSVA==\n"
                                     "    client-key-data: S0VZ\n"
                                     "    username: admin\n    password: secret\n"));
  auto cfg = loadKubeconfig(path);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->client_cert_pem, "CERT");
  EXPECT_EQ(cfg->client_key_pem, "KEY");
  EXPECT_EQ(cfg->username, "admin");
  EXPECT_EQ(cfg->password, "secret");
}

TEST_F(KubeConfigTest, EachMissingPieceIsNamed) {
  struct Case {
    std::string text, expected;
  } cases[] = {
      {"apiVersion: v1\nclusters: []\n", "no current-context"},
      {"current-context: ghost\ncontexts: []\n", "context \"ghost\" not found"},
      {kubeconfig("    insecure-skip-tls-verify: true\n", "    token: t\n"), "has no server"},
      {kubeconfig("    server: https://k\n    certificate-authority: missing.pem\n",
                  "    token: t\n"),
       "certificate-authority"},
      {kubeconfig("    server: https://k\n", "    client-certificate-data: Q0VSVA==\n"),
       "needs both client-certificate and client-key"},
      {kubeconfig("    server: https://k\n    certificate-authority-data: '***'\n",
                  "    token: t\n"),
       "not valid base64"},
      {"current-context: [unclosed\n", "not valid YAML"},
  };
  for (const Case& c : cases) {
    auto cfg = loadKubeconfig(write("kc", c.text));
    ASSERT_FALSE(cfg.ok()) << c.text;
    EXPECT_NE(cfg.error().message.find(c.expected), std::string::npos) << cfg.error().message;
  }
  auto missing = loadKubeconfig(dir_ / "absent");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("absent"), std::string::npos);
}

// Both files define the same names: the first file's definitions win (config_merge_test.cc has
// the other merge rules).
TEST_F(KubeConfigTest, KubeconfigEnvPrefersTheFirstFileOfTheList) {
  auto first = write("first", kubeconfig("    server: https://first:6443\n", "    token: t1\n"));
  auto second = write("second", kubeconfig("    server: https://second:6443\n", "    token: t2\n"));
  ScopedEnv env("KUBECONFIG", (first.string() + ":" + second.string()).c_str());
  auto cfg = inferConfig();
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->server, "https://first:6443");
  EXPECT_EQ(cfg->token, "t1");
}

TEST_F(KubeConfigTest, InClusterServiceAccount) {
  write("token", "sa-token\n");
  write("ca.crt", "SA-CA");
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "10.96.0.1");
  ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
  auto cfg = loadInCluster(dir_);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->server, "https://10.96.0.1:443");
  EXPECT_EQ(cfg->token, "sa-token");
  EXPECT_EQ(cfg->ca_pem, "SA-CA");
  EXPECT_EQ(cfg->origin, "in-cluster");
}

TEST_F(KubeConfigTest, InClusterErrors) {
  {
    ScopedEnv host("KUBERNETES_SERVICE_HOST", nullptr);
    auto cfg = loadInCluster(dir_);
    ASSERT_FALSE(cfg.ok());
    EXPECT_NE(cfg.error().message.find("KUBERNETES_SERVICE_HOST"), std::string::npos);
  }
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "fd00::1");
  ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
  auto no_token = loadInCluster(dir_);
  ASSERT_FALSE(no_token.ok());
  EXPECT_NE(no_token.error().message.find("token"), std::string::npos);
  write("token", "t");
  auto no_ca = loadInCluster(dir_);
  ASSERT_FALSE(no_ca.ok());
  EXPECT_NE(no_ca.error().message.find("CA"), std::string::npos);
  write("ca.crt", "CA");
  auto ok = loadInCluster(dir_);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->server, "https://[fd00::1]:443");
}

}  // namespace
}  // namespace kw::kube
