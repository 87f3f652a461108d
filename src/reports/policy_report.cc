#include "reports/policy_report.h"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

namespace kw::reports {
namespace {

using json = nlohmann::json;

bool knownSeverity(const std::string& s) {
  return s == "critical" || s == "high" || s == "medium" || s == "low" || s == "info";
}

void putIfSet(json& j, const char* key, const std::string& value) {
  if (!value.empty()) j[key] = value;
}

// An optional string member; a present member of another type is an error naming it.
Result<std::string> optString(const json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::string();
  if (!it->is_string()) return makeError(where + "." + key + " must be a string");
  return it->get<std::string>();
}

Result<int64_t> optInt(const json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return int64_t{0};
  if (!it->is_number_integer()) return makeError(where + "." + key + " must be an integer");
  return it->get<int64_t>();
}

Result<std::map<std::string, std::string>> stringMap(const json& j, const char* key,
                                                     const std::string& where) {
  std::map<std::string, std::string> out;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return out;
  if (!it->is_object()) return makeError(where + "." + key + " must be an object");
  for (const auto& [k, v] : it->items()) {
    if (!v.is_string()) return makeError(where + "." + key + "." + k + " must be a string");
    out[k] = v.get<std::string>();
  }
  return out;
}

}  // namespace

const char* outcomeName(Outcome o) {
  switch (o) {
    case Outcome::kPass:
      return "pass";
    case Outcome::kFail:
      return "fail";
    case Outcome::kWarn:
      return "warn";
    case Outcome::kError:
      return "error";
    case Outcome::kSkip:
      return "skip";
  }
  return "error";
}

Result<Outcome> parseOutcome(const std::string& text) {
  for (Outcome o :
       {Outcome::kPass, Outcome::kFail, Outcome::kWarn, Outcome::kError, Outcome::kSkip})
    if (text == outcomeName(o)) return o;
  return makeError("unknown result \"" + text + "\" (expected pass, fail, warn, error or skip)");
}

std::string reportPolicyName(const PolicyInfo& policy) {
  return (policy.cluster_wide ? "cap-" : "ap-") + policy.name;
}

Timestamp Timestamp::now() {
  auto since = std::chrono::system_clock::now().time_since_epoch();
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(since);
  auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(since - secs);
  return {secs.count(), static_cast<int32_t>(nanos.count())};
}

std::string ReportResult::subjectUid() const {
  return resources.empty() ? std::string() : resources.front().uid;
}

std::string ReportResult::policyUid() const {
  auto it = properties.find(kPropPolicyUid);
  return it == properties.end() ? std::string() : it->second;
}

ReportResult makeResult(const PolicyInfo& policy, const ObjectRef& subject, Outcome outcome,
                        std::string message, Timestamp at) {
  ReportResult r;
  r.policy = reportPolicyName(policy);
  r.rule = policy.name;
  r.category = policy.category;
  // Monitor mode reports as informational whatever the annotation says.
  if (policy.monitor) {
    r.severity = "info";
  } else if (knownSeverity(policy.severity)) {
    r.severity = policy.severity;
  }
  r.scored = !r.severity.empty();
  r.result = outcome;
  r.timestamp = at;
  r.resources.push_back(subject);
  if (outcome != Outcome::kPass) r.message = std::move(message);
  r.properties[policy.mutating ? "mutating" : "validating"] = "true";
  if (policy.context_aware) r.properties["context-aware"] = "true";
  r.properties[kPropPolicyResourceVersion] = policy.resource_version;
  r.properties[kPropPolicyUid] = policy.uid;
  return r;
}

Granularity PolicyReport::granularity() const {
  if (labels.count(kReportVersionLabel)) return Granularity::kResource;
  return kind == ReportKind::kClusterPolicyReport ? Granularity::kCluster : Granularity::kNamespace;
}

std::string PolicyReport::runUid() const {
  auto it = labels.find(kRunUidLabel);
  return it == labels.end() ? std::string() : it->second;
}

PolicyReport namespaceReport(const ObjectRef& ns_object, const std::string& run_uid) {
  PolicyReport r;
  r.kind = ReportKind::kPolicyReport;
  r.name = kNamespaceReportPrefix + ns_object.name;
  r.ns = ns_object.name;
  r.labels[kManagedByLabel] = kManagedByValue;
  if (!run_uid.empty()) r.labels[kRunUidLabel] = run_uid;
  ObjectRef scope = ns_object;
  if (scope.kind.empty()) scope.kind = "Namespace";
  if (scope.api_version.empty()) scope.api_version = "v1";
  scope.ns.clear();
  r.scope = scope;
  return r;
}

PolicyReport clusterReport(const std::string& run_uid) {
  PolicyReport r;
  r.kind = ReportKind::kClusterPolicyReport;
  r.name = kClusterReportName;
  r.labels[kManagedByLabel] = kManagedByValue;
  if (!run_uid.empty()) r.labels[kRunUidLabel] = run_uid;
  return r;
}

PolicyReport resourceReport(const ObjectRef& resource, const std::string& run_uid) {
  PolicyReport r;
  r.kind = resource.ns.empty() ? ReportKind::kClusterPolicyReport : ReportKind::kPolicyReport;
  r.name = resource.uid;
  r.ns = resource.ns;
  r.labels[kManagedByLabel] = kManagedByValue;
  r.labels[kReportVersionLabel] = kReportVersionValue;
  if (!run_uid.empty()) r.labels[kRunUidLabel] = run_uid;
  // The API server's garbage collector deletes the report with the resource.
  r.owners.push_back({resource.api_version, resource.kind, resource.name, resource.uid});
  r.scope = resource;
  return r;
}

void recomputeSummary(PolicyReport& report) {
  Summary s;
  for (const ReportResult& r : report.results) {
    switch (r.result) {
      case Outcome::kPass:
        ++s.pass;
        break;
      case Outcome::kFail:
        ++s.fail;
        break;
      case Outcome::kWarn:
        ++s.warn;
        break;
      case Outcome::kError:
        ++s.error;
        break;
      case Outcome::kSkip:
        ++s.skip;
        break;
    }
  }
  s.skip += report.skipped_policies;
  report.summary = s;
}

void upsertResult(PolicyReport& report, ReportResult result) {
  const std::string subject = result.subjectUid();
  const std::string policy = result.policyUid();
  auto same = std::find_if(report.results.begin(), report.results.end(), [&](const auto& r) {
    return r.subjectUid() == subject && r.policyUid() == policy;
  });
  if (same != report.results.end()) {
    *same = std::move(result);
  } else {
    report.results.push_back(std::move(result));
  }
  recomputeSummary(report);
}

size_t dropStale(PolicyReport& report, const std::set<std::string>& live_resources,
                 const std::set<std::string>& live_policies) {
  size_t before = report.results.size();
  std::erase_if(report.results, [&](const ReportResult& r) {
    return !live_resources.count(r.subjectUid()) || !live_policies.count(r.policyUid());
  });
  recomputeSummary(report);
  return before - report.results.size();
}

const ReportResult* findReusable(const PolicyReport& report, const PolicyInfo& policy,
                                 const ObjectRef& resource) {
  for (const ReportResult& r : report.results) {
    auto rv = r.properties.find(kPropPolicyResourceVersion);
    if (r.policyUid() != policy.uid || rv == r.properties.end() ||
        rv->second != policy.resource_version)
      continue;
    for (const ObjectRef& subject : r.resources)
      if (subject.uid == resource.uid && subject.resource_version == resource.resource_version)
        return &r;
  }
  return nullptr;
}

json toJson(const ObjectRef& ref) {
  json j = json::object();
  putIfSet(j, "apiVersion", ref.api_version);
  putIfSet(j, "kind", ref.kind);
  putIfSet(j, "namespace", ref.ns);
  putIfSet(j, "name", ref.name);
  putIfSet(j, "uid", ref.uid);
  putIfSet(j, "resourceVersion", ref.resource_version);
  return j;
}

json toJson(const ReportResult& r) {
  json j = {{"source", r.source}, {"policy", r.policy}};
  putIfSet(j, "rule", r.rule);
  putIfSet(j, "category", r.category);
  putIfSet(j, "severity", r.severity);
  if (r.scored) j["scored"] = true;
  j["result"] = outcomeName(r.result);
  j["timestamp"] = {{"seconds", r.timestamp.seconds}, {"nanos", r.timestamp.nanos}};
  if (!r.resources.empty()) {
    json subjects = json::array();
    for (const ObjectRef& ref : r.resources) subjects.push_back(toJson(ref));
    j["resources"] = std::move(subjects);
  }
  j["resourceSelector"] = json::object();
  putIfSet(j, "message", r.message);
  if (!r.properties.empty()) j["properties"] = r.properties;
  return j;
}

json toJson(const PolicyReport& report) {
  json meta = {{"name", report.name}};
  if (report.kind == ReportKind::kPolicyReport) meta["namespace"] = report.ns;
  if (!report.labels.empty()) meta["labels"] = report.labels;
  if (!report.owners.empty()) {
    json owners = json::array();
    for (const OwnerRef& o : report.owners)
      owners.push_back(
          {{"apiVersion", o.api_version}, {"kind", o.kind}, {"name", o.name}, {"uid", o.uid}});
    meta["ownerReferences"] = std::move(owners);
  }
  if (!report.resource_version.empty()) meta["resourceVersion"] = report.resource_version;
  json j = {
      {"apiVersion", kApiVersion},
      {"kind", report.kind == ReportKind::kPolicyReport ? "PolicyReport" : "ClusterPolicyReport"},
      {"metadata", std::move(meta)}};
  if (report.scope) j["scope"] = toJson(*report.scope);
  const Summary& s = report.summary;
  j["summary"] = {
      {"pass", s.pass}, {"fail", s.fail}, {"warn", s.warn}, {"error", s.error}, {"skip", s.skip}};
  json results = json::array();
  for (const ReportResult& r : report.results) results.push_back(toJson(r));
  j["results"] = std::move(results);
  return j;
}

Result<ObjectRef> objectRefFromJson(const json& j, const std::string& where) {
  if (!j.is_object()) return makeError(where + " must be an object");
  ObjectRef ref;
  struct Field {
    const char* key;
    std::string* out;
  };
  for (Field f : {Field{"apiVersion", &ref.api_version}, Field{"kind", &ref.kind},
                  Field{"namespace", &ref.ns}, Field{"name", &ref.name}, Field{"uid", &ref.uid},
                  Field{"resourceVersion", &ref.resource_version}}) {
    auto v = optString(j, f.key, where);
    if (!v) return v.error();
    *f.out = std::move(*v);
  }
  return ref;
}

Result<ReportResult> resultFromJson(const json& j, const std::string& where) {
  if (!j.is_object()) return makeError(where + " must be an object");
  ReportResult r;
  struct Field {
    const char* key;
    std::string* out;
  };
  for (Field f : {Field{"source", &r.source}, Field{"policy", &r.policy}, Field{"rule", &r.rule},
                  Field{"category", &r.category}, Field{"severity", &r.severity},
                  Field{"message", &r.message}}) {
    auto v = optString(j, f.key, where);
    if (!v) return v.error();
    *f.out = std::move(*v);
  }
  if (r.policy.empty()) return makeError(where + ".policy is required");
  auto outcome = optString(j, "result", where);
  if (!outcome) return outcome.error();
  if (outcome->empty()) return makeError(where + ".result is required");
  auto parsed = parseOutcome(*outcome);
  if (!parsed) return makeError(where + ".result: " + parsed.error().message);
  r.result = *parsed;
  if (auto it = j.find("scored"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean()) return makeError(where + ".scored must be a boolean");
    r.scored = it->get<bool>();
  }
  if (auto it = j.find("timestamp"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return makeError(where + ".timestamp must be an object");
    auto secs = optInt(*it, "seconds", where + ".timestamp");
    if (!secs) return secs.error();
    auto nanos = optInt(*it, "nanos", where + ".timestamp");
    if (!nanos) return nanos.error();
    r.timestamp = {*secs, static_cast<int32_t>(*nanos)};
  }
  if (auto it = j.find("resources"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) return makeError(where + ".resources must be a list");
    for (size_t i = 0; i < it->size(); ++i) {
      auto ref = objectRefFromJson((*it)[i], where + ".resources[" + std::to_string(i) + "]");
      if (!ref) return ref.error();
      r.resources.push_back(std::move(*ref));
    }
  }
  auto props = stringMap(j, "properties", where);
  if (!props) return props.error();
  r.properties = std::move(*props);
  return r;
}

Result<PolicyReport> reportFromJson(const json& j) {
  if (!j.is_object()) return makeError("policy report must be a JSON object");
  PolicyReport report;
  std::string kind = j.value("kind", "");
  if (kind == "PolicyReport") {
    report.kind = ReportKind::kPolicyReport;
  } else if (kind == "ClusterPolicyReport") {
    report.kind = ReportKind::kClusterPolicyReport;
  } else {
    return makeError("kind must be PolicyReport or ClusterPolicyReport, not \"" + kind + "\"");
  }
  auto meta = j.find("metadata");
  if (meta == j.end() || !meta->is_object()) return makeError(kind + ": metadata is missing");
  auto name = optString(*meta, "name", "metadata");
  if (!name) return name.error();
  auto ns = optString(*meta, "namespace", "metadata");
  if (!ns) return ns.error();
  auto rv = optString(*meta, "resourceVersion", "metadata");
  if (!rv) return rv.error();
  auto labels = stringMap(*meta, "labels", "metadata");
  if (!labels) return labels.error();
  if (name->empty()) return makeError(kind + ": metadata.name is missing");
  report.name = *name;
  report.ns = *ns;
  report.resource_version = *rv;
  report.labels = std::move(*labels);
  const std::string where = kind + " " + (report.ns.empty() ? "" : report.ns + "/") + report.name;
  if (auto owners = meta->find("ownerReferences"); owners != meta->end() && owners->is_array()) {
    for (const json& o : *owners) {
      auto ref = objectRefFromJson(o, where + " metadata.ownerReferences[]");
      if (!ref) return ref.error();
      report.owners.push_back({ref->api_version, ref->kind, ref->name, ref->uid});
    }
  }
  if (auto scope = j.find("scope"); scope != j.end() && !scope->is_null()) {
    auto ref = objectRefFromJson(*scope, where + " scope");
    if (!ref) return ref.error();
    report.scope = std::move(*ref);
  }
  if (auto results = j.find("results"); results != j.end() && !results->is_null()) {
    if (!results->is_array()) return makeError(where + ": results must be a list");
    for (size_t i = 0; i < results->size(); ++i) {
      auto r = resultFromJson((*results)[i], where + " results[" + std::to_string(i) + "]");
      if (!r) return r.error();
      report.results.push_back(std::move(*r));
    }
  }
  Summary& s = report.summary;
  if (auto sum = j.find("summary"); sum != j.end() && sum->is_object()) {
    for (auto [key, out] :
         {std::pair{"pass", &s.pass}, std::pair{"fail", &s.fail}, std::pair{"warn", &s.warn},
          std::pair{"error", &s.error}, std::pair{"skip", &s.skip}}) {
      auto v = optInt(*sum, key, where + " summary");
      if (!v) return v.error();
      *out = *v;
    }
  }
  // The skip counter beyond skip results is the policies that were not evaluated.
  int64_t skip_results = std::count_if(report.results.begin(), report.results.end(),
                                       [](const auto& r) { return r.result == Outcome::kSkip; });
  report.skipped_policies = std::max<int64_t>(0, s.skip - skip_results);
  return report;
}

}  // namespace kw::reports
