// kubeconfig exec credential plugins against the real kube-apiserver: the plugin (an sh script)
// prints a ServiceAccount token from a TokenRequest, or the admin's client certificate, and
// kube::Client lists Namespaces with it. No static token file is needed: the API server already
// accepts the service-account tokens it signs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "kube/client.h"
#include "kube/config.h"
#include "support/cant_run.h"
#include "support/cluster_env.h"
#include "support/exec_plugin.h"

namespace kw::test {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

class KubeExecReal : public ClusterTest {
 protected:
  void SetUp() override {
    ClusterTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    dir_ = fs::temp_directory_path() / ("kw-exec-" + ns_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // A token of ServiceAccount `lister` in ns_, allowed to list Namespaces (cluster-scoped, so
  // through a ClusterRole named after ns_). Returns once RBAC lets the token list them.
  std::string listerToken() {
    create("/api/v1/namespaces/" + ns_ + "/serviceaccounts",
           {{"apiVersion", "v1"}, {"kind", "ServiceAccount"}, {"metadata", {{"name", "lister"}}}});
    std::string rbac = "/apis/rbac.authorization.k8s.io/v1/";
    create(rbac + "clusterroles", {{"apiVersion", "rbac.authorization.k8s.io/v1"},
                                   {"kind", "ClusterRole"},
                                   {"metadata", {{"name", ns_}}},
                                   {"rules", json::array({{{"apiGroups", {""}},
                                                           {"resources", {"namespaces"}},
                                                           {"verbs", {"get", "list"}}}})}});
    create(rbac + "clusterrolebindings",
           {{"apiVersion", "rbac.authorization.k8s.io/v1"},
            {"kind", "ClusterRoleBinding"},
            {"metadata", {{"name", ns_}}},
            {"roleRef",
             {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "ClusterRole"}, {"name", ns_}}},
            {"subjects",
             json::array({{{"kind", "ServiceAccount"}, {"name", "lister"}, {"namespace", ns_}}})}});
    json issued = create("/api/v1/namespaces/" + ns_ + "/serviceaccounts/lister/token",
                         {{"apiVersion", "authentication.k8s.io/v1"},
                          {"kind", "TokenRequest"},
                          {"spec", {{"expirationSeconds", 3600}}}});
    if (!issued.is_object()) return "";
    std::string token = issued["status"]["token"];
    auto direct = kube::Client::create(withToken(admin_->config(), token));
    EXPECT_TRUE(direct.ok());
    // The RBAC authorizer learns of the new binding through its informer: wait for it.
    EXPECT_TRUE(waitFor([&] {
      auto reply = (*direct)->request("GET", "/api/v1/namespaces?limit=1");
      return reply.ok() && reply->status == 200;
    })) << "the ServiceAccount never got to list namespaces";
    return token;
  }

  // A client from a kubeconfig whose only user is the exec plugin.
  std::shared_ptr<kube::Client> execClient(const TokenPlugin& plugin) {
    fs::path path = dir_ / "kubeconfig";
    std::ofstream(path) << "apiVersion: v1\nkind: Config\ncurrent-context: exec\n"
                           "contexts: [{name: exec, context: {cluster: real, user: plugin}}]\n"
                           "clusters:\n- name: real\n  cluster:\n    server: "
                        << env_.server << "\n    certificate-authority-data: "
                        << base64Encode(admin_->config().ca_pem)
                        << "\nusers:\n- name: plugin\n  user:\n"
                        << execUserYaml(plugin);
    auto config = kube::loadKubeconfig(path);
    EXPECT_TRUE(config.ok()) << config.error().message;
    if (!config.ok()) return nullptr;
    auto client = kube::Client::create(std::move(*config));
    EXPECT_TRUE(client.ok()) << client.error().message;
    return client.ok() ? *client : nullptr;
  }

  // Lists Namespaces through `client`; true when ns_ is among them.
  bool listsOurNamespace(kube::Client& client) {
    auto type = client.resolve({"v1", "Namespace"});
    EXPECT_TRUE(type.ok()) << type.error().message;
    if (!type.ok()) return false;
    auto list = client.list(*type, {});
    EXPECT_TRUE(list.ok()) << list.error().message;
    return list.ok() && list->find("\"" + ns_ + "\"") != std::string::npos;
  }

  fs::path dir_;
};

TEST_F(KubeExecReal, APluginTokenListsNamespaces) {
  std::string token = listerToken();
  ASSERT_FALSE(token.empty());
  auto plugin = writeTokenPlugin(dir_, {{"token", token}}, {{"token", "never-printed"}});
  auto client = execClient(plugin);
  ASSERT_TRUE(client);
  EXPECT_TRUE(listsOurNamespace(*client));
  EXPECT_EQ(plugin.runs(), 1);  // discovery and the list share the cached token
}

TEST_F(KubeExecReal, ARefusedTokenIsReplacedAndTheRequestRetried) {
  std::string token = listerToken();
  ASSERT_FALSE(token.empty());
  auto plugin = writeTokenPlugin(dir_, {{"token", "not-a-token-the-server-knows"}},
                                 {{"token", token}}, "client.authentication.k8s.io/v1beta1");
  auto client = execClient(plugin);
  ASSERT_TRUE(client);
  EXPECT_TRUE(listsOurNamespace(*client));
  EXPECT_EQ(plugin.runs(), 2);  // the 401 ran it again, then the fresh token was cached
}

TEST_F(KubeExecReal, APluginClientCertificateListsNamespaces) {
  const kube::Config& admin = admin_->config();
  if (admin.client_cert_pem.empty())
    KW_CANT_RUN() << "the harness admin has no client certificate to hand to the plugin";
  auto status = json{{"clientCertificateData", admin.client_cert_pem},
                     {"clientKeyData", admin.client_key_pem}};
  auto plugin = writeTokenPlugin(dir_, status, status);
  auto client = execClient(plugin);
  ASSERT_TRUE(client);
  EXPECT_TRUE(listsOurNamespace(*client));
  EXPECT_EQ(plugin.runs(), 1);
}

}  // namespace
}  // namespace kw::test
