// The Helm charts under charts/, rendered by the real helm binary: lint, the objects and fields
// each values file must produce, and the values the schema refuses (charts/README.md).
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <set>

#include "common/yaml_json.h"
#include "support/cant_run.h"
#include "support/helm.h"
#include "support/test_env.h"

namespace kw::test {
namespace {

using nlohmann::json;

class Charts : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::filesystem::exists(helmBinary())) return;
    KW_CANT_RUN() << helmBinary().string() << " is missing: run scripts/tools.sh";
  }

  // helm template <chart> into namespace kubewarden; fails the test unless helm succeeds.
  std::vector<json> render(const std::string& chart, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"template", chart, chartDir(chart).string(), "--namespace",
                                  "kubewarden"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto run = helm(args);
    EXPECT_EQ(run.status, 0) << run.out;
    return run.status == 0 ? parseManifests(run.out) : std::vector<json>{};
  }

  // helm template that must fail; its output.
  std::string refused(const std::string& chart, std::vector<std::string> extra) {
    std::vector<std::string> args{"template", chart, chartDir(chart).string(), "--namespace",
                                  "kubewarden"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto run = helm(args);
    EXPECT_NE(run.status, 0) << "helm accepted " << ::testing::PrintToString(extra);
    return run.out;
  }

  static json values(const std::string& chart) {
    return parseYamlToJson(
        runCommand("cat '" + (chartDir(chart) / "values.yaml").string() + "'").out);
  }
};

std::vector<std::string> strings(const json& list) {
  std::vector<std::string> out;
  for (const auto& item : list) out.push_back(item.get<std::string>());
  return out;
}

const json& container(const json& pod_spec, const std::string& name) {
  for (const auto& c : pod_spec["containers"]) {
    if (c["name"] == name) return c;
  }
  static const json none;
  return none;
}

// OpenSSL view of a base64 PEM certificate from a Secret or caBundle.
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
X509Ptr certificate(const std::string& base64_pem) {
  std::string pem = base64Decode(base64_pem);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), (int)pem.size()),
                                                BIO_free);
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free);
}

TEST_F(Charts, LintPassesForEachChart) {
  for (const std::string chart :
       {"kubewarden-crds", "kubewarden-controller", "kubewarden-defaults"}) {
    auto run = helm({"lint", "--strict", chartDir(chart).string()});
    EXPECT_EQ(run.status, 0) << chart << ":\n" << run.out;
    EXPECT_NE(run.out.find("0 chart(s) failed"), std::string::npos) << run.out;
  }
}

TEST_F(Charts, ControllerDefaultsRunTheControllerWithUpstreamArguments) {
  auto objects = render("kubewarden-controller");
  auto deployment = findObject(objects, "Deployment", "kubewarden-controller");
  ASSERT_FALSE(deployment.is_null());
  const auto& pod = deployment["spec"]["template"]["spec"];
  const auto& manager = container(pod, "manager");
  EXPECT_EQ(strings(manager["command"]), std::vector<std::string>{"/kubewarden-controller"});
  // Spec §6.2: exactly upstream's arguments with the default values.
  EXPECT_EQ(
      strings(manager["args"]),
      (std::vector<std::string>{"--leader-elect", "--deployments-namespace=kubewarden",
                                "--default-policy-server=default",
                                "--always-accept-admission-reviews-on-deployments-namespace"}));
  EXPECT_FALSE(manager.contains("env"));
  EXPECT_EQ(manager["image"], "ghcr.io/kubewarden/kubewarden-controller:v1.10.1");
  EXPECT_EQ(manager["securityContext"]["readOnlyRootFilesystem"], true);
  EXPECT_EQ(manager["securityContext"]["allowPrivilegeEscalation"], false);
  EXPECT_EQ(pod["securityContext"]["runAsNonRoot"], true);
  EXPECT_EQ(manager["resources"]["limits"]["memory"], "50Mi");
  EXPECT_EQ(pod["serviceAccountName"], "kubewarden-controller");
  EXPECT_EQ(pod["volumes"][0]["secret"]["secretName"], "webhook-server-cert");
  EXPECT_EQ(manager["volumeMounts"][0]["mountPath"], "/tmp/k8s-webhook-server/serving-certs");
  EXPECT_EQ(deployment["spec"]["replicas"], 1);
  // The Deployment's selector picks its own pods, and not the audit scanner's.
  const auto& selector = deployment["spec"]["selector"]["matchLabels"];
  for (const auto& [key, value] : selector.items()) {
    EXPECT_EQ(pod.is_null() ? json() : deployment["spec"]["template"]["metadata"]["labels"][key],
              value);
  }
  auto cronjob = findObject(objects, "CronJob", "audit-scanner");
  ASSERT_FALSE(cronjob.is_null());
  auto scanner_labels = cronjob["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"];
  EXPECT_NE(scanner_labels["app.kubernetes.io/name"], selector["app.kubernetes.io/name"]);

  EXPECT_FALSE(findObject(objects, "ServiceAccount", "kubewarden-controller").is_null());
  auto metrics = findObject(objects, "Service", "kubewarden-controller-metrics-service");
  ASSERT_FALSE(metrics.is_null());
  EXPECT_EQ(metrics["spec"]["ports"].size(), 1u);  // no telemetry port without telemetry
  EXPECT_EQ(metrics["spec"]["selector"], selector);
  auto webhook_service = findObject(objects, "Service", "kubewarden-controller-webhook-service");
  ASSERT_FALSE(webhook_service.is_null());
  EXPECT_EQ(webhook_service["spec"]["ports"][0]["port"], 443);
  EXPECT_EQ(webhook_service["spec"]["ports"][0]["targetPort"], "webhook-server");
  EXPECT_EQ(manager["ports"][0]["containerPort"], 9443);

  // Nothing that needs cert-manager or the OpenTelemetry operator by default.
  for (const std::string kind : {"Certificate", "Issuer", "OpenTelemetryCollector"}) {
    EXPECT_TRUE(objectsOfKind(objects, kind).empty()) << kind;
  }
  auto hook = findObject(objects, "Job", "kubewarden-controller-pre-delete");
  ASSERT_FALSE(hook.is_null());
  EXPECT_EQ(hook["metadata"]["annotations"]["helm.sh/hook"], "pre-delete");
  // First every PolicyServer (while the controller runs), then the root CA the controller made.
  const auto& hook_pod = hook["spec"]["template"]["spec"];
  EXPECT_EQ(strings(hook_pod["initContainers"][0]["command"]),
            (std::vector<std::string>{"kubectl", "delete", "--all",
                                      "policyservers.policies.kubewarden.io"}));
  EXPECT_EQ(strings(hook_pod["containers"][0]["command"]),
            (std::vector<std::string>{"kubectl", "delete", "secret", "policy-server-root-ca",
                                      "--namespace=kubewarden", "--ignore-not-found"}));
  EXPECT_TRUE(findObject(objects, "Job", "kubewarden-controller-restart-controller").is_null());
}

TEST_F(Charts, ControllerRbacCoversWhatTheControllerReadsAndWrites) {
  auto objects = render("kubewarden-controller");
  auto cluster_role =
      findObject(objects, "ClusterRole", "kubewarden-controller-manager-cluster-role");
  auto role = findObject(objects, "Role", "kubewarden-controller-manager-namespaced-role");
  auto election = findObject(objects, "Role", "kubewarden-controller-leader-election-role");
  ASSERT_FALSE(cluster_role.is_null());
  ASSERT_FALSE(role.is_null());
  ASSERT_FALSE(election.is_null());
  const std::string group = "policies.kubewarden.io";
  for (const std::string kind :
       {"clusteradmissionpolicies", "admissionpolicies", "policyservers"}) {
    for (const std::string verb : {"get", "list", "watch", "update", "patch", "delete"}) {
      EXPECT_TRUE(roleAllows(cluster_role, group, kind, verb)) << kind << " " << verb;
    }
    EXPECT_TRUE(roleAllows(cluster_role, group, kind + "/status", "patch")) << kind;
    EXPECT_TRUE(roleAllows(cluster_role, group, kind + "/finalizers", "update")) << kind;
  }
  for (const std::string kind :
       {"validatingwebhookconfigurations", "mutatingwebhookconfigurations"}) {
    for (const std::string verb : {"get", "list", "watch", "create", "patch", "delete"}) {
      EXPECT_TRUE(roleAllows(cluster_role, "admissionregistration.k8s.io", kind, verb)) << kind;
    }
  }
  for (const auto& [g, resource] :
       std::vector<std::pair<std::string, std::string>>{{"", "secrets"},
                                                        {"", "configmaps"},
                                                        {"", "services"},
                                                        {"apps", "deployments"},
                                                        {"policy", "poddisruptionbudgets"}}) {
    EXPECT_TRUE(roleAllows(role, g, resource, "create")) << resource;
    EXPECT_TRUE(roleAllows(role, g, resource, "update")) << resource;
    EXPECT_TRUE(roleAllows(role, g, resource, "delete")) << resource;
  }
  EXPECT_TRUE(roleAllows(role, "apps", "replicasets", "list"));
  EXPECT_TRUE(roleAllows(role, "", "pods", "watch"));
  EXPECT_FALSE(roleAllows(role, "", "pods", "delete"));  // reads pods, never changes them
  EXPECT_TRUE(roleAllows(election, "coordination.k8s.io", "leases", "update"));
  EXPECT_TRUE(roleAllows(election, "", "events", "create"));
  EXPECT_EQ(election["metadata"]["namespace"], "kubewarden");

  // Each role is bound to the controller's ServiceAccount.
  for (const auto& [kind, name] : std::vector<std::pair<std::string, std::string>>{
           {"ClusterRoleBinding", "kubewarden-controller-manager-cluster-role"},
           {"RoleBinding", "kubewarden-controller-manager-namespaced-rolebinding"},
           {"RoleBinding", "kubewarden-controller-leader-election-rolebinding"}}) {
    auto binding = findObject(objects, kind, name);
    ASSERT_FALSE(binding.is_null()) << name;
    EXPECT_EQ(binding["subjects"][0]["name"], "kubewarden-controller") << name;
    EXPECT_EQ(binding["subjects"][0]["namespace"], "kubewarden") << name;
  }
}

TEST_F(Charts, ControllerMakesItsOwnWebhookCertificateByDefault) {
  auto objects = render("kubewarden-controller");
  auto secret = findObject(objects, "Secret", "webhook-server-cert");
  ASSERT_FALSE(secret.is_null());
  EXPECT_EQ(secret["type"], "kubernetes.io/tls");
  auto ca = certificate(secret["data"]["ca.crt"]);
  auto serving = certificate(secret["data"]["tls.crt"]);
  ASSERT_TRUE(ca && serving);
  EXPECT_FALSE(base64Decode(secret["data"]["tls.key"]).empty());
  // Signed by the CA, for the webhook Service's DNS name.
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> ca_key(X509_get_pubkey(ca.get()),
                                                             EVP_PKEY_free);
  EXPECT_EQ(X509_verify(serving.get(), ca_key.get()), 1);
  const std::string host = "kubewarden-controller-webhook-service.kubewarden.svc";
  EXPECT_EQ(X509_check_host(serving.get(), host.c_str(), host.size(), 0, nullptr), 1);

  std::set<std::string> paths;
  for (const std::string kind :
       {"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"}) {
    auto configs = objectsOfKind(objects, kind);
    ASSERT_EQ(configs.size(), 1u) << kind;
    ASSERT_EQ(configs[0]["webhooks"].size(), 3u) << kind;
    EXPECT_FALSE(configs[0]["metadata"]["annotations"].contains("cert-manager.io/inject-ca-from"));
    for (const auto& webhook : configs[0]["webhooks"]) {
      EXPECT_EQ(webhook["clientConfig"]["caBundle"], secret["data"]["ca.crt"]);
      EXPECT_EQ(webhook["clientConfig"]["service"]["name"],
                "kubewarden-controller-webhook-service");
      EXPECT_EQ(webhook["failurePolicy"], "Fail");
      EXPECT_EQ(webhook["sideEffects"], "None");
      paths.insert(webhook["clientConfig"]["service"]["path"].get<std::string>());
    }
  }
  std::set<std::string> expected;
  for (const std::string verb : {"mutate", "validate"}) {
    for (const std::string kind : {"policyserver", "clusteradmissionpolicy", "admissionpolicy"}) {
      expected.insert("/" + verb + "-policies-kubewarden-io-v1-" + kind);
    }
  }
  EXPECT_EQ(paths, expected);
}

TEST_F(Charts, CertManagerSelfSignedSourceMakesIssuerAndCertificate) {
  auto objects = render("kubewarden-controller", {"--set", "tls.source=cert-manager-self-signed"});
  auto issuer = findObject(objects, "Issuer", "kubewarden-controller-selfsigned-issuer");
  ASSERT_FALSE(issuer.is_null());
  EXPECT_TRUE(issuer["spec"].contains("selfSigned"));
  auto cert = findObject(objects, "Certificate", "kubewarden-controller-serving-cert");
  ASSERT_FALSE(cert.is_null());
  EXPECT_EQ(cert["spec"]["secretName"], "webhook-server-cert");
  EXPECT_EQ(cert["spec"]["issuerRef"]["name"], "kubewarden-controller-selfsigned-issuer");
  EXPECT_EQ(cert["spec"]["dnsNames"][0], "kubewarden-controller-webhook-service.kubewarden.svc");
  EXPECT_TRUE(findObject(objects, "Secret", "webhook-server-cert").is_null());
  for (const std::string kind :
       {"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"}) {
    auto config = objectsOfKind(objects, kind).at(0);
    EXPECT_EQ(config["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
              "kubewarden/kubewarden-controller-serving-cert");
    EXPECT_FALSE(config["webhooks"][0]["clientConfig"].contains("caBundle"));
  }
}

TEST_F(Charts, AuditScannerCronJobRunsUpstreamsCommand) {
  auto objects = render("kubewarden-controller");
  auto cronjob = findObject(objects, "CronJob", "audit-scanner");
  ASSERT_FALSE(cronjob.is_null());
  EXPECT_EQ(cronjob["spec"]["schedule"], "*/60 * * * *");
  EXPECT_EQ(cronjob["spec"]["failedJobsHistoryLimit"], 5);
  EXPECT_EQ(cronjob["spec"]["successfulJobsHistoryLimit"], 3);
  EXPECT_EQ(cronjob["spec"]["concurrencyPolicy"], "Forbid");
  const auto& pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"];
  EXPECT_EQ(pod["restartPolicy"], "Never");
  EXPECT_EQ(pod["serviceAccountName"], "audit-scanner");
  const auto& scanner = container(pod, "audit-scanner");
  EXPECT_EQ(scanner["image"], "ghcr.io/kubewarden/audit-scanner:v1.10.0");
  std::vector<std::string> expected{"/audit-scanner",
                                    "--kubewarden-namespace",
                                    "kubewarden",
                                    "--loglevel",
                                    "info",
                                    "--store",
                                    "kubernetes",
                                    "--extra-ca",
                                    "/pki/policy-server-root-ca-pem"};
  json defaults = values("kubewarden-controller");  // kept alive for the loop
  for (const auto& ns : defaults["global"]["skipNamespaces"]) {
    expected.push_back("-i");
    expected.push_back(ns.get<std::string>());
  }
  EXPECT_EQ(strings(scanner["command"]), expected);
  EXPECT_EQ(pod["volumes"][0]["secret"]["secretName"], "policy-server-root-ca");
  EXPECT_EQ(scanner["volumeMounts"][0]["mountPath"], "/pki");

  auto sa = findObject(objects, "ServiceAccount", "audit-scanner");
  ASSERT_FALSE(sa.is_null());
  auto role = findObject(objects, "ClusterRole", "audit-scanner-cluster-role");
  EXPECT_TRUE(roleAllows(role, "wgpolicyk8s.io", "policyreports", "create"));
  EXPECT_TRUE(roleAllows(role, "wgpolicyk8s.io", "clusterpolicyreports", "update"));
  EXPECT_TRUE(roleAllows(role, "policies.kubewarden.io", "policyservers", "list"));
  EXPECT_FALSE(roleAllows(role, "policies.kubewarden.io", "policyservers", "update"));
  auto view = findObject(objects, "ClusterRoleBinding", "audit-scanner-cluster-role-viewer");
  EXPECT_EQ(view["roleRef"]["name"], "view");
  EXPECT_EQ(view["subjects"][0]["name"], "audit-scanner");
}

TEST_F(Charts, AuditScannerSqliteStoreGetsItsPathAndVolume) {
  auto objects = render("kubewarden-controller",
                        {"--set", "auditScanner.store=sqlite", "--set",
                         "auditScanner.storeVolume.persistentVolumeClaim.claimName=reports"});
  auto cronjob = findObject(objects, "CronJob", "audit-scanner");
  const auto& pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"];
  auto command = strings(container(pod, "audit-scanner")["command"]);
  auto at = std::find(command.begin(), command.end(), "--store-path");
  ASSERT_NE(at, command.end());
  EXPECT_EQ(*(at + 1), "/var/lib/audit-scanner/reports.db");
  EXPECT_EQ(pod["volumes"][1]["name"], "report-store");
  EXPECT_EQ(pod["volumes"][1]["persistentVolumeClaim"]["claimName"], "reports");
  EXPECT_FALSE(pod["volumes"][1].contains("emptyDir"));
  EXPECT_EQ(container(pod, "audit-scanner")["volumeMounts"][1]["mountPath"],
            "/var/lib/audit-scanner");

  auto plain = render("kubewarden-controller", {"--set", "auditScanner.store=postgres", "--set",
                                                "auditScanner.storeUrl=postgres://db/reports"});
  auto plain_cron = findObject(plain, "CronJob", "audit-scanner");
  auto plain_command = strings(container(
      plain_cron["spec"]["jobTemplate"]["spec"]["template"]["spec"], "audit-scanner")["command"]);
  auto url = std::find(plain_command.begin(), plain_command.end(), "--store-url");
  ASSERT_NE(url, plain_command.end());
  EXPECT_EQ(*(url + 1), "postgres://db/reports");
}

// Each auditScanner.store gives the scanner its --store and only the flags that store reads
// (the audit-scanner's own flag names), and the volume or Secret it needs; the parallelism and
// report granularity options are passed with any store.
TEST_F(Charts, AuditScannerStoresRenderTheScannersFlags) {
  struct Case {
    std::vector<std::string> values;
    std::vector<std::string> store_args;  // what follows --loglevel info
    bool sqlite_volume;
    bool url_from_secret;
  };
  const std::vector<Case> cases = {
      {{"auditScanner.store=kubernetes"}, {"--store", "kubernetes"}, false, false},
      {{"auditScanner.store=memory"}, {"--store", "memory"}, false, false},
      {{"auditScanner.store=sqlite", "auditScanner.storePath=/data/audit/r.db"},
       {"--store", "sqlite", "--store-path", "/data/audit/r.db"},
       true,
       false},
      {{"auditScanner.store=postgres", "auditScanner.storeUrl=postgres://db:5432/reports"},
       {"--store", "postgres", "--store-url", "postgres://db:5432/reports"},
       false,
       false},
      {{"auditScanner.store=postgres", "auditScanner.storeUrlSecret.name=db",
        "auditScanner.storeUrlSecret.key=url"},
       {"--store", "postgres", "--store-url", "$(KUBEWARDEN_AUDIT_STORE_URL)"},
       false,
       true},
  };
  const std::vector<std::string> tuning = {"auditScanner.reportGranularity=resource",
                                           "auditScanner.parallelNamespaces=3",
                                           "auditScanner.parallelResources=40",
                                           "auditScanner.parallelPolicies=6",
                                           "auditScanner.pageSize=250",
                                           "global.skipNamespaces={kube-system}"};
  for (const auto& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(c.values));
    std::vector<std::string> args;
    for (const auto& v : c.values) args.insert(args.end(), {"--set", v});
    for (const auto& v : tuning) args.insert(args.end(), {"--set", v});
    auto objects = render("kubewarden-controller", args);
    auto cronjob = findObject(objects, "CronJob", "audit-scanner");
    ASSERT_FALSE(cronjob.is_null());
    const auto& pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    const auto& scanner = container(pod, "audit-scanner");
    std::vector<std::string> expected{"/audit-scanner", "--kubewarden-namespace", "kubewarden",
                                      "--loglevel", "info"};
    expected.insert(expected.end(), c.store_args.begin(), c.store_args.end());
    expected.insert(expected.end(), {"--report-granularity", "resource", "--extra-ca",
                                     "/pki/policy-server-root-ca-pem", "--parallel-namespaces", "3",
                                     "--parallel-resources", "40", "--parallel-policies", "6",
                                     "--page-size", "250", "-i", "kube-system"});
    EXPECT_EQ(strings(scanner["command"]), expected);

    bool has_volume = false;
    for (const auto& volume : pod["volumes"]) has_volume |= volume["name"] == "report-store";
    EXPECT_EQ(has_volume, c.sqlite_volume);
    if (c.sqlite_volume) {
      EXPECT_EQ(scanner["volumeMounts"][1]["name"], "report-store");
      EXPECT_EQ(scanner["volumeMounts"][1]["mountPath"], "/data/audit");
      EXPECT_TRUE(pod["volumes"][1].contains("emptyDir")) << pod["volumes"].dump();
    } else {
      EXPECT_EQ(scanner["volumeMounts"].size(), 1u) << scanner["volumeMounts"].dump();
    }
    EXPECT_EQ(scanner.contains("env"), c.url_from_secret) << scanner.dump();
    if (c.url_from_secret) {
      EXPECT_EQ(scanner["env"][0]["name"], "KUBEWARDEN_AUDIT_STORE_URL");
      EXPECT_EQ(scanner["env"][0]["valueFrom"]["secretKeyRef"],
                json::parse(R"({"name":"db","key":"url"})"));
    }
    // Every store's reports are written by the scanner's own ServiceAccount; the kubernetes
    // store needs to write PolicyReports, which the ClusterRole grants.
    auto role = findObject(objects, "ClusterRole", "audit-scanner-cluster-role");
    EXPECT_TRUE(roleAllows(role, "wgpolicyk8s.io", "policyreports", "create"));
  }
  // Without the tuning values none of their flags appear (the scanner's defaults apply).
  auto plain = render("kubewarden-controller", {"--set", "auditScanner.store=memory"});
  auto command = strings(
      container(findObject(plain, "CronJob",
                           "audit-scanner")["spec"]["jobTemplate"]["spec"]["template"]["spec"],
                "audit-scanner")["command"]);
  for (const char* flag : {"--report-granularity", "--parallel-namespaces", "--parallel-resources",
                           "--parallel-policies", "--page-size", "--store-path", "--store-url"})
    EXPECT_EQ(std::find(command.begin(), command.end(), flag), command.end()) << flag;
  EXPECT_NE(refused("kubewarden-controller", {"--set", "auditScanner.reportGranularity=pod"})
                .find("/auditScanner/reportGranularity"),
            std::string::npos);
}

TEST_F(Charts, ControllerHonoursEveryOptionOfTheValuesFile) {
  auto objects = render("kubewarden-controller",
                        {"-f", chartTestData("controller-all-options.yaml").string()});
  ASSERT_FALSE(objects.empty());
  for (const auto& object : objects) {
    EXPECT_EQ(object["metadata"]["labels"]["team"], "security")
        << object["kind"] << " " << object["metadata"]["name"];
    EXPECT_EQ(object["metadata"]["annotations"]["owner"], "it")
        << object["kind"] << " " << object["metadata"]["name"];
  }
  auto deployment = findObject(objects, "Deployment", "kw");
  ASSERT_FALSE(deployment.is_null());
  EXPECT_EQ(deployment["spec"]["replicas"], 2);
  const auto& template_meta = deployment["spec"]["template"]["metadata"];
  EXPECT_EQ(template_meta["annotations"]["prometheus.io/scrape"], "true");
  EXPECT_EQ(template_meta["annotations"]["sidecar.opentelemetry.io/inject"], "true");
  const auto& pod = deployment["spec"]["template"]["spec"];
  const auto& manager = container(pod, "manager");
  EXPECT_EQ(strings(manager["args"]),
            (std::vector<std::string>{
                "--leader-elect", "--deployments-namespace=kubewarden",
                "--default-policy-server=main", "--enable-metrics", "--enable-tracing",
                "--always-accept-admission-reviews-on-deployments-namespace"}));
  EXPECT_EQ(manager["env"][0]["name"], "KUBEWARDEN_POLICY_SERVER_SERVICES_METRICS_PORT");
  EXPECT_EQ(manager["env"][0]["value"], "9090");
  EXPECT_EQ(manager["image"], "registry.example:5000/kubewarden/kubewarden-controller:v1.10.9");
  EXPECT_EQ(manager["imagePullPolicy"], "Always");
  EXPECT_EQ(manager["securityContext"]["runAsUser"], 65532);
  EXPECT_EQ(manager["resources"]["limits"]["memory"], "128Mi");
  EXPECT_EQ(manager["resources"]["limits"]["cpu"], "500m");  // merged with the default
  EXPECT_EQ(pod["securityContext"]["fsGroup"], 65532);
  EXPECT_EQ(pod["imagePullSecrets"], json::parse(R"([{"name":"regcred"},{"name":"other"}])"));
  EXPECT_EQ(pod["nodeSelector"]["kubernetes.io/os"], "linux");
  EXPECT_EQ(pod["tolerations"][0]["value"], "kubewarden");
  EXPECT_TRUE(pod["affinity"].contains("nodeAffinity"));
  EXPECT_EQ(pod["serviceAccountName"], "kw");

  auto metrics = findObject(objects, "Service", "kw-metrics-service");
  EXPECT_EQ(metrics["spec"]["ports"][1]["port"], 9090);

  // tls.source cert-manager: the user's Issuer, no Issuer or Secret of ours.
  auto cert = findObject(objects, "Certificate", "kw-serving-cert");
  ASSERT_FALSE(cert.is_null());
  EXPECT_EQ(cert["spec"]["issuerRef"]["name"], "corp-issuer");
  EXPECT_TRUE(objectsOfKind(objects, "Issuer").empty());
  EXPECT_TRUE(findObject(objects, "Secret", "webhook-server-cert").is_null());

  auto collector = findObject(objects, "OpenTelemetryCollector", "kubewarden");
  ASSERT_FALSE(collector.is_null());
  auto config = parseYamlToJson(collector["spec"]["config"].get<std::string>());
  EXPECT_EQ(config["exporters"]["otlp/jaeger"]["endpoint"], "jaeger-collector.tracing.svc:4317");
  EXPECT_EQ(config["exporters"]["otlp/jaeger"]["tls"]["insecure"], true);
  EXPECT_EQ(config["exporters"]["prometheus"]["endpoint"], ":9090");
  EXPECT_EQ(strings(config["service"]["pipelines"]["traces"]["exporters"]),
            std::vector<std::string>{"otlp/jaeger"});
  EXPECT_EQ(strings(config["service"]["pipelines"]["metrics"]["exporters"]),
            std::vector<std::string>{"prometheus"});

  auto restart = findObject(objects, "Job", "kubewarden-controller-restart-controller");
  ASSERT_FALSE(restart.is_null());
  const auto& restart_pod = restart["spec"]["template"]["spec"];
  EXPECT_EQ(restart_pod["containers"][0]["image"], "registry.example:5000/mirror/kubectl:v1.29.0");
  EXPECT_EQ(restart_pod["securityContext"]["runAsUser"], 65532);
  EXPECT_EQ(restart_pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"], true);

  auto cronjob = findObject(objects, "CronJob", "kw");
  ASSERT_FALSE(cronjob.is_null());
  EXPECT_EQ(cronjob["spec"]["schedule"], "*/15 * * * *");
  EXPECT_EQ(cronjob["spec"]["failedJobsHistoryLimit"], 1);
  EXPECT_EQ(cronjob["spec"]["successfulJobsHistoryLimit"], 2);
  const auto& scan_pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"];
  EXPECT_EQ(scan_pod["restartPolicy"], "OnFailure");
  EXPECT_EQ(scan_pod["serviceAccountName"], "custom-scanner");
  EXPECT_EQ(scan_pod["nodeSelector"]["kubernetes.io/os"], "linux");
  EXPECT_EQ(scan_pod["tolerations"][0]["key"], "dedicated");
  const auto& scanner = container(scan_pod, "audit-scanner");
  EXPECT_EQ(scanner["image"], "registry.example:5000/kubewarden/audit-scanner:v1.10.9");
  EXPECT_EQ(scanner["imagePullPolicy"], "Always");
  EXPECT_EQ(scanner["resources"]["requests"]["cpu"], "100m");
  EXPECT_EQ(strings(scanner["command"]), (std::vector<std::string>{"/audit-scanner",
                                                                   "--kubewarden-namespace",
                                                                   "kubewarden",
                                                                   "--loglevel",
                                                                   "debug",
                                                                   "--store",
                                                                   "postgres",
                                                                   "--store-url",
                                                                   "$(KUBEWARDEN_AUDIT_STORE_URL)",
                                                                   "--report-granularity",
                                                                   "resource",
                                                                   "--extra-ca",
                                                                   "/pki/policy-server-root-ca-pem",
                                                                   "--output-scan",
                                                                   "--parallel-namespaces",
                                                                   "2",
                                                                   "--parallel-resources",
                                                                   "50",
                                                                   "--parallel-policies",
                                                                   "4",
                                                                   "--page-size",
                                                                   "200",
                                                                   "-i",
                                                                   "kube-system",
                                                                   "-i",
                                                                   "team-x",
                                                                   "-i",
                                                                   "sandbox"}));
  EXPECT_EQ(scanner["env"][0]["name"], "KUBEWARDEN_AUDIT_STORE_URL");
  EXPECT_EQ(scanner["env"][0]["valueFrom"]["secretKeyRef"],
            json::parse(R"({"name":"reports-db","key":"url"})"));
  // A ServiceAccount of the user's: none of ours, and no bindings to it.
  EXPECT_TRUE(findObject(objects, "ServiceAccount", "audit-scanner").is_null());
  EXPECT_TRUE(findObject(objects, "ClusterRole", "audit-scanner-cluster-role").is_null());
}

TEST_F(Charts, ControllerSchemaRefusesWhatTheChartWouldIgnore) {
  const std::string chart = "kubewarden-controller";
  auto out = refused(chart, {"--set", "auditScanner.policyReporter=true"});
  EXPECT_NE(out.find("values don't meet the specifications of the schema"), std::string::npos)
      << out;
  EXPECT_NE(out.find("/auditScanner/policyReporter"), std::string::npos) << out;
  EXPECT_NE(out.find("false"), std::string::npos) << out;

  out = refused(chart, {"--set-json", R"(policy-reporter={"ui":{"enabled":true}})"});
  EXPECT_NE(out.find("'policy-reporter'"), std::string::npos) << out;
  out = refused(chart, {"--set", "auditScanner.enabled=true"});  // typo of `enable`
  EXPECT_NE(out.find("'enabled'"), std::string::npos) << out;
  out = refused(chart, {"--set", "tls.source=vault"});
  EXPECT_NE(out.find("/tls/source"), std::string::npos) << out;
  out = refused(chart, {"--set", "tls.source=cert-manager"});  // no issuer named
  EXPECT_NE(out.find("certManagerIssuerName"), std::string::npos) << out;
  out = refused(chart, {"--set", "auditScanner.store=postgres"});  // no URL nor Secret
  EXPECT_NE(out.find("/auditScanner"), std::string::npos) << out;
  out = refused(chart, {"--set", "auditScanner.store=etcd"});
  EXPECT_NE(out.find("/auditScanner/store"), std::string::npos) << out;
  out = refused(chart, {"--set", "replicas=two"});
  EXPECT_NE(out.find("/replicas"), std::string::npos) << out;
}

TEST_F(Charts, DefaultsCreateTheDefaultPolicyServerOnly) {
  auto objects = render("kubewarden-defaults");
  auto ps = findObject(objects, "PolicyServer", "default");
  ASSERT_FALSE(ps.is_null());
  EXPECT_EQ(ps["apiVersion"], "policies.kubewarden.io/v1");
  EXPECT_EQ(strings(ps["metadata"]["finalizers"]), std::vector<std::string>{"kubewarden"});
  EXPECT_EQ(ps["spec"]["image"], "ghcr.io/kubewarden/policy-server:v1.10.0");
  EXPECT_EQ(ps["spec"]["replicas"], 1);
  EXPECT_EQ(ps["spec"]["serviceAccountName"], "policy-server");
  EXPECT_EQ(ps["spec"]["env"], json::parse(R"([{"name":"KUBEWARDEN_LOG_LEVEL","value":"info"}])"));
  for (const std::string field : {"securityContexts", "imagePullSecret", "insecureSources",
                                  "sourceAuthorities", "verificationConfig", "annotations"}) {
    EXPECT_FALSE(ps["spec"].contains(field)) << field;
  }
  EXPECT_TRUE(objectsOfKind(objects, "ClusterAdmissionPolicy").empty());
  auto sa = findObject(objects, "ServiceAccount", "policy-server");
  ASSERT_FALSE(sa.is_null());
  EXPECT_EQ(sa["metadata"]["namespace"], "kubewarden");
  auto watcher = findObject(objects, "ClusterRole", "kubewarden-context-watcher");
  for (const std::string resource : {"namespaces", "pods", "services"}) {
    EXPECT_TRUE(roleAllows(watcher, "", resource, "watch")) << resource;
    EXPECT_FALSE(roleAllows(watcher, "", resource, "create")) << resource;
  }
  EXPECT_TRUE(roleAllows(watcher, "networking.k8s.io", "ingresses", "list"));
  auto binding = findObject(objects, "ClusterRoleBinding", "kubewarden-context-watcher");
  EXPECT_EQ(binding["subjects"][0]["name"], "policy-server");

  auto disabled =
      render("kubewarden-defaults", {"--set", "global.policyServer.default.enabled=false"});
  EXPECT_TRUE(objectsOfKind(disabled, "PolicyServer").empty());
}

TEST_F(Charts, DefaultsRecommendedPoliciesUseUpstreamsModules) {
  auto objects = render("kubewarden-defaults", {"--set", "recommendedPolicies.enabled=true"});
  auto policies = objectsOfKind(objects, "ClusterAdmissionPolicy");
  ASSERT_EQ(policies.size(), 6u);
  // Spec §6.3: name → module, mutating.
  const std::map<std::string, std::pair<std::string, bool>> expected{
      {"no-privilege-escalation",
       {"ghcr.io/kubewarden/policies/allow-privilege-escalation-psp:v0.2.6", true}},
      {"no-host-namespace-sharing",
       {"ghcr.io/kubewarden/policies/host-namespaces-psp:v0.1.6", false}},
      {"no-privileged-pod", {"ghcr.io/kubewarden/policies/pod-privileged:v0.3.1", false}},
      {"do-not-run-as-root", {"ghcr.io/kubewarden/policies/user-group-psp:v0.4.9", true}},
      {"do-not-share-host-paths", {"ghcr.io/kubewarden/policies/hostpaths-psp:v0.1.10", false}},
      {"drop-capabilities", {"ghcr.io/kubewarden/policies/capabilities-psp:v0.1.15", true}}};
  auto skip = strings(values("kubewarden-defaults")["global"]["skipNamespaces"]);
  for (const auto& policy : policies) {
    std::string name = policy["metadata"]["name"];
    ASSERT_TRUE(expected.count(name)) << name;
    EXPECT_EQ(policy["spec"]["module"], expected.at(name).first);
    EXPECT_EQ(policy["spec"]["mutating"], expected.at(name).second) << name;
    EXPECT_EQ(policy["spec"]["mode"], "monitor");
    EXPECT_EQ(policy["metadata"]["annotations"]["io.kubewarden.policy.severity"], "medium");
    EXPECT_EQ(policy["metadata"]["annotations"]["io.kubewarden.policy.category"], "PSP");
    const auto& selector = policy["spec"]["namespaceSelector"]["matchExpressions"][0];
    EXPECT_EQ(selector["key"], "kubernetes.io/metadata.name");
    EXPECT_EQ(selector["operator"], "NotIn");
    EXPECT_EQ(strings(selector["values"]), skip);
    EXPECT_FALSE(policy["spec"]["rules"].empty());
  }
  auto host_paths = findObject(objects, "ClusterAdmissionPolicy", "do-not-share-host-paths");
  EXPECT_EQ(host_paths["spec"]["settings"]["allowedHostPaths"],
            json::parse(R"([{"pathPrefix":"/tmp","readOnly":true}])"));
  auto caps = findObject(objects, "ClusterAdmissionPolicy", "drop-capabilities");
  EXPECT_EQ(caps["spec"]["settings"], json::parse(R"({"required_drop_capabilities":["ALL"]})"));
  auto privileged = findObject(objects, "ClusterAdmissionPolicy", "no-privileged-pod");
  EXPECT_EQ(privileged["spec"]["rules"].size(), 4u);
}

TEST_F(Charts, DefaultsHonourEveryOptionOfTheValuesFile) {
  auto objects =
      render("kubewarden-defaults", {"-f", chartTestData("defaults-all-options.yaml").string()});
  ASSERT_FALSE(objects.empty());
  for (const auto& object : objects) {
    EXPECT_EQ(object["metadata"]["labels"]["team"], "security") << object["metadata"]["name"];
    EXPECT_EQ(object["metadata"]["annotations"]["owner"], "it") << object["metadata"]["name"];
  }
  auto ps = findObject(objects, "PolicyServer", "main");
  ASSERT_FALSE(ps.is_null());
  const auto& spec = ps["spec"];
  EXPECT_EQ(spec["image"], "registry.example:5000/kubewarden/policy-server:v1.10.9");
  EXPECT_EQ(spec["replicas"], 3);
  EXPECT_EQ(spec["serviceAccountName"], "ps-account");
  EXPECT_EQ(spec["verificationConfig"], "sigstore-config");
  EXPECT_EQ(spec["annotations"]["example.com/team"], "security");
  EXPECT_EQ(spec["env"], json::parse(R"([{"name":"KUBEWARDEN_LOG_LEVEL","value":"debug"},
                                        {"name":"KUBEWARDEN_POLICY_TIMEOUT","value":"5"}])"));
  EXPECT_EQ(spec["securityContexts"]["container"]["readOnlyRootFilesystem"], true);
  EXPECT_EQ(spec["securityContexts"]["container"]["capabilities"]["drop"][0], "ALL");
  EXPECT_EQ(spec["securityContexts"]["pod"]["seccompProfile"]["type"], "RuntimeDefault");
  EXPECT_EQ(spec["imagePullSecret"], "policy-registry");
  EXPECT_EQ(strings(spec["insecureSources"]), std::vector<std::string>{"registry.local:5000"});
  ASSERT_TRUE(spec["sourceAuthorities"].contains("registry.corp:5000"));
  EXPECT_NE(spec["sourceAuthorities"]["registry.corp:5000"][0].get<std::string>().find(
                "BEGIN CERTIFICATE"),
            std::string::npos);
  auto sa = findObject(objects, "ServiceAccount", "ps-account");
  ASSERT_FALSE(sa.is_null());
  auto watcher = findObject(objects, "ClusterRole", "kubewarden-context-watcher");
  EXPECT_TRUE(roleAllows(watcher, "apps", "replicasets", "get"));
  EXPECT_FALSE(roleAllows(watcher, "", "pods", "get"));  // the list replaced upstream's

  auto policies = objectsOfKind(objects, "ClusterAdmissionPolicy");
  ASSERT_EQ(policies.size(), 6u);
  for (const auto& policy : policies) {
    EXPECT_EQ(policy["spec"]["mode"], "protect");
    EXPECT_EQ(
        policy["spec"]["module"].get<std::string>().rfind("mirror.example/kubewarden/policies/", 0),
        0u)
        << policy["spec"]["module"];
    EXPECT_EQ(strings(policy["spec"]["namespaceSelector"]["matchExpressions"][0]["values"]),
              (std::vector<std::string>{"kube-system", "sandbox"}));
  }
  auto host_paths = findObject(objects, "ClusterAdmissionPolicy", "do-not-share-host-paths");
  EXPECT_EQ(host_paths["spec"]["settings"]["allowedHostPaths"],
            json::parse(R"([{"pathPrefix":"/var/log","readOnly":true}])"));
  auto caps = findObject(objects, "ClusterAdmissionPolicy", "drop-capabilities");
  EXPECT_EQ(caps["spec"]["settings"], json::parse(R"({"allowed_capabilities":["NET_BIND_SERVICE"],
                            "required_drop_capabilities":["ALL"]})"));
}

TEST_F(Charts, DefaultsSchemaRefusesWhatTheChartWouldIgnore) {
  const std::string chart = "kubewarden-defaults";
  auto out = refused(chart, {"--set", "policyServer.securityContexts.containr.privileged=false"});
  EXPECT_NE(out.find("'containr'"), std::string::npos) << out;
  out = refused(chart, {"--set", "recommendedPolicies.defaultPolicyMode=enforce"});
  EXPECT_NE(out.find("/recommendedPolicies/defaultPolicyMode"), std::string::npos) << out;
  out = refused(chart, {"--set", "policyServer.resources.limits.cpu=1"});  // 1.12+, not 1.10
  EXPECT_NE(out.find("'resources'"), std::string::npos) << out;
  out = refused(chart, {"--set", "policyServer.replicaCount=-1"});
  EXPECT_NE(out.find("/policyServer/replicaCount"), std::string::npos) << out;
}

}  // namespace
}  // namespace kw::test
