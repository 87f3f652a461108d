#include "kube/reflector.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

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

TEST_F(KubeReflector, InitialListIsCompleteAndObjectsAreWhole) {
  for (int i = 0; i < 5; ++i)
    addNamespace("ns-" + std::to_string(i), {{"env", "e" + std::to_string(i)}});
  auto r = start();
  EXPECT_EQ(contents(*r), serverContents());
  EXPECT_EQ(r->resourceVersion(), std::to_string(fake_->resourceVersion()));
  r->read([](const ObjectMap& objects, const std::string&) {
    for (const auto& [key, obj] : objects) {
      json j = json::parse(*obj.json);
      // Lists omit kind/apiVersion; the cache fills them in for policies.
      EXPECT_EQ(j["kind"], "Namespace");
      EXPECT_EQ(j["apiVersion"], "v1");
      EXPECT_EQ(*obj.json, j.dump());  // compact, stored once
      ASSERT_EQ(obj.labels.size(), 1u);
      EXPECT_EQ(obj.labels[0].first, "env");
    }
  });
}

TEST_F(KubeReflector, FollowsAddModifyDeleteEvents) {
  addNamespace("keep", {{"env", "prod"}});
  addNamespace("change", {{"env", "qa"}});
  addNamespace("drop");
  auto r = start();
  addNamespace("new", {{"env", "dev"}});
  addNamespace("change", {{"env", "prod"}});
  ASSERT_TRUE(fake_->remove("v1", "Namespace", "", "drop"));
  ASSERT_TRUE(test::eventually([&] { return converged(*r); }));
  auto c = contents(*r);
  EXPECT_EQ(c.count("drop"), 0u);
  EXPECT_EQ(c["change"], "prod");
  EXPECT_EQ(c["new"], "dev");
  EXPECT_EQ(r->stats().lists, 1u);
  EXPECT_GE(r->stats().events, 3u);
}

TEST_F(KubeReflector, BookmarksAdvanceTheVersion) {
  addNamespace("a");
  auto r = start();
  // Another type's change moves the global version without any Namespace event.
  ASSERT_TRUE(fake_
                  ->put({{"apiVersion", "v1"},
                         {"kind", "ConfigMap"},
                         {"metadata", {{"name", "c"}, {"namespace", "a"}}}})
                  .ok());
  std::string expected = std::to_string(fake_->resourceVersion());
  ASSERT_TRUE(test::eventually([&] { return r->resourceVersion() == expected; }));
  EXPECT_GT(r->stats().bookmarks, 0u);
  EXPECT_EQ(r->stats().events, 0u);
}

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

TEST_F(KubeReflector, RelistsAfterGone) {
  addNamespace("a");
  addNamespace("b");
  auto r = start();
  ASSERT_TRUE(test::eventually([&] { return fake_->activeWatches() > 0; }));
  fake_->closeWatches();
  // While no watch is open, changes happen and the history forgets them: the resume gets 410.
  ASSERT_TRUE(fake_->remove("v1", "Namespace", "", "a"));
  addNamespace("c", {{"env", "late"}});
  fake_->compactHistory();
  ASSERT_TRUE(test::eventually([&] { return r->stats().lists >= 2; })) << r->lastError();
  ASSERT_TRUE(test::eventually([&] { return converged(*r); }));
  auto c = contents(*r);
  EXPECT_EQ(c.count("a"), 0u);
  EXPECT_EQ(c["c"], "late");
}

TEST_F(KubeReflector, RetriesWithBackoffUntilTheListSucceeds) {
  fake_->setToken("late", "late-user", std::set<std::string>{});  // may list nothing yet
  auto client = clientFor("late");
  auto type = client->resolve({"v1", "Namespace"});
  ASSERT_TRUE(type.ok());
  Reflector r(client, *type, {});
  r.start();
  EXPECT_FALSE(r.waitForSync(std::chrono::milliseconds(300)));
  EXPECT_NE(r.lastError().find("forbidden (403)"), std::string::npos) << r.lastError();
  fake_->setToken("late", "late-user", std::set<std::string>{"namespaces"});
  EXPECT_TRUE(r.waitForSync(std::chrono::seconds(15))) << r.lastError();
  r.stop();
}

TEST_F(KubeReflector, StopsPromptlyWhileWatching) {
  auto r = start();
  ASSERT_TRUE(test::eventually([&] { return fake_->activeWatches() > 0; }));
  r->stop();
  EXPECT_TRUE(test::eventually([&] { return fake_->activeWatches() == 0; }));
}

}  // namespace
}  // namespace kw::kube
