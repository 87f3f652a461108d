// The watch cache (src/kube/reflector.*, cached_reader.*) against the real kube-apiserver: the
// initial paginated list, events, bookmarks, resuming a watch the server ended from our
// resourceVersion, re-listing after 410 Gone (etcd compaction), retrying until RBAC allows,
// and the CachedReader's reads. Reflectors watch a whole type across namespaces, so every
// comparison looks at this test's namespace only.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "cluster/prometheus_text.h"
#include "kube/cached_reader.h"
#include "kube/reflector.h"
#include "support/cluster_env.h"

namespace kw::test {
namespace {

using json = nlohmann::json;
using kube::CachedReader;
using kube::Reflector;
using Clock = std::chrono::steady_clock;

const kube::ResourceKey kConfigMap{"v1", "ConfigMap"};
const kube::ResourceKey kPodTemplate{"v1", "PodTemplate"};
const kube::ResourceKey kIngress{"networking.k8s.io/v1", "Ingress"};

// metadata.labels.env, or "" (objects without labels have no "labels" at all).
std::string envLabel(const json& object) {
  const json& meta = object.at("metadata");
  auto labels = meta.find("labels");
  return labels == meta.end() ? "" : labels->value("env", "");
}

class KubeCacheReal : public ClusterTest {
 protected:
  std::unique_ptr<Reflector> start(const kube::ResourceKey& key, Reflector::Options options = {},
                                   std::shared_ptr<kube::Client> client = nullptr) {
    if (!client) client = admin_;
    options.page_size = 2;  // several pages even for small tests
    auto type = client->resolve(key);
    EXPECT_TRUE(type.ok()) << type.error().message;
    auto r = std::make_unique<Reflector>(client, *type, options);
    r->start();
    return r;
  }
  // name → labels.env of the cached objects of ns_.
  std::map<std::string, std::string> contents(const Reflector& r) {
    std::map<std::string, std::string> out;
    r.read([&](const kube::ObjectMap& objects, const std::string&) {
      for (const auto& [key, obj] : objects) {
        if (key.first != ns_) continue;
        out[key.second] = envLabel(json::parse(*obj.json));
      }
    });
    return out;
  }
  // What the API server holds in ns_, listed directly.
  std::map<std::string, std::string> serverContents(const kube::ResourceKey& key) {
    auto type = admin_->resolve(key);
    kube::Client::ListOptions options;
    options.ns = ns_;
    auto list = admin_->list(*type, options);
    std::map<std::string, std::string> out;
    if (!list.ok()) return out;
    json doc = json::parse(*list);
    for (const json& item : doc["items"]) out[item["metadata"]["name"]] = envLabel(item);
    return out;
  }
  bool converged(const Reflector& r) { return contents(r) == serverContents(r.type().key); }

  json podTemplate(const std::string& name, const std::string& env = "") {
    json labels = json::object();
    if (!env.empty()) labels["env"] = env;
    return {
        {"apiVersion", "v1"},
        {"kind", "PodTemplate"},
        {"metadata", {{"name", name}, {"labels", labels}}},
        {"template",
         {{"spec", {{"containers", json::array({{{"name", "c"}, {"image", "x.invalid/c:1"}}})}}}}}};
  }
  void addIngress(const std::string& name, json labels) {
    create("/apis/networking.k8s.io/v1/namespaces/" + ns_ + "/ingresses",
           {{"apiVersion", "networking.k8s.io/v1"},
            {"kind", "Ingress"},
            {"metadata", {{"name", name}, {"labels", labels}}},
            {"spec",
             {{"defaultBackend", {{"service", {{"name", name}, {"port", {{"number", 80}}}}}}}}}});
  }
  // "ns/name" of each item of a List, for this test's namespace (and cluster-scoped items).
  std::vector<std::string> names(const std::string& list) {
    std::vector<std::string> out;
    json doc = json::parse(list);
    for (const json& i : doc["items"]) {
      std::string ns = i["metadata"].value("namespace", "");
      if (ns != ns_) continue;
      out.push_back(i["metadata"]["name"].get<std::string>());
    }
    return out;
  }
};

TEST_F(KubeCacheReal, InitialListIsCompleteAndObjectsAreWhole) {
  for (int i = 0; i < 5; ++i)
    putConfigMap("cm-" + std::to_string(i), {{"env", "e" + std::to_string(i)}});
  auto r = start(kConfigMap);
  ASSERT_TRUE(r->waitForSync(std::chrono::seconds(30))) << r->lastError();
  EXPECT_EQ(contents(*r), serverContents(kConfigMap));
  EXPECT_EQ(contents(*r).size(), 5u);
  EXPECT_FALSE(r->resourceVersion().empty());
  r->read([&](const kube::ObjectMap& objects, const std::string&) {
    for (const auto& [key, obj] : objects) {
      if (key.first != ns_) continue;
      json j = json::parse(*obj.json);
      // Lists omit kind/apiVersion; the cache fills them in for policies.
      EXPECT_EQ(j["kind"], "ConfigMap");
      EXPECT_EQ(j["apiVersion"], "v1");
      EXPECT_EQ(*obj.json, j.dump());
      ASSERT_EQ(obj.labels.size(), 1u);
      EXPECT_EQ(obj.labels[0].first, "env");
    }
  });
}

TEST_F(KubeCacheReal, FollowsAddModifyDeleteEvents) {
  putConfigMap("keep", {{"env", "prod"}});
  putConfigMap("change", {{"env", "qa"}});
  putConfigMap("drop");
  auto r = start(kConfigMap);
  ASSERT_TRUE(r->waitForSync(std::chrono::seconds(30))) << r->lastError();
  putConfigMap("new", {{"env", "dev"}});
  putConfigMap("change", {{"env", "prod"}}, /*replace=*/true);
  auto deleted = admin_->request("DELETE", "/api/v1/namespaces/" + ns_ + "/configmaps/drop");
  ASSERT_TRUE(deleted.ok() && deleted->status == 200);
  ASSERT_TRUE(waitFor([&] { return converged(*r); }));
  auto c = contents(*r);
  EXPECT_EQ(c.count("drop"), 0u);
  EXPECT_EQ(c["change"], "prod");
  EXPECT_EQ(c["new"], "dev");
  EXPECT_EQ(r->stats().lists, 1u);
  EXPECT_GE(r->stats().events, 3u);
}

TEST_F(KubeCacheReal, BookmarksAdvanceTheVersion) {
  putConfigMap("a");
  Reflector::Options options;
  options.watch_timeout_seconds = 4;  // the watch cache bookmarks 2 s before the deadline
  auto r = start(kConfigMap, options);
  ASSERT_TRUE(r->waitForSync(std::chrono::seconds(30))) << r->lastError();
  // Another type's change moves the version without any ConfigMap event of ours.
  json secret = create("/api/v1/namespaces/" + ns_ + "/secrets",
                       {{"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", {{"name", "s"}}}});
  uint64_t secret_rv = std::stoull(secret["metadata"]["resourceVersion"].get<std::string>());
  // (Other tests' ConfigMaps may move it too, through events; the bookmark comes regardless.)
  ASSERT_TRUE(waitFor([&] {
    return r->stats().bookmarks > 0 && std::stoull(r->resourceVersion()) >= secret_rv;
  })) << r->resourceVersion()
      << " vs " << secret_rv << ", " << r->stats().bookmarks << " bookmarks";
}

TEST_F(KubeCacheReal, ResumesWhenTheServerEndsTheWatchWithoutRelisting) {
  putConfigMap("a");
  Reflector::Options options;
  options.watch_timeout_seconds = 1;  // the API server ends every watch after 1 s
  auto r = start(kConfigMap, options);
  ASSERT_TRUE(r->waitForSync(std::chrono::seconds(30))) << r->lastError();
  ASSERT_TRUE(waitFor([&] { return r->stats().watches >= 2; }));
  putConfigMap("later", {{"env", "x"}});
  ASSERT_TRUE(waitFor([&] { return converged(*r); }));
  ASSERT_TRUE(waitFor([&] { return r->stats().watches >= 4; }));
  EXPECT_EQ(contents(*r)["later"], "x");
  EXPECT_EQ(r->stats().lists, 1u);  // every watch resumed from our resourceVersion
}

TEST_F(KubeCacheReal, RelistsAfterGone) {
  std::string templates = "/api/v1/namespaces/" + ns_ + "/podtemplates";
  create(templates, podTemplate("a"));
  create(templates, podTemplate("b"));
  Reflector::Options options;
  options.watch_timeout_seconds = 1;
  auto r = start(kPodTemplate, options);
  ASSERT_TRUE(r->waitForSync(std::chrono::seconds(30))) << r->lastError();
  // Other types move etcd's revision past the reflector's version (PodTemplates are not in the
  // watch cache, so no bookmark advances it), then etcd forgets the history in between: the
  // next resume gets 410 and the reflector lists again.
  putConfigMap("x");
  json last = putConfigMap("y");
  auto compacted = compactEtcd(env_.state[kClusterEtcd],
                               std::stoll(last["metadata"]["resourceVersion"].get<std::string>()));
  ASSERT_TRUE(compacted.ok()) << compacted.error().message;
  ASSERT_TRUE(waitFor([&] { return r->stats().lists >= 2; })) << r->lastError();
  create(templates, podTemplate("c", "late"));
  ASSERT_TRUE(waitFor([&] { return converged(*r); }));
  auto c = contents(*r);
  EXPECT_EQ(c.size(), 3u);
  EXPECT_EQ(c["c"], "late");
}

TEST_F(KubeCacheReal, RetriesWithBackoffUntilRbacAllowsTheList) {
  auto late = serviceAccountClient("late");
  ASSERT_TRUE(late);
  // A reflector lists its type in every namespace, which only a ClusterRole can grant. The
  // binding comes after the reflector has been refused.
  std::string role = "kw-list-podtemplates-" + ns_;
  create("/apis/rbac.authorization.k8s.io/v1/clusterroles",
         {{"apiVersion", "rbac.authorization.k8s.io/v1"},
          {"kind", "ClusterRole"},
          {"metadata", {{"name", role}}},
          {"rules", json::array({{{"apiGroups", {""}},
                                  {"resources", {"podtemplates"}},
                                  {"verbs", {"list", "watch"}}}})}});
  auto r = start(kPodTemplate, {}, late);
  EXPECT_FALSE(r->waitForSync(std::chrono::milliseconds(500)));
  EXPECT_TRUE(waitFor([&] { return r->lastError().find("forbidden (403)") != std::string::npos; }))
      << r->lastError();
  create("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
         {{"apiVersion", "rbac.authorization.k8s.io/v1"},
          {"kind", "ClusterRoleBinding"},
          {"metadata", {{"name", role}}},
          {"roleRef",
           {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "ClusterRole"}, {"name", role}}},
          {"subjects",
           json::array({{{"kind", "ServiceAccount"}, {"name", "late"}, {"namespace", ns_}}})}});
  EXPECT_TRUE(r->waitForSync(std::chrono::seconds(30))) << r->lastError();
  r->stop();
  (void)admin_->request("DELETE", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/" + role);
  (void)admin_->request("DELETE", "/apis/rbac.authorization.k8s.io/v1/clusterroles/" + role);
}

TEST_F(KubeCacheReal, StopsPromptlyWhileWatching) {
  auto r = start(kConfigMap);  // watches last 300 s unless stopped
  ASSERT_TRUE(r->waitForSync(std::chrono::seconds(30))) << r->lastError();
  ASSERT_TRUE(waitFor([&] { return r->stats().watches >= 1; }));
  auto t0 = Clock::now();
  r->stop();
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(2));
}

// ---- CachedReader -------------------------------------------------------------------------

class KubeCachedReaderReal : public KubeCacheReal {
 protected:
  void SetUp() override {
    KubeCacheReal::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    addIngress("web", {{"app", "web"}});
    addIngress("api", {{"app", "api"}});
    CachedReader::Options options;
    options.get_ttl = std::chrono::milliseconds(300);
    reader_ = std::make_unique<CachedReader>(admin_, options);
  }
  void TearDown() override { reader_.reset(); }
  std::unique_ptr<CachedReader> reader_;
};

TEST_F(KubeCachedReaderReal, ListsHaveTheKubernetesListShapeAndFollowChanges) {
  ASSERT_TRUE(reader_->start({kIngress}).ok());
  ASSERT_TRUE(reader_->waitForSync(std::chrono::seconds(30)).ok());
  auto list = reader_->listByNamespace(kIngress, ns_, {});
  ASSERT_TRUE(list.ok()) << list.error().message;
  json l = json::parse(*list);
  EXPECT_EQ(l["apiVersion"], "networking.k8s.io/v1");
  EXPECT_EQ(l["kind"], "IngressList");
  EXPECT_FALSE(l["metadata"]["resourceVersion"].get<std::string>().empty());
  ASSERT_EQ(l["items"].size(), 2u);
  EXPECT_EQ(l["items"][0]["kind"], "Ingress");
  EXPECT_EQ(names(*list), (std::vector<std::string>{"api", "web"}));
  auto all = reader_->listAll(kIngress, {});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(names(*all), (std::vector<std::string>{"api", "web"}));

  addIngress("new", {{"app", "new"}});
  ASSERT_TRUE(
      waitFor([&] { return names(*reader_->listByNamespace(kIngress, ns_, {})).size() == 3; }));
}

TEST_F(KubeCachedReaderReal, SelectorsInMemoryAndUnindexedFieldsAtTheApiServer) {
  EXPECT_EQ(names(*reader_->listByNamespace(kIngress, ns_, {"app=web", ""})),
            std::vector<std::string>{"web"});
  EXPECT_EQ(names(*reader_->listByNamespace(kIngress, ns_, {"app notin (web)", ""})),
            std::vector<std::string>{"api"});
  EXPECT_EQ(names(*reader_->listAll(kIngress, {"", "metadata.namespace=" + ns_})),
            (std::vector<std::string>{"api", "web"}));
  EXPECT_EQ(names(*reader_->listByNamespace(kIngress, ns_, {"app", "metadata.name!=web"})),
            std::vector<std::string>{"api"});
  auto bad = reader_->listAll(kIngress, {"app in web", ""});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("app in web"), std::string::npos);
  // Only metadata fields are answered from memory; this one goes to kube-apiserver, which
  // refuses it for Ingresses.
  auto unindexed = reader_->listAll(kIngress, {"", "spec.ingressClassName=nginx"});
  ASSERT_FALSE(unindexed.ok());
  EXPECT_NE(unindexed.error().message.find(
                "\"spec.ingressClassName\" is not a known field selector: only \"metadata.name\", "
                "\"metadata.namespace\""),
            std::string::npos)
      << unindexed.error().message;
}

TEST_F(KubeCachedReaderReal, GetUsesAShortCacheUnlessDisabled) {
  putConfigMap("settings", {{"env", "first"}});
  auto first = reader_->get(kConfigMap, "settings", ns_, false);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(json::parse(*first)["metadata"]["labels"]["env"], "first");
  putConfigMap("settings", {{"env", "changed"}}, /*replace=*/true);
  auto cached = reader_->get(kConfigMap, "settings", ns_, false);
  ASSERT_TRUE(cached.ok());
  EXPECT_EQ(*cached, *first);  // within the TTL: the cached copy
  auto direct = reader_->get(kConfigMap, "settings", ns_, true);
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ(json::parse(*direct)["metadata"]["labels"]["env"], "changed");
  ASSERT_TRUE(waitFor([&] {
    auto again = reader_->get(kConfigMap, "settings", ns_, false);
    return again.ok() && json::parse(*again)["metadata"]["labels"]["env"] == "changed";
  }));
  auto missing = reader_->get(kIngress, "nope", ns_, false);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("ingresses.networking.k8s.io \"nope\" not found"),
            std::string::npos)
      << missing.error().message;
}

TEST_F(KubeCachedReaderReal, DescribeAndForEach) {
  auto type = reader_->describe(kIngress);
  ASSERT_TRUE(type.ok()) << type.error().message;
  EXPECT_EQ(type->plural, "ingresses");
  EXPECT_TRUE(type->namespaced);
  EXPECT_FALSE(reader_->describe({"v1", "Nothing"}).ok());
  std::vector<std::string> seen;
  ASSERT_TRUE(reader_
                  ->forEach(kIngress,
                            [&](std::string_view ns, std::string_view name, std::string_view text) {
                              EXPECT_EQ(json::parse(text)["metadata"]["name"], name);
                              if (ns == ns_) seen.emplace_back(name);
                            })
                  .ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"api", "web"}));
}

// Counted by the API server itself (apiserver_request_total). ReplicationControllers: no other
// test and no admission plugin reads them, so the counts are this test's alone.
TEST_F(KubeCachedReaderReal, ReadsAreServedFromMemory) {
  const kube::ResourceKey rc{"v1", "ReplicationController"};
  create("/api/v1/namespaces/" + ns_ + "/replicationcontrollers",
         {{"apiVersion", "v1"},
          {"kind", "ReplicationController"},
          {"metadata", {{"name", "web"}}},
          {"spec",
           {{"replicas", 0},
            {"selector", {{"app", "web"}}},
            {"template",
             {{"metadata", {{"labels", {{"app", "web"}}}}},
              {"spec",
               {{"containers", json::array({{{"name", "c"}, {"image", "x.invalid/c:1"}}})}}}}}}}});
  auto requests = [&](const std::string& verb) {
    auto reply = admin_->request("GET", "/metrics");
    if (!reply.ok() || reply->status != 200) return -1.0;
    return cluster::sumOf(cluster::samplesOf(reply->body, "apiserver_request_total"),
                          {{"verb", verb}, {"resource", "replicationcontrollers"}});
  };
  double lists = requests("LIST"), gets = requests("GET");
  ASSERT_GE(lists, 0);
  auto first = reader_->listByNamespace(rc, ns_, {});  // starts the reflector: one LIST
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(names(*first), std::vector<std::string>{"web"});
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(reader_->listAll(rc, {}).ok());
  EXPECT_EQ(requests("LIST") - lists, 1);

  ASSERT_TRUE(reader_->get(rc, "web", ns_, false).ok());
  ASSERT_TRUE(reader_->get(rc, "web", ns_, false).ok());  // within the TTL: no request
  EXPECT_EQ(requests("GET") - gets, 1);
  ASSERT_TRUE(reader_->get(rc, "web", ns_, true).ok());  // cache disabled: a request
  EXPECT_EQ(requests("GET") - gets, 2);
}

TEST_F(KubeCachedReaderReal, UnsyncedTypesAreNamed) {
  auto nobody = serviceAccountClient("nobody");
  ASSERT_TRUE(nobody);
  CachedReader::Options options;
  options.first_sync_timeout = std::chrono::milliseconds(200);
  CachedReader reader(nobody, options);
  ASSERT_TRUE(reader.start({kConfigMap}).ok());
  Status synced = okStatus();
  // The first list is refused (403) and recorded as the reason.
  ASSERT_TRUE(waitFor([&] {
    synced = reader.waitForSync(std::chrono::milliseconds(300));
    return !synced.ok() && synced.error().message.find("forbidden") != std::string::npos;
  })) << (synced.ok() ? "synced" : synced.error().message);
  EXPECT_NE(synced.error().message.find("v1/ConfigMap"), std::string::npos);
  auto list = reader.listAll(kConfigMap, {});
  ASSERT_FALSE(list.ok());
  EXPECT_NE(list.error().message.find("not synced"), std::string::npos);
}

}  // namespace
}  // namespace kw::test
