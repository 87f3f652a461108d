#include "server/api.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>

#include "admission/strict_json.h"
#include "common/percent_encode.h"
#include "server/review_scan.h"

namespace kw::server {
namespace {

using admission::Json;
using admission::OrderedJson;
using Endpoint = Api::Endpoint;
using http::Labels;

constexpr std::string_view kMissingContentType =
    "Expected request with `Content-Type: application/json`";
constexpr std::string_view kSyntaxPrefix = "Failed to parse the request body as JSON: ";
constexpr std::string_view kDataPrefix =
    "Failed to deserialize the JSON body into the target type: ";

// Output never fails on bytes a guest put in a message: invalid UTF-8 is replaced.
template <typename J>
std::string dumpJson(const J& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// A string printed as a double-quoted, escaped literal, straight into the log buffer: request
// fields and messages come from clients and guests, and must not break the line apart.
struct Quoted {
  std::string_view s;
};

}  // namespace
}  // namespace kw::server

template <>
struct fmt::formatter<kw::server::Quoted> : fmt::formatter<std::string_view> {
  template <typename Context>
  auto format(const kw::server::Quoted& q, Context& ctx) const -> decltype(ctx.out()) {
    auto out = ctx.out();
    *out++ = '"';
    for (char c : q.s) {
      if (c == '"' || c == '\\') {
        *out++ = '\\';
        *out++ = c;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        out = fmt::format_to(out, "\\u{:04x}", int(c));
      } else {
        *out++ = c;
      }
    }
    *out++ = '"';
    return out;
  }
};

namespace kw::server {
namespace {

// ---- HTTP answers ---------------------------------------------------------------------------

http::HttpResponse emptyResponse(int status) {
  return http::HttpResponse{status, "", ""};
}

// Upstream's ApiError body.
http::HttpResponse jsonError(int status, std::string_view message) {
  OrderedJson body;
  body["message"] = message;
  body["status"] = status;
  return http::HttpResponse{status, "application/json", dumpJson(body)};
}

// Body rejections: /validate answers with ApiError JSON, /audit and /validate_raw use axum's
// plain Json extractor upstream, whose rejections are plain text (spec §1.7).
http::HttpResponse bodyRejection(Endpoint e, int status, std::string_view message) {
  if (e == Endpoint::Validate) return jsonError(status, message);
  return http::HttpResponse{status, "text/plain; charset=utf-8", std::string(message)};
}

// ---- routing --------------------------------------------------------------------------------

struct Route {
  Endpoint endpoint;
  std::string policy_id;
};

// "/validate/<id>" etc. with exactly one non-empty segment after the prefix.
std::optional<Route> matchEvaluation(std::string_view target) {
  static constexpr std::pair<std::string_view, Endpoint> kPrefixes[] = {
      {"/validate/", Endpoint::Validate},
      {"/validate_raw/", Endpoint::ValidateRaw},
      {"/audit/", Endpoint::Audit},
  };
  for (const auto& [prefix, endpoint] : kPrefixes) {
    if (!target.starts_with(prefix)) continue;
    std::string_view id = target.substr(prefix.size());
    if (id.empty() || id.find('/') != std::string_view::npos) return std::nullopt;
    // Path parameters arrive percent-encoded; malformed escapes are kept as written.
    return Route{endpoint, *percentDecode(id)};
  }
  return std::nullopt;
}

// application/json or application/<anything>+json, parameters ignored (as axum checks).
bool isJsonContentType(std::string_view ct) {
  ct = ct.substr(0, ct.find(';'));
  while (!ct.empty() && ct.back() == ' ') ct.remove_suffix(1);
  while (!ct.empty() && ct.front() == ' ') ct.remove_prefix(1);
  std::string lower(ct);
  for (char& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
  constexpr std::string_view kApplication = "application/";
  if (!lower.starts_with(kApplication)) return false;
  std::string_view sub = std::string_view(lower).substr(kApplication.size());
  return sub == "json" || (sub.size() > 5 && sub.ends_with("+json"));
}

// ---- request shape --------------------------------------------------------------------------

// What the logs and metrics need, viewed in the parsed body (which outlives every use).
using Fields = ReviewFields;

// serde's wording for a value of the wrong type.
std::string describe(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return fmt::format("boolean `{}`", v.get<bool>());
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return fmt::format("integer `{}`", v.dump());
    case Json::value_t::number_float:
      return fmt::format("floating point `{}`", v.dump());
    case Json::value_t::string:
      return fmt::format("string {}", Quoted{v.get_ref<const std::string&>()});
    case Json::value_t::array:
      return "sequence";
    default:
      return "map";
  }
}

// Checks fields against the shape serde would accept, with serde_path_to_error-style messages:
// "request: missing field `uid`", "request.kind.group: invalid type: integer `5`, expected a
// string".
class ShapeCheck {
 public:
  const std::string& error() const { return error_; }

  // A string field; absent or null is fine unless required.
  bool string(const Json& obj, const std::string& path, const char* key, bool required,
              std::string_view* out = nullptr) {
    const Json* v = field(obj, path, key, required);
    if (!v) return error_.empty();
    if (!v->is_string()) return wrongType(path, key, *v, "a string");
    if (out) *out = v->get_ref<const std::string&>();
    return true;
  }

  bool boolean(const Json& obj, const std::string& path, const char* key) {
    const Json* v = field(obj, path, key, false);
    if (!v) return error_.empty();
    return v->is_boolean() || wrongType(path, key, *v, "a boolean");
  }

  // A map field: its value, or null when absent/null (and optional) or on error.
  const Json* object(const Json& obj, const std::string& path, const char* key, bool required,
                     const char* what) {
    const Json* v = field(obj, path, key, required);
    if (!v) return nullptr;
    if (!v->is_object()) {
      wrongType(path, key, *v, what);
      return nullptr;
    }
    return v;
  }

  // {group, version, <last>}: GroupVersionKind or GroupVersionResource.
  bool triple(const Json& obj, const std::string& path, const char* key, bool required,
              const char* last, const char* what, std::string_view* out) {
    const Json* v = object(obj, path, key, required, what);
    if (!v) return error_.empty();
    std::string at = join(path, key);
    return string(*v, at, "group", true, &out[0]) && string(*v, at, "version", true, &out[1]) &&
           string(*v, at, last, true, &out[2]);
  }

  bool fail(std::string message) {
    error_ = std::move(message);
    return false;
  }

 private:
  static std::string join(const std::string& path, const char* key) {
    return path.empty() ? key : path + "." + key;
  }

  // The value, or null when absent or null; a missing required field records the error.
  const Json* field(const Json& obj, const std::string& path, const char* key, bool required) {
    auto it = obj.find(key);
    if (it == obj.end() || (it->is_null() && !required)) {
      // serde_path_to_error prints no path for top-level problems.
      if (required && path.empty()) fail(fmt::format("missing field `{}`", key));
      if (required && !path.empty()) fail(fmt::format("{}: missing field `{}`", path, key));
      return nullptr;
    }
    return &*it;
  }

  bool wrongType(const std::string& path, const char* key, const Json& v, const char* expected) {
    return fail(
        fmt::format("{}: invalid type: {}, expected {}", join(path, key), describe(v), expected));
  }

  std::string error_;
};

bool checkUserInfo(ShapeCheck& c, const Json& request) {
  const Json* u = c.object(request, "request", "userInfo", true, "struct UserInfo");
  if (!u) return c.error().empty();
  if (!c.string(*u, "request.userInfo", "username", false) ||
      !c.string(*u, "request.userInfo", "uid", false)) {
    return false;
  }
  auto groups = u->find("groups");
  if (groups != u->end() && !groups->is_null()) {
    bool ok = groups->is_array();
    for (size_t i = 0; ok && i < groups->size(); ++i) ok = (*groups)[i].is_string();
    if (!ok) return c.fail("request.userInfo.groups: invalid type, expected a sequence of strings");
  }
  return c.object(*u, "request.userInfo", "extra", false, "a map") || c.error().empty();
}

// The AdmissionReview envelope: its request object, or null with the problem recorded.
const Json* reviewRequest(const Json& body, ShapeCheck& c) {
  if (!body.is_object()) {
    c.fail(fmt::format("invalid type: {}, expected struct AdmissionReview", describe(body)));
    return nullptr;
  }
  if (!c.string(body, "", "apiVersion", false) || !c.string(body, "", "kind", false)) {
    return nullptr;
  }
  return c.object(body, "", "request", true, "struct AdmissionRequest");
}

// policy-evaluator's AdmissionRequest: required uid, kind, resource, operation, userInfo;
// optional fields must have the right type when present.
bool checkRequest(const Json& r, ShapeCheck& c, Fields& f) {
  std::string_view kind[3], resource[3], request_kind[3], ignored[3];
  bool ok = c.string(r, "request", "uid", true, &f.uid) &&
            c.triple(r, "request", "kind", true, "kind", "struct GroupVersionKind", kind) &&
            c.triple(r, "request", "resource", true, "resource", "struct GroupVersionResource",
                     resource) &&
            c.string(r, "request", "subResource", false, &f.subresource) &&
            c.triple(r, "request", "requestKind", false, "kind", "struct GroupVersionKind",
                     request_kind) &&
            c.triple(r, "request", "requestResource", false, "resource",
                     "struct GroupVersionResource", ignored) &&
            c.string(r, "request", "requestSubResource", false) &&
            c.string(r, "request", "name", false, &f.name) &&
            c.string(r, "request", "namespace", false, &f.ns) &&
            c.string(r, "request", "operation", true, &f.operation) && checkUserInfo(c, r) &&
            c.boolean(r, "request", "dryRun");
  if (!ok) return false;
  f.kind_group = kind[0], f.kind_version = kind[1], f.kind = kind[2];
  f.resource_group = resource[0], f.resource_version = resource[1], f.resource = resource[2];
  f.request_kind = request_kind[2];
  auto ns = r.find("namespace");
  f.has_namespace = ns != r.end() && ns->is_string();
  return true;
}

// An AdmissionReview: the request object, or null with `problem` set.
const Json* checkReview(const Json& body, Fields& f, std::string& problem) {
  ShapeCheck c;
  const Json* r = reviewRequest(body, c);
  if (r && checkRequest(*r, c, f)) return r;
  problem = c.error();
  return nullptr;
}

// {"request": <any JSON>}: the request value.
const Json* checkRaw(const Json& body, Fields& f, std::string& problem) {
  if (!body.is_object()) {
    problem = fmt::format("invalid type: {}, expected struct RawReviewRequest", describe(body));
    return nullptr;
  }
  auto r = body.find("request");
  if (r == body.end()) {
    problem = "missing field `request`";
    return nullptr;
  }
  if (r->is_object()) {
    auto uid = r->find("uid");
    if (uid != r->end() && uid->is_string()) f.uid = uid->get_ref<const std::string&>();
  }
  return &*r;
}

// nlohmann's message without its "[json.exception.parse_error.101] " tag.
std::string parseProblem(const Json::exception& e) {
  std::string_view what = e.what();
  auto tag_end = what.find("] ");
  return std::string(tag_end == std::string_view::npos ? what : what.substr(tag_end + 2));
}

// ---- post-processing ------------------------------------------------------------------------

// The policy's own answer, before any mode or namespace override: what metrics record.
struct Verdict {
  bool allowed = false;
  bool mutated = false;
  std::optional<int64_t> code;
  std::optional<std::string> message;
};

Verdict verdictOf(const OrderedJson& r) {
  Verdict v;
  v.allowed = r.value("allowed", false);
  v.mutated = r.contains("patch");
  auto status = r.find("status");
  if (status != r.end() && status->is_object()) {
    auto code = status->find("code");
    if (code != status->end() && code->is_number_integer()) v.code = code->get<int64_t>();
    auto message = status->find("message");
    if (message != status->end() && message->is_string()) v.message = message->get<std::string>();
  }
  return v;
}

void applyPolicyMode(OrderedJson& r, const EnvironmentPolicy& p, Endpoint e,
                     const std::string& uid) {
  if (e == Endpoint::Audit) return;  // /audit reports the policy's real verdict
  if (p.mode == PolicyMode::Protect) {
    if (r.contains("patch") && !p.allowed_to_mutate) {
      r = admission::reject(
          uid,
          fmt::format("Request rejected by policy {}. The policy attempted to mutate the request, "
                      "but it is currently configured to not allow mutations.",
                      p.id),
          std::nullopt);
    }
    return;
  }
  if (spdlog::should_log(spdlog::level::info)) {
    spdlog::info("policy evaluation (monitor mode) policy_id={} response={}", Quoted{p.id},
                 dumpJson(r));
  }
  r["allowed"] = true;
  r.erase("patch");
  r.erase("patchType");
  r.erase("status");
}

Labels metricLabels(const EnvironmentPolicy& p, Endpoint e, const Fields& f, const Verdict& v) {
  auto b = [](bool x) { return std::string(x ? "true" : "false"); };
  Labels l{{"policy_name", p.id}, {"policy_mode", std::string(toString(p.mode))}};
  if (e != Endpoint::ValidateRaw) {
    l.emplace_back("resource_kind", std::string(f.request_kind));
    l.emplace_back("resource_request_operation", std::string(f.operation));
  }
  l.emplace_back("accepted", b(v.allowed));
  l.emplace_back("mutated", b(v.mutated));
  if (e != Endpoint::ValidateRaw) {
    l.emplace_back("request_origin", e == Endpoint::Audit ? "audit" : "validate");
    if (f.has_namespace) l.emplace_back("resource_namespace", std::string(f.ns));
  }
  if (v.code) l.emplace_back("error_code", std::to_string(*v.code));
  return l;
}

std::string_view spanName(Endpoint e) {
  switch (e) {
    case Endpoint::Validate:
      return "validation";
    case Endpoint::ValidateRaw:
      return "validation_raw";
    default:
      return "audit";
  }
}

// One line per evaluated request with upstream's span fields.
void logRequest(Endpoint e, const std::string& host, const std::string& policy_id, const Fields& f,
                const Verdict& final_verdict) {
  if (!spdlog::should_log(spdlog::level::info)) return;
  std::string code = final_verdict.code ? std::to_string(*final_verdict.code) : "";
  spdlog::info(
      "{} request_uid={} host={} policy_id={} name={} namespace={} operation={} subresource={} "
      "kind_group={} kind_version={} kind={} resource_group={} resource_version={} resource={} "
      "allowed={} mutated={} response_code={} response_message={}",
      spanName(e), Quoted{f.uid}, Quoted{host}, Quoted{policy_id}, Quoted{f.name}, Quoted{f.ns},
      Quoted{f.operation}, Quoted{f.subresource}, Quoted{f.kind_group}, Quoted{f.kind_version},
      Quoted{f.kind}, Quoted{f.resource_group}, Quoted{f.resource_version}, Quoted{f.resource},
      final_verdict.allowed, final_verdict.mutated, code,
      Quoted{final_verdict.message ? std::string_view(*final_verdict.message) : ""});
}

// Requests answered with an HTTP error (unknown policy, bad body) get a line too.
void logRefusal(Endpoint e, const std::string& host, const std::string& policy_id,
                const http::HttpResponse& r) {
  spdlog::info("{} host={} policy_id={} http_status={} http_body={}", spanName(e), Quoted{host},
               Quoted{policy_id}, r.status, Quoted{r.body});
}

std::string reviewBody(OrderedJson response, Endpoint e) {
  OrderedJson out;
  if (e != Endpoint::ValidateRaw) {
    out["apiVersion"] = "admission.k8s.io/v1";
    out["kind"] = "AdmissionReview";
  }
  out["response"] = std::move(response);
  return dumpJson(out);
}

}  // namespace

ApiOptions ApiOptions::fromConfig(const ServerConfig& config) {
  ApiOptions o;
  o.always_accept_namespace = config.always_accept_admission_reviews_on_namespace;
  o.policy_timeout = config.policyTimeout();
  if (const char* host = std::getenv("HOSTNAME"); host && *host) o.host = host;
  return o;
}

Api::Api(const EvaluationEnvironment& env, WorkerPool& pool, http::Metrics* metrics,
         ApiOptions options)
    : env_(env), pool_(pool), metrics_(metrics), options_(std::move(options)) {}

void Api::handle(http::HttpRequest request, std::function<void(http::HttpResponse)> done) {
  if (request.target == "/readiness") {
    done(emptyResponse(request.method == "GET" ? 200 : 405));
    return;
  }
  auto route = matchEvaluation(request.target);
  if (!route) {
    done(emptyResponse(404));
    return;
  }
  if (request.method != "POST") {
    done(emptyResponse(405));
    return;
  }
  // Parsing too runs on the pool: a large body must not stall the transport's thread. The
  // policy is looked up now only to pick the task's group (its share of the workers).
  const EnvironmentPolicy* policy = env_.find(route->policy_id);
  const auto arrival = std::chrono::steady_clock::now();
  Timing timing{arrival, std::chrono::steady_clock::time_point::max()};
  if (options_.policy_timeout) {
    timing.deadline = arrival + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                    *options_.policy_timeout);
  }
  WorkerPool::Task task;
  task.group = policy;
  task.deadline = timing.deadline;
  task.expired = [this, endpoint = route->endpoint, id = route->policy_id, policy, timing, done] {
    auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - timing.arrival);
    auto limit =
        std::chrono::duration_cast<std::chrono::milliseconds>(timing.deadline - timing.arrival);
    done(overloaded(endpoint, id, policy, "deadline_exceeded_in_queue",
                    fmt::format("the request waited {} ms for an evaluation worker, past its "
                                "{} ms deadline (--policy-timeout); it was not evaluated",
                                waited.count(), limit.count())));
  };
  task.run = [this, route = *route, request = std::move(request), timing, done]() {
    bool answered = false;
    auto answer = [&](http::HttpResponse r) {
      answered = true;
      done(std::move(r));
    };
    try {
      evaluate(route.endpoint, route.policy_id, request, timing, answer);
    } catch (const std::exception& e) {
      spdlog::error("policy {}: evaluation failed: {}", route.policy_id, e.what());
      if (!answered) done(jsonError(500, "Something went wrong"));
    }
  };
  switch (pool_.submit(std::move(task))) {
    case WorkerPool::Admission::kQueued:
      return;
    case WorkerPool::Admission::kStopping:
      done(jsonError(503, "policy-server is shutting down"));
      return;
    case WorkerPool::Admission::kQueueFull:
      done(overloaded(route->endpoint, route->policy_id, policy, "queue_full",
                      fmt::format("the evaluation queue is full ({} requests waiting); the "
                                  "request was not evaluated",
                                  pool_.stats().max_queued)));
      return;
    case WorkerPool::Admission::kGroupQueueFull:
      done(overloaded(route->endpoint, route->policy_id, policy, "policy_queue_full",
                      fmt::format("policy {} already has its share of the evaluation queue "
                                  "waiting; the request was not evaluated",
                                  route->policy_id)));
      return;
  }
}

http::HttpResponse Api::overloaded(Endpoint endpoint, const std::string& policy_id,
                                   const EnvironmentPolicy* policy, std::string_view reason,
                                   std::string message) const {
  if (metrics_) metrics_->recordRejection(policy ? std::string_view(policy->id) : "", reason);
  http::HttpResponse r = jsonError(503, "policy-server is overloaded: " + message);
  logRefusal(endpoint, options_.host, policy_id, r);
  return r;
}

void Api::evaluate(Endpoint endpoint, const std::string& policy_id,
                   const http::HttpRequest& request, Timing timing,
                   const std::function<void(http::HttpResponse)>& done) const {
  auto refuse = [&](http::HttpResponse r) {
    logRefusal(endpoint, options_.host, policy_id, r);
    done(std::move(r));
  };
  if (!isJsonContentType(request.content_type)) {
    refuse(bodyRejection(endpoint, 415, kMissingContentType));
    return;
  }
  const bool raw = endpoint == Endpoint::ValidateRaw;
  Fields f;
  Json body;
  const Json* req = nullptr;  // the strict path's DOM of `request`, the mutation diff base
  std::string text;           // the strict path's `request` serialised for the guest
  // The usual case: simdjson checks the body and hands over `request` as sent. Anything it
  // does not accept takes the strict path, which gives the exact error.
  if (!scanReview(request.body, raw, f)) {
    try {
      body = admission::parseStrict(request.body);
    } catch (const admission::DuplicateField& e) {
      // Two readers of one body must not see two requests: refused as upstream's serde does.
      refuse(bodyRejection(endpoint, 422, std::string(kDataPrefix) + e.what()));
      return;
    } catch (const Json::exception& e) {
      // Syntax errors, and numbers out of range (1e999): the client's fault, never a 500.
      refuse(bodyRejection(endpoint, 400, std::string(kSyntaxPrefix) + parseProblem(e)));
      return;
    }
    std::string problem;
    req = raw ? checkRaw(body, f, problem) : checkReview(body, f, problem);
    if (!req) {
      refuse(bodyRejection(endpoint, 422, std::string(kDataPrefix) + problem));
      return;
    }
    text = req->dump();
    f.request_json = text;
  }
  const EnvironmentPolicy* policy = env_.find(policy_id);
  if (!policy) {
    refuse(jsonError(404, "unknown policy: " + policy_id));
    return;
  }

  // The guest gets the request as text; a mutation's diff base is parsed from it on demand.
  const std::string uid(f.uid);
  OrderedJson response = env_.evaluator().validate(
      policy->forRequest(raw), policy::Request{f.request_json, uid, req, timing.deadline});
  // From arrival: what the API server waited for, queueing included.
  std::chrono::duration<double, std::milli> latency =
      std::chrono::steady_clock::now() - timing.arrival;
  const Verdict vanilla = verdictOf(response);

  applyPolicyMode(response, *policy, endpoint, uid);
  const auto& always = options_.always_accept_namespace;
  if (!raw && always && f.has_namespace && f.ns == *always) {
    response["allowed"] = true;
    response.erase("status");  // any patch stays
  }
  if (metrics_)
    metrics_->recordEvaluation(metricLabels(*policy, endpoint, f, vanilla), latency.count());
  logRequest(endpoint, options_.host, policy_id, f, verdictOf(response));
  done(http::HttpResponse{200, "application/json", reviewBody(std::move(response), endpoint)});
}

}  // namespace kw::server
