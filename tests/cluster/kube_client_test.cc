// Our kube client (src/kube/client.*) against the real kube-apiserver: discovery (CustomResource
// types included), get and the API's errors (404, 400, 401, RBAC 403), paginated lists and
// selectors, watches from a resourceVersion, bookmarks, 410 Gone after an etcd compaction,
// timeouts and cancellation. Each test works with ConfigMaps in its own namespace, except the
// 410 ones: PodTemplates, the one type the harness keeps out of the API server's watch cache
// (`--watch-cache-sizes=podtemplates#0`), so their watches read etcd and see its compaction.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "kube/client.h"
#include "support/cluster_env.h"

namespace kw::test {
namespace {

using json = nlohmann::json;
using kube::Client;
using Clock = std::chrono::steady_clock;

class KubeClientReal : public ClusterTest {
 protected:
  kube::ResourceType type(const std::string& api_version, const std::string& kind) {
    auto t = admin_->resolve({api_version, kind});
    EXPECT_TRUE(t.ok()) << t.error().message;
    return t.ok() ? *t : kube::ResourceType{};
  }
  kube::ResourceType configMaps() { return type("v1", "ConfigMap"); }

  // Runs a watch on `t` in ns_ until `stop_after` lines arrived or the stream ends.
  std::vector<json> watchLines(const kube::ResourceType& t, Client::WatchOptions options,
                               size_t stop_after, Result<Client::WatchEnd>* end = nullptr) {
    options.ns = ns_;
    std::vector<json> lines;
    kube::WatchCancel cancel;
    auto result = admin_->watch(
        t, options,
        [&](std::string_view line) {
          lines.push_back(json::parse(line));
          return lines.size() < stop_after;
        },
        cancel);
    if (end) *end = result;
    return lines;
  }

  json podTemplate(const std::string& name) {
    return {
        {"apiVersion", "v1"},
        {"kind", "PodTemplate"},
        {"metadata", {{"name", name}}},
        {"template",
         {{"spec", {{"containers", json::array({{{"name", "c"}, {"image", "x.invalid/c:1"}}})}}}}}};
  }
};

std::string rvOf(const json& object) {
  return object["metadata"]["resourceVersion"];
}

TEST_F(KubeClientReal, DiscoveryResolvesBuiltInAndCustomTypes) {
  auto ns = admin_->resolve({"v1", "Namespace"});
  ASSERT_TRUE(ns.ok()) << ns.error().message;
  EXPECT_EQ(ns->plural, "namespaces");
  EXPECT_FALSE(ns->namespaced);
  auto ing = admin_->resolve({"networking.k8s.io/v1", "Ingress"});
  ASSERT_TRUE(ing.ok()) << ing.error().message;
  EXPECT_EQ(ing->plural, "ingresses");
  EXPECT_TRUE(ing->namespaced);
  auto missing = admin_->resolve({"v1", "Gadget"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, "Kubernetes API serves no kind Gadget in v1");
  auto versions = admin_->groupVersions();
  ASSERT_TRUE(versions.ok()) << versions.error().message;
  EXPECT_NE(std::find(versions->begin(), versions->end(), "apps/v1"), versions->end());
  EXPECT_NE(std::find(versions->begin(), versions->end(), "v1"), versions->end());

  // A CustomResourceDefinition registered now is found in its own group once it is served.
  std::string group = ns_ + ".example.com";
  create(
      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
      {{"apiVersion", "apiextensions.k8s.io/v1"},
       {"kind", "CustomResourceDefinition"},
       {"metadata", {{"name", "widgets." + group}}},
       {"spec",
        {{"group", group},
         {"scope", "Namespaced"},
         {"names", {{"plural", "widgets"}, {"singular", "widget"}, {"kind", "Widget"}}},
         {"versions", json::array({{{"name", "v1"},
                                    {"served", true},
                                    {"storage", true},
                                    {"schema",
                                     {{"openAPIV3Schema",
                                       {{"type", "object"},
                                        {"x-kubernetes-preserve-unknown-fields", true}}}}}}})}}}});
  Result<kube::ResourceType> widget = makeError("not tried");
  ASSERT_TRUE(waitFor([&] {
    widget = admin_->resolve({group + "/v1", "Widget"});
    return widget.ok();
  })) << widget.error().message;
  EXPECT_EQ(widget->plural, "widgets");
  EXPECT_TRUE(widget->namespaced);
}

TEST_F(KubeClientReal, GetAndTheApiServersErrors) {
  putConfigMap("present");
  auto got = admin_->get(configMaps(), ns_, "present");
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(json::parse(*got)["metadata"]["name"], "present");

  auto missing = admin_->get(configMaps(), ns_, "absent");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, "Kubernetes API not found (404) getting /api/v1/namespaces/" +
                                         ns_ +
                                         "/configmaps/absent: configmaps \"absent\" not found");

  // Authenticated, but RBAC grants nothing: 403 naming the ServiceAccount.
  auto nobody = serviceAccountClient("nobody");
  ASSERT_TRUE(nobody);
  auto forbidden = nobody->get(configMaps(), ns_, "present");
  ASSERT_FALSE(forbidden.ok());
  EXPECT_NE(forbidden.error().message.find("forbidden (403)"), std::string::npos)
      << forbidden.error().message;
  EXPECT_NE(forbidden.error().message.find("system:serviceaccount:" + ns_ + ":nobody"),
            std::string::npos)
      << forbidden.error().message;

  // A token the API server did not issue.
  auto stranger = Client::create(withToken(admin_->config(), "not-a-token"));
  ASSERT_TRUE(stranger.ok());
  auto unauthorized = (*stranger)->get(configMaps(), ns_, "present");
  ASSERT_FALSE(unauthorized.ok());
  EXPECT_NE(unauthorized.error().message.find("unauthorized (401)"), std::string::npos)
      << unauthorized.error().message;
}

TEST_F(KubeClientReal, ListFollowsContinueTokensAndSelectors) {
  for (int i = 0; i < 7; ++i)
    putConfigMap("cm-" + std::to_string(i), {{"i", std::to_string(i % 2)}});
  Client::ListOptions options;
  options.ns = ns_;
  options.limit = 3;
  int pages = 0;
  ASSERT_TRUE(admin_
                  ->listPages(configMaps(), options,
                              [&](json&) {
                                ++pages;
                                return okStatus();
                              })
                  .ok());
  EXPECT_EQ(pages, 3);
  auto list = admin_->list(configMaps(), options);
  ASSERT_TRUE(list.ok()) << list.error().message;
  json l = json::parse(*list);
  EXPECT_EQ(l["kind"], "ConfigMapList");
  EXPECT_EQ(l["items"].size(), 7u);
  EXPECT_FALSE(l["metadata"]["resourceVersion"].get<std::string>().empty());
  options.selectors.label_selector = "i=1";
  auto odd = admin_->list(configMaps(), options);
  ASSERT_TRUE(odd.ok()) << odd.error().message;
  EXPECT_EQ(json::parse(*odd)["items"].size(), 3u);
  options.selectors.label_selector = "";
  options.selectors.field_selector = "metadata.name=cm-4";
  auto one = admin_->list(configMaps(), options);
  ASSERT_TRUE(one.ok()) << one.error().message;
  ASSERT_EQ(json::parse(*one)["items"].size(), 1u);
  options.selectors.field_selector = "";
  options.selectors.label_selector = "i in 1";  // no parentheses: the API server refuses it
  auto bad = admin_->list(configMaps(), options);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("(400)"), std::string::npos) << bad.error().message;
}

TEST_F(KubeClientReal, WatchFromAResourceVersionReplaysWhatCameAfter) {
  std::string rv = rvOf(putConfigMap("before"));
  // Written before the watch opens: resuming from `rv` must still deliver all three.
  putConfigMap("one");
  putConfigMap("one", {{"changed", "yes"}}, /*replace=*/true);
  auto deleted = admin_->request("DELETE", "/api/v1/namespaces/" + ns_ + "/configmaps/one");
  ASSERT_TRUE(deleted.ok() && deleted->status == 200);
  Client::WatchOptions options;
  options.resource_version = rv;
  options.bookmarks = false;
  auto lines = watchLines(configMaps(), options, 3);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["type"], "ADDED");
  EXPECT_EQ(lines[1]["type"], "MODIFIED");
  EXPECT_EQ(lines[2]["type"], "DELETED");
  for (const json& e : lines) {
    EXPECT_EQ(e["object"]["kind"], "ConfigMap");
    EXPECT_EQ(e["object"]["metadata"]["name"], "one");
  }
  EXPECT_EQ(lines[1]["object"]["metadata"]["labels"]["changed"], "yes");
  EXPECT_LT(std::stoull(rvOf(lines[0]["object"])), std::stoull(rvOf(lines[2]["object"])));
}

TEST_F(KubeClientReal, WatchWithoutVersionStartsWithTheCurrentState) {
  putConfigMap("a");
  putConfigMap("b");
  Client::WatchOptions options;
  options.bookmarks = false;
  auto lines = watchLines(configMaps(), options, 2);
  ASSERT_EQ(lines.size(), 2u);
  std::set<std::string> names;
  for (const json& e : lines) {
    EXPECT_EQ(e["type"], "ADDED");
    names.insert(e["object"]["metadata"]["name"].get<std::string>());
  }
  EXPECT_EQ(names, (std::set<std::string>{"a", "b"}));
}

TEST_F(KubeClientReal, BookmarksCarryOnlyTheVersion) {
  std::string rv = rvOf(putConfigMap("a"));
  // The watch cache sends a bookmark 2 s before a watch's deadline, once the version moved:
  // a write of another type moves it without any ConfigMap event.
  json secret = create("/api/v1/namespaces/" + ns_ + "/secrets",
                       {{"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", {{"name", "s"}}}});
  Client::WatchOptions options;
  options.resource_version = rv;
  options.timeout_seconds = 4;
  auto lines = watchLines(configMaps(), options, 1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["type"], "BOOKMARK") << lines[0].dump();
  EXPECT_EQ(lines[0]["object"]["kind"], "ConfigMap");
  EXPECT_FALSE(lines[0]["object"]["metadata"].contains("name"));
  EXPECT_GE(std::stoull(rvOf(lines[0]["object"])), std::stoull(rvOf(secret)));
}

TEST_F(KubeClientReal, CompactedVersionGetsAnExpiredErrorEvent) {
  auto templates = type("v1", "PodTemplate");
  std::string old_rv =
      rvOf(create("/api/v1/namespaces/" + ns_ + "/podtemplates", podTemplate("a")));
  create("/api/v1/namespaces/" + ns_ + "/podtemplates", podTemplate("b"));
  json last = create("/api/v1/namespaces/" + ns_ + "/podtemplates", podTemplate("c"));
  auto compacted = compactEtcd(env_.state[kClusterEtcd], std::stoll(rvOf(last)));
  ASSERT_TRUE(compacted.ok()) << compacted.error().message;

  Result<Client::WatchEnd> end = makeError("unset");
  Client::WatchOptions options;
  options.resource_version = old_rv;
  auto lines = watchLines(templates, options, 10, &end);
  ASSERT_EQ(lines.size(), 1u) << (lines.empty() ? "" : lines[0].dump());
  EXPECT_EQ(lines[0]["type"], "ERROR");
  EXPECT_EQ(lines[0]["object"]["kind"], "Status");
  EXPECT_EQ(lines[0]["object"]["code"], 410);
  EXPECT_EQ(lines[0]["object"]["reason"], "Expired");
  EXPECT_EQ(lines[0]["object"]["message"],
            "The resourceVersion for the provided watch is too old.");
  ASSERT_TRUE(end.ok()) << end.error().message;
  EXPECT_EQ(*end, Client::WatchEnd::kClosed);

  // A fresh version works again.
  options.resource_version = rvOf(last);
  options.timeout_seconds = 1;
  options.bookmarks = false;
  auto after = watchLines(templates, options, 10, &end);
  EXPECT_TRUE(after.empty()) << after[0].dump();
  ASSERT_TRUE(end.ok()) << end.error().message;
}

TEST_F(KubeClientReal, WatchEndsAtItsTimeoutAndOnCancel) {
  std::string rv = rvOf(putConfigMap("a"));
  Client::WatchOptions options;
  options.bookmarks = false;
  options.resource_version = rv;
  options.timeout_seconds = 1;
  Result<Client::WatchEnd> end = makeError("unset");
  auto t0 = Clock::now();
  watchLines(configMaps(), options, 100, &end);
  ASSERT_TRUE(end.ok()) << end.error().message;
  EXPECT_EQ(*end, Client::WatchEnd::kClosed);
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(10));

  // No timeout: only a cancel ends it. The first event shows the watch is open.
  options.timeout_seconds = 0;
  options.ns = ns_;
  options.resource_version = rv;
  kube::WatchCancel cancel;
  std::atomic<bool> open{false};
  std::thread writer([&] { putConfigMap("b"); });
  Clock::time_point cancelled_at;
  std::thread canceller([&] {
    waitFor([&] { return open.load(); });
    cancelled_at = Clock::now();
    cancel.cancel();
  });
  auto result = admin_->watch(
      configMaps(), options,
      [&](std::string_view) {
        open = true;
        return true;
      },
      cancel);
  auto returned_at = Clock::now();
  writer.join();
  canceller.join();
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(*result, Client::WatchEnd::kCancelled);
  EXPECT_LT(returned_at - cancelled_at, std::chrono::seconds(2));
}

TEST_F(KubeClientReal, ConcurrentRequestsShareTheClient) {
  for (int i = 0; i < 10; ++i) putConfigMap("cm-" + std::to_string(i));
  auto cms = configMaps();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i)
        if (!admin_->get(cms, ns_, "cm-" + std::to_string((i + t) % 10)).ok()) ++failures;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace kw::test
