// Policy reconcile (spec §4.4–4.5), for ClusterAdmissionPolicy and AdmissionPolicy alike:
// unscheduled → scheduled → pending → active, the webhook configuration once the policy is
// uniquely reachable, the observed mode and conditions; deletion removes the webhook and then
// the finalizer (the PolicyServer drops the ConfigMap entry on the same event).
#include <spdlog/spdlog.h>

#include "controller/controller.h"
#include "controller/policies_config.h"
#include "controller/policy_status.h"
#include "controller/webhook_objects.h"

namespace kw::controller {

using json = nlohmann::json;

ReconcileResult Controller::reconcilePolicyDeletion(PolicyKind kind, const json& policy) {
  std::string unique = uniqueName(policy);
  // Both kinds: `mutating` may have changed since the webhook was made.
  for (Informer* informer : {validating_.get(), mutating_.get()}) {
    if (!current(*informer, "", unique)) continue;
    ApiReply r = writer_.remove(informer->type(), "", unique);
    if (!r.ok()) return {std::nullopt, r.message};
    forget(informer->type(), "", unique);
  }
  if (auto s = removeFinalizer(typeOf(kind), policy); !s) return {std::nullopt, s.error().message};
  return {};
}

ReconcileResult Controller::reconcilePolicy(PolicyKind kind, const std::string& ns,
                                            const std::string& name) {
  auto found = informerOf(kind).get(ns, name);
  if (!found) return {};
  if (found->at("metadata").contains("deletionTimestamp"))
    return reconcilePolicyDeletion(kind, *found);
  auto policy = ensureFinalizer(typeOf(kind), *found);
  if (!policy) return {std::nullopt, policy.error().message};

  const std::string unique = uniqueName(*policy);
  const std::string now = rfc3339Now();
  json status = policy->value("status", json::object());
  json conditions = status.value("conditions", json::array());
  ReconcileResult result;
  // PolicyActive is set once, on the way out: setting it False and then True in one pass would
  // move its lastTransitionTime on every reconcile, and each such write brings the policy back
  // through its own watch (a write loop at scale).
  bool active = false;
  auto finish = [&]() -> ReconcileResult {
    if (active)
      setCondition(conditions, kConditionPolicyActive, true, "PolicyActive",
                   "The policy webhook has been created", now);
    else
      setCondition(conditions, kConditionPolicyActive, false, "PolicyActive",
                   "The policy webhook has not been created", now);
    status["conditions"] = conditions;
    if (auto s = writeStatus(typeOf(kind), *policy, status); !s && result.error.empty())
      result.error = s.error().message;
    return result;
  };

  std::string ps_name = policy->value("spec", json::object()).value("policyServer", "");
  if (ps_name.empty()) {
    status["policyStatus"] = kStatusUnscheduled;
    return finish();
  }
  if (!policy_servers_->get("", ps_name)) {
    status["policyStatus"] = kStatusScheduled;
    return finish();
  }
  if (status.value("policyStatus", "") != kStatusActive) status["policyStatus"] = kStatusPending;

  const std::string& deploy_ns = options_.deployments_namespace;
  const std::string object = policyServerObjectName(ps_name);
  auto deployment = current(*deployments_, deploy_ns, object);
  if (!deployment) return finish();  // its creation event brings this policy back
  auto config_map = current(*config_maps_, deploy_ns, object);
  auto replica_sets = replica_sets_->listByLabel(kPolicyServerLabel, ps_name);
  auto pods = pods_->listByLabel(kPolicyServerLabel, ps_name);

  if (!isPolicyUniquelyReachable(*deployment, config_map, replica_sets, pods, unique)) {
    setCondition(conditions, kConditionUniquelyReachable, false,
                 "LatestReplicaSetIsNotUniquelyReachable",
                 "The latest replica set is not uniquely reachable", now);
    // Pod and ReplicaSet events usually come first; this is upstream's safety net.
    result.requeue_after = tuning_.unreachable_requeue;
  } else {
    setCondition(conditions, kConditionUniquelyReachable, true,
                 "LatestReplicaSetIsUniquelyReachable",
                 "The latest replica set is uniquely reachable", now);
    auto ca_pem = rootCaPem();
    if (!ca_pem) {
      result.error = ca_pem.error().message;
      return finish();
    }
    json desired = webhookConfiguration(*policy, *ca_pem, options_);
    bool mutating = desired.value("kind", "") == "MutatingWebhookConfiguration";
    Informer& target = mutating ? *mutating_ : *validating_;
    Informer& other = mutating ? *validating_ : *mutating_;
    if (auto stored = ensure(target, desired); !stored) {
      result.error = "error reconciling " + std::string(mutating ? "mutating" : "validating") +
                     " webhook: " + stored.error().message;
      return finish();
    }
    if (current(other, "", unique)) {  // `mutating` flipped: the old kind must go
      ApiReply r = writer_.remove(other.type(), "", unique);
      if (!r.ok()) result.error = r.message;
      forget(other.type(), "", unique);
    }
    status["policyStatus"] = kStatusActive;
    active = true;
  }
  status["mode"] = config_map ? observedPolicyMode(*config_map, unique) : "unknown";
  setConfigurationCondition(conditions, *deployment, config_map, now);
  return finish();
}

}  // namespace kw::controller
