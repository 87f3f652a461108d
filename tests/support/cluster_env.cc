#include "support/cluster_env.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "common/base64.h"
#include "kube/config.h"
#include "net/http_client.h"

#ifndef KW_CLUSTER_DIR
#error "KW_CLUSTER_DIR must name the harness directory (build/cluster)"
#endif

namespace kw::test {
namespace fs = std::filesystem;

fs::path clusterEnvFile() {
  if (const char* file = std::getenv("KW_CLUSTER_ENV"); file && *file) return file;
  return fs::path(KW_CLUSTER_DIR) / "env";
}

bool clusterRequired() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::strcmp(ci, "true") == 0;
}

std::optional<ClusterEnv> findCluster(std::string& why) {
  auto file = clusterEnvFile();
  auto state = readClusterState(file);
  if (!state) {
    why = "no control plane: " + file.string() +
          " is missing (run through ctest, whose cluster_setup fixture starts it)";
    return std::nullopt;
  }
  auto value = [&](const char* key) {
    auto it = state->find(key);
    return it == state->end() ? std::string() : it->second;
  };
  if (value(kClusterStatus) != "running") {
    why = "no control plane (" + file.string() + " says " + value(kClusterStatus) + "): " +
          value(kClusterError);
    return std::nullopt;
  }
  ClusterEnv env;
  env.kubeconfig = value(kClusterKubeconfig);
  env.server = value(kClusterServer);
  env.tools = value(kClusterTools);
  env.state = std::move(*state);
  return env;
}

std::string uniqueNamespaceName() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string base = info ? std::string(info->test_suite_name()) + "-" + info->name() : "test";
  std::string name = "t-";
  for (char c : base) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    bool alnum = (l >= 'a' && l <= 'z') || (l >= '0' && l <= '9');
    if (alnum) name += l;
    else if (name.back() != '-') name += '-';
  }
  // 63 characters at most: room for "-" and a 6-hex-digit suffix.
  name = name.substr(0, 56);
  if (name.back() != '-') name += '-';
  static thread_local std::mt19937 rng{std::random_device{}()};
  char suffix[8];
  std::snprintf(suffix, sizeof suffix, "%06x", static_cast<unsigned>(rng() & 0xffffff));
  return name + suffix;
}

Result<std::string> createNamespace(kube::Client& client, const std::string& name) {
  nlohmann::json body = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}};
  auto reply = client.request("POST", "/api/v1/namespaces", body.dump(), "application/json");
  if (!reply) return reply.error();
  if (reply->status != 201) return kube::apiError(reply->status, reply->body, "create namespace " + name);
  return name;
}

kube::Config withToken(kube::Config config, const std::string& token) {
  config.client_cert_pem.clear();
  config.client_key_pem.clear();
  config.username.clear();
  config.password.clear();
  config.token_file.clear();
  config.token = token;
  return config;
}

bool waitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

namespace {
// POST `body` to etcd's HTTP gateway (`path` under /v3/); its answer, or the error.
Result<std::string> etcdPost(const std::string& etcd_url, const std::string& path,
                             const std::string& body) {
  net::Request request;
  request.method = "POST";
  request.url = etcd_url + path;
  request.body = body;
  request.timeout_ms = 30000;
  auto response = net::HttpClient().perform(request);
  if (!response.ok()) return makeError("etcd " + path + ": " + response.error);
  if (response.status != 200)
    return makeError("etcd " + path + ": HTTP " + std::to_string(response.status) + ": " +
                     response.body);
  return response.body;
}
}  // namespace

Status compactEtcd(const std::string& etcd_url, int64_t revision) {
  // Physical: returns once the old revisions are gone, not merely scheduled.
  auto answer =
      etcdPost(etcd_url, "/v3/kv/compaction",
               nlohmann::json{{"revision", std::to_string(revision)}, {"physical", true}}.dump());
  if (!answer) return answer.error();
  return okStatus();
}

Status storeInEtcd(const std::string& etcd_url, const std::string& key,
                   const nlohmann::json& object) {
  auto answer = etcdPost(
      etcd_url, "/v3/kv/put",
      nlohmann::json{{"key", base64Encode(key)}, {"value", base64Encode(object.dump())}}.dump());
  if (!answer) return answer.error();
  return okStatus();
}

std::string randomUid() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t a = rng(), b = rng();
  char out[40];
  std::snprintf(out, sizeof out, "%08x-%04x-4%03x-8%03x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>((b >> 48) & 0xfff),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return out;
}

nlohmann::json ClusterTest::create(const std::string& collection, const nlohmann::json& object) {
  auto reply = admin_->request("POST", collection, object.dump(), "application/json");
  EXPECT_TRUE(reply.ok()) << reply.error().message;
  if (!reply.ok()) return nullptr;
  EXPECT_EQ(reply->status, 201) << "POST " << collection << ": " << reply->body;
  return reply->status == 201 ? nlohmann::json::parse(reply->body) : nlohmann::json();
}

nlohmann::json ClusterTest::putConfigMap(const std::string& name, nlohmann::json labels,
                                         bool replace) {
  nlohmann::json cm = {{"apiVersion", "v1"},
                       {"kind", "ConfigMap"},
                       {"metadata", {{"name", name}, {"namespace", ns_}, {"labels", labels}}},
                       {"data", {{"name", name}}}};
  std::string collection = "/api/v1/namespaces/" + ns_ + "/configmaps";
  if (!replace) return create(collection, cm);
  auto reply = admin_->request("PUT", collection + "/" + name, cm.dump(), "application/json");
  EXPECT_TRUE(reply.ok()) << reply.error().message;
  if (!reply.ok()) return nullptr;
  EXPECT_EQ(reply->status, 200) << reply->body;
  return reply->status == 200 ? nlohmann::json::parse(reply->body) : nlohmann::json();
}

std::shared_ptr<kube::Client> ClusterTest::serviceAccountClient(const std::string& name) {
  create("/api/v1/namespaces/" + ns_ + "/serviceaccounts",
         {{"apiVersion", "v1"}, {"kind", "ServiceAccount"}, {"metadata", {{"name", name}}}});
  // TokenRequest: a short-lived token signed with the harness's service-account key.
  auto issued = create("/api/v1/namespaces/" + ns_ + "/serviceaccounts/" + name + "/token",
                       {{"apiVersion", "authentication.k8s.io/v1"},
                        {"kind", "TokenRequest"},
                        {"spec", {{"expirationSeconds", 3600}}}});
  if (!issued.is_object()) return nullptr;
  auto client = kube::Client::create(withToken(admin_->config(), issued["status"]["token"]));
  EXPECT_TRUE(client.ok()) << client.error().message;
  return client.ok() ? *client : nullptr;
}

void ClusterTest::grant(const std::string& service_account,
                        const std::vector<std::string>& resources,
                        const std::vector<std::string>& verbs) {
  std::string role = service_account + "-role";
  create("/apis/rbac.authorization.k8s.io/v1/namespaces/" + ns_ + "/roles",
         {{"apiVersion", "rbac.authorization.k8s.io/v1"},
          {"kind", "Role"},
          {"metadata", {{"name", role}}},
          {"rules", nlohmann::json::array(
                        {{{"apiGroups", {""}}, {"resources", resources}, {"verbs", verbs}}})}});
  create(
      "/apis/rbac.authorization.k8s.io/v1/namespaces/" + ns_ + "/rolebindings",
      {{"apiVersion", "rbac.authorization.k8s.io/v1"},
       {"kind", "RoleBinding"},
       {"metadata", {{"name", role}}},
       {"roleRef", {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "Role"}, {"name", role}}},
       {"subjects",
        nlohmann::json::array(
            {{{"kind", "ServiceAccount"}, {"name", service_account}, {"namespace", ns_}}})}});
}

void ClusterTest::SetUp() {
  std::string why;
  auto env = findCluster(why);
  if (!env) {
    if (clusterRequired()) FAIL() << why << " (CI=true: the control plane is required)";
    GTEST_SKIP() << why;
  }
  env_ = std::move(*env);
  auto config = kube::loadKubeconfig(env_.kubeconfig);
  ASSERT_TRUE(config.ok()) << config.error().message;
  auto client = kube::Client::create(std::move(*config));
  ASSERT_TRUE(client.ok()) << client.error().message;
  admin_ = std::move(*client);
  auto ns = createNamespace(*admin_, uniqueNamespaceName());
  ASSERT_TRUE(ns.ok()) << ns.error().message << " (control plane logs: "
                       << env_.state[kClusterApiserverLog] << ")";
  ns_ = *ns;
}

}  // namespace kw::test
