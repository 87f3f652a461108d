// The reflector against the real kube-apiserver is tested in tests/cluster/kube_cache_test.cc.
// What stays here needs the fake (tests/kube-fake): a watch stream cut mid-flight, which a real
// server does not do on demand.
#include "kube/reflector.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

#include "kube/kube_fixture.h"

namespace kw::kube {
namespace {

using json = nlohmann::json;

class KubeReflector : public test::KubeFakeFixture {
 protected:
  fake::FakeApiServer::Options fakeOptions() override {
    fake::FakeApiServer::Options o;
    o.bookmark_interval = std::chrono::milliseconds(50);
    return o;
  }
  std::unique_ptr<Reflector> start(Reflector::Options options = {}) {
    options.page_size = 2;  // several pages even for small tests
    auto type = client_->resolve({"v1", "Namespace"});
    EXPECT_TRUE(type.ok());
    auto r = std::make_unique<Reflector>(client_, *type, options);
    r->start();
    EXPECT_TRUE(r->waitForSync(std::chrono::seconds(15))) << r->lastError();
    return r;
  }
  // name → labels.env of every cached object.
  static std::map<std::string, std::string> contents(const Reflector& r) {
    std::map<std::string, std::string> out;
    r.read([&](const ObjectMap& objects, const std::string&) {
      for (const auto& [key, obj] : objects) {
        json j = json::parse(*obj.json);
        out[key.second] = j["metadata"]["labels"].value("env", "");
      }
    });
    return out;
  }
  // What the API server holds, listed directly.
  std::map<std::string, std::string> serverContents() {
    auto type = client_->resolve({"v1", "Namespace"});
    auto list = client_->list(*type, {});
    std::map<std::string, std::string> out;
    json doc = json::parse(*list);
    for (const json& item : doc["items"])
      out[item["metadata"]["name"]] = item["metadata"]["labels"].value("env", "");
    return out;
  }
  bool converged(const Reflector& r) { return contents(r) == serverContents(); }
};

TEST_F(KubeReflector, ResumesAfterTheServerCutsWatchesWithoutRelisting) {
  addNamespace("a");
  auto r = start();
  ASSERT_TRUE(test::eventually([&] { return fake_->activeWatches() > 0; }));
  uint64_t watches = r->stats().watches;
  fake_->closeWatches();
  addNamespace("while-away", {{"env", "x"}});  // must arrive through the resumed watch
  ASSERT_TRUE(test::eventually([&] { return r->stats().watches > watches; }));
  ASSERT_TRUE(test::eventually([&] { return converged(*r); }));
  EXPECT_EQ(contents(*r)["while-away"], "x");
  EXPECT_EQ(r->stats().lists, 1u);  // resumed from its resourceVersion
  EXPECT_GE(fake_->countRequests("GET /api/v1/namespaces?watch=true"), 2u);
  EXPECT_EQ(fake_->countRequests("GET /api/v1/namespaces?limit="), 1u);
}

TEST_F(KubeReflector, ListenersHearTheFirstListAndEveryLaterChange) {
  addNamespace("first");
  auto type = client_->resolve({"v1", "Namespace"});
  ASSERT_TRUE(type.ok());
  Reflector r(client_, *type, Reflector::Options{});
  std::mutex mu;
  std::vector<std::string> heard;  // "+name", "~name" (modified), "-name"
  r.addListener([&](const ObjectKey& key, const StoredObject* old, const StoredObject* now) {
    std::lock_guard lock(mu);
    heard.push_back((old ? (now ? "~" : "-") : "+") + key.second);
  });
  r.start();
  ASSERT_TRUE(r.waitForSync(std::chrono::seconds(15))) << r.lastError();
  auto saw = [&](const std::string& what) {
    std::lock_guard lock(mu);
    return std::find(heard.begin(), heard.end(), what) != heard.end();
  };
  EXPECT_TRUE(saw("+first")) << "objects of the first list are additions";
  addNamespace("second", {{"env", "x"}});
  EXPECT_TRUE(test::eventually([&] { return saw("+second"); }));
  std::lock_guard lock(mu);
  EXPECT_EQ(std::count(heard.begin(), heard.end(), "+first"), 1);
}

}  // namespace
}  // namespace kw::kube

TEST(KubeStoredObject, DropsManagedFieldsOnlyWhenAsked) {
  auto object = [] {
    return nlohmann::json::parse(R"({"metadata":{"name":"a","namespace":"n",
      "labels":{"app":"x"},"managedFields":[{"manager":"kubectl"}]},"spec":{}})");
  };
  kw::kube::ResourceKey key{"v1", "ConfigMap"};
  auto kept = object();
  auto with = kw::kube::makeStoredObject(kept, key);
  ASSERT_TRUE(with) << with.error().message;
  EXPECT_TRUE(nlohmann::json::parse(*with->second.json)["metadata"].contains("managedFields"));
  auto dropped = object();
  auto without = kw::kube::makeStoredObject(dropped, key, true);
  ASSERT_TRUE(without) << without.error().message;
  auto stored = nlohmann::json::parse(*without->second.json);
  EXPECT_FALSE(stored["metadata"].contains("managedFields"));
  EXPECT_EQ(stored["metadata"]["labels"]["app"], "x");
  EXPECT_EQ(stored["kind"], "ConfigMap");
  EXPECT_EQ(without->first, (kw::kube::ObjectKey{"n", "a"}));
}

// Found by fuzz/watch_fuzz.cc: a non-string metadata.name or namespace made json::value() throw
// out of makeStoredObject; on the list path nothing catches it and the reflector's thread ended
// the process.
TEST(KubeStoredObject, NonStringNamesAreErrorsNotExceptions) {
  kw::kube::ResourceKey key{"v1", "Pod"};
  auto name = nlohmann::json::parse(R"({"metadata":{"name":854775809}})");
  auto by_name = kw::kube::makeStoredObject(name, key);
  ASSERT_FALSE(by_name.ok());
  EXPECT_EQ(by_name.error().message, "object has a non-string metadata.name");
  auto ns = nlohmann::json::parse(R"({"metadata":{"name":"a","namespace":["n"]}})");
  auto by_ns = kw::kube::makeStoredObject(ns, key);
  ASSERT_FALSE(by_ns.ok());
  EXPECT_EQ(by_ns.error().message, "object has a non-string metadata.namespace");
  auto null_ns = nlohmann::json::parse(R"({"metadata":{"name":"a","namespace":null}})");
  auto cluster_scoped = kw::kube::makeStoredObject(null_ns, key);
  ASSERT_TRUE(cluster_scoped.ok()) << cluster_scoped.error().message;
  EXPECT_EQ(cluster_scoped->first, (kw::kube::ObjectKey{"", "a"}));
}

TEST(KubeWatchEvent, DecodesEachTypeAndRefusesMalformedLines) {
  auto added = kw::kube::parseWatchEvent(
      R"({"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"7"}}})");
  ASSERT_TRUE(added.ok()) << added.error().message;
  EXPECT_EQ(added->type, "ADDED");
  EXPECT_EQ(added->resource_version, "7");
  EXPECT_EQ(added->object["metadata"]["name"], "a");
  auto gone = kw::kube::parseWatchEvent(
      R"({"type":"ERROR","object":{"kind":"Status","code":410,"message":"too old"}})");
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->code, 410);
  EXPECT_EQ(gone->message, "too old");
  auto bare = kw::kube::parseWatchEvent(R"({"type":"ERROR","object":"boom"})");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->code, 0);
  EXPECT_EQ(bare->message, "\"boom\"");
  auto error = [](std::string_view line) {
    auto e = kw::kube::parseWatchEvent(line);
    return e.ok() ? std::string("accepted") : e.error().message;
  };
  EXPECT_EQ(error("{"), "not JSON");
  EXPECT_EQ(error("[]"), "not a JSON object");
  EXPECT_EQ(error(R"({"type":1,"object":{}})"), "no type string");
  EXPECT_EQ(error(R"({"type":"ADDED"})"), "no object");
  EXPECT_EQ(error(R"({"type":"ADDED","object":{}})"), "the object has no metadata");
  EXPECT_EQ(error(R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":5}}})"),
            "metadata.resourceVersion is not a string");
}
