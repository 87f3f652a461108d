#include "support/cluster_env.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>

#include "kube/config.h"

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
