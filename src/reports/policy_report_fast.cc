// reportFromJsonText: the same PolicyReport as reportFromJson(json::parse(text)), read with
// simdjson. A scan reads back every report it wrote (one per namespace, ~500 KB for 1,000
// results) to reuse results, and nlohmann's DOM made that the unchanged scan's main cost. Any
// shape this reader does not expect makes it give up, and the caller takes the nlohmann path,
// whose error messages name the offending field.
#include <simdjson.h>

#include <algorithm>

#include "reports/policy_report.h"

namespace kw::reports {
namespace {

namespace dom = simdjson::dom;

// A member that may be absent or null (then `absent` is true); false when the lookup failed.
bool member(dom::object o, const char* key, dom::element& out, bool& absent) {
  auto error = o.at_key(key).get(out);
  absent = error == simdjson::NO_SUCH_FIELD || (!error && out.is_null());
  return absent || !error;
}

bool optString(dom::object o, const char* key, std::string& out) {
  dom::element e;
  bool absent = false;
  if (!member(o, key, e, absent)) return false;
  if (absent) {
    out.clear();
    return true;
  }
  std::string_view v;
  if (e.get_string().get(v)) return false;
  out.assign(v);
  return true;
}

bool optInt(dom::object o, const char* key, int64_t& out) {
  dom::element e;
  bool absent = false;
  if (!member(o, key, e, absent)) return false;
  if (absent) {
    out = 0;
    return true;
  }
  return !e.get_int64().get(out);
}

bool stringMap(dom::object o, const char* key, std::map<std::string, std::string>& out) {
  dom::element e;
  bool absent = false;
  if (!member(o, key, e, absent)) return false;
  out.clear();
  if (absent) return true;
  dom::object m;
  if (e.get_object().get(m)) return false;
  for (auto [k, v] : m) {
    std::string_view s;
    if (v.get_string().get(s)) return false;
    out[std::string(k)] = std::string(s);
  }
  return true;
}

bool objectRef(dom::element e, ObjectRef& ref) {
  dom::object o;
  if (e.get_object().get(o)) return false;
  return optString(o, "apiVersion", ref.api_version) && optString(o, "kind", ref.kind) &&
         optString(o, "namespace", ref.ns) && optString(o, "name", ref.name) &&
         optString(o, "uid", ref.uid) && optString(o, "resourceVersion", ref.resource_version);
}

bool result(dom::element e, ReportResult& r) {
  dom::object o;
  if (e.get_object().get(o)) return false;
  std::string outcome;
  if (!optString(o, "source", r.source) || !optString(o, "policy", r.policy) ||
      !optString(o, "rule", r.rule) || !optString(o, "category", r.category) ||
      !optString(o, "severity", r.severity) || !optString(o, "message", r.message) ||
      !optString(o, "result", outcome))
    return false;
  if (r.policy.empty()) return false;
  auto parsed = parseOutcome(outcome);
  if (!parsed) return false;
  r.result = *parsed;
  dom::element v;
  bool absent = false;
  if (!member(o, "scored", v, absent)) return false;
  if (!absent && v.get_bool().get(r.scored)) return false;
  if (!member(o, "timestamp", v, absent)) return false;
  if (!absent) {
    dom::object t;
    int64_t seconds = 0, nanos = 0;
    if (v.get_object().get(t) || !optInt(t, "seconds", seconds) || !optInt(t, "nanos", nanos))
      return false;
    r.timestamp = {seconds, static_cast<int32_t>(nanos)};
  }
  if (!member(o, "resources", v, absent)) return false;
  if (!absent) {
    dom::array list;
    if (v.get_array().get(list)) return false;
    for (dom::element item : list) {
      ObjectRef ref;
      if (!objectRef(item, ref)) return false;
      r.resources.push_back(std::move(ref));
    }
  }
  return stringMap(o, "properties", r.properties);
}

bool report(dom::object j, PolicyReport& out) {
  std::string_view kind;
  if (j.at_key("kind").get_string().get(kind)) return false;
  if (kind == "PolicyReport") {
    out.kind = ReportKind::kPolicyReport;
  } else if (kind == "ClusterPolicyReport") {
    out.kind = ReportKind::kClusterPolicyReport;
  } else {
    return false;
  }
  dom::object meta;
  if (j.at_key("metadata").get_object().get(meta)) return false;
  if (!optString(meta, "name", out.name) || out.name.empty() ||
      !optString(meta, "namespace", out.ns) ||
      !optString(meta, "resourceVersion", out.resource_version) ||
      !stringMap(meta, "labels", out.labels))
    return false;
  dom::array owners;
  if (!meta.at_key("ownerReferences").get_array().get(owners)) {  // anything else is ignored
    for (dom::element o : owners) {
      ObjectRef ref;
      if (!objectRef(o, ref)) return false;
      out.owners.push_back({ref.api_version, ref.kind, ref.name, ref.uid});
    }
  }
  dom::element v;
  bool absent = false;
  if (!member(j, "scope", v, absent)) return false;
  if (!absent) {
    ObjectRef scope;
    if (!objectRef(v, scope)) return false;
    out.scope = std::move(scope);
  }
  if (!member(j, "results", v, absent)) return false;
  if (!absent) {
    dom::array results;
    if (v.get_array().get(results)) return false;
    out.results.reserve(results.size());
    for (dom::element item : results) {
      ReportResult r;
      if (!result(item, r)) return false;
      out.results.push_back(std::move(r));
    }
  }
  dom::object sum;
  if (!j.at_key("summary").get_object().get(sum)) {
    Summary& s = out.summary;
    if (!optInt(sum, "pass", s.pass) || !optInt(sum, "fail", s.fail) ||
        !optInt(sum, "warn", s.warn) || !optInt(sum, "error", s.error) ||
        !optInt(sum, "skip", s.skip))
      return false;
  }
  int64_t skip_results = std::count_if(out.results.begin(), out.results.end(),
                                       [](const auto& r) { return r.result == Outcome::kSkip; });
  out.skipped_policies = std::max<int64_t>(0, out.summary.skip - skip_results);
  return true;
}

}  // namespace

std::optional<PolicyReport> reportFromJsonText(std::string_view text) {
  thread_local dom::parser parser;  // keeps its buffers between the reports of one thread
  dom::element doc;
  if (parser.parse(text.data(), text.size()).get(doc)) return std::nullopt;
  dom::object object;
  if (doc.get_object().get(object)) return std::nullopt;
  PolicyReport out;
  if (!report(object, out)) return std::nullopt;
  return out;
}

}  // namespace kw::reports
