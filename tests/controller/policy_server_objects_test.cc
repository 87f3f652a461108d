#include "controller/policy_server_objects.h"

#include <gtest/gtest.h>

#include "common/base64.h"

namespace kw::controller {
namespace {

using nlohmann::json;

json policyServer(json spec = json::object()) {
  json ps = {{"apiVersion", "policies.kubewarden.io/v1"},
             {"kind", "PolicyServer"},
             {"metadata", {{"name", "default"}, {"uid", "0a1b-uid"}}},
             {"spec", {{"image", "ghcr.io/kubewarden/policy-server:v1.10.0"}, {"replicas", 2}}}};
  ps["spec"].update(spec);
  return ps;
}

ControllerOptions options() {
  ControllerOptions opts;
  opts.deployments_namespace = "kubewarden";
  return opts;
}

const json kOwner = {{"apiVersion", "policies.kubewarden.io/v1"},
                     {"kind", "PolicyServer"},
                     {"name", "default"},
                     {"uid", "0a1b-uid"}};

const certs::CertificateAuthority& sharedCa() {
  static const certs::CertificateAuthority ca = [] {
    auto made = certs::makeRootCa();
    EXPECT_TRUE(made.ok()) << made.error().message;
    return *made;
  }();
  return ca;
}

std::string decoded(const json& value) {
  auto bytes = base64Decode(value.get<std::string>());
  EXPECT_TRUE(bytes.ok());
  return bytes ? *bytes : "";
}

// The container's env as name -> value, and the list of names in order.
std::vector<std::string> envNames(const json& deploy) {
  std::vector<std::string> names;
  for (const auto& e : deploy["spec"]["template"]["spec"]["containers"][0]["env"])
    names.push_back(e["name"]);
  return names;
}
json envValue(const json& deploy, const std::string& name) {
  for (const auto& e : deploy["spec"]["template"]["spec"]["containers"][0]["env"])
    if (e["name"] == name) return e["value"];
  return nullptr;
}
json byName(const json& list, const std::string& name) {
  for (const auto& item : list)
    if (item["name"] == name) return item;
  return nullptr;
}

TEST(RootCaSecret, HoldsDerPemAndPkcs1KeyAndLoadsBack) {
  json secret = rootCaSecret(sharedCa(), options());
  EXPECT_EQ(secret["apiVersion"], "v1");
  EXPECT_EQ(secret["kind"], "Secret");
  EXPECT_EQ(secret["metadata"],
            json::parse(R"({"name":"policy-server-root-ca","namespace":"kubewarden"})"));
  EXPECT_EQ(secret["type"], "Opaque");
  ASSERT_EQ(secret["data"].size(), 3u);
  EXPECT_EQ(decoded(secret["data"]["policy-server-root-ca-cert"]), sharedCa().cert_der);
  EXPECT_EQ(decoded(secret["data"]["policy-server-root-ca-pem"]), sharedCa().cert_pem);
  EXPECT_EQ(decoded(secret["data"]["policy-server-root-ca-privatekey-cert"]), sharedCa().key_der);

  auto loaded = caFromRootCaSecret(secret);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->cert_der, sharedCa().cert_der);
  EXPECT_EQ(loaded->key_der, sharedCa().key_der);
}

TEST(RootCaSecret, MissingOrBrokenKeysAreNamed) {
  json secret = rootCaSecret(sharedCa(), options());
  secret["data"].erase("policy-server-root-ca-privatekey-cert");
  auto missing = caFromRootCaSecret(secret);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message,
            "Secret policy-server-root-ca has no data key policy-server-root-ca-privatekey-cert");
  secret["data"]["policy-server-root-ca-privatekey-cert"] = "!!!";
  auto broken = caFromRootCaSecret(secret);
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().message.find("key policy-server-root-ca-privatekey-cert"),
            std::string::npos);
}

TEST(ServingSecret, CertificateForTheServiceNameSignedByTheCa) {
  auto secret = servingSecret(policyServer(), sharedCa(), options());
  ASSERT_TRUE(secret.ok()) << secret.error().message;
  EXPECT_EQ((*secret)["kind"], "Secret");
  EXPECT_EQ((*secret)["type"], "Opaque");
  EXPECT_EQ((*secret)["metadata"]["name"], "policy-server-default");
  EXPECT_EQ((*secret)["metadata"]["namespace"], "kubewarden");
  EXPECT_EQ((*secret)["metadata"]["ownerReferences"], json::array({kOwner}));
  ASSERT_EQ((*secret)["data"].size(), 2u);
  EXPECT_NE(decoded((*secret)["data"]["policy-server-key"]).find("PRIVATE KEY-----"),
            std::string::npos);

  EXPECT_EQ(servingDnsName("default", options()), "policy-server-default.kubewarden.svc");
  std::string pem = servingCertPem(*secret);
  ASSERT_FALSE(pem.empty());
  EXPECT_TRUE(certs::servingCertFits(sharedCa(), pem, "policy-server-default.kubewarden.svc").ok());
  auto info = certs::inspect(pem);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->dns_sans, std::vector<std::string>{"policy-server-default.kubewarden.svc"});
  EXPECT_EQ(servingCertPem(json::object()), "");
}

TEST(PolicyServerConfigMap, NameLabelOwnerAndJsonFiles) {
  json policy = json::parse(R"({"kind":"ClusterAdmissionPolicy","metadata":{"name":"p"},
    "spec":{"module":"registry://r/p:1","mode":"protect","mutating":false}})");
  json ps = policyServer({{"insecureSources", {"r:5000"}}});
  json cm = configMap(ps, {policy}, options());
  EXPECT_EQ(cm["apiVersion"], "v1");
  EXPECT_EQ(cm["kind"], "ConfigMap");
  EXPECT_EQ(cm["metadata"]["name"], "policy-server-default");
  EXPECT_EQ(cm["metadata"]["namespace"], "kubewarden");
  EXPECT_EQ(cm["metadata"]["labels"], json::parse(R"({"kubewarden/policy-server":"default"})"));
  EXPECT_EQ(cm["metadata"]["ownerReferences"], json::array({kOwner}));
  ASSERT_EQ(cm["data"].size(), 2u);
  // Both files are JSON text.
  EXPECT_EQ(json::parse(cm["data"]["policies.yml"].get<std::string>()),
            json::parse(R"({"clusterwide-p":{"namespacedName":{"Namespace":"","Name":"p"},
              "url":"registry://r/p:1","policyMode":"protect","allowedToMutate":false,"settings":null}})"));
  EXPECT_EQ(cm["data"]["sources.yml"], R"({"insecure_sources":["r:5000"]})");
  EXPECT_EQ(configMap(policyServer(), {}, options())["data"]["policies.yml"], "{}");
}

TEST(PolicyServerDeployment, MetadataSelectorStrategyReplicas) {
  json d = deployment(policyServer(), "4711", options());
  EXPECT_EQ(d["apiVersion"], "apps/v1");
  EXPECT_EQ(d["kind"], "Deployment");
  EXPECT_EQ(d["metadata"]["name"], "policy-server-default");
  EXPECT_EQ(d["metadata"]["namespace"], "kubewarden");
  EXPECT_EQ(d["metadata"]["labels"], json::parse(R"({"app":"kubewarden-policy-server-default",
    "kubewarden/policy-server":"default"})"));
  EXPECT_EQ(d["metadata"]["annotations"], json::parse(R"({"kubewarden/config-version":"4711"})"));
  EXPECT_EQ(d["metadata"]["ownerReferences"], json::array({kOwner}));
  EXPECT_EQ(d["spec"]["replicas"], 2);
  EXPECT_EQ(d["spec"]["selector"],
            json::parse(R"({"matchLabels":{"app":"kubewarden-policy-server-default"}})"));
  EXPECT_EQ(d["spec"]["strategy"], json::parse(R"({"type":"RollingUpdate"})"));
  // The config version on the pod template rolls the pods out when the ConfigMap changes.
  EXPECT_EQ(d["spec"]["template"]["metadata"]["labels"],
            json::parse(R"({"app":"kubewarden-policy-server-default",
              "kubewarden/policy-server":"default","kubewarden/config-version":"4711"})"));
  EXPECT_EQ(d["spec"]["template"]["metadata"]["annotations"], json::object());
}

TEST(PolicyServerDeployment, ContainerEnvProbeAndDefaultSecurityContexts) {
  json d = deployment(policyServer({{"serviceAccountName", "ps-sa"}}), "1", options());
  const json& pod = d["spec"]["template"]["spec"];
  ASSERT_EQ(pod["containers"].size(), 1u);
  const json& c = pod["containers"][0];
  EXPECT_EQ(c["name"], "policy-server-default");
  EXPECT_EQ(c["image"], "ghcr.io/kubewarden/policy-server:v1.10.0");
  EXPECT_EQ(c["env"], json::parse(R"([
    {"name":"KUBEWARDEN_CERT_FILE","value":"/pki/policy-server-cert"},
    {"name":"KUBEWARDEN_KEY_FILE","value":"/pki/policy-server-key"},
    {"name":"KUBEWARDEN_PORT","value":"8443"},
    {"name":"KUBEWARDEN_POLICIES_DOWNLOAD_DIR","value":"/tmp"},
    {"name":"KUBEWARDEN_POLICIES","value":"/config/policies.yml"},
    {"name":"KUBEWARDEN_SIGSTORE_CACHE_DIR","value":"/tmp/sigstore-data"}])"));
  EXPECT_EQ(c["readinessProbe"],
            json::parse(R"({"httpGet":{"path":"/readiness","port":8443,"scheme":"HTTPS"}})"));
  EXPECT_EQ(c["securityContext"], json::parse(R"({"readOnlyRootFilesystem":true,
    "privileged":false,"allowPrivilegeEscalation":false,"runAsNonRoot":true,
    "capabilities":{"drop":["all"]}})"));
  EXPECT_EQ(pod["securityContext"], json::object());
  EXPECT_EQ(pod["serviceAccountName"], "ps-sa");
}

TEST(PolicyServerDeployment, BaseVolumesAndMounts) {
  json d = deployment(policyServer(), "1", options());
  const json& pod = d["spec"]["template"]["spec"];
  EXPECT_EQ(pod["volumes"], json::parse(R"([
    {"name":"policy-store","emptyDir":{}},
    {"name":"certs","secret":{"secretName":"policy-server-default"}},
    {"name":"policies","configMap":{"name":"policy-server-default",
      "items":[{"key":"policies.yml","path":"policies.yml"}]}}])"));
  EXPECT_EQ(pod["containers"][0]["volumeMounts"], json::parse(R"([
    {"name":"certs","readOnly":true,"mountPath":"/pki"},
    {"name":"policies","readOnly":true,"mountPath":"/config"},
    {"name":"policy-store","mountPath":"/tmp"}])"));
}

TEST(PolicyServerDeployment, SpecEnvComesAfterOursAndSpecSecurityContextsWin) {
  json ps =
      policyServer({{"env", json::parse(R"([{"name":"KUBEWARDEN_LOG_LEVEL","value":"debug"}])")},
                    {"securityContexts", json::parse(R"({"container":{"runAsUser":1000},
                            "pod":{"fsGroup":2000}})")}});
  json d = deployment(ps, "1", options());
  auto names = envNames(d);
  ASSERT_EQ(names.size(), 7u);
  EXPECT_EQ(names[6], "KUBEWARDEN_LOG_LEVEL");
  EXPECT_EQ(envValue(d, "KUBEWARDEN_LOG_LEVEL"), "debug");
  const json& pod = d["spec"]["template"]["spec"];
  EXPECT_EQ(pod["containers"][0]["securityContext"], json::parse(R"({"runAsUser":1000})"));
  EXPECT_EQ(pod["securityContext"], json::parse(R"({"fsGroup":2000})"));
}

TEST(PolicyServerDeployment, AlwaysAcceptOnDeploymentsNamespace) {
  ControllerOptions opts = options();
  opts.always_accept_admission_reviews_on_deployments_namespace = true;
  json d = deployment(policyServer(), "1", opts);
  EXPECT_EQ(envValue(d, "KUBEWARDEN_ALWAYS_ACCEPT_ADMISSION_REVIEWS_ON_NAMESPACE"), "kubewarden");
  EXPECT_EQ(envValue(deployment(policyServer(), "1", options()),
                     "KUBEWARDEN_ALWAYS_ACCEPT_ADMISSION_REVIEWS_ON_NAMESPACE"),
            nullptr);
}

TEST(PolicyServerDeployment, VerificationConfigMountsItsConfigMap) {
  json d = deployment(policyServer({{"verificationConfig", "my-verification"}}), "1", options());
  EXPECT_EQ(envValue(d, "KUBEWARDEN_VERIFICATION_CONFIG_PATH"), "/verification/verification.yml");
  const json& pod = d["spec"]["template"]["spec"];
  EXPECT_EQ(byName(pod["volumes"], "verification"), json::parse(R"({"name":"verification",
    "configMap":{"name":"my-verification",
      "items":[{"key":"verification-config","path":"verification.yml"}]}})"));
  EXPECT_EQ(byName(pod["containers"][0]["volumeMounts"], "verification"),
            json::parse(R"({"name":"verification","readOnly":true,"mountPath":"/verification"})"));
}

TEST(PolicyServerDeployment, ImagePullSecretMountsDockerConfig) {
  json d = deployment(policyServer({{"imagePullSecret", "regcred"}}), "1", options());
  EXPECT_EQ(envValue(d, "KUBEWARDEN_DOCKER_CONFIG_JSON_PATH"), "/home/kubewarden/.docker");
  const json& pod = d["spec"]["template"]["spec"];
  EXPECT_EQ(byName(pod["volumes"], "imagepullsecret"), json::parse(R"({"name":"imagepullsecret",
    "secret":{"secretName":"regcred",
      "items":[{"key":".dockerconfigjson","path":"config.json"}]}})"));
  EXPECT_EQ(byName(pod["containers"][0]["volumeMounts"], "imagepullsecret"),
            json::parse(R"({"name":"imagepullsecret","readOnly":true,
              "mountPath":"/home/kubewarden/.docker"})"));
}

TEST(PolicyServerDeployment, SourcesMountedWhenInsecureSourcesOrAuthorities) {
  for (json spec : {json{{"insecureSources", {"r:5000"}}},
                    json{{"sourceAuthorities", {{"r:5001", {"PEM"}}}}}}) {
    json d = deployment(policyServer(spec), "1", options());
    EXPECT_EQ(envValue(d, "KUBEWARDEN_SOURCES_PATH"), "/sources/sources.yml") << spec;
    const json& pod = d["spec"]["template"]["spec"];
    EXPECT_EQ(byName(pod["volumes"], "sources"),
              json::parse(R"({"name":"sources","configMap":{"name":"policy-server-default"}})"));
    EXPECT_EQ(byName(pod["containers"][0]["volumeMounts"], "sources"),
              json::parse(R"({"name":"sources","readOnly":true,"mountPath":"/sources"})"));
  }
  json plain = deployment(policyServer({{"insecureSources", json::array()}}), "1", options());
  EXPECT_EQ(envValue(plain, "KUBEWARDEN_SOURCES_PATH"), nullptr);
  EXPECT_EQ(byName(plain["spec"]["template"]["spec"]["volumes"], "sources"), nullptr);
}

TEST(PolicyServerDeployment, MetricsAndTracingSetEnvAndSidecarAnnotation) {
  ControllerOptions opts = options();
  opts.enable_metrics = true;
  // spec.env cannot turn them off: ours replace an entry of the same name.
  json ps =
      policyServer({{"env", json::parse(R"([{"name":"KUBEWARDEN_ENABLE_METRICS","value":"0"}])")},
                    {"annotations", {{"team", "a"}}}});
  json d = deployment(ps, "1", opts);
  EXPECT_EQ(envValue(d, "KUBEWARDEN_ENABLE_METRICS"), "1");
  EXPECT_EQ(envValue(d, "KUBEWARDEN_LOG_FMT"), nullptr);
  EXPECT_EQ(envNames(d).size(), 7u);
  EXPECT_EQ(d["spec"]["template"]["metadata"]["annotations"],
            json::parse(R"({"team":"a","sidecar.opentelemetry.io/inject":"true"})"));

  opts.enable_metrics = false;
  opts.enable_tracing = true;
  d = deployment(policyServer(), "1", opts);
  EXPECT_EQ(envValue(d, "KUBEWARDEN_LOG_FMT"), "otlp");
  EXPECT_EQ(envValue(d, "KUBEWARDEN_ENABLE_METRICS"), nullptr);
  EXPECT_EQ(d["spec"]["template"]["metadata"]["annotations"],
            json::parse(R"({"sidecar.opentelemetry.io/inject":"true"})"));
}

TEST(PolicyServerService, PortsSelectorAndMetricsPort) {
  json svc = service(policyServer(), options());
  EXPECT_EQ(svc["apiVersion"], "v1");
  EXPECT_EQ(svc["kind"], "Service");
  EXPECT_EQ(svc["metadata"]["name"], "policy-server-default");
  EXPECT_EQ(svc["metadata"]["namespace"], "kubewarden");
  EXPECT_EQ(svc["metadata"]["labels"],
            json::parse(R"({"app":"kubewarden-policy-server-default"})"));
  EXPECT_EQ(svc["metadata"]["ownerReferences"], json::array({kOwner}));
  EXPECT_EQ(svc["spec"], json::parse(R"({"ports":[{"name":"policy-server","port":8443,
    "targetPort":8443,"protocol":"TCP"}],"selector":{"app":"kubewarden-policy-server-default"}})"));

  ControllerOptions opts = options();
  opts.enable_metrics = true;
  opts.policy_server_metrics_port = 9090;
  json ports = service(policyServer(), opts)["spec"]["ports"];
  ASSERT_EQ(ports.size(), 2u);
  EXPECT_EQ(ports[1], json::parse(R"({"name":"metrics","port":9090,"protocol":"TCP"})"));
}

TEST(PolicyServerPdb, AbsentWithoutEitherField) {
  EXPECT_FALSE(podDisruptionBudget(policyServer(), options()).has_value());
  EXPECT_FALSE(
      podDisruptionBudget(policyServer({{"minAvailable", nullptr}}), options()).has_value());
}

TEST(PolicyServerPdb, MinAvailableOrMaxUnavailableNeverBoth) {
  auto min = podDisruptionBudget(policyServer({{"minAvailable", 1}}), options());
  ASSERT_TRUE(min.has_value());
  EXPECT_EQ((*min)["apiVersion"], "policy/v1");
  EXPECT_EQ((*min)["kind"], "PodDisruptionBudget");
  EXPECT_EQ((*min)["metadata"]["name"], "policy-server-default");
  EXPECT_EQ((*min)["metadata"]["namespace"], "kubewarden");
  EXPECT_EQ((*min)["metadata"]["ownerReferences"], json::array({kOwner}));
  EXPECT_EQ((*min)["spec"], json::parse(R"({"minAvailable":1,"selector":{"matchLabels":{
    "app":"kubewarden-policy-server-default","kubewarden/policy-server":"default"}}})"));

  auto max = podDisruptionBudget(policyServer({{"maxUnavailable", "50%"}}), options());
  ASSERT_TRUE(max.has_value());
  EXPECT_EQ((*max)["spec"]["maxUnavailable"], "50%");
  EXPECT_FALSE((*max)["spec"].contains("minAvailable"));

  // The admission webhook refuses both; if both reach us, minAvailable wins as upstream.
  auto both =
      podDisruptionBudget(policyServer({{"minAvailable", 2}, {"maxUnavailable", 1}}), options());
  ASSERT_TRUE(both.has_value());
  EXPECT_EQ((*both)["spec"]["minAvailable"], 2);
  EXPECT_FALSE((*both)["spec"].contains("maxUnavailable"));
}

}  // namespace
}  // namespace kw::controller
