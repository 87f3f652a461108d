// The fake Kubernetes API server against the shapes the Kubernetes API documentation shows:
// Status objects, List objects, watch events, pagination, 410 for old versions, 409 conflicts,
// merge and JSON patches, token auth.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "kube/kube_fixture.h"

namespace kw::kube {
namespace {

using json = nlohmann::json;

class KubeFakeApi : public test::KubeFakeFixture {
 protected:
  json call(const std::string& method, const std::string& path, long expected_status,
            const std::string& body = "", const std::string& type = "application/json") {
    auto reply = client_->request(method, path, body, body.empty() ? "" : type);
    EXPECT_TRUE(reply.ok()) << reply.error().message;
    if (!reply.ok()) return nullptr;
    EXPECT_EQ(reply->status, expected_status) << method << " " << path << ": " << reply->body;
    return json::parse(reply->body);
  }
  static void expectStatus(const json& s, int code, const std::string& reason) {
    EXPECT_EQ(s["kind"], "Status");
    EXPECT_EQ(s["apiVersion"], "v1");
    EXPECT_EQ(s["status"], "Failure");
    EXPECT_EQ(s["code"], code);
    EXPECT_EQ(s["reason"], reason);
    EXPECT_TRUE(s["message"].is_string());
  }
};

TEST_F(KubeFakeApi, DiscoveryListsGroupsAndResources) {
  json core = call("GET", "/api/v1", 200);
  EXPECT_EQ(core["kind"], "APIResourceList");
  EXPECT_EQ(core["groupVersion"], "v1");
  bool found = false;
  for (const json& r : core["resources"])
    if (r["name"] == "namespaces") {
      found = true;
      EXPECT_EQ(r["kind"], "Namespace");
      EXPECT_EQ(r["namespaced"], false);
    }
  EXPECT_TRUE(found);
  json groups = call("GET", "/apis", 200);
  EXPECT_EQ(groups["kind"], "APIGroupList");
  std::vector<std::string> names;
  for (const json& g : groups["groups"]) names.push_back(g["name"]);
  EXPECT_NE(std::find(names.begin(), names.end(), "networking.k8s.io"), names.end());
  json net = call("GET", "/apis/networking.k8s.io/v1", 200);
  EXPECT_EQ(net["resources"][0]["kind"], "Ingress");
  EXPECT_EQ(net["resources"][0]["namespaced"], true);
  expectStatus(call("GET", "/apis/nothing.example.com/v1", 404), 404, "NotFound");
}

TEST_F(KubeFakeApi, CreateGetAndNotFoundStatus) {
  json created = call("POST", "/api/v1/namespaces", 201, R"({"metadata":{"name":"shop"}})");
  EXPECT_EQ(created["kind"], "Namespace");
  EXPECT_EQ(created["apiVersion"], "v1");
  EXPECT_FALSE(created["metadata"]["uid"].get<std::string>().empty());
  EXPECT_FALSE(created["metadata"]["resourceVersion"].get<std::string>().empty());
  json pod = call("POST", "/api/v1/namespaces/shop/pods", 201,
                  R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"},"spec":{}})");
  EXPECT_EQ(pod["metadata"]["namespace"], "shop");
  EXPECT_EQ(call("GET", "/api/v1/namespaces/shop/pods/web", 200)["metadata"]["name"], "web");
  json missing = call("GET", "/api/v1/namespaces/shop/pods/db", 404);
  expectStatus(missing, 404, "NotFound");
  EXPECT_EQ(missing["message"], "pods \"db\" not found");
  EXPECT_EQ(missing["details"]["name"], "db");
  EXPECT_EQ(missing["details"]["kind"], "pods");
  json exists = call("POST", "/api/v1/namespaces", 409, R"({"metadata":{"name":"shop"}})");
  expectStatus(exists, 409, "AlreadyExists");
  EXPECT_EQ(exists["message"], "namespaces \"shop\" already exists");
}

TEST_F(KubeFakeApi, ListShapeAndPagination) {
  for (int i = 0; i < 5; ++i) addNamespace("ns-" + std::to_string(i));
  json page1 = call("GET", "/api/v1/namespaces?limit=2", 200);
  EXPECT_EQ(page1["kind"], "NamespaceList");
  EXPECT_EQ(page1["apiVersion"], "v1");
  ASSERT_EQ(page1["items"].size(), 2u);
  // List items carry no kind/apiVersion, as kube-apiserver serves them.
  EXPECT_FALSE(page1["items"][0].contains("kind"));
  std::string rv = page1["metadata"]["resourceVersion"];
  std::vector<std::string> names;
  json page = page1;
  for (;;) {
    EXPECT_EQ(page["metadata"]["resourceVersion"], rv);  // one version for the whole list
    for (const json& item : page["items"]) names.push_back(item["metadata"]["name"]);
    std::string cont = page["metadata"].value("continue", "");
    if (cont.empty()) break;
    page = call("GET", "/api/v1/namespaces?limit=2&continue=" + cont, 200);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"ns-0", "ns-1", "ns-2", "ns-3", "ns-4"}));
  json bad = call("GET", "/api/v1/namespaces?limit=2&continue=garbage", 400);
  expectStatus(bad, 400, "BadRequest");
}

TEST_F(KubeFakeApi, ExpiredContinueTokenIs410) {
  for (int i = 0; i < 3; ++i) addNamespace("ns-" + std::to_string(i));
  json page1 = call("GET", "/api/v1/namespaces?limit=1", 200);
  fake_->compactHistory();
  addNamespace("later");
  fake_->compactHistory();
  json expired = call(
      "GET",
      "/api/v1/namespaces?limit=1&continue=" + page1["metadata"]["continue"].get<std::string>(),
      410);
  expectStatus(expired, 410, "Expired");
}

TEST_F(KubeFakeApi, SelectorsOnLists) {
  addNamespace("a", {{"env", "prod"}});
  addNamespace("b", {{"env", "qa"}});
  addNamespace("c");
  auto names = [&](const std::string& query) {
    std::vector<std::string> out;
    json doc = call("GET", "/api/v1/namespaces?" + query, 200);
    for (const json& i : doc["items"]) out.push_back(i["metadata"]["name"]);
    return out;
  };
  EXPECT_EQ(names("labelSelector=env%3Dprod"), std::vector<std::string>{"a"});
  EXPECT_EQ(names("labelSelector=env%20notin%20(prod)"), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(names("labelSelector=!env"), std::vector<std::string>{"c"});
  EXPECT_EQ(names("fieldSelector=metadata.name%3Db"), std::vector<std::string>{"b"});
  json bad = call("GET", "/api/v1/namespaces?fieldSelector=spec.foo%3Dbar", 400);
  expectStatus(bad, 400, "BadRequest");
  EXPECT_EQ(bad["message"], "field label not supported: spec.foo");
}

TEST_F(KubeFakeApi, UpdateWithStaleResourceVersionConflicts) {
  json cm = call("POST", "/api/v1/namespaces/default/configmaps", 201,
                 R"({"metadata":{"name":"cfg"},"data":{"a":"1"}})");
  std::string rv = cm["metadata"]["resourceVersion"];
  cm["data"]["a"] = "2";
  json updated = call("PUT", "/api/v1/namespaces/default/configmaps/cfg", 200, cm.dump());
  EXPECT_EQ(updated["data"]["a"], "2");
  EXPECT_NE(updated["metadata"]["resourceVersion"], rv);
  EXPECT_EQ(updated["metadata"]["uid"], cm["metadata"]["uid"]);
  cm["data"]["a"] = "3";  // still carries the old resourceVersion
  json conflict = call("PUT", "/api/v1/namespaces/default/configmaps/cfg", 409, cm.dump());
  expectStatus(conflict, 409, "Conflict");
  EXPECT_EQ(conflict["message"],
            "Operation cannot be fulfilled on configmaps \"cfg\": the object has been modified; "
            "please apply your changes to the latest version and try again");
  expectStatus(call("PUT", "/api/v1/namespaces/default/configmaps/nope", 404,
                    R"({"metadata":{"name":"nope"}})"),
               404, "NotFound");
}

TEST_F(KubeFakeApi, MergePatchAndJsonPatch) {
  call("POST", "/api/v1/namespaces/default/configmaps", 201,
       R"({"metadata":{"name":"cfg","labels":{"keep":"1","drop":"1"}},"data":{"a":"1"}})");
  // RFC 7386: null deletes, objects merge, scalars replace.
  json merged = call("PATCH", "/api/v1/namespaces/default/configmaps/cfg", 200,
                     R"({"metadata":{"labels":{"drop":null,"new":"2"}},"data":{"a":"9"}})",
                     "application/merge-patch+json");
  EXPECT_EQ(merged["metadata"]["labels"], (json{{"keep", "1"}, {"new", "2"}}));
  EXPECT_EQ(merged["data"]["a"], "9");
  json patched =
      call("PATCH", "/api/v1/namespaces/default/configmaps/cfg", 200,
           R"([{"op":"add","path":"/data/b","value":"x"},{"op":"remove","path":"/data/a"}])",
           "application/json-patch+json");
  EXPECT_EQ(patched["data"], (json{{"b", "x"}}));
  json failed =
      call("PATCH", "/api/v1/namespaces/default/configmaps/cfg", 422,
           R"([{"op":"test","path":"/data/b","value":"y"}])", "application/json-patch+json");
  expectStatus(failed, 422, "Invalid");
  expectStatus(call("PATCH", "/api/v1/namespaces/default/configmaps/cfg", 415, "{}", "text/plain"),
               415, "UnsupportedMediaType");
}

TEST_F(KubeFakeApi, DeleteReturnsTheObject) {
  addNamespace("gone");
  json deleted = call("DELETE", "/api/v1/namespaces/gone", 200);
  EXPECT_EQ(deleted["metadata"]["name"], "gone");
  expectStatus(call("GET", "/api/v1/namespaces/gone", 404), 404, "NotFound");
  expectStatus(call("DELETE", "/api/v1/namespaces/gone", 404), 404, "NotFound");
}

TEST_F(KubeFakeApi, TokenAuthAndResourceAllowList) {
  fake_->setToken("reader", "system:serviceaccount:kubewarden:policy-server",
                  std::set<std::string>{"namespaces"});
  auto reader = clientFor("reader");
  auto ok = reader->request("GET", "/api/v1/namespaces");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 200);
  auto denied = reader->request("GET", "/api/v1/namespaces/default/secrets");
  ASSERT_TRUE(denied.ok());
  EXPECT_EQ(denied->status, 403);
  json s = json::parse(denied->body);
  expectStatus(s, 403, "Forbidden");
  EXPECT_EQ(s["message"],
            "secrets is forbidden: User \"system:serviceaccount:kubewarden:policy-server\" cannot "
            "list resource \"secrets\" in API group \"\" in the namespace \"default\"");
  auto stranger = clientFor("unknown-token");
  auto unauthorized = stranger->request("GET", "/api/v1/namespaces");
  ASSERT_TRUE(unauthorized.ok());
  EXPECT_EQ(unauthorized->status, 401);
  expectStatus(json::parse(unauthorized->body), 401, "Unauthorized");
}

}  // namespace
}  // namespace kw::kube
