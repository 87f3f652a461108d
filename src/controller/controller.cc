#include "controller/controller.h"

#include <spdlog/spdlog.h>

#include "common/memory_release.h"
#include "controller/object_diff.h"
#include "controller/queue_keys.h"
#include "controller/webhook_objects.h"

namespace kw::controller {

using json = nlohmann::json;

namespace {

// Built-in types need no discovery round-trip.
const kube::ResourceType kSecret{{"v1", "Secret"}, "secrets", true};
const kube::ResourceType kConfigMap{{"v1", "ConfigMap"}, "configmaps", true};
const kube::ResourceType kService{{"v1", "Service"}, "services", true};
const kube::ResourceType kPod{{"v1", "Pod"}, "pods", true};
const kube::ResourceType kDeployment{{"apps/v1", "Deployment"}, "deployments", true};
const kube::ResourceType kReplicaSet{{"apps/v1", "ReplicaSet"}, "replicasets", true};
const kube::ResourceType kPdb{{"policy/v1", "PodDisruptionBudget"}, "poddisruptionbudgets", true};
const kube::ResourceType kValidating{
    {"admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"},
    "validatingwebhookconfigurations",
    false};
const kube::ResourceType kMutating{
    {"admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"},
    "mutatingwebhookconfigurations",
    false};

const json& metaOf(const json& object) {
  static const json empty = json::object();
  auto it = object.find("metadata");
  return it != object.end() && it->is_object() ? *it : empty;
}

std::string metaString(const json& object, const char* field) {
  return metaOf(object).value(field, "");
}

std::string labelOf(const json& object, std::string_view key) {
  const json& meta = metaOf(object);
  if (auto l = meta.find("labels"); l != meta.end() && l->is_object())
    if (auto v = l->find(std::string(key)); v != l->end() && v->is_string())
      return v->get<std::string>();
  return "";
}

std::string specPolicyServer(const json& policy) {
  auto spec = policy.find("spec");
  if (spec == policy.end() || !spec->is_object()) return "";
  return spec->value("policyServer", "");
}

// Resource versions are etcd revisions in practice; compared as numbers, "" is oldest.
bool newerThan(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return a.size() > b.size();
  return a > b;
}

// "policy-server-<ps>" → "<ps>"; "" for other names.
std::string policyServerFromObjectName(const std::string& name) {
  static const std::string prefix = "policy-server-";
  if (name.rfind(prefix, 0) != 0 || name == kRootCaSecret) return "";
  return name.substr(prefix.size());
}

}  // namespace

Controller::Controller(std::shared_ptr<kube::Client> client, ControllerOptions options,
                       ControllerMetrics& metrics, Tuning tuning)
    : client_(std::move(client)),
      options_(std::move(options)),
      metrics_(metrics),
      tuning_(tuning),
      writer_(client_, &metrics_),
      ps_queue_(tuning.backoff),
      cap_queue_(tuning.backoff),
      ap_queue_(tuning.backoff) {
  metrics_.addQueue("policyserver", &ps_queue_);
  metrics_.addQueue("clusteradmissionpolicy", &cap_queue_);
  metrics_.addQueue("admissionpolicy", &ap_queue_);
}

Controller::~Controller() {
  stop();
}

Status Controller::resolveTypes() {
  const std::string v1 = std::string(kGroup) + "/v1";
  auto ps = client_->resolve({v1, "PolicyServer"});
  if (!ps) return ps.error();
  auto cap = client_->resolve({v1, "ClusterAdmissionPolicy"});
  if (!cap) return cap.error();
  auto ap = client_->resolve({v1, "AdmissionPolicy"});
  if (!ap) return ap.error();
  types_ = {*ps, *cap, *ap};
  return okStatus();
}

void Controller::makeInformers() {
  auto in_ns = [&](const kube::ResourceType& type, std::string label_selector = {}) {
    kube::Reflector::Options o;
    o.drop_managed_fields = true;
    o.ns = options_.deployments_namespace;
    o.selectors.label_selector = std::move(label_selector);
    return std::make_unique<Informer>(client_, type, o);
  };
  auto all = [&](const kube::ResourceType& type, std::string label_selector = {}) {
    kube::Reflector::Options o;
    o.drop_managed_fields = true;
    o.selectors.label_selector = std::move(label_selector);
    return std::make_unique<Informer>(client_, type, o);
  };
  const std::string ps_label(kPolicyServerLabel);
  policy_servers_ = all(types_.policy_server, tuning_.label_selector);
  cluster_policies_ = all(types_.cluster_policy, tuning_.label_selector);
  admission_policies_ = all(types_.admission_policy, tuning_.label_selector);
  // Only ours: a configuration that loses the label drops out of the cache (a DELETED event),
  // which the repair handles like a deletion.
  validating_ = all(kValidating, std::string(kWebhookLabel));
  mutating_ = all(kMutating, std::string(kWebhookLabel));
  secrets_ = in_ns(kSecret);
  config_maps_ = in_ns(kConfigMap, ps_label);
  deployments_ = in_ns(kDeployment, ps_label);
  replica_sets_ = in_ns(kReplicaSet, ps_label);
  pods_ = in_ns(kPod, ps_label);
  services_ = in_ns(kService);
  pdbs_ = in_ns(kPdb);
  informers_ = {policy_servers_.get(), cluster_policies_.get(), admission_policies_.get(),
                validating_.get(),     mutating_.get(),         secrets_.get(),
                config_maps_.get(),    deployments_.get(),      replica_sets_.get(),
                pods_.get(),           services_.get(),         pdbs_.get()};
  for (Informer* informer : informers_)
    metrics_.addInformer(informer->type().plural, &informer->reflector());
  // First listener of each informer: once the watch has caught up with (or deleted) what we
  // wrote, the cache is the truth again, before any handler enqueues work for that object.
  for (Informer* informer : informers_) {
    informer->onChange([this, plural = informer->type().plural](const json& old, const json& now) {
      const json& obj = now.is_null() ? old : now;
      std::lock_guard lock(written_mu_);
      auto it = written_.find({plural, metaString(obj, "namespace"), metaString(obj, "name")});
      if (it == written_.end()) return;
      if (now.is_null() || !newerThan(metaString(it->second, "resourceVersion"),
                                      metaString(now, "resourceVersion")))
        written_.erase(it);
    });
  }
}

void Controller::indexPolicy(PolicyKind kind, const json& old, const json& now) {
  std::lock_guard lock(index_mu_);
  if (!old.is_null()) {
    auto key = std::make_pair(kind, queueKey(metaString(old, "namespace"), metaString(old, "name")));
    auto it = by_policy_server_.find(specPolicyServer(old));
    if (it != by_policy_server_.end()) it->second.erase(key);
  }
  if (!now.is_null()) {
    by_policy_server_[specPolicyServer(now)].insert(
        {kind, queueKey(metaString(now, "namespace"), metaString(now, "name"))});
  }
}

void Controller::enqueuePoliciesOf(const std::string& policy_server) {
  std::lock_guard lock(index_mu_);
  auto it = by_policy_server_.find(policy_server);
  if (it == by_policy_server_.end()) return;
  for (const auto& [kind, key] : it->second) queueOf(kind).add(key);
}

void Controller::enqueueAllPolicyServers() {
  for (const json& ps : policy_servers_->list()) ps_queue_.add(metaString(ps, "name"));
}

std::vector<json> Controller::boundPolicies(const std::string& policy_server) {
  std::vector<std::pair<PolicyKind, std::string>> keys;
  {
    std::lock_guard lock(index_mu_);
    if (auto it = by_policy_server_.find(policy_server); it != by_policy_server_.end())
      keys.assign(it->second.begin(), it->second.end());
  }
  std::vector<json> out;
  for (const auto& [kind, key] : keys) {
    auto [ns, name] = splitQueueKey(key);
    if (auto policy = informerOf(kind).get(ns, name)) out.push_back(std::move(*policy));
  }
  return out;
}

void Controller::wireHandlers() {
  policy_servers_->onChange([this](const json& old, const json& now) {
    const json& obj = now.is_null() ? old : now;
    std::string name = metaString(obj, "name");
    ps_queue_.add(name);
    // Policies care whether their PolicyServer exists or is going away, not about its status.
    bool appeared = old.is_null() || now.is_null();
    bool deleting = metaOf(old).contains("deletionTimestamp") !=
                    metaOf(now).contains("deletionTimestamp");
    if (appeared || deleting) enqueuePoliciesOf(name);
  });
  for (PolicyKind kind : {PolicyKind::kCluster, PolicyKind::kNamespaced}) {
    informerOf(kind).onChange([this, kind](const json& old, const json& now) {
      const json& obj = now.is_null() ? old : now;
      indexPolicy(kind, old, now);
      queueOf(kind).add(queueKey(metaString(obj, "namespace"), metaString(obj, "name")));
      // The PolicyServer's ConfigMap follows the policies' specs and deletions; our own status
      // writes change neither, so they do not wake the PolicyServer.
      bool changed = old.is_null() || now.is_null() ||
                     metaOf(old).value("generation", 0) != metaOf(now).value("generation", 0) ||
                     metaOf(old).contains("deletionTimestamp") !=
                         metaOf(now).contains("deletionTimestamp");
      if (!changed) return;
      if (!old.is_null()) ps_queue_.add(specPolicyServer(old));
      if (!now.is_null()) ps_queue_.add(specPolicyServer(now));
    });
  }
  auto webhook_handler = [this](const json& old, const json& now) {
    for (const json* obj : {&old, &now}) {
      if (obj->is_null()) continue;
      auto ref = policyOfWebhookConfiguration(*obj);
      if (!ref) {
        if (!labelOf(*obj, kWebhookLabel).empty())
          spdlog::info("webhook configuration {} names no policy; ignored",
                       metaString(*obj, "name"));
        continue;
      }
      // Someone deleted or edited a webhook: admission is unguarded until it is back.
      queueOf(ref->kind).addUrgent(queueKey(ref->ns, ref->name));
    }
  };
  validating_->onChange(webhook_handler);
  mutating_->onChange(webhook_handler);
  // Owned objects: a change (or someone's edit) brings their PolicyServer back; ConfigMap,
  // Deployment, ReplicaSets and Pods also move its policies through pending → active.
  auto owned = [this](bool policies_too) {
    return [this, policies_too](const json& old, const json& now) {
      const json& obj = now.is_null() ? old : now;
      std::string name = metaString(obj, "name");
      if (name == kRootCaSecret) {
        enqueueAllPolicyServers();
        return;
      }
      std::string ps = labelOf(obj, kPolicyServerLabel);
      if (ps.empty()) ps = policyServerFromObjectName(name);
      if (ps.empty()) return;
      ps_queue_.add(ps);
      if (policies_too) enqueuePoliciesOf(ps);
    };
  };
  secrets_->onChange(owned(false));
  services_->onChange(owned(false));
  pdbs_->onChange(owned(false));
  config_maps_->onChange(owned(true));
  deployments_->onChange(owned(true));
  auto rollout = [this](const json& old, const json& now) {
    std::string ps = labelOf(now.is_null() ? old : now, kPolicyServerLabel);
    if (!ps.empty()) enqueuePoliciesOf(ps);
  };
  replica_sets_->onChange(rollout);
  pods_->onChange(rollout);
}

Status Controller::start(std::chrono::milliseconds sync_timeout) {
  if (auto s = resolveTypes(); !s)
    return makeError("the Kubewarden CRDs are not served (are they installed?): " +
                     s.error().message);
  makeInformers();
  wireHandlers();
  for (Informer* informer : informers_) informer->start();
  for (Informer* informer : informers_) {
    if (!informer->waitForSync(sync_timeout)) {
      std::string why = informer->reflector().lastError();
      return makeError("cache of " + informer->type().plural + " did not sync" +
                       (why.empty() ? "" : ": " + why));
    }
  }
  synced_.store(true);
  spdlog::info("caches synced; starting workers");
  workers_.emplace_back([this] {
    worker(ps_queue_, "policyserver", [this](const std::string& key) {
      return reconcilePolicyServer(key);
    });
  });
  for (int i = 0; i < tuning_.policy_workers; ++i) {
    workers_.emplace_back([this] {
      worker(cap_queue_, "clusteradmissionpolicy", [this](const std::string& key) {
        return reconcilePolicy(PolicyKind::kCluster, "", key);
      });
    });
    workers_.emplace_back([this] {
      worker(ap_queue_, "admissionpolicy", [this](const std::string& key) {
        auto [ns, name] = splitQueueKey(key);
        return reconcilePolicy(PolicyKind::kNamespaced, ns, name);
      });
    });
  }
  return okStatus();
}

void Controller::stop() {
  ps_queue_.shutdown();
  cap_queue_.shutdown();
  ap_queue_.shutdown();
  for (auto& t : workers_)
    if (t.joinable()) t.join();
  workers_.clear();
  for (Informer* informer : informers_) informer->stop();
}

void Controller::worker(WorkQueue& queue, const std::string& controller,
                        const std::function<ReconcileResult(const std::string&)>& reconcile) {
  while (auto key = queue.get()) {
    auto started = std::chrono::steady_clock::now();
    ReconcileResult result;
    try {
      result = reconcile(*key);
    } catch (const std::exception& e) {  // a malformed object must not end the worker
      result.error = std::string("unexpected error: ") + e.what();
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (!result.error.empty()) {
      spdlog::error("{} {}: {}", controller, *key, result.error);
      metrics_.observeReconcile(controller, "error", seconds);
      queue.addRateLimited(*key);
    } else if (result.requeue_after) {
      metrics_.observeReconcile(controller, "requeue_after", seconds);
      queue.forget(*key);
      queue.addAfter(*key, *result.requeue_after);
    } else {
      metrics_.observeReconcile(controller, "success", seconds);
      queue.forget(*key);
    }
    queue.done(*key);
    // A drained queue ends a burst (the first sync, a PolicyServer's policies): give what it
    // parsed and dropped back to the kernel rather than keep RSS at the burst's peak.
    if (ps_queue_.stats().depth == 0 && cap_queue_.stats().depth == 0 &&
        ap_queue_.stats().depth == 0)
      releaseFreeMemory();
  }
}

std::optional<json> Controller::current(Informer& informer, std::string_view ns,
                                        std::string_view name) {
  auto cached = informer.get(ns, name);
  std::lock_guard lock(written_mu_);
  auto key = std::make_tuple(informer.type().plural, std::string(ns), std::string(name));
  auto it = written_.find(key);
  if (it == written_.end()) return cached;
  std::string written_rv = metaString(it->second, "resourceVersion");
  if (cached && !newerThan(written_rv, metaString(*cached, "resourceVersion"))) {
    written_.erase(it);  // the cache caught up
    return cached;
  }
  return it->second;
}

void Controller::remember(const kube::ResourceType& type, const json& stored) {
  std::lock_guard lock(written_mu_);
  written_[{type.plural, metaString(stored, "namespace"), metaString(stored, "name")}] = stored;
}

void Controller::forget(const kube::ResourceType& type, std::string_view ns,
                        std::string_view name) {
  std::lock_guard lock(written_mu_);
  written_.erase({type.plural, std::string(ns), std::string(name)});
}

Result<json> Controller::ensure(Informer& informer, const json& desired) {
  static const UpdatePolicy policy{
      [](const json& d, const json& c) { return needsUpdate(d, c); },
      [](const json& d, const json& c) { return mergedForUpdate(d, c); }};
  auto cached = current(informer, metaString(desired, "namespace"), metaString(desired, "name"));
  std::string before = cached ? metaString(*cached, "resourceVersion") : "";
  auto stored = writer_.ensure(informer.type(), desired, std::move(cached), policy);
  if (stored && metaString(*stored, "resourceVersion") != before) {
    spdlog::info("{} written", describeObject(desired));
    remember(informer.type(), *stored);
  }
  return stored;
}

Result<json> Controller::ensureFinalizer(const kube::ResourceType& type, const json& object) {
  const json& meta = metaOf(object);
  json finalizers = meta.value("finalizers", json::array());
  for (const json& f : finalizers)
    if (f == kFinalizer) return object;
  finalizers.push_back(kFinalizer);
  // resourceVersion makes the merge patch conditional: a concurrent change gives 409.
  json patch = {{"metadata",
                 {{"finalizers", finalizers}, {"resourceVersion", meta.value("resourceVersion", "")}}}};
  ApiReply r = writer_.mergePatch(type, meta.value("namespace", ""), meta.value("name", ""), patch);
  if (!r.ok()) return makeError(r.message);
  return std::move(r.object);
}

Status Controller::removeFinalizer(const kube::ResourceType& type, const json& object) {
  const json& meta = metaOf(object);
  json finalizers = json::array();
  bool had = false;
  for (const json& f : meta.value("finalizers", json::array())) {
    if (f == kFinalizer) {
      had = true;
    } else {
      finalizers.push_back(f);
    }
  }
  if (!had) return okStatus();
  json patch = {{"metadata",
                 {{"finalizers", finalizers}, {"resourceVersion", meta.value("resourceVersion", "")}}}};
  ApiReply r = writer_.mergePatch(type, meta.value("namespace", ""), meta.value("name", ""), patch);
  if (!r.ok() && r.status != 404) return makeError(r.message);
  return okStatus();
}

Status Controller::writeStatus(const kube::ResourceType& type, json object, const json& status) {
  if (object.value("status", json::object()) == status) return okStatus();
  object["status"] = status;
  ApiReply r = writer_.replaceStatus(type, object);
  if (!r.ok()) return makeError(r.message);
  return okStatus();
}

}  // namespace kw::controller
