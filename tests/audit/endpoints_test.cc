#include "audit/endpoints.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "audit/http_client.h"
#include "audit/work_pool.h"

namespace kw::audit {
namespace {

using json = nlohmann::json;

TEST(AuditEndpoints, ServiceUrlFromItsFirstPort) {
  json svc = {{"metadata", {{"name", "policy-server-default"}, {"namespace", "kubewarden"}}},
              {"spec",
               {{"ports", json::array({{{"name", "policy-server"}, {"port", 8443}},
                                       {{"name", "metrics"}, {"port", 8080}}})}}}};
  auto url = serviceBaseUrl(svc);
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(*url, "https://policy-server-default.kubewarden.svc:8443");
  svc["spec"]["ports"] = json::array();
  EXPECT_EQ(serviceBaseUrl(svc).error().message,
            "Service kubewarden/policy-server-default has no port");
}

TEST(AuditEndpoints, EveryReadyAddressOfTheNamedPort) {
  json slices = json::array(
      {{{"ports", json::array({{{"name", "metrics"}, {"port", 8080}},
                               {{"name", "policy-server"}, {"port", 8443}}})},
        {"endpoints",
         json::array({{{"addresses", {"10.244.0.1"}}, {"conditions", {{"ready", true}}}},
                      {{"addresses", {"10.244.0.2"}}, {"conditions", {{"ready", false}}}},
                      {{"addresses", {"10.244.0.3"}}}})}},
       {{"ports", json::array({{{"name", "policy-server"}, {"port", 8443}}})},
        {"endpoints",
         json::array({{{"addresses", {"fd00::4"}}}, {{"addresses", {"10.244.0.1"}}}})}}});
  auto targets = readyTargets(slices, "policy-server", "https://svc.kw.svc:8443");
  std::vector<Target> want = {{"https://svc.kw.svc:8443", "10.244.0.1:8443"},
                              {"https://svc.kw.svc:8443", "10.244.0.3:8443"},
                              {"https://svc.kw.svc:8443", "[fd00::4]:8443"}};
  EXPECT_EQ(targets, want);
}

TEST(AuditEndpoints, RoundRobinVisitsEachTargetInTurn) {
  TargetSet set({{"u", "a"}, {"u", "b"}, {"u", "c"}});
  std::vector<std::string> seen;
  for (int i = 0; i < 6; ++i) seen.push_back(set.next().address);
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c", "a", "b", "c"}));
}

TEST(AuditEndpoints, UrlHostPort) {
  EXPECT_EQ(urlHostPort("https://svc.ns.svc:8443/x"), "svc.ns.svc:8443");
  EXPECT_EQ(urlHostPort("https://svc.ns.svc"), "svc.ns.svc:443");
  EXPECT_EQ(urlHostPort("http://[::1]"), "[::1]:80");
  EXPECT_EQ(urlHostPort("nope"), "");
}

TEST(AuditWorkPool, EveryTaskOfConcurrentBatchesRunsOnBoundedThreads) {
  WorkPool pool(3);
  std::atomic<int> ran{0}, running{0}, peak{0};
  std::mutex ids_mu;
  std::set<std::thread::id> ids;
  auto batch = [&] {
    std::vector<std::function<void()>> tasks;
    for (int i = 0; i < 50; ++i)
      tasks.push_back([&] {
        int now = ++running;
        for (int p = peak.load(); now > p && !peak.compare_exchange_weak(p, now);) {
        }
        {
          std::lock_guard lock(ids_mu);
          ids.insert(std::this_thread::get_id());
        }
        ++ran;
        --running;
      });
    pool.runAll(std::move(tasks));
  };
  std::thread other(batch);
  batch();
  other.join();
  EXPECT_EQ(ran.load(), 100);
  EXPECT_LE(peak.load(), 3);
  EXPECT_LE(ids.size(), 3u);
}

}  // namespace
}  // namespace kw::audit
