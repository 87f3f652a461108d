#include "reports/kubernetes_store.h"

#include "common/percent_encode.h"

namespace kw::reports {
namespace {

using json = nlohmann::json;
constexpr const char* kBase = "/apis/wgpolicyk8s.io/v1alpha2";
constexpr const char* kMetadataListAccept =
    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";

std::string describe(const std::string& ns, const std::string& name) {
  return ns.empty() ? "ClusterPolicyReport " + name : "PolicyReport " + ns + "/" + name;
}

// Our part of the report written over the stored object: what the scanner owns is replaced,
// the rest (annotations, other labels, fields we do not know) is kept.
json mergeInto(json stored, const json& ours) {
  json& meta = stored["metadata"];
  const json labels = ours["metadata"].value("labels", json::object());  // outlives the loop
  for (const auto& [k, v] : labels.items()) meta["labels"][k] = v;
  if (ours["metadata"].contains("ownerReferences"))
    meta["ownerReferences"] = ours["metadata"]["ownerReferences"];
  if (ours.contains("scope")) {
    stored["scope"] = ours["scope"];
  } else {
    stored.erase("scope");
  }
  stored["summary"] = ours["summary"];
  stored["results"] = ours["results"];
  stored["apiVersion"] = ours["apiVersion"];
  return stored;
}

// Whether saving `next` over `read` would change what is stored. The run label and the
// resourceVersion change on every run without the report changing; summaries are compared as
// a save computes them.
bool sameContent(PolicyReport read, const PolicyReport& next) {
  recomputeSummary(read);
  auto labels = [](std::map<std::string, std::string> l) {
    l.erase(kRunUidLabel);
    return l;
  };
  return read.kind == next.kind && read.name == next.name && read.ns == next.ns &&
         labels(read.labels) == labels(next.labels) && read.owners == next.owners &&
         read.scope == next.scope && read.summary == next.summary && read.results == next.results;
}

}  // namespace

std::string reportCollectionPath(const std::string& ns, bool cluster) {
  if (cluster) return std::string(kBase) + "/clusterpolicyreports";
  if (ns.empty()) return std::string(kBase) + "/policyreports";  // every namespace (list only)
  return std::string(kBase) + "/namespaces/" + ns + "/policyreports";
}

std::string reportPath(const std::string& ns, const std::string& name) {
  return reportCollectionPath(ns, ns.empty()) + "/" + name;
}

KubernetesStore::KubernetesStore(std::shared_ptr<kube::Client> client, Options options)
    : client_(std::move(client)), options_(std::move(options)) {}

Status KubernetesStore::beginRun(const std::string& run_uid) {
  std::lock_guard lock(mu_);
  touched_.clear();
  return run_.begin(run_uid);
}

void KubernetesStore::remember(const std::string& path, PolicyReport report) {
  std::lock_guard lock(mu_);
  read_[path] = std::move(report);
}

bool KubernetesStore::unchangedSinceRead(const std::string& path, const PolicyReport& next) {
  std::optional<PolicyReport> read;
  {
    std::lock_guard lock(mu_);
    touched_.insert(path);
    auto it = read_.find(path);
    if (it == read_.end()) return false;
    read = std::move(it->second);
    read_.erase(it);  // one skip per read: a later save reads again
  }
  return sameContent(std::move(*read), next);
}

Status KubernetesStore::commitRun() {
  std::lock_guard lock(mu_);
  return run_.commit();
}

Status KubernetesStore::abortRun() {
  std::lock_guard lock(mu_);
  run_.abort();
  return okStatus();
}

std::string KubernetesStore::currentRun() {
  std::lock_guard lock(mu_);
  return run_.uid();
}

Result<std::optional<PolicyReport>> KubernetesStore::get(const std::string& ns,
                                                         const std::string& name) {
  auto reply = client_->request("GET", reportPath(ns, name));
  if (!reply) return reply.error();
  if (reply->status == 404) return std::optional<PolicyReport>();
  if (reply->status != 200)
    return kube::apiError(reply->status, reply->body, "reading " + describe(ns, name));
  if (auto fast = reportFromJsonText(reply->body)) {
    remember(reportPath(ns, name), *fast);
    return fast;
  }
  json doc = json::parse(reply->body, nullptr, false);
  if (doc.is_discarded())
    return makeError(describe(ns, name) + ": the API server's reply is not JSON");
  auto report = reportFromJson(doc);
  if (!report) return makeError(describe(ns, name) + ": " + report.error().message);
  remember(reportPath(ns, name), *report);
  return std::optional<PolicyReport>(std::move(*report));
}

Status KubernetesStore::save(PolicyReport report) {
  if (report.name.empty()) return makeError("a policy report needs a name");
  bool cluster = report.kind == ReportKind::kClusterPolicyReport;
  if (cluster != report.ns.empty())
    return makeError("report " + report.name +
                     (cluster ? ": a ClusterPolicyReport has no namespace"
                              : ": a PolicyReport needs a namespace"));
  // Stamped with the run so deleteStale can tell this run's reports from older ones.
  if (std::string run = currentRun(); !run.empty()) report.labels[kRunUidLabel] = run;
  recomputeSummary(report);
  report.resource_version.clear();
  const std::string what = describe(report.ns, report.name);
  const std::string path = reportPath(report.ns, report.name);
  if (unchangedSinceRead(path, report)) return okStatus();
  const json ours = toJson(report);
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    auto current = client_->request("GET", path);
    if (!current) return current.error();
    if (current->status != 200 && current->status != 404)
      return kube::apiError(current->status, current->body, "reading " + what);
    if (options_.before_write) options_.before_write(report.ns, report.name, attempt);
    Result<kube::Client::Reply> written = makeError("unreachable");
    if (current->status == 404) {
      written = client_->request("POST", reportCollectionPath(report.ns, cluster), ours.dump(),
                                 "application/json");
    } else {
      json stored = json::parse(current->body, nullptr, false);
      if (stored.is_discarded() || !stored.is_object())
        return makeError(what + ": the API server's reply is not a JSON object");
      written = client_->request("PUT", path, mergeInto(std::move(stored), ours).dump(),
                                 "application/json");
    }
    if (!written) return written.error();
    if (written->status == 200 || written->status == 201) return okStatus();
    // 409: created or changed by someone else since our read; start again from theirs.
    if (written->status != 409)
      return kube::apiError(written->status, written->body,
                            (current->status == 404 ? "creating " : "updating ") + what);
  }
  return makeError("saving " + what + ": still conflicting with other writers after " +
                   std::to_string(options_.max_attempts) + " attempts");
}

Result<std::optional<PolicyReport>> KubernetesStore::getNamespaceReport(const std::string& ns) {
  return get(ns, kNamespaceReportPrefix + ns);
}

Result<std::optional<PolicyReport>> KubernetesStore::getClusterReport() {
  return get("", kClusterReportName);
}

Status KubernetesStore::saveNamespaceReport(const PolicyReport& report) {
  return save(report);
}

Status KubernetesStore::saveClusterReport(const PolicyReport& report) {
  return save(report);
}

Result<std::optional<PolicyReport>> KubernetesStore::getResourceReport(const std::string& ns,
                                                                       const std::string& uid) {
  return get(ns, uid);
}

Status KubernetesStore::saveResourceReport(const PolicyReport& report) {
  return save(report);
}

Status KubernetesStore::deleteListed(const std::string& list_path, bool cluster) {
  // Ours, and not this run's: an unchanged report keeps the label of the run that wrote it, so
  // the run's own are told apart by touched_ below.
  const std::string selector = std::string(kManagedByLabel) + "=" + kManagedByValue;
  std::string next;
  do {
    std::string url = list_path + "?limit=500&labelSelector=" + percentEncode(selector);
    if (!next.empty()) url += "&continue=" + percentEncode(next);
    // Names are all this reads: metadata only, not every report's results (a full page of
    // 1,000-result reports is hundreds of megabytes once parsed).
    auto reply = client_->request("GET", url, {}, {}, kMetadataListAccept);
    if (!reply) return reply.error();
    if (reply->status != 200)
      return kube::apiError(reply->status, reply->body, "listing stale reports at " + list_path);
    json page = json::parse(reply->body, nullptr, false);
    if (page.is_discarded()) return makeError("listing stale reports: the reply is not JSON");
    const json items = page.value("items", json::array());
    for (const json& item : items) {
      const json meta = item.value("metadata", json::object());
      std::string ns = cluster ? "" : meta.value("namespace", "");
      std::string name = meta.value("name", "");
      {
        std::lock_guard lock(mu_);
        if (touched_.contains(reportPath(ns, name))) continue;  // this run's
      }
      auto gone = client_->request("DELETE", reportPath(ns, name));
      if (!gone) return gone.error();
      if (gone->status != 200 && gone->status != 202 && gone->status != 404)
        return kube::apiError(gone->status, gone->body, "deleting stale " + describe(ns, name));
    }
    next = page.value("metadata", json::object()).value("continue", "");
  } while (!next.empty());
  return okStatus();
}

Status KubernetesStore::deleteStale(const StaleScope& scope) {
  if (currentRun().empty()) return makeError("deleteStale needs a run in progress");
  switch (scope.which) {
    case StaleScope::Which::kNamespace:
      return deleteListed(reportCollectionPath(scope.ns, false), false);
    case StaleScope::Which::kClusterWide:
      return deleteListed(reportCollectionPath("", true), true);
    case StaleScope::Which::kAll:
      if (auto s = deleteListed(reportCollectionPath("", false), false); !s) return s;
      return deleteListed(reportCollectionPath("", true), true);
  }
  return okStatus();
}

}  // namespace kw::reports
