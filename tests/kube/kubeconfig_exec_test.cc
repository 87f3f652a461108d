// The `users[].user.exec` block as the kubeconfig loader checks it (running the plugin is
// exec_credential_test.cc's).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "kube/config.h"
#include "kube/kube_fixture.h"

namespace kw::kube {
namespace {

namespace fs = std::filesystem;

class KubeconfigExec : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::tempDir("exec-config"); }
  void TearDown() override { fs::remove_all(dir_); }
  // A one-context kubeconfig whose user is `user` (YAML indented under `user:`).
  Result<Config> load(const std::string& user, const std::string& cluster_extra = "") {
    std::ofstream(dir_ / "kc") << "current-context: c\n"
                                  "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
                                  "clusters:\n- name: k\n  cluster:\n"
                                  "    server: https://k:6443\n"
                               << cluster_extra << "users:\n- name: u\n  user:\n"
                               << user;
    return loadKubeconfig(dir_ / "kc");
  }
  void expectError(const std::string& user, const std::string& expected) {
    auto cfg = load(user);
    ASSERT_FALSE(cfg.ok()) << user;
    EXPECT_NE(cfg.error().message.find(expected), std::string::npos) << cfg.error().message;
  }
  fs::path dir_;
};

TEST_F(KubeconfigExec, EveryFieldIsRead) {
  auto cfg = load(R"(    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: aws
      args: [eks, get-token, --cluster-name, prod]
      env: [{name: AWS_PROFILE, value: ops}, {name: EMPTY}]
      installHint: install the AWS CLI
      interactiveMode: Never
)");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  ASSERT_TRUE(cfg->exec.has_value());
  const ExecConfig& e = *cfg->exec;
  EXPECT_EQ(e.api_version, "client.authentication.k8s.io/v1");
  EXPECT_EQ(e.command, "aws");  // no slash: found in PATH at run time
  EXPECT_EQ(e.args, (std::vector<std::string>{"eks", "get-token", "--cluster-name", "prod"}));
  ASSERT_EQ(e.env.size(), 2u);
  EXPECT_EQ(e.env[0], std::make_pair(std::string("AWS_PROFILE"), std::string("ops")));
  EXPECT_EQ(e.env[1], std::make_pair(std::string("EMPTY"), std::string()));
  EXPECT_EQ(e.install_hint, "install the AWS CLI");
  EXPECT_EQ(e.interactive_mode, "Never");
  EXPECT_EQ(e.user, "u");
  EXPECT_TRUE(e.cluster_info_json.empty());  // provideClusterInfo not set
  EXPECT_TRUE(cfg->token.empty());
}

TEST_F(KubeconfigExec, V1beta1DefaultsInteractiveModeAndPathsAreTheKubeconfigs) {
  auto cfg =
      load(R"(    exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: bin/get-token}
)");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->exec->interactive_mode, "IfAvailable");
  EXPECT_EQ(cfg->exec->command, (dir_ / "bin" / "get-token").string());
  auto absolute = load(
      "    exec: {apiVersion: client.authentication.k8s.io/v1beta1, "
      "command: /opt/get-token}\n");
  ASSERT_TRUE(absolute.ok()) << absolute.error().message;
  EXPECT_EQ(absolute->exec->command, "/opt/get-token");
}

TEST_F(KubeconfigExec, ProvideClusterInfoCarriesTheClusterAndItsExecExtension) {
  std::ofstream(dir_ / "ca.pem") << "CA-PEM";
  auto cfg = load(R"(    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: plugin
      interactiveMode: IfAvailable
      provideClusterInfo: true
)",
                  R"(    certificate-authority: ca.pem
    tls-server-name: api.internal
    insecure-skip-tls-verify: false
    extensions:
    - name: other.example.com/thing
      extension: {ignored: true}
    - name: client.authentication.k8s.io/exec
      extension: {audience: prod, retries: 3}
)");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  auto info = nlohmann::json::parse(cfg->exec->cluster_info_json);
  EXPECT_EQ(info, nlohmann::json::parse(R"({
    "server": "https://k:6443", "tls-server-name": "api.internal",
    "certificate-authority-data": "Q0EtUEVN",
    "config": {"audience": "prod", "retries": 3}})"));
}

// Found by fuzz/kubeconfig_fuzz.cc: a cluster field that is not UTF-8 made json::dump() throw out
// of loadKubeconfig while building the plugin's spec.cluster, and a map used as a key in the exec
// extension threw yaml-cpp's ParserException; both ended the process.
TEST_F(KubeconfigExec, ClusterInfoThatJsonCannotHoldIsAnError) {
  const std::string exec =
      "    exec: {apiVersion: client.authentication.k8s.io/v1, "
      "command: plugin, interactiveMode: Never, provideClusterInfo: true}\n";
  auto not_utf8 = load(exec, "    tls-server-name: \"api\xff\"\n");
  ASSERT_FALSE(not_utf8.ok());
  EXPECT_NE(not_utf8.error().message.find(", given to the exec plugin: it is not valid UTF-8"),
            std::string::npos)
      << not_utf8.error().message;
  auto map_key = load(exec,
                      "    extensions:\n    - name: client.authentication.k8s.io/exec\n"
                      "      extension: {? [a]: 1}\n");
  ASSERT_FALSE(map_key.ok());
  EXPECT_NE(map_key.error().message.find(
                ", given to the exec plugin: its exec extension: a mapping key must be a scalar"),
            std::string::npos)
      << map_key.error().message;
}

TEST_F(KubeconfigExec, StaticCredentialsOfTheSameUserWin) {
  auto cfg = load(R"(    token: static
    exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: plugin}
)");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->token, "static");
  EXPECT_FALSE(cfg->exec.has_value());
  // The block is still checked, as kubectl checks it.
  expectError("    token: static\n    exec: {command: plugin}\n", "exec needs an apiVersion");
}

TEST_F(KubeconfigExec, EachInvalidBlockIsExplained) {
  const std::string v1 = "client.authentication.k8s.io/v1";
  struct Case {
    std::string exec, expected;
  } cases[] = {
      {"{command: p}",
       "user u: exec needs an apiVersion (client.authentication.k8s.io/v1 or "
       "client.authentication.k8s.io/v1beta1)"},
      {"{apiVersion: client.authentication.k8s.io/v1alpha1, command: p}",
       "exec apiVersion client.authentication.k8s.io/v1alpha1 is no longer supported"},
      {"{apiVersion: example.com/v9, command: p}",
       "exec apiVersion \"example.com/v9\" is not supported"},
      {"{apiVersion: " + v1 + ", interactiveMode: Never}", "exec needs a command"},
      {"{apiVersion: " + v1 + ", command: p}",
       "exec interactiveMode must be set with client.authentication.k8s.io/v1 (Never or "
       "IfAvailable)"},
      {"{apiVersion: " + v1 + ", command: p, interactiveMode: Always}",
       "exec interactiveMode Always needs a terminal for the plugin, which kubewarden never "
       "has"},
      {"{apiVersion: " + v1 + ", command: p, interactiveMode: Sometimes}",
       "exec interactiveMode \"Sometimes\" is not one of Never, IfAvailable, Always"},
      {"{apiVersion: " + v1 + ", command: p, interactiveMode: Never, args: x}",
       "exec args must be a list of strings"},
      {"{apiVersion: " + v1 + ", command: p, interactiveMode: Never, env: [{value: v}]}",
       "an exec env entry has no name"},
      {"[p]", "exec must be a mapping"},
  };
  for (const Case& c : cases) expectError("    exec: " + c.exec + "\n", c.expected);
}

TEST_F(KubeconfigExec, AuthProviderIsRefused) {
  expectError("    auth-provider: {name: gcp, config: {}}\n",
              "user u uses the auth-provider \"gcp\", which kubectl removed in 1.26 and is not "
              "supported; use an exec credential plugin instead");
  expectError(
      "    auth-provider: {name: oidc}\n"
      "    exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: p}\n",
      "sets both exec and auth-provider, which cannot be combined");
  // A static token next to it still works, as before.
  auto cfg = load("    token: t\n    auth-provider: {name: gcp}\n");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->token, "t");
}

}  // namespace
}  // namespace kw::kube
