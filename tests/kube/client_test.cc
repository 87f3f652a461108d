#include "kube/client.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "kube/kube_fixture.h"

namespace kw::kube {
namespace {

using json = nlohmann::json;

class KubeClient : public test::KubeFakeFixture {
 protected:
  fake::FakeApiServer::Options fakeOptions() override {
    fake::FakeApiServer::Options o;
    o.bookmark_interval = std::chrono::milliseconds(50);
    return o;
  }
  ResourceType namespaces() {
    auto t = client_->resolve({"v1", "Namespace"});
    EXPECT_TRUE(t.ok());
    return *t;
  }
  // Runs a watch until `stop_after` lines arrived (or the stream ends) and returns the lines.
  std::vector<json> watchLines(const Client::WatchOptions& options, size_t stop_after,
                               Result<Client::WatchEnd>* end = nullptr) {
    std::vector<json> lines;
    WatchCancel cancel;
    auto result = client_->watch(
        namespaces(), options,
        [&](std::string_view line) {
          lines.push_back(json::parse(line));
          return lines.size() < stop_after;
        },
        cancel);
    if (end) *end = result;
    return lines;
  }
};

TEST_F(KubeClient, DiscoveryResolvesPluralAndScope) {
  auto ns = client_->resolve({"v1", "Namespace"});
  ASSERT_TRUE(ns.ok()) << ns.error().message;
  EXPECT_EQ(ns->plural, "namespaces");
  EXPECT_FALSE(ns->namespaced);
  auto ing = client_->resolve({"networking.k8s.io/v1", "Ingress"});
  ASSERT_TRUE(ing.ok());
  EXPECT_EQ(ing->plural, "ingresses");
  EXPECT_TRUE(ing->namespaced);
  auto missing = client_->resolve({"v1", "Gadget"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("Gadget"), std::string::npos);
  // Later registrations (CRDs) are found in their own group.
  fake_->registerType({"example.com", "v1", "Widget", "widgets", true});
  auto widget = client_->resolve({"example.com/v1", "Widget"});
  ASSERT_TRUE(widget.ok()) << widget.error().message;
  EXPECT_EQ(widget->plural, "widgets");
  auto versions = client_->groupVersions();
  ASSERT_TRUE(versions.ok());
  EXPECT_NE(std::find(versions->begin(), versions->end(), "apps/v1"), versions->end());
  EXPECT_NE(std::find(versions->begin(), versions->end(), "v1"), versions->end());
}

TEST_F(KubeClient, GetAndClearErrors) {
  addNamespace("team-a");
  auto got = client_->get(namespaces(), "", "team-a");
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(json::parse(*got)["metadata"]["name"], "team-a");
  auto missing = client_->get(namespaces(), "", "team-b");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message,
            "Kubernetes API not found (404) getting /api/v1/namespaces/team-b: namespaces "
            "\"team-b\" not found");
  fake_->setToken("limited", "limited-user", std::set<std::string>{"pods"});
  auto limited = clientFor("limited");
  auto forbidden = limited->get(namespaces(), "", "team-a");
  ASSERT_FALSE(forbidden.ok());
  EXPECT_NE(forbidden.error().message.find("forbidden (403)"), std::string::npos);
  auto anonymous = clientFor("wrong");
  auto unauthorized = anonymous->get(namespaces(), "", "team-a");
  ASSERT_FALSE(unauthorized.ok());
  EXPECT_NE(unauthorized.error().message.find("unauthorized (401)"), std::string::npos);
}

TEST_F(KubeClient, UnreachableServerIsAClearError) {
  Config cfg;
  cfg.server = "https://127.0.0.1:1";
  auto client = Client::create(cfg);
  ASSERT_TRUE(client.ok());
  auto r = (*client)->resolve({"v1", "Namespace"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("cannot reach the Kubernetes API at https://127.0.0.1:1"),
            std::string::npos);
  cfg.server = "127.0.0.1:6443";
  EXPECT_FALSE(Client::create(cfg).ok());
}

TEST_F(KubeClient, ListFollowsContinueTokens) {
  for (int i = 0; i < 7; ++i)
    addNamespace("ns-" + std::to_string(i), {{"i", std::to_string(i % 2)}});
  Client::ListOptions options;
  options.limit = 3;
  int pages = 0;
  ASSERT_TRUE(client_
                  ->listPages(namespaces(), options,
                              [&](json&) {
                                ++pages;
                                return okStatus();
                              })
                  .ok());
  EXPECT_EQ(pages, 3);
  auto list = client_->list(namespaces(), options);
  ASSERT_TRUE(list.ok());
  json l = json::parse(*list);
  EXPECT_EQ(l["kind"], "NamespaceList");
  EXPECT_EQ(l["items"].size(), 7u);
  EXPECT_EQ(l["metadata"]["resourceVersion"], std::to_string(fake_->resourceVersion()));
  options.selectors.label_selector = "i=1";
  auto odd = client_->list(namespaces(), options);
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ(json::parse(*odd)["items"].size(), 3u);
  options.selectors.label_selector = "i in 1";
  auto bad = client_->list(namespaces(), options);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("(400)"), std::string::npos);
}

TEST_F(KubeClient, WatchStreamsEventsFromAResourceVersion) {
  addNamespace("before");
  std::string rv = std::to_string(fake_->resourceVersion());
  std::thread writer([&] {
    test::eventually([&] { return fake_->activeWatches() > 0; });
    addNamespace("one");
    addNamespace("one", {{"changed", "yes"}});
    fake_->remove("v1", "Namespace", "", "one");
  });
  Client::WatchOptions options;
  options.resource_version = rv;
  options.bookmarks = false;
  auto lines = watchLines(options, 3);
  writer.join();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["type"], "ADDED");
  EXPECT_EQ(lines[1]["type"], "MODIFIED");
  EXPECT_EQ(lines[2]["type"], "DELETED");
  for (const json& e : lines) {
    EXPECT_EQ(e["object"]["kind"], "Namespace");
    EXPECT_EQ(e["object"]["metadata"]["name"], "one");
  }
  EXPECT_EQ(lines[1]["object"]["metadata"]["labels"]["changed"], "yes");
  EXPECT_LT(std::stoull(lines[0]["object"]["metadata"]["resourceVersion"].get<std::string>()),
            std::stoull(lines[2]["object"]["metadata"]["resourceVersion"].get<std::string>()));
}

// A real API server cannot send an object over etcd's ~1.5 MiB limit; a broken or hostile one
// could, and must not grow the watcher without bound (issue 17, point 7).
TEST_F(KubeClient, WatchRefusesAnEventLargerThanAnyObject) {
  addNamespace("huge", {{"filler", std::string(17u << 20, 'x')}});
  Client::WatchOptions options;
  options.bookmarks = false;
  Result<Client::WatchEnd> end = makeError("not run");
  auto lines = watchLines(options, 10, &end);
  EXPECT_TRUE(lines.empty());
  ASSERT_FALSE(end.ok());
  EXPECT_NE(end.error().message.find("refused a watch event"), std::string::npos)
      << end.error().message;
  EXPECT_NE(end.error().message.find("larger than 16777216 bytes"), std::string::npos);
}

TEST_F(KubeClient, WatchWithoutVersionStartsWithTheCurrentState) {
  addNamespace("a");
  addNamespace("b");
  Client::WatchOptions options;
  options.bookmarks = false;
  auto lines = watchLines(options, 2);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["type"], "ADDED");
  EXPECT_EQ(lines[1]["object"]["metadata"]["name"], "b");
}

TEST_F(KubeClient, BookmarksCarryOnlyTheVersion) {
  Client::WatchOptions options;
  options.resource_version = std::to_string(fake_->resourceVersion());
  auto lines = watchLines(options, 1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["type"], "BOOKMARK");
  EXPECT_EQ(lines[0]["object"]["kind"], "Namespace");
  EXPECT_EQ(lines[0]["object"]["metadata"]["resourceVersion"],
            std::to_string(fake_->resourceVersion()));
  EXPECT_FALSE(lines[0]["object"]["metadata"].contains("name"));
}

TEST_F(KubeClient, TooOldVersionGetsAnExpiredErrorEvent) {
  addNamespace("a");
  std::string old_rv = std::to_string(fake_->resourceVersion());
  addNamespace("b");
  fake_->compactHistory();
  Result<Client::WatchEnd> end = makeError("unset");
  Client::WatchOptions options;
  options.resource_version = old_rv;
  auto lines = watchLines(options, 10, &end);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["type"], "ERROR");
  EXPECT_EQ(lines[0]["object"]["kind"], "Status");
  EXPECT_EQ(lines[0]["object"]["code"], 410);
  EXPECT_EQ(lines[0]["object"]["reason"], "Expired");
  EXPECT_NE(lines[0]["object"]["message"].get<std::string>().find("too old resource version"),
            std::string::npos);
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(*end, Client::WatchEnd::kClosed);
}

TEST_F(KubeClient, WatchEndsAtTimeoutAndOnCancel) {
  Client::WatchOptions options;
  options.bookmarks = false;
  options.resource_version = std::to_string(fake_->resourceVersion());
  options.timeout_seconds = 1;
  Result<Client::WatchEnd> end = makeError("unset");
  watchLines(options, 100, &end);
  ASSERT_TRUE(end.ok()) << end.error().message;
  EXPECT_EQ(*end, Client::WatchEnd::kClosed);

  options.timeout_seconds = 0;
  WatchCancel cancel;
  std::thread canceller([&] {
    test::eventually([&] { return fake_->activeWatches() > 0; });
    cancel.cancel();
  });
  auto cancelled = client_->watch(
      namespaces(), options, [](std::string_view) { return true; }, cancel);
  canceller.join();
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(*cancelled, Client::WatchEnd::kCancelled);
}

TEST_F(KubeClient, ConcurrentRequestsShareTheClient) {
  for (int i = 0; i < 20; ++i) addNamespace("ns-" + std::to_string(i));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        auto got = client_->get(namespaces(), "", "ns-" + std::to_string((i + t) % 20));
        if (!got.ok()) ++failures;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace kw::kube
