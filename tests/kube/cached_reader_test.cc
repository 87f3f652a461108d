#include "kube/cached_reader.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "kube/kube_fixture.h"

namespace kw::kube {
namespace {

using json = nlohmann::json;

const ResourceKey kNamespace{"v1", "Namespace"};
const ResourceKey kIngress{"networking.k8s.io/v1", "Ingress"};

class KubeCachedReader : public test::KubeFakeFixture {
 protected:
  void SetUp() override {
    test::KubeFakeFixture::SetUp();
    addNamespace("prod", {{"env", "prod"}});
    addNamespace("qa", {{"env", "qa"}});
    addIngress("prod", "web", {{"app", "web"}});
    addIngress("prod", "api", {{"app", "api"}});
    addIngress("qa", "web", {{"app", "web"}});
    CachedReader::Options options;
    options.get_ttl = std::chrono::milliseconds(300);
    reader_ = std::make_unique<CachedReader>(client_, options);
  }
  void TearDown() override {
    reader_.reset();
    test::KubeFakeFixture::TearDown();
  }
  void addIngress(const std::string& ns, const std::string& name, json labels) {
    ASSERT_TRUE(fake_
                    ->put({{"apiVersion", "networking.k8s.io/v1"},
                           {"kind", "Ingress"},
                           {"metadata", {{"name", name}, {"namespace", ns}, {"labels", labels}}},
                           {"spec", {{"rules", {{{"host", name + "." + ns + ".example.com"}}}}}}})
                    .ok());
  }
  static std::vector<std::string> names(const std::string& list) {
    std::vector<std::string> out;
    json doc = json::parse(list);  // named: a temporary would die before the loop
    for (const json& i : doc["items"])
      out.push_back(i["metadata"].value("namespace", "") + "/" +
                    i["metadata"]["name"].get<std::string>());
    return out;
  }
  std::unique_ptr<CachedReader> reader_;
};

TEST_F(KubeCachedReader, ListAllHasTheKubernetesListShape) {
  ASSERT_TRUE(reader_->start({kNamespace, kIngress}).ok());
  ASSERT_TRUE(reader_->waitForSync(std::chrono::seconds(15)).ok());
  auto list = reader_->listAll(kNamespace, {});
  ASSERT_TRUE(list.ok()) << list.error().message;
  json l = json::parse(*list);
  EXPECT_EQ(l["apiVersion"], "v1");
  EXPECT_EQ(l["kind"], "NamespaceList");
  EXPECT_EQ(l["metadata"]["resourceVersion"], std::to_string(fake_->resourceVersion()));
  ASSERT_EQ(l["items"].size(), 2u);
  EXPECT_EQ(l["items"][0]["kind"], "Namespace");
  EXPECT_EQ(names(*list), (std::vector<std::string>{"/prod", "/qa"}));
  auto ingresses = reader_->listAll(kIngress, {});
  ASSERT_TRUE(ingresses.ok());
  EXPECT_EQ(json::parse(*ingresses)["kind"], "IngressList");
  EXPECT_EQ(json::parse(*ingresses)["apiVersion"], "networking.k8s.io/v1");
  EXPECT_EQ(names(*ingresses), (std::vector<std::string>{"prod/api", "prod/web", "qa/web"}));
}

TEST_F(KubeCachedReader, ListsAreServedFromMemoryAndFollowChanges) {
  ASSERT_TRUE(reader_->listAll(kNamespace, {}).ok());  // starts the reflector on first use
  size_t lists = fake_->countRequests("GET /api/v1/namespaces?limit=");
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(reader_->listAll(kNamespace, {}).ok());
  EXPECT_EQ(fake_->countRequests("GET /api/v1/namespaces?limit="), lists);
  addNamespace("dev");
  ASSERT_TRUE(
      test::eventually([&] { return names(*reader_->listAll(kNamespace, {})).size() == 3; }));
}

TEST_F(KubeCachedReader, ListByNamespaceAndSelectors) {
  auto prod = reader_->listByNamespace(kIngress, "prod", {});
  ASSERT_TRUE(prod.ok()) << prod.error().message;
  EXPECT_EQ(names(*prod), (std::vector<std::string>{"prod/api", "prod/web"}));
  EXPECT_EQ(names(*reader_->listByNamespace(kIngress, "pro", {})), std::vector<std::string>{});
  EXPECT_EQ(names(*reader_->listAll(kIngress, {"app=web", ""})),
            (std::vector<std::string>{"prod/web", "qa/web"}));
  EXPECT_EQ(names(*reader_->listAll(kIngress, {"app notin (web)", ""})),
            std::vector<std::string>{"prod/api"});
  EXPECT_EQ(names(*reader_->listAll(kIngress, {"", "metadata.namespace=qa"})),
            std::vector<std::string>{"qa/web"});
  EXPECT_EQ(names(*reader_->listByNamespace(kIngress, "prod", {"app", "metadata.name!=web"})),
            std::vector<std::string>{"prod/api"});
  auto bad = reader_->listAll(kIngress, {"app in web", ""});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("app in web"), std::string::npos);
  auto cluster_scoped = reader_->listByNamespace(kNamespace, "prod", {});
  ASSERT_FALSE(cluster_scoped.ok());
  EXPECT_NE(cluster_scoped.error().message.find("cluster-scoped"), std::string::npos);
}

TEST_F(KubeCachedReader, OtherFieldSelectorsGoToTheApiServer) {
  auto list = reader_->listAll(kIngress, {"", "spec.ingressClassName=nginx"});
  // The fake, like kube-apiserver for unindexed fields, refuses it: proof the call went there.
  ASSERT_FALSE(list.ok());
  EXPECT_NE(list.error().message.find("field label not supported: spec.ingressClassName"),
            std::string::npos);
  EXPECT_EQ(fake_->countRequests("GET /apis/networking.k8s.io/v1/ingresses?fieldSelector="), 1u);
}

TEST_F(KubeCachedReader, GetUsesAShortCacheUnlessDisabled) {
  auto first = reader_->get(kNamespace, "prod", "", false);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(json::parse(*first)["metadata"]["name"], "prod");
  addNamespace("prod", {{"env", "changed"}});
  auto cached = reader_->get(kNamespace, "prod", "", false);
  ASSERT_TRUE(cached.ok());
  EXPECT_EQ(*cached, *first);  // within the TTL: the cached copy
  EXPECT_EQ(fake_->countRequests("GET /api/v1/namespaces/prod"), 1u);
  auto direct = reader_->get(kNamespace, "prod", "", true);
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ(json::parse(*direct)["metadata"]["labels"]["env"], "changed");
  EXPECT_EQ(fake_->countRequests("GET /api/v1/namespaces/prod"), 2u);
  ASSERT_TRUE(test::eventually([&] {
    auto again = reader_->get(kNamespace, "prod", "", false);
    return again.ok() && json::parse(*again)["metadata"]["labels"]["env"] == "changed";
  }));
  auto ingress = reader_->get(kIngress, "api", "prod", false);
  ASSERT_TRUE(ingress.ok());
  EXPECT_EQ(json::parse(*ingress)["kind"], "Ingress");
  auto missing = reader_->get(kIngress, "nope", "prod", false);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("ingresses.networking.k8s.io \"nope\" not found"),
            std::string::npos);
}

TEST_F(KubeCachedReader, DescribeAndForEach) {
  auto type = reader_->describe(kIngress);
  ASSERT_TRUE(type.ok());
  EXPECT_EQ(type->plural, "ingresses");
  EXPECT_TRUE(type->namespaced);
  EXPECT_FALSE(reader_->describe({"v1", "Nothing"}).ok());
  std::vector<std::string> seen;
  ASSERT_TRUE(reader_
                  ->forEach(kIngress,
                            [&](std::string_view ns, std::string_view name, std::string_view text) {
                              EXPECT_EQ(json::parse(text)["metadata"]["name"], name);
                              seen.push_back(std::string(ns) + "/" + std::string(name));
                            })
                  .ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"prod/api", "prod/web", "qa/web"}));
}

TEST_F(KubeCachedReader, UnsyncedTypesAreNamed) {
  fake_->setToken("none", "nobody", std::set<std::string>{});
  CachedReader::Options options;
  options.first_sync_timeout = std::chrono::milliseconds(200);
  CachedReader reader(clientFor("none"), options);
  ASSERT_TRUE(reader.start({kNamespace}).ok());
  auto synced = reader.waitForSync(std::chrono::milliseconds(300));
  ASSERT_FALSE(synced.ok());
  EXPECT_NE(synced.error().message.find("v1/Namespace"), std::string::npos);
  EXPECT_NE(synced.error().message.find("forbidden"), std::string::npos);
  auto list = reader.listAll(kNamespace, {});
  ASSERT_FALSE(list.ok());
  EXPECT_NE(list.error().message.find("not synced"), std::string::npos);
}

}  // namespace
}  // namespace kw::kube
