#include "audit/scanner.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <random>
#include <set>
#include <thread>

#include "audit/report_builder.h"
#include "audit/review.h"
#include "common/percent_encode.h"
#include "controller/names.h"
#include "kube/selector.h"

namespace kw::audit {
namespace {

using json = nlohmann::json;
using reports::Outcome;

// Requests in flight are bounded by the parallel flags; threads beyond this many would only
// add memory on the small machines a scanner runs on.
constexpr size_t kMaxThreads = 128;

kube::Labels labelsOf(const json& object) {
  kube::Labels out;
  const json meta = object.value("metadata", json::object());
  if (meta.contains("labels") && meta["labels"].is_object())
    for (const auto& [k, v] : meta["labels"].items())
      if (v.is_string()) out.emplace_back(k, v.get<std::string>());
  return out;
}

// A selector string parsed; an unparsable one matches nothing (and was reported at load).
bool selects(const std::string& selector, const json& object) {
  if (selector.empty()) return true;
  auto parsed = kube::LabelSelector::parse(selector);
  return parsed && parsed->matches(labelsOf(object));
}

bool skippedStatus(const Error& e) {
  return e.message.find("(403)") != std::string::npos ||
         e.message.find("(404)") != std::string::npos;
}

}  // namespace

struct Scanner::Scope {
  std::string ns;  // "" for cluster-scoped resources
  reports::ObjectRef ns_ref;
  std::vector<const AuditPolicy*> auditable;
  int64_t skipped = 0;  // policies that apply here but are not auditable
  ReuseIndex reuse;     // namespace granularity: the previous report's results
  std::mutex mu;
  std::vector<reports::ReportResult> results;
};

std::string newRunUid() {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd());
  uint64_t hi = gen(), lo = gen();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  char text[37];
  std::snprintf(text, sizeof text, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return text;
}

std::string ScanSummary::line() const {
  return "audit scan " + run_uid + ": " + std::to_string(namespaces) + " namespaces, " +
         std::to_string(resources) + " resources, " + std::to_string(evaluations) +
         " evaluations, " + std::to_string(reused) + " reused; pass " + std::to_string(pass) +
         ", fail " + std::to_string(fail) + ", error " + std::to_string(error) +
         ", skipped policies " + std::to_string(skipped_policies) + "; " + std::to_string(reports) +
         " reports written" +
         (failed_scopes ? ", " + std::to_string(failed_scopes) + " scopes failed" : "") + " in " +
         std::to_string(elapsed_ms) + " ms";
}

Scanner::Scanner(ScanOptions options, std::shared_ptr<kube::Client> client,
                 reports::ReportStore& store, PolicyServerClient& http)
    : options_(std::move(options)),
      client_(std::move(client)),
      store_(store),
      http_(http),
      discovery_(client_),
      pool_(std::min<size_t>(kMaxThreads, std::max(1, options_.maxInFlight()))) {}

Result<std::vector<json>> Scanner::listAll(const std::string& path) {
  std::vector<json> items;
  std::string cont;
  do {
    std::string query = path + (path.find('?') == std::string::npos ? "?" : "&") +
                        "limit=" + std::to_string(options_.page_size) +
                        (cont.empty() ? "" : "&continue=" + percentEncode(cont));
    auto reply = client_->request("GET", query);
    if (!reply) return reply.error();
    if (reply->status != 200) return kube::apiError(reply->status, reply->body, "listing " + path);
    json page = json::parse(reply->body, nullptr, false);
    if (page.is_discarded()) return makeError("listing " + path + ": malformed JSON");
    for (json& item : page["items"]) items.push_back(std::move(item));
    cont = page["metadata"].value("continue", "");
  } while (!cont.empty());
  return items;
}

Status Scanner::loadPolicies() {
  const std::string base = "/apis/policies.kubewarden.io/v1/";
  for (auto [path, out] : {std::pair{base + "clusteradmissionpolicies", &cluster_policies_},
                           std::pair{base + "admissionpolicies", &ns_policies_}}) {
    auto items = listAll(path);
    if (!items) return items.error();
    for (const json& item : *items) {
      auto policy = parsePolicy(item);
      if (!policy) return policy.error();
      out->push_back(std::move(*policy));
    }
  }
  spdlog::info("{} ClusterAdmissionPolicies, {} AdmissionPolicies", cluster_policies_.size(),
               ns_policies_.size());
  return okStatus();
}

void Scanner::countResult(Outcome outcome) {
  if (outcome == Outcome::kPass) ++counters_.pass;
  if (outcome == Outcome::kFail) ++counters_.fail;
  if (outcome == Outcome::kError) ++counters_.error;
}

Result<std::shared_ptr<TargetSet>> Scanner::targetsFor(const std::string& ps) {
  std::lock_guard lock(targets_mu_);
  if (auto it = targets_.find(ps); it != targets_.end()) return it->second;
  auto resolve = [&]() -> Result<std::shared_ptr<TargetSet>> {
    if (!options_.policy_server_url.empty()) {
      std::string url = options_.policy_server_url;
      while (!url.empty() && url.back() == '/') url.pop_back();
      return std::make_shared<TargetSet>(std::vector<Target>{{url, ""}});
    }
    const std::string ns_path = "/api/v1/namespaces/" + options_.kubewarden_ns;
    auto services = listAll(ns_path + "/services?labelSelector=" +
                            percentEncode("app=" + controller::policyServerAppLabel(ps)));
    if (!services) return services.error();
    if (services->size() != 1)
      return makeError("PolicyServer " + ps + ": expected one Service labelled app=" +
                       controller::policyServerAppLabel(ps) + " in namespace " +
                       options_.kubewarden_ns + ", found " + std::to_string(services->size()));
    const json& svc = services->front();
    auto base = serviceBaseUrl(svc);
    if (!base) return base.error();
    std::string port_name = svc["spec"]["ports"][0].value("name", "");
    auto slices = listAll(
        "/apis/discovery.k8s.io/v1/namespaces/" + options_.kubewarden_ns +
        "/endpointslices?labelSelector=" +
        percentEncode("kubernetes.io/service-name=" + svc["metadata"]["name"].get<std::string>()));
    std::vector<Target> targets;
    if (slices) {
      targets = readyTargets(json(*slices), port_name, *base);
    } else {
      // Without the right to list EndpointSlices the scan still works, through the Service.
      spdlog::warn("PolicyServer {}: cannot list its EndpointSlices: {}", ps,
                   slices.error().message);
    }
    if (targets.empty()) {
      spdlog::warn("PolicyServer {}: no ready endpoints, using its Service {}", ps, *base);
      targets.push_back({*base, ""});
    } else {
      spdlog::info("PolicyServer {}: {} ready endpoints", ps, targets.size());
    }
    return std::make_shared<TargetSet>(std::move(targets));
  };
  auto result = resolve();
  if (!result) spdlog::error("{}", result.error().message);
  targets_.emplace(ps, result);
  return result;
}

reports::ReportResult Scanner::evaluate(const AuditPolicy& policy,
                                        const reports::ObjectRef& subject,
                                        const std::string& review) {
  auto targets = targetsFor(policy.policy_server);
  Verdict verdict{Outcome::kError, ""};
  if (!targets) {
    verdict.message = targets.error().message;
  } else {
    ++counters_.evaluations;
    auto reply = http_.post((*targets)->next(), "/audit/" + policy.unique_name, review);
    if (!reply) {
      verdict.message = reply.error().message;
    } else {
      verdict = verdictOf(reply->status, reply->body);
    }
    if (verdict.outcome == Outcome::kError)
      spdlog::warn("{} on {}/{}: {}", policy.unique_name, subject.ns, subject.name,
                   verdict.message);
  }
  return reports::makeResult(policy.info, subject, verdict.outcome, verdict.message);
}

Status Scanner::auditGvr(Scope& scope, const Gvr& gvr,
                         const std::vector<const AuditPolicy*>& policies) {
  auto type = discovery_.find(gvr);
  if (!type) return type.error();
  if (!*type) {
    spdlog::warn("{}: not served by the API server, skipped", gvr.str());
    return okStatus();
  }
  if ((*type)->namespaced == scope.ns.empty()) return okStatus();  // the other scope's
  kube::Client::ListOptions list;
  list.ns = scope.ns;
  list.limit = options_.page_size;
  auto listed = client_->listPages(**type, list, [&](json& page) -> Status {
    json& items = page["items"];
    std::vector<std::function<void()>> tasks;
    for (json& item : items) {
      // Lists leave out each item's apiVersion and kind; the review and the report need them.
      item["apiVersion"] = (*type)->key.api_version;
      item["kind"] = (*type)->key.kind;
      reports::ObjectRef subject = subjectOf(item);
      ReuseIndex resource_reuse;
      const ReuseIndex* reuse = &scope.reuse;
      if (options_.per_resource_reports) {
        auto previous = store_.getResourceReport(subject.ns, subject.uid);
        if (previous && *previous) resource_reuse.add(**previous);
        reuse = &resource_reuse;
      }
      auto review = std::make_shared<std::string>();
      bool checked = false;
      for (const AuditPolicy* policy : policies) {
        if (!selects(policy->object_selector, item)) continue;
        checked = true;
        if (const reports::ReportResult* old = reuse->find(policy->info, subject)) {
          ++counters_.reused;
          countResult(old->result);
          std::lock_guard lock(scope.mu);
          scope.results.push_back(*old);
          continue;
        }
        if (review->empty()) *review = buildReview(item, gvr).dump();
        tasks.push_back([this, &scope, policy, subject, review] {
          reports::ReportResult r = evaluate(*policy, subject, *review);
          countResult(r.result);
          std::lock_guard lock(scope.mu);
          scope.results.push_back(std::move(r));
        });
      }
      if (checked) ++counters_.resources;
    }
    pool_.runAll(std::move(tasks));
    return okStatus();
  });
  if (!listed && skippedStatus(listed.error())) {
    spdlog::warn("{}: {}; skipped", gvr.str(), listed.error().message);
    return okStatus();
  }
  return listed;
}

Status Scanner::auditScope(Scope& scope) {
  std::map<Gvr, std::vector<const AuditPolicy*>> by_gvr;
  for (const AuditPolicy* p : scope.auditable)
    for (const Gvr& gvr : p->gvrs) by_gvr[gvr].push_back(p);
  for (const auto& [gvr, policies] : by_gvr)
    if (auto s = auditGvr(scope, gvr, policies); !s) return s;
  return save(scope);
}

Status Scanner::saveReport(const reports::PolicyReport& report, bool ns_report) {
  Status s = report.granularity() == reports::Granularity::kResource
                 ? store_.saveResourceReport(report)
             : ns_report ? store_.saveNamespaceReport(report)
                         : store_.saveClusterReport(report);
  if (!s) return s;
  ++counters_.reports;
  if (options_.output_scan) {
    std::string text = reports::toJson(report).dump();
    std::lock_guard lock(out_mu_);
    std::cout << text << "\n";
  }
  return okStatus();
}

Status Scanner::save(Scope& scope) {
  if (!options_.per_resource_reports)
    return saveReport(scopeReport(scope.ns_ref, std::move(scope.results), scope.skipped, run_uid_),
                      !scope.ns.empty());
  for (const reports::PolicyReport& report : resourceReports(std::move(scope.results), run_uid_))
    if (auto s = saveReport(report, false); !s) return s;
  return okStatus();
}

Status Scanner::scanCluster() {
  Scope scope;
  for (const AuditPolicy& p : cluster_policies_) {
    if (p.auditable)
      scope.auditable.push_back(&p);
    else
      ++scope.skipped;
  }
  counters_.skipped_policies += scope.skipped;
  if (!options_.per_resource_reports) {
    auto previous = store_.getClusterReport();
    if (!previous) return previous.error();
    if (*previous) scope.reuse.add(**previous);
  }
  return auditScope(scope);
}

Status Scanner::scanNamespace(const json& ns_object) {
  Scope scope;
  scope.ns_ref = subjectOf(ns_object);
  scope.ns = scope.ns_ref.name;
  const kube::Labels labels = labelsOf(ns_object);
  auto consider = [&](const AuditPolicy& p) {
    if (p.auditable)
      scope.auditable.push_back(&p);
    else
      ++scope.skipped;
  };
  for (const AuditPolicy& p : ns_policies_)
    if (p.info.ns == scope.ns) consider(p);
  for (const AuditPolicy& p : cluster_policies_) {
    auto selector = kube::LabelSelector::parse(p.namespace_selector);
    if (!selector)
      return makeError(p.unique_name + ": namespaceSelector " + selector.error().message);
    if (selector->matches(labels)) consider(p);
  }
  counters_.skipped_policies += scope.skipped;
  ++counters_.namespaces;
  if (!options_.per_resource_reports) {
    auto previous = store_.getNamespaceReport(scope.ns);
    if (!previous) return previous.error();
    if (*previous) scope.reuse.add(**previous);
  }
  spdlog::debug("namespace {}: {} auditable policies, {} skipped", scope.ns, scope.auditable.size(),
                scope.skipped);
  return auditScope(scope);
}

Status Scanner::scanNamespaces() {
  std::vector<json> namespaces;
  if (!options_.ns.empty()) {
    auto reply = client_->request("GET", "/api/v1/namespaces/" + options_.ns);
    if (!reply) return reply.error();
    if (reply->status != 200)
      return kube::apiError(reply->status, reply->body, "reading namespace " + options_.ns);
    namespaces.push_back(json::parse(reply->body));
  } else {
    auto all = listAll("/api/v1/namespaces");
    if (!all) return all.error();
    std::set<std::string> skip(options_.ignore_namespaces.begin(),
                               options_.ignore_namespaces.end());
    skip.insert(options_.kubewarden_ns);
    for (json& n : *all)
      if (!skip.count(n["metadata"].value("name", ""))) namespaces.push_back(std::move(n));
  }
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < namespaces.size();) {
      if (Status s = scanNamespace(namespaces[i]); !s) {
        ++counters_.failed_scopes;
        spdlog::error("namespace {}: {}", namespaces[i]["metadata"].value("name", ""),
                      s.error().message);
      }
    }
  };
  std::vector<std::thread> threads;
  size_t n = std::min<size_t>(std::max(1, options_.parallel_namespaces), namespaces.size());
  for (size_t i = 1; i < n; ++i) threads.emplace_back(worker);
  worker();
  for (std::thread& t : threads) t.join();
  return okStatus();
}

Result<ScanSummary> Scanner::run() {
  auto started = std::chrono::steady_clock::now();
  run_uid_ = newRunUid();
  if (auto s = loadPolicies(); !s) return s.error();
  if (auto s = store_.beginRun(run_uid_); !s) return s.error();
  auto fail = [&](const Error& e) -> Result<ScanSummary> {
    (void)store_.abortRun();
    return e;
  };
  if (options_.ns.empty()) {
    if (Status s = scanCluster(); !s) {
      ++counters_.failed_scopes;
      spdlog::error("cluster-wide resources: {}", s.error().message);
    }
  }
  if (!options_.cluster_only)
    if (Status s = scanNamespaces(); !s) return fail(s.error());
  // A scope that failed wrote no report this run: deleting "stale" reports would drop its
  // previous, still valid one.
  if (counters_.failed_scopes == 0) {
    auto scope = !options_.ns.empty()    ? reports::StaleScope::namespaced(options_.ns)
                 : options_.cluster_only ? reports::StaleScope::clusterWide()
                                         : reports::StaleScope::all();
    if (Status s = store_.deleteStale(scope); !s) return fail(s.error());
  } else {
    spdlog::warn("stale reports kept: {} scopes could not be scanned",
                 counters_.failed_scopes.load());
  }
  if (Status s = store_.commitRun(); !s) return s.error();
  ScanSummary out;
  out.run_uid = run_uid_;
  out.namespaces = counters_.namespaces;
  out.resources = counters_.resources;
  out.evaluations = counters_.evaluations;
  out.reused = counters_.reused;
  out.pass = counters_.pass;
  out.fail = counters_.fail;
  out.error = counters_.error;
  out.skipped_policies = counters_.skipped_policies;
  out.reports = counters_.reports;
  out.failed_scopes = counters_.failed_scopes;
  out.elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now() - started)
                       .count();
  return out;
}

}  // namespace kw::audit
