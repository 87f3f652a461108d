// helm install of charts/ into the real kube-apiserver: kubewarden-crds, kubewarden-controller,
// kubewarden-defaults in order; the API server must accept every object, an upgrade must keep
// the webhook certificate, and helm uninstall in reverse order must leave nothing behind.
//
// The charts' objects are cluster-wide too (CRDs, ClusterRoles, webhook configurations), so
// the tests here must not run at the same time as each other: each takes a file lock.
#include <gtest/gtest.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "cluster/controller_process.h"
#include "cluster/harness_pki.h"
#include "cluster/harness_process.h"
#include "cluster/webhooks.h"
#include "common/yaml_json.h"
#include "oci/reference.h"
#include "oci/registry_client.h"
#include "support/cant_run.h"
#include "support/charts_lock.h"
#include "support/cluster_env.h"
#include "support/helm.h"
#include "support/registry_process.h"
#include "support/test_env.h"

namespace kw::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Kinds whose objects carry app.kubernetes.io/part-of=kubewarden when our charts made them.
constexpr const char* kClusterKinds =
    "clusterroles,clusterrolebindings,validatingwebhookconfigurations,"
    "mutatingwebhookconfigurations";
constexpr const char* kNamespacedKinds =
    "deployments,services,secrets,serviceaccounts,roles,rolebindings,cronjobs,jobs,configmaps";
const std::string kPolicies = "/apis/policies.kubewarden.io/v1/";

class HelmInstall : public ClusterTest {
 protected:
  void SetUp() override {
    ClusterTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    if (!fs::exists(helmBinary())) FAIL() << helmBinary() << " is missing: run scripts/tools.sh";
    // A short release namespace: the controller's serving certificate for the default
    // PolicyServer (policy-server-default.<namespace>.svc) must fit X.509's 64-character CN.
    auto made = createNamespace(*admin_, "kwh-" + randomUid().substr(0, 8));
    ASSERT_TRUE(made.ok()) << made.error().message;
    ns_ = *made;
    dir_ = fs::path(KW_CLUSTER_DIR) / "tests" / "charts" / ns_;
    fs::create_directories(dir_);
    lock_ = std::make_unique<ChartsLock>(KW_CLUSTER_DIR, ChartsLock::Mode::kExclusive);
    ASSERT_TRUE(lock_->held()) << "cannot lock " << KW_CLUSTER_DIR << "/charts.lock";
  }

  void TearDown() override {
    // Whatever a failed test left: releases go in reverse order, ignoring errors. No controller
    // runs any more to lift the default PolicyServer's finalizer, which would keep the CRDs
    // Terminating for every later test: lift it here.
    (void)run({"uninstall", "kubewarden-defaults", "--no-hooks", "--ignore-not-found"});
    if (admin_ && getJson(kPolicies + "policyservers/default").is_object())
      (void)kubectl(
          R"(patch policyserver default --type=merge -p '{"metadata":{"finalizers":null}}')");
    for (const std::string release : {"kubewarden-controller", "kubewarden-crds"})
      (void)run({"uninstall", release, "--no-hooks", "--ignore-not-found"});
    if (!slice_.empty())
      (void)admin_->request(
          "DELETE", "/apis/discovery.k8s.io/v1/namespaces/" + ns_ + "/endpointslices/" + slice_);
    lock_.reset();
  }

  HelmResult run(std::vector<std::string> args) {
    args.insert(args.end(), {"--kubeconfig", env_.kubeconfig.string(), "--namespace", ns_});
    return helm(args);
  }

  void install(const std::string& chart, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"install", chart, chartDir(chart).string()};
    args.insert(args.end(), extra.begin(), extra.end());
    auto result = run(args);
    ASSERT_EQ(result.status, 0) << "helm install " << chart << ":\n" << result.out;
  }

  // Every object of the release's manifest exists in the API server.
  void expectAllObjectsStored(const std::string& release) {
    auto manifest = run({"get", "manifest", release});
    ASSERT_EQ(manifest.status, 0) << manifest.out;
    auto objects = parseManifests(manifest.out);
    ASSERT_FALSE(objects.empty());
    fs::path file = dir_ / (release + ".yaml");
    std::ofstream(file) << manifest.out;
    auto got = kubectl("get -f '" + file.string() + "' -o name");
    EXPECT_EQ(got.status, 0) << got.out;
    size_t lines = std::count(got.out.begin(), got.out.end(), '\n');
    EXPECT_EQ(lines, objects.size()) << got.out;
  }

  CommandResult kubectl(const std::string& args) {
    return runCommand("'" + (env_.tools / "kubectl").string() + "' --kubeconfig '" +
                      env_.kubeconfig.string() + "' -n " + ns_ + " " + args + " 2>&1");
  }

  json getJson(const std::string& path) {
    auto response = admin_->request("GET", path);
    if (!response.ok() || response->status != 200) return nullptr;
    return json::parse(response->body, nullptr, false);
  }

  bool crdsEstablished() {
    auto list = getJson("/apis/policies.kubewarden.io/v1");
    return list.is_object() && list.contains("resources") && list["resources"].size() >= 3;
  }

  // No object of ours is left: neither labelled ones nor the CRDs.
  void expectNothingLeft() {
    auto labelled = kubectl(std::string("get ") + kClusterKinds + "," + kNamespacedKinds +
                            " -l app.kubernetes.io/part-of=kubewarden -o name");
    EXPECT_EQ(labelled.status, 0) << labelled.out;
    EXPECT_EQ(labelled.out, "") << "left behind:\n" << labelled.out;
    auto crds = kubectl("get crd -o name");
    EXPECT_EQ(crds.out.find("kubewarden.io"), std::string::npos) << crds.out;
    EXPECT_EQ(crds.out.find("wgpolicyk8s.io"), std::string::npos) << crds.out;
    auto secret = kubectl("get secret webhook-server-cert -o name");
    EXPECT_NE(secret.status, 0) << secret.out;
  }

  // Pods need kube-controller-manager and the kubelet stand-in of the CTest fixture.
  void requireStandin() {
    auto error = env_.state.find(kClusterStandinError);
    std::string why = env_.state.count(kClusterStandinPid) == 0
                          ? "the control plane runs without the kubelet stand-in"
                      : error != env_.state.end() ? "the kubelet stand-in failed: " + error->second
                                                  : "";
    if (!why.empty()) KW_CANT_RUN() << why;
  }

  // Pushes a module for every recommended policy of the defaults chart's values.yaml to
  // `registry` at the path the chart gives it: our pod_privileged guest for no-privileged-pod,
  // always_accept for the five others (we have no build of those upstream policies). Returns
  // policy name → module path.
  std::map<std::string, std::string> pushRecommendedModules(const RegistryProcess& registry) {
    auto text = readTextFile(chartDir("kubewarden-defaults") / "values.yaml");
    EXPECT_TRUE(text.ok()) << text.error().message;
    if (!text.ok()) return {};
    json recommended = parseYamlToJson(*text)["recommendedPolicies"];
    oci::RegistryClient client(registry.clientOptions());
    std::map<std::string, std::string> modules;
    for (const auto& [key, policy] : recommended.items()) {
      if (!policy.is_object() || !policy.contains("module")) continue;
      std::string module = policy["module"];
      std::string guest = key == "podPrivilegedPolicy" ? "pod_privileged" : "always_accept";
      auto ref = oci::parseReference("registry://" + registry.host() + "/" + module);
      EXPECT_TRUE(ref.ok()) << module;
      if (!ref.ok()) return {};
      auto pushed = client.pushPolicy(*ref, guestDir() / "annotated" / (guest + ".wasm"));
      EXPECT_TRUE(pushed.ok()) << module << ": " << pushed.error().message;
      modules[policy["name"]] = module;
    }
    return modules;
  }

  // The arguments the controller chart's Deployment gives the controller.
  std::vector<std::string> chartControllerArgs() {
    auto manifest = run({"get", "manifest", "kubewarden-controller"});
    EXPECT_EQ(manifest.status, 0) << manifest.out;
    json deployment =
        findObject(parseManifests(manifest.out), "Deployment", "kubewarden-controller");
    EXPECT_TRUE(deployment.is_object()) << manifest.out;
    if (!deployment.is_object()) return {};
    json container = deployment["spec"]["template"]["spec"]["containers"][0];
    EXPECT_EQ(container["command"], json::array({"/kubewarden-controller"}));
    return container["args"].get<std::vector<std::string>>();
  }

  // Our controller with the chart's arguments and certificate, reached by the API server through
  // the chart's webhook Service (an EndpointSlice to its loopback port, see README.md). Besides
  // the chart's arguments it gets the hidden --label-selector `selector`: PolicyServers and
  // policies are cluster-wide, and those other tests leave must not be reconciled into this
  // test's namespace.
  std::unique_ptr<ControllerProcess> startChartsController(const std::string& selector) {
    auto secret = getJson("/api/v1/namespaces/" + ns_ + "/secrets/webhook-server-cert");
    EXPECT_TRUE(secret.is_object()) << "the chart made no webhook-server-cert Secret";
    if (!secret.is_object()) return nullptr;
    fs::path certs = dir_ / "serving-certs";  // where the Deployment mounts the Secret
    fs::create_directories(certs);
    std::ofstream(certs / "tls.crt") << base64Decode(secret["data"]["tls.crt"]);
    std::ofstream(certs / "tls.key") << base64Decode(secret["data"]["tls.key"]);
    uint16_t port = cluster::freePorts(1).at(0);
    std::vector<std::string> args;
    for (const std::string& arg : chartControllerArgs()) {
      // ControllerProcess passes the deployments namespace itself.
      if (arg.rfind("--deployments-namespace=", 0) == 0) {
        EXPECT_EQ(arg, "--deployments-namespace=" + ns_);
        continue;
      }
      args.push_back(arg);
    }
    EXPECT_NE(std::find(args.begin(), args.end(), "--default-policy-server=default"), args.end());
    args.insert(args.end(), {"--webhook-bind-address=127.0.0.1:" + std::to_string(port),
                             "--webhook-cert-dir=" + certs.string()});
    auto process = std::make_unique<ControllerProcess>(env_, ns_, selector, "charts", args);
    routeToLoopback("kubewarden-controller-webhook-service", port);
    return process;
  }

  void routeToLoopback(const std::string& service, uint16_t port) {
    json slice = cluster::loopbackEndpointSlice(ns_, service, "https", port);
    slice["metadata"]["uid"] = randomUid();
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    char created[32];
    std::strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    slice["metadata"]["creationTimestamp"] = created;
    slice_ = slice["metadata"]["name"];
    auto stored = storeInEtcd(env_.state[kClusterEtcd],
                              "/registry/endpointslices/" + ns_ + "/" + slice_, slice);
    ASSERT_TRUE(stored.ok()) << stored.error().message;
  }

  // helm install of a chart whose objects go through the controller's webhooks: retried (after
  // removing the failed release) until the webhooks answer.
  void installThroughWebhooks(const std::string& chart, std::vector<std::string> values,
                              const ControllerProcess& process) {
    HelmResult result;
    std::vector<std::string> args{"install", chart, chartDir(chart).string()};
    args.insert(args.end(), values.begin(), values.end());
    ASSERT_TRUE(waitFor(
        [&] {
          result = run(args);
          if (result.status != 0) (void)run({"uninstall", chart, "--no-hooks"});
          return result.status == 0;
        },
        std::chrono::seconds(60)))
        << result.out << "\n"
        << process.log();
  }

  std::string policyStatus(const std::string& name) {
    auto policy = getJson(kPolicies + "clusteradmissionpolicies/" + name);
    if (!policy.is_object()) return "<absent>";
    return policy.value("status", json::object()).value("policyStatus", "");
  }

  // In a namespace no recommended policy skips: a privileged Pod is refused by
  // no-privileged-pod, a plain one admitted (dry runs: nothing is stored for the stand-in).
  void expectPrivilegedPodRefused() {
    auto apps = createNamespace(*admin_, ns_ + "-apps");
    ASSERT_TRUE(apps.ok()) << apps.error().message;
    auto pod = [&](bool privileged) {
      json container = {{"name", "app"}, {"image", "registry.invalid/app:1"}};
      if (privileged) container["securityContext"] = {{"privileged", true}};
      json body = {{"apiVersion", "v1"},
                   {"kind", "Pod"},
                   {"metadata", {{"name", privileged ? "privileged" : "plain"}}},
                   {"spec", {{"containers", json::array({container})}}}};
      return admin_->request("POST", "/api/v1/namespaces/" + *apps + "/pods?dryRun=All",
                             body.dump(), "application/json");
    };
    auto refused = pod(true);
    ASSERT_TRUE(refused.ok()) << refused.error().message;
    EXPECT_EQ(refused->status, 400) << refused->body;
    EXPECT_EQ(json::parse(refused->body, nullptr, false).value("message", ""),
              "admission webhook \"clusterwide-no-privileged-pod.kubewarden.admission\" denied "
              "the request: Privileged container is not allowed")
        << refused->body;
    auto admitted = pod(false);
    ASSERT_TRUE(admitted.ok()) << admitted.error().message;
    EXPECT_EQ(admitted->status, 201) << admitted->body;
  }

  // What the controller chart's pre-delete hook Job would do (no kubelet runs it here): each of
  // its containers' kubectl commands in order, with the namespace its ServiceAccount gives it.
  void runPreDeleteHook() {
    auto hooks = run({"get", "hooks", "kubewarden-controller"});
    ASSERT_EQ(hooks.status, 0) << hooks.out;
    json job = findObject(parseManifests(hooks.out), "Job", "kubewarden-controller-pre-delete");
    ASSERT_TRUE(job.is_object()) << hooks.out;
    const json& pod = job["spec"]["template"]["spec"];
    json steps = pod.value("initContainers", json::array());
    for (const json& c : pod["containers"]) steps.push_back(c);
    for (const json& step : steps) {
      auto command = step["command"].get<std::vector<std::string>>();
      ASSERT_FALSE(command.empty());
      ASSERT_EQ(command[0], "kubectl") << step.dump();
      std::string args;
      for (size_t i = 1; i < command.size(); ++i) args += " '" + command[i] + "'";
      auto done = kubectl(args.substr(1));
      ASSERT_EQ(done.status, 0) << step["name"] << ": " << done.out;
    }
  }

  // The webhook configurations the controller made for policies (label kubewarden=true).
  std::string policyWebhooks() {
    auto got = kubectl(
        "get validatingwebhookconfigurations,mutatingwebhookconfigurations "
        "-l kubewarden=true -o name");
    return got.status == 0 ? got.out : "kubectl failed: " + got.out;
  }

  // What the controller made for PolicyServers in the deployments namespace (policy-server*).
  std::string policyServerObjects() {
    auto got = kubectl("get deployments,services,secrets,configmaps -o name");
    if (got.status != 0) return "kubectl failed: " + got.out;
    std::string left;
    std::istringstream in(got.out);
    for (std::string line; std::getline(in, line);)
      if (line.find("/policy-server") != std::string::npos) left += line + "\n";
    return left;
  }

  fs::path dir_;
  std::unique_ptr<ChartsLock> lock_;
  std::string slice_;  // the EndpointSlice written to etcd, if any
};

// Without a controller process: every chart's objects are accepted by the API server, an
// upgrade keeps the webhook certificate, and uninstalling leaves nothing. The controller's
// webhooks would refuse the defaults chart's objects with no controller behind them, so this
// test installs the defaults chart after the controller chart is gone and lifts the
// PolicyServer's finalizer itself, as the controller does.
TEST_F(HelmInstall, EveryObjectIsAcceptedAndUninstallLeavesNothing) {
  // Other cluster tests apply these CRDs with kubectl; Helm adopts them (they go with it).
  install("kubewarden-crds", {"--take-ownership"});
  ASSERT_TRUE(waitFor([&] { return crdsEstablished(); })) << "CRDs never served";
  expectAllObjectsStored("kubewarden-crds");

  install("kubewarden-controller", {"--set", "auditScanner.store=sqlite"});
  expectAllObjectsStored("kubewarden-controller");
  auto before = getJson("/api/v1/namespaces/" + ns_ + "/secrets/webhook-server-cert");
  ASSERT_TRUE(before.is_object());
  auto upgraded = run({"upgrade", "kubewarden-controller",
                       chartDir("kubewarden-controller").string(), "--reuse-values"});
  ASSERT_EQ(upgraded.status, 0) << upgraded.out;
  auto after = getJson("/api/v1/namespaces/" + ns_ + "/secrets/webhook-server-cert");
  EXPECT_EQ(after["data"]["tls.crt"], before["data"]["tls.crt"]) << "upgrade replaced the cert";
  auto validating = getJson(
      "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/"
      "kubewarden-controller-validating-webhook-configuration");
  ASSERT_TRUE(validating.is_object());
  EXPECT_EQ(validating["webhooks"][0]["clientConfig"]["caBundle"], before["data"]["ca.crt"]);
  // No kubelet runs the pre-delete Job here.
  auto removed = run({"uninstall", "kubewarden-controller", "--no-hooks", "--wait"});
  ASSERT_EQ(removed.status, 0) << removed.out;

  install("kubewarden-defaults", {"-f", chartTestData("defaults-all-options.yaml").string(),
                                  "--set", "global.policyServer.default.name=default"});
  expectAllObjectsStored("kubewarden-defaults");
  auto ps = getJson("/apis/policies.kubewarden.io/v1/policyservers/default");
  ASSERT_TRUE(ps.is_object());
  EXPECT_EQ(ps["spec"]["securityContexts"]["container"]["readOnlyRootFilesystem"], true);
  auto policy =
      getJson("/apis/policies.kubewarden.io/v1/clusteradmissionpolicies/no-privileged-pod");
  ASSERT_TRUE(policy.is_object());
  EXPECT_EQ(policy["spec"]["mode"], "protect");

  auto gone = run({"uninstall", "kubewarden-defaults"});
  ASSERT_EQ(gone.status, 0) << gone.out;
  // The controller's part: drop the finalizer once the PolicyServer is being deleted.
  ASSERT_TRUE(waitFor([&] {
    auto current = getJson("/apis/policies.kubewarden.io/v1/policyservers/default");
    return current.is_object() && current["metadata"].contains("deletionTimestamp");
  }));
  auto lifted =
      kubectl(R"(patch policyserver default --type=merge -p '{"metadata":{"finalizers":null}}')");
  EXPECT_EQ(lifted.status, 0) << lifted.out;
  ASSERT_TRUE(waitFor(
      [&] { return getJson("/apis/policies.kubewarden.io/v1/policyservers/default").is_null(); }));
  auto crds = run({"uninstall", "kubewarden-crds", "--wait"});
  ASSERT_EQ(crds.status, 0) << crds.out;
  expectNothingLeft();
}

// The acceptance of issue 13 end to end: the three charts in order, our controller run as a
// process with the arguments of the chart's Deployment (no kubelet runs the Deployment here),
// the defaults chart's recommended policies pulled from a local registry (no internet here),
// all of them active, a privileged Pod refused with the policy's message, and nothing of
// Kubewarden left after uninstalling in reverse order. The recommended policies are cluster-wide
// webhooks, so CTest runs this test alone (RUN_SERIAL, tests/CMakeLists.txt).
TEST_F(HelmInstall, ControllerReconcilesTheDefaultsChartAndAPrivilegedPodIsRefused) {
  requireStandin();
  if (HasFatalFailure() || IsSkipped()) return;
  if (auto why = RegistryProcess::unavailableReason(RegistryProcess::Mode::Http); !why.empty())
    KW_CANT_RUN() << why;
  fs::path controller = binDir() / "kubewarden-controller";
  ASSERT_TRUE(fs::exists(controller)) << controller << " is missing (the controller's target)";
  RegistryProcess registry(RegistryProcess::Mode::Http);
  ASSERT_TRUE(registry.ready()) << registry.error();
  auto modules = pushRecommendedModules(registry);
  ASSERT_EQ(modules.size(), 6u);

  // Other cluster tests apply these CRDs with kubectl; Helm adopts them (they go with it).
  install("kubewarden-crds", {"--take-ownership"});
  ASSERT_TRUE(waitFor([&] { return crdsEstablished(); })) << "CRDs never served";
  install("kubewarden-controller");
  expectAllObjectsStored("kubewarden-controller");
  // The defaults chart labels its objects with additionalLabels: the controller sees only them.
  const std::string label = "kw-test";
  auto process = startChartsController(label + "=" + ns_);
  ASSERT_TRUE(process) << "the controller did not start";

  // An air-gapped install: systemDefaultRegistry points the PolicyServer's image (the stand-in
  // runs our policy-server whatever the image) and the policies' modules at the local registry.
  std::vector<std::string> values = {
      "--set", "recommendedPolicies.enabled=true",
      "--set", "recommendedPolicies.defaultPolicyMode=protect",
      "--set", "global.cattle.systemDefaultRegistry=" + registry.host(),
      "--set", "policyServer.insecureSources={" + registry.host() + "}",
      "--set", "additionalLabels." + label + "=" + ns_};
  installThroughWebhooks("kubewarden-defaults", values, *process);
  if (HasFatalFailure()) return;
  expectAllObjectsStored("kubewarden-defaults");

  for (const auto& [name, module] : modules) {
    auto policy = getJson(kPolicies + "clusteradmissionpolicies/" + name);
    ASSERT_TRUE(policy.is_object()) << name;
    EXPECT_EQ(policy["spec"]["module"], registry.host() + "/" + module) << name;
    EXPECT_EQ(policy["spec"]["policyServer"], "default") << name;  // the defaulting webhook
  }
  // One deadline for all six: they share one rollout of the default PolicyServer.
  auto statuses = [&] {
    std::string all;
    for (const auto& [name, module] : modules) all += name + ": " + policyStatus(name) + "\n";
    return all;
  };
  std::string all_active;
  for (const auto& [name, module] : modules) all_active += name + ": active\n";
  ASSERT_TRUE(waitFor([&] { return statuses() == all_active; }, std::chrono::seconds(150)))
      << statuses() << process->log();
  auto ps = getJson(kPolicies + "policyservers/default");
  ASSERT_TRUE(ps.is_object());
  ASSERT_TRUE(ps["status"].contains("conditions")) << ps.dump();
  for (const json& c : ps["status"]["conditions"]) EXPECT_EQ(c["status"], "True") << c.dump();
  auto deployment =
      getJson("/apis/apps/v1/namespaces/" + ns_ + "/deployments/policy-server-default");
  ASSERT_TRUE(deployment.is_object());
  EXPECT_EQ(deployment["status"]["readyReplicas"], 1) << deployment["status"].dump();
  // The image the chart named, through the PolicyServer (the stand-in runs our policy-server).
  EXPECT_EQ(deployment["spec"]["template"]["spec"]["containers"][0]["image"],
            registry.host() + "/kubewarden/policy-server:v1.10.0");

  expectPrivilegedPodRefused();

  ASSERT_EQ(run({"uninstall", "kubewarden-defaults", "--wait"}).status, 0);
  EXPECT_TRUE(waitFor([&] { return getJson(kPolicies + "policyservers/default").is_null(); }))
      << "the controller never removed the PolicyServer's finalizer\n"
      << process->log();
  EXPECT_TRUE(waitFor([&] { return policyWebhooks() == ""; })) << policyWebhooks();
  // Only the root CA is left for the controller chart's hook.
  EXPECT_TRUE(waitFor([&] { return policyServerObjects() == "secret/policy-server-root-ca\n"; }))
      << policyServerObjects();
  runPreDeleteHook();
  process.reset();
  ASSERT_EQ(run({"uninstall", "kubewarden-controller", "--no-hooks", "--wait"}).status, 0);
  ASSERT_EQ(run({"uninstall", "kubewarden-crds", "--wait"}).status, 0);
  expectNothingLeft();
  EXPECT_EQ(policyWebhooks(), "");
  EXPECT_EQ(policyServerObjects(), "");
}

}  // namespace
}  // namespace kw::test
