// Proves the harness: the suite's real kube-apiserver answers our kube client and kubectl,
// keeps what we write, and enforces RBAC. Every test works in its own namespace (ns_).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "support/cluster_env.h"
#include "support/test_env.h"

namespace kw::test {
namespace {

using nlohmann::json;

class Cluster : public ClusterTest {};

TEST_F(Cluster, ListsNamespacesWithOurClientAndKubectl) {
  auto type = admin_->resolve({"v1", "Namespace"});
  ASSERT_TRUE(type.ok()) << type.error().message;
  auto list = admin_->list(*type, {});
  ASSERT_TRUE(list.ok()) << list.error().message;
  json parsed = json::parse(*list);  // named: a range-for over a temporary's member dangles
  std::set<std::string> names;
  for (const auto& item : parsed["items"]) names.insert(item["metadata"]["name"]);
  // kube-apiserver makes default and kube-system itself; ns_ is this test's.
  EXPECT_TRUE(names.count("default"));
  EXPECT_TRUE(names.count("kube-system"));
  EXPECT_TRUE(names.count(ns_));

  auto kubectl = runCommand((env_.tools / "kubectl").string() + " --kubeconfig " +
                            env_.kubeconfig.string() + " get namespace " + ns_ + " -o name 2>&1");
  EXPECT_EQ(kubectl.status, 0) << kubectl.out;
  EXPECT_EQ(kubectl.out, "namespace/" + ns_ + "\n");
}

TEST_F(Cluster, CreatesAndGetsAConfigMap) {
  json cm = {{"apiVersion", "v1"},
             {"kind", "ConfigMap"},
             {"metadata", {{"name", "settings"}, {"labels", {{"app", "kw"}}}}},
             {"data", {{"mode", "protect"}}}};
  auto created = admin_->request("POST", "/api/v1/namespaces/" + ns_ + "/configmaps", cm.dump(),
                                 "application/json");
  ASSERT_TRUE(created.ok()) << created.error().message;
  ASSERT_EQ(created->status, 201) << created->body;

  auto type = admin_->resolve({"v1", "ConfigMap"});
  ASSERT_TRUE(type.ok()) << type.error().message;
  auto got = admin_->get(*type, ns_, "settings");
  ASSERT_TRUE(got.ok()) << got.error().message;
  json stored = json::parse(*got);
  EXPECT_EQ(stored["data"]["mode"], "protect");
  EXPECT_EQ(stored["metadata"]["labels"]["app"], "kw");
  EXPECT_EQ(stored["metadata"]["namespace"], ns_);
  // A real server stamps what a fake might forget.
  EXPECT_FALSE(stored["metadata"]["uid"].get<std::string>().empty());
  EXPECT_FALSE(stored["metadata"]["resourceVersion"].get<std::string>().empty());
}

TEST_F(Cluster, ServiceAccountWithoutRightsIsForbidden) {
  // A TokenRequest token, signed with the harness's service-account key.
  auto client = serviceAccountClient("nobody");
  ASSERT_TRUE(client);
  auto type = admin_->resolve({"v1", "ConfigMap"});
  ASSERT_TRUE(type.ok()) << type.error().message;
  kube::Client::ListOptions options;
  options.ns = ns_;
  auto listed = client->list(*type, options);
  ASSERT_FALSE(listed.ok()) << "a ServiceAccount with no RoleBinding listed ConfigMaps";
  // Authenticated (not 401) as the ServiceAccount, and refused by RBAC.
  EXPECT_NE(listed.error().message.find("(403)"), std::string::npos) << listed.error().message;
  EXPECT_NE(listed.error().message.find("system:serviceaccount:" + ns_ + ":nobody"),
            std::string::npos)
      << listed.error().message;

  // Once a Role grants it, the same token lists them.
  grant("nobody", {"configmaps"}, {"list"});
  Result<std::string> granted = makeError("not tried");
  EXPECT_TRUE(waitFor([&] {
    granted = client->list(*type, options);
    return granted.ok();
  })) << granted.error().message;
}

}  // namespace
}  // namespace kw::test
