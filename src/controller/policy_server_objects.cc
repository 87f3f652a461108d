#include "controller/policy_server_objects.h"

#include "common/base64.h"
#include "controller/names.h"
#include "controller/policies_config.h"

namespace kw::controller {
namespace {

using nlohmann::json;

std::string psName(const json& ps) {
  return ps.contains("metadata") ? ps["metadata"].value("name", "") : "";
}

const json& psSpec(const json& ps) {
  static const json kEmpty = json::object();
  auto it = ps.find("spec");
  return it != ps.end() && it->is_object() ? *it : kEmpty;
}

bool nonEmpty(const json& spec, const char* key) {
  auto it = spec.find(key);
  return it != spec.end() && !it->is_null() && !it->empty() &&
         !(it->is_string() && it->get<std::string>().empty());
}

std::string specString(const json& spec, const char* key) {
  auto it = spec.find(key);
  return it != spec.end() && it->is_string() ? it->get<std::string>() : "";
}

// Metadata of an object owned by the PolicyServer.
json ownedMetadata(const json& ps, const ControllerOptions& opts, json labels) {
  json meta = {{"name", policyServerObjectName(psName(ps))},
               {"namespace", opts.deployments_namespace},
               {"ownerReferences", json::array({policyServerOwnerReference(ps)})}};
  if (!labels.empty()) meta["labels"] = std::move(labels);
  return meta;
}

json appLabels(const std::string& ps) {
  return {{"app", policyServerAppLabel(ps)}, {std::string(kPolicyServerLabel), ps}};
}

json env(const std::string& name, const std::string& value) {
  return {{"name", name}, {"value", value}};
}

// Sets `name` to `value`, replacing an entry of that name (upstream does so for the metrics and
// log-format variables, so spec.env cannot override them).
void setEnv(json& list, const std::string& name, const std::string& value) {
  for (auto& entry : list)
    if (entry.value("name", "") == name) {
      entry = env(name, value);
      return;
    }
  list.push_back(env(name, value));
}

json defaultContainerSecurityContext() {
  return {{"readOnlyRootFilesystem", true},
          {"privileged", false},
          {"allowPrivilegeEscalation", false},
          {"runAsNonRoot", true},
          {"capabilities", {{"drop", json::array({"all"})}}}};
}

struct Optional {
  bool verification, image_pull_secret, sources;
};

Optional optionalParts(const json& spec) {
  return {nonEmpty(spec, "verificationConfig"), nonEmpty(spec, "imagePullSecret"),
          nonEmpty(spec, "insecureSources") || nonEmpty(spec, "sourceAuthorities")};
}

json containerEnv(const json& spec, const Optional& parts, const ControllerOptions& opts) {
  json list = json::array({env("KUBEWARDEN_CERT_FILE", "/pki/policy-server-cert"),
                           env("KUBEWARDEN_KEY_FILE", "/pki/policy-server-key"),
                           env("KUBEWARDEN_PORT", std::to_string(kPolicyServerPort)),
                           env("KUBEWARDEN_POLICIES_DOWNLOAD_DIR", "/tmp"),
                           env("KUBEWARDEN_POLICIES", "/config/policies.yml"),
                           env("KUBEWARDEN_SIGSTORE_CACHE_DIR", "/tmp/sigstore-data")});
  if (spec.contains("env") && spec["env"].is_array())
    for (const auto& entry : spec["env"]) list.push_back(entry);
  if (opts.always_accept_admission_reviews_on_deployments_namespace)
    list.push_back(
        env("KUBEWARDEN_ALWAYS_ACCEPT_ADMISSION_REVIEWS_ON_NAMESPACE", opts.deployments_namespace));
  if (parts.verification)
    list.push_back(env("KUBEWARDEN_VERIFICATION_CONFIG_PATH", "/verification/verification.yml"));
  if (parts.image_pull_secret)
    list.push_back(env("KUBEWARDEN_DOCKER_CONFIG_JSON_PATH", "/home/kubewarden/.docker"));
  if (parts.sources) list.push_back(env("KUBEWARDEN_SOURCES_PATH", "/sources/sources.yml"));
  if (opts.enable_metrics) setEnv(list, "KUBEWARDEN_ENABLE_METRICS", "1");
  if (opts.enable_tracing) setEnv(list, "KUBEWARDEN_LOG_FMT", "otlp");
  return list;
}

json volumeMounts(const Optional& parts) {
  json mounts = json::array({{{"name", "certs"}, {"readOnly", true}, {"mountPath", "/pki"}},
                             {{"name", "policies"}, {"readOnly", true}, {"mountPath", "/config"}},
                             {{"name", "policy-store"}, {"mountPath", "/tmp"}}});
  if (parts.verification)
    mounts.push_back(
        {{"name", "verification"}, {"readOnly", true}, {"mountPath", "/verification"}});
  if (parts.image_pull_secret)
    mounts.push_back({{"name", "imagepullsecret"},
                      {"readOnly", true},
                      {"mountPath", "/home/kubewarden/.docker"}});
  if (parts.sources)
    mounts.push_back({{"name", "sources"}, {"readOnly", true}, {"mountPath", "/sources"}});
  return mounts;
}

json volumes(const std::string& ps, const json& spec, const Optional& parts) {
  const std::string object = policyServerObjectName(ps);
  json list = json::array(
      {{{"name", "policy-store"}, {"emptyDir", json::object()}},
       {{"name", "certs"}, {"secret", {{"secretName", object}}}},
       {{"name", "policies"},
        {"configMap",
         {{"name", object},
          {"items", json::array({{{"key", kPoliciesKey}, {"path", "policies.yml"}}})}}}}});
  if (parts.verification)
    list.push_back({{"name", "verification"},
                    {"configMap",
                     {{"name", specString(spec, "verificationConfig")},
                      {"items", json::array({{{"key", "verification-config"},
                                              {"path", "verification.yml"}}})}}}});
  if (parts.image_pull_secret)
    list.push_back(
        {{"name", "imagepullsecret"},
         {"secret",
          {{"secretName", specString(spec, "imagePullSecret")},
           {"items", json::array({{{"key", ".dockerconfigjson"}, {"path", "config.json"}}})}}}});
  // The whole ConfigMap: sources.yml sits beside policies.yml.
  if (parts.sources) list.push_back({{"name", "sources"}, {"configMap", {{"name", object}}}});
  return list;
}

json container(const std::string& ps, const json& spec, const Optional& parts,
               const ControllerOptions& opts) {
  const json& contexts = spec.contains("securityContexts") ? spec["securityContexts"] : json();
  const bool own_context =
      contexts.is_object() && contexts.contains("container") && contexts["container"].is_object();
  return {
      {"name", policyServerObjectName(ps)},
      {"image", specString(spec, "image")},
      {"env", containerEnv(spec, parts, opts)},
      {"volumeMounts", volumeMounts(parts)},
      {"readinessProbe",
       {{"httpGet", {{"path", "/readiness"}, {"port", kPolicyServerPort}, {"scheme", "HTTPS"}}}}},
      {"securityContext", own_context ? contexts["container"] : defaultContainerSecurityContext()}};
}

json podSecurityContext(const json& spec) {
  const json& contexts = spec.contains("securityContexts") ? spec["securityContexts"] : json();
  if (contexts.is_object() && contexts.contains("pod") && contexts["pod"].is_object())
    return contexts["pod"];
  return json::object();
}

json templateAnnotations(const json& spec, const ControllerOptions& opts) {
  json annotations = spec.contains("annotations") && spec["annotations"].is_object()
                         ? spec["annotations"]
                         : json::object();
  if (opts.enable_metrics || opts.enable_tracing)
    annotations["sidecar.opentelemetry.io/inject"] = "true";
  return annotations;
}

}  // namespace

json policyServerOwnerReference(const json& policy_server) {
  const json& meta = policy_server.contains("metadata") ? policy_server["metadata"] : json();
  return {{"apiVersion", std::string(kGroup) + "/v1"},
          {"kind", "PolicyServer"},
          {"name", meta.is_object() ? meta.value("name", "") : ""},
          {"uid", meta.is_object() ? meta.value("uid", "") : ""}};
}

std::string servingDnsName(std::string_view policy_server, const ControllerOptions& opts) {
  return policyServerObjectName(policy_server) + "." + opts.deployments_namespace + ".svc";
}

json rootCaSecret(const certs::CertificateAuthority& ca, const ControllerOptions& opts) {
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata", {{"name", kRootCaSecret}, {"namespace", opts.deployments_namespace}}},
          {"type", "Opaque"},
          {"data",
           {{kRootCaCertKey, base64Encode(ca.cert_der)},
            {kRootCaPemKey, base64Encode(ca.cert_pem)},
            {kRootCaKeyKey, base64Encode(ca.key_der)}}}};
}

Result<certs::CertificateAuthority> caFromRootCaSecret(const json& secret) {
  const json data = secret.contains("data") ? secret["data"] : json();
  auto read = [&](std::string_view key) -> Result<std::string> {
    if (!data.is_object() || !data.contains(key) || !data[std::string(key)].is_string())
      return makeError("Secret " + std::string(kRootCaSecret) + " has no data key " +
                       std::string(key));
    auto bytes = base64Decode(data[std::string(key)].get<std::string>());
    if (!bytes)
      return makeError("Secret " + std::string(kRootCaSecret) + " key " + std::string(key) + ": " +
                       bytes.error().message);
    return bytes;
  };
  auto cert = read(kRootCaCertKey);
  if (!cert) return cert.error();
  auto key = read(kRootCaKeyKey);
  if (!key) return key.error();
  return certs::loadCa(*cert, *key);
}

json servingSecret(const json& policy_server, const certs::ServingCert& cert,
                   const ControllerOptions& opts) {
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata", ownedMetadata(policy_server, opts, json::object())},
          {"type", "Opaque"},
          {"data",
           {{kServingCertKey, base64Encode(cert.cert_pem)},
            {kServingKeyKey, base64Encode(cert.key_pem)}}}};
}

Result<json> servingSecret(const json& policy_server, const certs::CertificateAuthority& ca,
                           const ControllerOptions& opts) {
  auto cert = certs::issueServingCert(ca, {servingDnsName(psName(policy_server), opts)});
  if (!cert) return cert.error();
  return servingSecret(policy_server, *cert, opts);
}

std::string servingCertPem(const json& secret) {
  if (!secret.contains("data") || !secret["data"].is_object()) return "";
  auto it = secret["data"].find(kServingCertKey);
  if (it == secret["data"].end() || !it->is_string()) return "";
  auto pem = base64Decode(it->get<std::string>());
  return pem ? *pem : "";
}

json configMap(const json& policy_server, const std::vector<json>& policies,
               const ControllerOptions& opts) {
  const std::string ps = psName(policy_server);
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", ownedMetadata(policy_server, opts, {{kPolicyServerLabel, ps}})},
          {"data",
           {{kPoliciesKey, policiesYml(policies).dump()},
            {kSourcesKey, sourcesYml(policy_server).dump()}}}};
}

json deployment(const json& policy_server, std::string_view config_version,
                const ControllerOptions& opts) {
  const std::string ps = psName(policy_server);
  const json& spec = psSpec(policy_server);
  const Optional parts = optionalParts(spec);
  json meta = ownedMetadata(policy_server, opts, appLabels(ps));
  meta["annotations"] = {{kConfigVersionAnnotation, config_version}};
  json pod_labels = appLabels(ps);
  pod_labels[std::string(kConfigVersionAnnotation)] = config_version;
  return {
      {"apiVersion", "apps/v1"},
      {"kind", "Deployment"},
      {"metadata", std::move(meta)},
      {"spec",
       {{"replicas", spec.contains("replicas") ? spec["replicas"] : json(1)},
        {"selector", {{"matchLabels", {{"app", policyServerAppLabel(ps)}}}}},
        {"strategy", {{"type", "RollingUpdate"}}},
        {"template",
         {{"metadata",
           {{"labels", std::move(pod_labels)}, {"annotations", templateAnnotations(spec, opts)}}},
          {"spec",
           {{"securityContext", podSecurityContext(spec)},
            {"containers", json::array({container(ps, spec, parts, opts)})},
            {"serviceAccountName", specString(spec, "serviceAccountName")},
            {"volumes", volumes(ps, spec, parts)}}}}}}}};
}

json service(const json& policy_server, const ControllerOptions& opts) {
  const std::string ps = psName(policy_server);
  json ports = json::array({{{"name", "policy-server"},
                             {"port", kPolicyServerPort},
                             {"targetPort", kPolicyServerPort},
                             {"protocol", "TCP"}}});
  if (opts.enable_metrics)
    ports.push_back(
        {{"name", "metrics"}, {"port", opts.policy_server_metrics_port}, {"protocol", "TCP"}});
  return {
      {"apiVersion", "v1"},
      {"kind", "Service"},
      {"metadata", ownedMetadata(policy_server, opts, {{"app", policyServerAppLabel(ps)}})},
      {"spec", {{"ports", std::move(ports)}, {"selector", {{"app", policyServerAppLabel(ps)}}}}}};
}

std::optional<json> podDisruptionBudget(const json& policy_server, const ControllerOptions& opts) {
  const json& spec = psSpec(policy_server);
  auto set = [&](const char* key) { return spec.contains(key) && !spec[key].is_null(); };
  if (!set("minAvailable") && !set("maxUnavailable")) return std::nullopt;
  const std::string ps = psName(policy_server);
  json pdb_spec = {{"selector", {{"matchLabels", appLabels(ps)}}}};
  if (set("minAvailable"))
    pdb_spec["minAvailable"] = spec["minAvailable"];
  else
    pdb_spec["maxUnavailable"] = spec["maxUnavailable"];
  return json{{"apiVersion", "policy/v1"},
              {"kind", "PodDisruptionBudget"},
              {"metadata", ownedMetadata(policy_server, opts, appLabels(ps))},
              {"spec", std::move(pdb_spec)}};
}

}  // namespace kw::controller
