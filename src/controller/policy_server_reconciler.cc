// PolicyServer reconcile (spec §4.3): root CA, serving Secret, ConfigMap, Deployment, Service,
// PDB, then the status conditions; deletion as upstream 1.10 (delete the bound policies first,
// then the owned objects, then drop the finalizer).
#include <spdlog/spdlog.h>

#include "common/base64.h"
#include "controller/controller.h"
#include "controller/policy_server_objects.h"
#include "controller/policy_status.h"

namespace kw::controller {

using json = nlohmann::json;

namespace {

std::string metaString(const json& object, const char* field) {
  auto m = object.find("metadata");
  return m != object.end() && m->is_object() ? m->value(field, "") : "";
}

bool deleting(const json& object) {
  auto m = object.find("metadata");
  return m != object.end() && m->is_object() && m->contains("deletionTimestamp");
}

void setReconciled(json& conditions, std::string_view type, const Status& s,
                   const std::string& now) {
  if (s) {
    setCondition(conditions, type, true, "ReconciliationSucceeded", "", now);
  } else {
    setCondition(conditions, type, false, "ReconciliationFailed", s.error().message, now);
  }
}

}  // namespace

Result<certs::CertificateAuthority> Controller::ensureRootCa() {
  const std::string ns = options_.deployments_namespace;
  if (auto secret = current(*secrets_, ns, kRootCaSecret)) return caFromRootCaSecret(*secret);
  auto ca = certs::makeRootCa();
  if (!ca) return ca.error();
  ApiReply created = writer_.create(secrets_->type(), rootCaSecret(*ca, options_));
  if (created.ok()) {
    spdlog::info("root CA Secret {}/{} created", ns, kRootCaSecret);
    remember(secrets_->type(), created.object);
    return ca;
  }
  if (created.status != 409) return makeError(created.message);
  // Another writer (a previous leader) made one: use theirs, never replace a CA in use.
  ApiReply fresh = writer_.get(secrets_->type(), ns, kRootCaSecret);
  if (!fresh.ok()) return makeError(fresh.message);
  remember(secrets_->type(), fresh.object);
  return caFromRootCaSecret(fresh.object);
}

Status Controller::ensureServingSecret(const json& policy_server,
                                       const certs::CertificateAuthority& ca) {
  std::string ps = metaString(policy_server, "name");
  std::string name = policyServerObjectName(ps);
  auto live = current(*secrets_, options_.deployments_namespace, name);
  if (live) {
    auto fits = certs::servingCertFits(ca, servingCertPem(*live), servingDnsName(ps, options_));
    if (fits) return okStatus();  // reuse, as upstream
    spdlog::info("serving Secret {} is replaced: {}", name, fits.error().message);
  }
  auto desired = servingSecret(policy_server, ca, options_);
  if (!desired) return desired.error();
  auto stored = ensure(*secrets_, *desired);
  if (!stored) return stored.error();
  return okStatus();
}

ReconcileResult Controller::reconcilePolicyServer(const std::string& name) {
  auto found = policy_servers_->get("", name);
  if (!found) return {};
  std::vector<json> policies;
  for (json& p : boundPolicies(name))
    if (!deleting(p)) policies.push_back(std::move(p));
  if (deleting(*found)) return reconcilePolicyServerDeletion(*found, policies);

  auto ps = ensureFinalizer(types_.policy_server, *found);
  if (!ps) return {std::nullopt, ps.error().message};
  json status = ps->value("status", json::object());
  json conditions = status.value("conditions", json::array());
  const std::string now = rfc3339Now();
  std::string error;
  auto step = [&](std::string_view condition, const Status& s) {
    setReconciled(conditions, condition, s, now);
    if (!s) error = s.error().message;
    return bool(s);
  };

  auto ca = ensureRootCa();
  if (step("CARootSecretReconciled", ca ? okStatus() : Status(ca.error())) &&
      step("CASecretReconciled", ensureServingSecret(*ps, *ca))) {
    auto cm = ensure(*config_maps_, configMap(*ps, policies, options_));
    if (step("ConfigMapReconciled", cm ? okStatus() : Status(cm.error()))) {
      auto dep = ensure(*deployments_,
                        deployment(*ps, metaString(*cm, "resourceVersion"), options_));
      if (step("DeploymentReconciled", dep ? okStatus() : Status(dep.error()))) {
        auto svc = ensure(*services_, service(*ps, options_));
        step("ServiceReconciled", svc ? okStatus() : Status(svc.error()));
        if (auto pdb = podDisruptionBudget(*ps, options_)) {
          if (auto s = ensure(*pdbs_, *pdb); !s) error = s.error().message;
        } else if (auto existing = current(*pdbs_, options_.deployments_namespace,
                                           policyServerObjectName(name))) {
          ApiReply r = writer_.remove(pdbs_->type(), options_.deployments_namespace,
                                      policyServerObjectName(name));
          if (!r.ok()) error = r.message;
          forget(pdbs_->type(), options_.deployments_namespace, policyServerObjectName(name));
        }
      }
    }
  }
  status["conditions"] = conditions;
  if (auto s = writeStatus(types_.policy_server, *ps, status); !s && error.empty())
    error = s.error().message;
  return {std::nullopt, error};
}

ReconcileResult Controller::reconcilePolicyServerDeletion(const json& policy_server,
                                                          const std::vector<json>& policies) {
  std::string name = metaString(policy_server, "name");
  if (!policies.empty()) {
    // Upstream 1.10: a PolicyServer goes only after the policies bound to it; deleting them
    // here lets their own finalizers remove their webhooks. Their deletion events bring this
    // PolicyServer back.
    std::string failed;
    for (const json& p : policies) {
      auto kind = policyKind(p);
      ApiReply r = writer_.remove(typeOf(kind), metaString(p, "namespace"), metaString(p, "name"));
      if (!r.ok()) failed = r.message;
    }
    if (!failed.empty())
      return {std::nullopt, "could not remove all policies bound to policy server " + name +
                                ": " + failed};
    spdlog::info("policy server {}: deleting its {} policies first", name, policies.size());
    return {};
  }
  const std::string& ns = options_.deployments_namespace;
  std::string object = policyServerObjectName(name);
  std::string error;
  for (Informer* informer : {deployments_.get(), secrets_.get(), services_.get(),
                             config_maps_.get(), pdbs_.get()}) {
    if (!current(*informer, ns, object)) continue;
    ApiReply r = writer_.remove(informer->type(), ns, object);
    if (!r.ok()) error = r.message;
    forget(informer->type(), ns, object);
  }
  if (!error.empty()) return {std::nullopt, "could not reconcile policy server deletion: " + error};
  if (auto s = removeFinalizer(types_.policy_server, policy_server); !s)
    return {std::nullopt, s.error().message};
  spdlog::info("policy server {} deleted", name);
  return {};
}

Result<std::string> Controller::rootCaPem() {
  auto secret = current(*secrets_, options_.deployments_namespace, kRootCaSecret);
  if (!secret) return makeError("cannot find policy server secret " + std::string(kRootCaSecret));
  auto ca = caFromRootCaSecret(*secret);
  if (!ca) return ca.error();
  return ca->cert_pem;
}

}  // namespace kw::controller
