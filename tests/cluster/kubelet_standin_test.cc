// The rollout path without a kubelet: kube-controller-manager turns a Deployment into a
// ReplicaSet and a Pod, the kubelet stand-in (kw-kubelet-standin, a test double started by the
// cluster fixture) binds that Pod, runs our policy-server for it on the Pod's own address and
// reports it Ready, the endpointslice controller publishes the address, and the API server calls
// the webhook behind the Service there. Deleting the Deployment stops the process and frees
// the address.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cluster/harness_pki.h"
#include "cluster/kubelet_standin_pod.h"
#include "cluster/webhooks.h"
#include "common/base64.h"
#include "common/yaml_json.h"
#include "support/cant_run.h"
#include "support/cluster_env.h"
#include "support/test_env.h"

namespace kw::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kServer[] = "policy-server-standin";  // Deployment, Service, Secret, ConfigMap
constexpr char kPrivilegedMessage[] = "Privileged container is not allowed";

json testPod(const std::string& name, bool privileged) {
  json container = {{"name", "app"}, {"image", "registry.invalid/app:1"}};
  if (privileged) container["securityContext"] = {{"privileged", true}};
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", name}}},
          {"spec", {{"containers", json::array({container})}}}};
}

// The Deployment as the controller shapes it (spec §4.3): the same env, volumes and probe.
json policyServerDeployment() {
  json labels = {{"app", std::string("kubewarden-") + kServer},
                 {"kubewarden/policy-server", "standin"}};
  json env = json::array();
  for (const auto& [k, v] :
       std::map<std::string, std::string>{{"KUBEWARDEN_CERT_FILE", "/pki/policy-server-cert"},
                                          {"KUBEWARDEN_KEY_FILE", "/pki/policy-server-key"},
                                          {"KUBEWARDEN_PORT", "8443"},
                                          {"KUBEWARDEN_POLICIES_DOWNLOAD_DIR", "/tmp"},
                                          {"KUBEWARDEN_POLICIES", "/config/policies.yml"},
                                          {"KUBEWARDEN_SIGSTORE_CACHE_DIR", "/tmp/sigstore-data"}})
    env.push_back({{"name", k}, {"value", v}});
  json container = {
      {"name", kServer},
      {"image", "ghcr.io/kubewarden/policy-server:v1.10.0"},  // ignored by the stand-in
      {"env", env},
      {"volumeMounts",
       {{{"name", "policy-store"}, {"mountPath", "/tmp"}},
        {{"name", "certs"}, {"mountPath", "/pki"}, {"readOnly", true}},
        {{"name", "policies"}, {"mountPath", "/config"}, {"readOnly", true}}}},
      {"readinessProbe",
       {{"httpGet", {{"path", "/readiness"}, {"port", 8443}, {"scheme", "HTTPS"}}}}}};
  json volumes = {
      {{"name", "policy-store"}, {"emptyDir", json::object()}},
      {{"name", "certs"}, {"secret", {{"secretName", kServer}}}},
      {{"name", "policies"},
       {"configMap",
        {{"name", kServer}, {"items", {{{"key", "policies.yml"}, {"path", "policies.yml"}}}}}}}};
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata", {{"name", kServer}, {"labels", labels}}},
          {"spec",
           {{"replicas", 1},
            {"selector", {{"matchLabels", labels}}},
            {"template",
             {{"metadata", {{"labels", labels}}},
              {"spec", {{"containers", {container}}, {"volumes", volumes}}}}}}}};
}

class KubeletStandinTest : public ClusterTest {
 protected:
  void SetUp() override {
    ClusterTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto error = env_.state.find(kClusterStandinError);
    std::string why = env_.state.count(kClusterStandinPid) == 0
                          ? "the control plane runs without the kubelet stand-in"
                      : error != env_.state.end() ? "the kubelet stand-in failed: " + error->second
                                                  : "";
    if (!why.empty()) KW_CANT_RUN() << why;
    dir_ = fs::path(KW_CLUSTER_DIR) / "tests" / "kubelet-standin" / ns_;
    fs::create_directories(dir_);
  }

  void TearDown() override {
    if (!webhook_.empty())
      (void)admin_->request(
          "DELETE",
          cluster::webhookConfigurationPath("ValidatingWebhookConfiguration") + "/" + webhook_);
  }

  std::string path(const std::string& group_version, const std::string& plural) const {
    std::string root = group_version == "v1" ? "/api/v1" : "/apis/" + group_version;
    return root + "/namespaces/" + ns_ + "/" + plural;
  }

  json get(const std::string& path_and_query) {
    auto reply = admin_->request("GET", path_and_query);
    if (!reply.ok() || reply->status != 200) return nullptr;
    return json::parse(reply->body);
  }

  json podsOfServer() {
    json list = get(path("v1", "pods") + "?labelSelector=kubewarden%2Fpolicy-server%3Dstandin");
    return list.is_null() ? json::array() : list["items"];
  }

  // The Secret and ConfigMap the Deployment mounts: a serving certificate for the Service's
  // name, and a policies.yml with pod-privileged as a file:// URL.
  void createInputs() {
    std::string error;
    std::string host = std::string(kServer) + "." + ns_ + ".svc";
    ASSERT_TRUE(cluster::makeServingPki(dir_ / "pki", {host}, pki_, error)) << error;
    create(path("v1", "secrets"), {{"apiVersion", "v1"},
                                   {"kind", "Secret"},
                                   {"metadata", {{"name", kServer}}},
                                   {"stringData",
                                    {{"policy-server-cert", readTextFile(pki_.cert).value()},
                                     {"policy-server-key", readTextFile(pki_.key).value()}}}});
    std::string module = (guestDir() / "annotated" / "pod_privileged.wasm").string();
    create(path("v1", "configmaps"),
           {{"apiVersion", "v1"},
            {"kind", "ConfigMap"},
            {"metadata", {{"name", kServer}}},
            {"data",
             {{"policies.yml",
               "pod-privileged:\n  url: file://" + module + "\n  policyMode: protect\n"}}}});
  }

  void createService() {
    create(path("v1", "services"), {{"apiVersion", "v1"},
                                    {"kind", "Service"},
                                    {"metadata", {{"name", kServer}}},
                                    {"spec",
                                     {{"selector", {{"app", std::string("kubewarden-") + kServer}}},
                                      {"ports",
                                       {{{"name", "policy-server"},
                                         {"port", 8443},
                                         {"targetPort", 8443},
                                         {"protocol", "TCP"}}}}}}});
  }

  bool loHas(const std::string& ip) {
    auto out = runCommand("ip -o addr show dev lo");
    return out.out.find(" " + ip + "/32") != std::string::npos;
  }

  fs::path dir_;
  cluster::ServingPki pki_;
  std::string webhook_;
};

TEST_F(KubeletStandinTest, DeploymentRollsOutAndItsServiceServesTheWebhook) {
  ASSERT_NO_FATAL_FAILURE(createInputs());
  create(path("apps/v1", "deployments"), policyServerDeployment());
  ASSERT_NO_FATAL_FAILURE(createService());

  // kube-controller-manager makes the ReplicaSet and Pod; the stand-in makes it Ready.
  json deployment;
  bool rolled_out = waitFor(
      [&] {
        deployment = get(path("apps/v1", "deployments") + "/" + kServer);
        return !deployment.is_null() &&
               deployment.value(json::json_pointer("/status/readyReplicas"), 0) == 1 &&
               deployment.value(json::json_pointer("/status/updatedReplicas"), 0) == 1;
      },
      std::chrono::seconds(60));
  ASSERT_TRUE(rolled_out) << "Deployment not ready: " << deployment.dump()
                          << "\nPods: " << podsOfServer().dump();

  json pods = podsOfServer();
  ASSERT_EQ(pods.size(), 1u) << pods.dump();
  json pod = pods[0];
  EXPECT_EQ(pod["spec"]["nodeName"], env_.state[kClusterStandinNode]);
  EXPECT_EQ(pod["status"]["phase"], "Running");
  EXPECT_EQ(pod["status"]["hostIP"], "127.0.0.1");
  std::string ip = pod["status"].value("podIP", "");
  ASSERT_EQ(ip.rfind("10.244.0.", 0), 0u) << pod["status"].dump();
  EXPECT_EQ(pod["status"]["podIPs"], json::array({{{"ip", ip}}}));
  EXPECT_TRUE(pod["status"]["containerStatuses"][0]["ready"].get<bool>());
  EXPECT_TRUE(loHas(ip));
  // The ReplicaSet is real: the Pod belongs to it and carries its pod-template-hash.
  EXPECT_EQ(pod["metadata"]["ownerReferences"][0]["kind"], "ReplicaSet");
  EXPECT_TRUE(pod["metadata"]["labels"].contains("pod-template-hash"));

  // The endpointslice controller publishes the Pod's address as ready.
  json endpoint;
  bool published = waitFor([&] {
    json slices = get(path("discovery.k8s.io/v1", "endpointslices") +
                      "?labelSelector=kubernetes.io%2Fservice-name%3D" + kServer);
    if (slices.is_null()) return false;
    for (const auto& slice : slices["items"])
      for (const auto& e : slice.value("endpoints", json::array()))
        if (e["addresses"][0] == ip) endpoint = e;
    return endpoint.is_object() && endpoint.value(json::json_pointer("/conditions/ready"), false);
  });
  ASSERT_TRUE(published) << "no ready endpoint " << ip << " for Service " << kServer;
  EXPECT_EQ(endpoint["nodeName"], env_.state[kClusterStandinNode]);

  // A webhook through the Service reaches the policy-server on the Pod's address.
  cluster::Webhook hook;
  hook.name = "pod-privileged." + ns_ + ".kubewarden.io";
  hook.policy = "pod-privileged";
  hook.namespace_selector = cluster::onlyNamespace(ns_);
  cluster::WebhookTarget target;
  target.service_namespace = ns_;
  target.service_name = kServer;
  target.service_port = 8443;
  target.ca_pem = readTextFile(pki_.ca_cert).value();
  webhook_ = ns_ + "-standin";
  create(cluster::webhookConfigurationPath("ValidatingWebhookConfiguration"),
         cluster::webhookConfiguration("ValidatingWebhookConfiguration", webhook_, {hook}, target));
  std::string last;
  bool refused = waitFor([&] {
    auto reply = admin_->request("POST", path("v1", "pods") + "?dryRun=All",
                                 testPod("privileged", true).dump(), "application/json");
    last = reply.ok() ? std::to_string(reply->status) + " " + reply->body : reply.error().message;
    return reply.ok() && reply->status == 400 && last.find(kPrivilegedMessage) != std::string::npos;
  });
  ASSERT_TRUE(refused) << "last answer: " << last;
  auto privileged = admin_->request("POST", path("v1", "pods"), testPod("privileged", true).dump(),
                                    "application/json");
  ASSERT_TRUE(privileged.ok());
  EXPECT_EQ(privileged->status, 400) << privileged->body;
  json status = json::parse(privileged->body, nullptr, false);
  EXPECT_EQ(status.value("message", ""),
            "admission webhook \"" + hook.name + "\" denied the request: " + kPrivilegedMessage)
      << privileged->body;
  auto plain = admin_->request("POST", path("v1", "pods"), testPod("plain", false).dump(),
                               "application/json");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->status, 201) << plain->body;

  // Deleting the Deployment cascades (garbage collector) to the Pod, which the stand-in
  // finalizes after stopping its process and removing its address.
  (void)admin_->request("DELETE", path("v1", "pods") + "/plain");
  auto deleted =
      admin_->request("DELETE", path("apps/v1", "deployments") + "/" + kServer,
                      json{{"propagationPolicy", "Background"}}.dump(), "application/json");
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->status, 200) << deleted->body;
  EXPECT_TRUE(waitFor([&] { return podsOfServer().empty(); }, std::chrono::seconds(60)))
      << podsOfServer().dump();
  EXPECT_TRUE(waitFor([&] { return !loHas(ip); })) << ip << " still on lo";
}

// The stand-in's translation of a Pod into files and a command line, without the API server:
// the getter below plays it.
TEST(KubeletStandinPod, VolumesAreWrittenAndContainerPathsPointIntoThem) {
  fs::path folder = fs::path(KW_CLUSTER_DIR) / "tests" / "kubelet-standin-pod" / randomUid();
  json pod = policyServerDeployment()["spec"]["template"];
  pod["metadata"]["name"] = "ps-1";
  pod["metadata"]["namespace"] = "kw";
  auto& container = pod["spec"]["containers"][0];
  container["env"].push_back(
      {{"name", "POD_NAME"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.name"}}}}}});
  container["args"] = {"--sources-path", "/config/sources.yml"};
  auto get = [](const std::string& plural, const std::string& name) -> Result<json> {
    if (plural == "secrets" && name == kServer)
      return json{{"data",
                   {{"policy-server-cert", base64Encode("CERT")},
                    {"policy-server-key", base64Encode("KEY")}}}};
    if (plural == "configmaps" && name == kServer)
      return json{{"data", {{"policies.yml", "p: {}\n"}, {"sources.yml", "{}"}}}};
    return makeError(plural + " \"" + name + "\" not found");
  };
  auto launch = cluster::preparePod(pod, "10.244.0.9", folder, "/bin/policy-server", {}, get);
  ASSERT_TRUE(launch.ok()) << launch.error().message;
  fs::path volumes = folder / "volumes";
  EXPECT_EQ(readTextFile(volumes / "certs" / "policy-server-cert").value(), "CERT");
  EXPECT_EQ(readTextFile(volumes / "certs" / "policy-server-key").value(), "KEY");
  EXPECT_EQ(readTextFile(volumes / "policies" / "policies.yml").value(), "p: {}\n");
  EXPECT_FALSE(fs::exists(volumes / "policies" / "sources.yml"));  // not among the items
  EXPECT_TRUE(fs::is_directory(volumes / "policy-store"));
  auto has = [&](const std::string& entry) {
    return std::find(launch->env.begin(), launch->env.end(), entry) != launch->env.end();
  };
  EXPECT_TRUE(has("KUBEWARDEN_CERT_FILE=" + (volumes / "certs").string() + "/policy-server-cert"));
  EXPECT_TRUE(has("KUBEWARDEN_POLICIES=" + (volumes / "policies").string() + "/policies.yml"));
  EXPECT_TRUE(has("KUBEWARDEN_POLICIES_DOWNLOAD_DIR=" + (volumes / "policy-store").string()));
  EXPECT_TRUE(has("KUBEWARDEN_SIGSTORE_CACHE_DIR=" + (volumes / "policy-store").string() +
                  "/sigstore-data"));
  EXPECT_TRUE(has("KUBEWARDEN_PORT=8443"));
  EXPECT_TRUE(has("POD_NAME=ps-1"));
  EXPECT_EQ(launch->args,
            (std::vector<std::string>{"/bin/policy-server", "--sources-path",
                                      (volumes / "policies").string() + "/sources.yml", "--addr",
                                      "10.244.0.9"}));

  // A missing Secret is named in the error; an optional one leaves the folder empty.
  pod["spec"]["volumes"][1]["secret"]["secretName"] = "absent";
  auto missing = cluster::preparePod(pod, "10.244.0.9", folder, "/bin/policy-server", {}, get);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("Pod kw/ps-1: volume certs: Secret absent"),
            std::string::npos)
      << missing.error().message;
  pod["spec"]["volumes"][1]["secret"]["optional"] = true;
  EXPECT_TRUE(cluster::preparePod(pod, "10.244.0.9", folder, "/bin/policy-server", {}, get).ok());
}

// Sets an environment variable for one test and puts the old value back.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// A sanitizer run configures the processes it starts through the environment; the Pod's
// policy-server gets those settings, and nothing else of the stand-in's environment.
TEST(KubeletStandinPod, SanitizerOptionsReachThePodProcess) {
  ScopedEnv lsan("LSAN_OPTIONS", "suppressions=/kw/test.supp");
  ScopedEnv other("KW_STANDIN_HOST_ONLY", "1");
  fs::path folder = fs::path(KW_CLUSTER_DIR) / "tests" / "kubelet-standin-pod" / randomUid();
  json pod = policyServerDeployment()["spec"]["template"];
  pod["metadata"]["name"] = "ps-2";
  pod["metadata"]["namespace"] = "kw";
  auto get = [](const std::string& plural, const std::string& name) -> Result<json> {
    if (plural == "secrets") return json{{"data", json::object()}};
    return json{{"data", {{"policies.yml", "p: {}\n"}}}};
  };
  auto launch = cluster::preparePod(pod, "10.244.0.9", folder, "/bin/policy-server", {}, get);
  ASSERT_TRUE(launch.ok()) << launch.error().message;
  auto has_prefix = [&](const std::string& prefix) {
    return std::any_of(launch->env.begin(), launch->env.end(),
                       [&](const std::string& e) { return e.rfind(prefix, 0) == 0; });
  };
  EXPECT_TRUE(has_prefix("LSAN_OPTIONS=suppressions=/kw/test.supp"));
  EXPECT_FALSE(has_prefix("KW_STANDIN_HOST_ONLY="));
}

}  // namespace
}  // namespace kw::test
