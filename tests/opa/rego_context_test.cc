#include "host/rego_context.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "../host/fake_reader.h"
#include "host/capability_dispatcher.h"
#include "host/session.h"
#include "policy/rego_runtime.h"

namespace kw::host {
namespace {

using nlohmann::json;
using test::FakeReader;

class RegoContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    reader_.addType({"v1", "Namespace"}, "namespaces", false);
    reader_.addType({"networking.k8s.io/v1", "Ingress"}, "ingresses", true);
    reader_.put({"v1", "Namespace"}, "", "default", R"({"metadata":{"name":"default"}})");
    reader_.put({"v1", "Namespace"}, "", "team-a", R"({"metadata":{"name":"team-a"}})");
    reader_.put(ingress_, "team-a", "web", R"({"metadata":{"name":"web","namespace":"team-a"}})");
    reader_.put(ingress_, "team-b", "api", R"({"metadata":{"name":"api","namespace":"team-b"}})");
  }

  const kube::ResourceKey ns_{"v1", "Namespace"};
  const kube::ResourceKey ingress_{"networking.k8s.io/v1", "Ingress"};
  FakeReader reader_;
};

TEST_F(RegoContextTest, OpaLayoutIsKubeMgmts) {
  auto text = buildRegoContext(reader_, {ns_, ingress_}, RegoLayout::Opa);
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_EQ(json::parse(*text), json::parse(R"({
    "namespaces": {"default": {"metadata":{"name":"default"}},
                   "team-a": {"metadata":{"name":"team-a"}}},
    "ingresses": {"team-a": {"web": {"metadata":{"name":"web","namespace":"team-a"}}},
                  "team-b": {"api": {"metadata":{"name":"api","namespace":"team-b"}}}}
  })"));
}

TEST_F(RegoContextTest, GatekeeperLayoutIsTheInventory) {
  auto text = buildRegoContext(reader_, {ns_, ingress_}, RegoLayout::Gatekeeper);
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_EQ(json::parse(*text), json::parse(R"({
    "cluster": {"v1": {"Namespace": {"default": {"metadata":{"name":"default"}},
                                     "team-a": {"metadata":{"name":"team-a"}}}}},
    "namespace": {
      "team-a": {"networking.k8s.io/v1": {"Ingress": {"web": {"metadata":{"name":"web","namespace":"team-a"}}}}},
      "team-b": {"networking.k8s.io/v1": {"Ingress": {"api": {"metadata":{"name":"api","namespace":"team-b"}}}}}
    }
  })"));
}

TEST_F(RegoContextTest, EmptyTypesStillAppear) {
  reader_.addType({"v1", "Service"}, "services", true);
  auto text = buildRegoContext(reader_, {{"v1", "Service"}}, RegoLayout::Opa);
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, R"({"services":{}})");
  auto unknown = buildRegoContext(reader_, {{"v9", "Nope"}}, RegoLayout::Opa);
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("v9/Nope"), std::string::npos);
}

TEST_F(RegoContextTest, CacheFollowsTheRevisionProbe) {
  std::string revision = "1";
  RegoContextOptions o;
  o.revision = [&](const kube::ResourceKey&) -> std::optional<std::string> { return revision; };
  RegoContextCache cache(&reader_, o);
  auto a = cache.get({ns_}, RegoLayout::Opa);
  auto b = cache.get({ns_}, RegoLayout::Opa);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->get(), b->get()) << "same objects: same text, same pointer";
  reader_.put(ns_, "", "team-c", R"({"metadata":{"name":"team-c"}})");
  auto stale = cache.get({ns_}, RegoLayout::Opa);
  EXPECT_EQ(stale->get(), a->get()) << "the revision did not move yet";
  revision = "2";
  auto fresh = cache.get({ns_}, RegoLayout::Opa);
  ASSERT_TRUE(fresh);
  EXPECT_NE(fresh->get(), a->get());
  EXPECT_TRUE(json::parse(**fresh)["namespaces"].contains("team-c"));
  auto none = cache.get({}, RegoLayout::Opa);
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, nullptr);
}

TEST_F(RegoContextTest, CacheWithoutProbeExpiresAfterTtl) {
  int64_t now_ms = 0;
  RegoContextOptions o;
  o.ttl = std::chrono::seconds(1);
  o.clock = [&] {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(now_ms));
  };
  RegoContextCache cache(&reader_, o);
  auto a = cache.get({ns_}, RegoLayout::Gatekeeper);
  reader_.erase(ns_, "", "default");
  now_ms = 999;
  EXPECT_EQ(cache.get({ns_}, RegoLayout::Gatekeeper)->get(), a->get());
  now_ms = 1000;
  auto b = cache.get({ns_}, RegoLayout::Gatekeeper);
  ASSERT_TRUE(b);
  EXPECT_FALSE(json::parse(**b)["cluster"]["v1"]["Namespace"].contains("default"));
}

TEST_F(RegoContextTest, DispatcherServesThePoliciesAllowList) {
  DispatcherOptions o;
  o.handler = nullptr;
  o.reader = &reader_;
  CapabilityDispatcher d(std::move(o));
  d.allowResources("ctx", {ns_});
  auto ctx = d.regoContext("ctx", RegoLayout::Opa);
  ASSERT_TRUE(ctx);
  ASSERT_NE(*ctx, nullptr);
  EXPECT_TRUE(json::parse(**ctx).contains("namespaces"));
  EXPECT_FALSE(json::parse(**ctx).contains("ingresses"));
  auto plain = d.regoContext("plain", RegoLayout::Opa);
  ASSERT_TRUE(plain);
  EXPECT_EQ(*plain, nullptr);
}

TEST_F(RegoContextTest, ReplayedSessionsCarryTheContext) {
  auto replay = ReplayingHandler::fromExchanges(
      {{"!KubernetesGetResourcePluralName\napi_version: v1\nkind: Namespace\n", true,
        "\"namespaces\""},
       {"!KubernetesListResourceAll\napi_version: v1\nkind: Namespace\nlabel_selector: null\n"
        "field_selector: null\n",
        true, R"({"items":[{"metadata":{"name":"default"}}]})"}});
  ASSERT_TRUE(replay);
  DispatcherOptions o;
  o.handler = *replay;
  o.rego_via_handler = true;
  CapabilityDispatcher d(std::move(o));
  d.allowResources("p", {ns_});
  auto ctx = d.regoContext("p", RegoLayout::Opa);
  ASSERT_TRUE(ctx) << ctx.error().message;
  EXPECT_EQ(**ctx, R"({"namespaces":{"default":{"metadata":{"name":"default"}}}})");
  EXPECT_EQ((*replay)->remaining(), 0u);
}

TEST(RegoContextData, OpaDataSplicesTheContextIntoTheSettings) {
  auto d = policy::opaData(R"({"a":1})", R"({"namespaces":{}})");
  ASSERT_TRUE(d);
  EXPECT_EQ(json::parse(*d), json::parse(R"({"kubernetes":{"namespaces":{}},"a":1})"));
  auto empty = policy::opaData("{}", R"({"x":{}})");
  ASSERT_TRUE(empty);
  EXPECT_EQ(*empty, R"({"kubernetes":{"x":{}}})");
  // A user key named kubernetes is replaced, not duplicated.
  auto clash = policy::opaData(R"({"kubernetes":"mine","b":2})", R"({"x":{}})");
  ASSERT_TRUE(clash);
  EXPECT_EQ(json::parse(*clash), json::parse(R"({"kubernetes":{"x":{}},"b":2})"));
  EXPECT_EQ(clash->find("mine"), std::string::npos);
  EXPECT_FALSE(policy::opaData("[1]", "{}"));
  std::string inv = R"({"cluster":{},"namespace":{}})";
  EXPECT_EQ(policy::gatekeeperData(&inv), R"({"inventory":{"cluster":{},"namespace":{}}})");
  EXPECT_EQ(policy::gatekeeperData(nullptr), R"({"inventory":{}})");
}

}  // namespace
}  // namespace kw::host
