#include "policy/rego_runtime.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

#include "policy/evaluator.h"

namespace kw::policy {
namespace {

using admission::Json;
using admission::OrderedJson;
using opa::ModuleInfoPtr;
using opa::OpaInstance;

// Kubernetes always evaluates entrypoint 0 (upstream hard-codes it).
constexpr int32_t kEntrypoint = 0;
// Bounds the data cache (one entry per policy id); only callers inventing policy ids per
// request could reach it.
constexpr size_t kMaxCachedData = 1024;

std::string describe(const wasm::CallError& e) {
  switch (e.kind) {
    case wasm::FailKind::Trap:
      return "wasm trap: " + e.message;
    case wasm::FailKind::Instantiate:
      return "WebAssembly failure: " + e.message;
    default:
      return e.message;  // timeouts, opa_abort and builtin errors read on their own
  }
}

std::string missingBuiltinsError(const std::vector<std::string>& missing) {
  return fmt::format("missing Rego builtins: {}. Aborting execution.", fmt::join(missing, ", "));
}

// result_set[0].result, or null.
const Json* firstResult(const Json& result_set) {
  if (!result_set.is_array() || result_set.empty() || !result_set[0].is_object()) return nullptr;
  auto it = result_set[0].find("result");
  return it == result_set[0].end() ? nullptr : &*it;
}

// An optional field: absent or null is nullopt, the wrong type an error.
template <typename Check>
Result<std::optional<Json>> optionalField(const Json& obj, const char* key, Check ok,
                                          const char* want) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<Json>();
  if (!ok(*it)) return makeError(fmt::format("field `{}` must be {}", key, want));
  return std::optional<Json>(*it);
}

bool isStringMap(const Json& v) {
  if (!v.is_object()) return false;
  for (const auto& [k, e] : v.items()) {
    if (!e.is_string()) return false;
  }
  return true;
}

bool isStringList(const Json& v) {
  return v.is_array() &&
         std::all_of(v.begin(), v.end(), [](const Json& e) { return e.is_string(); });
}

Result<OrderedJson> statusFrom(const Json& status) {
  if (!status.is_object()) return makeError("field `status` must be an object");
  OrderedJson out = OrderedJson::object();
  auto message = optionalField(
      status, "message", [](const Json& v) { return v.is_string(); }, "a string");
  if (!message) return message.error();
  auto code = optionalField(
      status, "code",
      [](const Json& v) { return v.is_number_unsigned() && v.get<uint64_t>() <= 65535; },
      "an HTTP status code");
  if (!code) return code.error();
  if (*message) out["message"] = **message;
  if (*code) out["code"] = **code;
  return out;
}

// The AdmissionResponse fields Kubewarden reads back, in the order it writes them.
Result<OrderedJson> admissionFrom(const Json& resp, const std::string& uid) {
  if (!resp.is_object()) return makeError("the response is not an object");
  auto allowed = resp.find("allowed");
  if (allowed == resp.end() || !allowed->is_boolean()) {
    return makeError("field `allowed` is missing or not a boolean");
  }
  OrderedJson out;
  out["uid"] = uid;
  out["allowed"] = allowed->get<bool>();
  auto patch_type = optionalField(
      resp, "patchType", [](const Json& v) { return v == "JSONPatch"; }, "\"JSONPatch\"");
  if (!patch_type) return patch_type.error();
  auto patch = optionalField(
      resp, "patch", [](const Json& v) { return v.is_string(); }, "a base64 string");
  if (!patch) return patch.error();
  if (*patch_type) out["patchType"] = **patch_type;
  if (*patch) out["patch"] = **patch;
  if (auto s = resp.find("status"); s != resp.end() && !s->is_null()) {
    auto status = statusFrom(*s);
    if (!status) return status.error();
    out["status"] = std::move(*status);
  }
  auto annotations = optionalField(resp, "auditAnnotations", isStringMap, "a map of strings");
  if (!annotations) return annotations.error();
  auto warnings = optionalField(resp, "warnings", isStringList, "a list of strings");
  if (!warnings) return warnings.error();
  out["auditAnnotations"] = *annotations ? OrderedJson(**annotations) : OrderedJson(nullptr);
  out["warnings"] = *warnings ? OrderedJson(**warnings) : OrderedJson(nullptr);
  return out;
}

}  // namespace

Result<OrderedJson> opaAdmissionResponse(std::string_view result_set, const std::string& uid) {
  Json rs = Json::parse(result_set, nullptr, false);
  const Json* result = firstResult(rs);
  auto response = result && result->is_object() ? result->find("response") : Json::const_iterator();
  if (!result || !result->is_object() || response == result->end()) {
    return makeError("cannot interpret OPA policy result");
  }
  auto out = admissionFrom(*response, uid);
  if (!out)
    return makeError("cannot deserialize the OPA policy's response: " + out.error().message);
  return out;
}

OrderedJson gatekeeperAdmissionResponse(std::string_view result_set, const std::string& uid) {
  Json rs = Json::parse(result_set, nullptr, false);
  const Json* result = firstResult(rs);
  std::vector<std::string> messages;
  if (result && result->is_array()) {
    for (const Json& violation : *result) {
      auto msg = violation.is_object() ? violation.find("msg") : Json::const_iterator();
      if (!violation.is_object() || msg == violation.end() || !msg->is_string()) {
        messages.clear();  // like a failed deserialisation upstream: no violations
        break;
      }
      messages.push_back(msg->get<std::string>());
    }
  }
  if (messages.empty()) {
    admission::ValidationResponse allowed;
    allowed.accepted = true;
    return admission::toAdmissionResponse(uid, allowed, nullptr);
  }
  return admission::reject(uid, fmt::format("{}", fmt::join(messages, ", ")), std::nullopt);
}

std::optional<RegoRuntime::ModuleEntry> RegoRuntime::cachedModule(
    const wasm::CompiledModulePtr& module) const {
  std::lock_guard lock(mu_);
  auto it = modules_.find(module.get());
  // A new module may reuse a freed one's address: the weak pointer tells them apart.
  if (it == modules_.end() || it->second.module.lock() != module) return std::nullopt;
  return it->second;
}

RegoRuntime::ModuleEntry RegoRuntime::remember(const wasm::CompiledModulePtr& module,
                                               ModuleInfoPtr info) const {
  ModuleEntry entry{module, info, std::nullopt};
  auto missing = info->missingBuiltins();
  if (!missing.empty()) entry.load_error = missingBuiltinsError(missing);
  std::lock_guard lock(mu_);
  std::erase_if(modules_, [](const auto& kv) { return kv.second.module.expired(); });
  modules_[module.get()] = entry;
  return entry;
}

Status RegoRuntime::prepare(const policy::PolicyConfig& policy,
                            const policy::Invocation& call) const {
  auto entry = cachedModule(policy.module->compiled);
  if (!entry) {
    OpaInstance::Options options;
    options.policy_id = policy.id;
    options.deadline = call.deadline;
    auto inst = OpaInstance::create(call.engine, policy.module->compiled, std::move(options));
    if (auto* err = std::get_if<wasm::CallError>(&inst)) return makeError(describe(*err));
    entry = remember(policy.module->compiled, std::get<std::unique_ptr<OpaInstance>>(inst)->info());
  }
  if (entry->load_error) return makeError(*entry->load_error);
  return okStatus();
}

Result<std::shared_ptr<const std::string>> RegoRuntime::dataFor(
    const policy::PolicyConfig& policy, const policy::Invocation& call) const {
  // The Kubernetes context comes from the dispatcher, which hands back the same text (same
  // pointer) while the cluster objects are unchanged: the assembled data is cached on that.
  std::shared_ptr<const std::string> context;
  if (call.dispatcher) {
    auto layout = flavor_ == Flavor::Opa ? host::RegoLayout::Opa : host::RegoLayout::Gatekeeper;
    auto ctx = call.dispatcher->regoContext(policy.id, layout);
    if (!ctx) return ctx.error();
    context = std::move(*ctx);
  }
  {
    std::lock_guard lock(mu_);
    auto it = data_.find(policy.id);
    if (it != data_.end() && it->second.settings == policy.settings_json &&
        it->second.context == context) {
      return it->second.data;
    }
  }
  // Built outside the lock: a large context takes a while to copy.
  auto data = buildData(policy, context);
  if (!data) return data.error();
  std::lock_guard lock(mu_);
  if (!data_.count(policy.id) && data_.size() >= kMaxCachedData) data_.clear();
  data_[policy.id] = CachedData{policy.settings_json, context, *data};
  return *data;
}

Result<std::shared_ptr<const std::string>> RegoRuntime::buildData(
    const policy::PolicyConfig& policy, const std::shared_ptr<const std::string>& context) const {
  static const auto kGatekeeperData = std::make_shared<const std::string>(R"({"inventory":{}})");
  if (flavor_ == Flavor::Gatekeeper) {
    if (!context) return kGatekeeperData;
    return std::make_shared<const std::string>(gatekeeperData(context.get()));
  }
  if (!context) {
    if (!Json::parse(policy.settings_json, nullptr, false).is_object()) {
      return makeError("the policy settings are not a JSON object");
    }
    return std::make_shared<const std::string>(policy.settings_json);
  }
  auto data = opaData(policy.settings_json, *context);
  if (!data) return data.error();
  return std::make_shared<const std::string>(std::move(*data));
}

Result<std::string> opaData(std::string_view settings_json, std::string_view context) {
  Json settings = Json::parse(settings_json, nullptr, false);
  if (!settings.is_object()) return makeError("the policy settings are not a JSON object");
  std::string rest;
  if (settings.contains("kubernetes")) {
    spdlog::warn(
        "the policy settings have a `kubernetes` key: it is replaced by the Kubernetes "
        "context");
    settings.erase("kubernetes");
    rest = settings.dump();
  } else {
    rest = std::string(settings_json);
  }
  // The context text is spliced in front of the settings' members, never parsed.
  std::string_view body = std::string_view(rest).substr(rest.find('{') + 1);
  while (!body.empty() && std::isspace(static_cast<unsigned char>(body.front()))) {
    body.remove_prefix(1);
  }
  std::string out;
  out.reserve(context.size() + rest.size() + 16);
  out.append("{\"kubernetes\":").append(context);
  if (!body.empty() && body.front() != '}') out.append(",");
  out.append(body);
  return out;
}

std::string gatekeeperData(const std::string* context) {
  if (!context) return R"({"inventory":{}})";
  return "{\"inventory\":" + *context + "}";
}

// Assembled from the texts we already hold, so the hot path builds no DOM.
std::string RegoRuntime::inputFor(const policy::PolicyConfig& policy,
                                  const policy::Request& request) const {
  std::string input;
  input.reserve(request.json.size() + policy.settings_json.size() + 32);
  if (flavor_ == Flavor::Opa) {
    input.append("{\"request\":").append(request.json).append("}");
  } else {
    input.append("{\"parameters\":").append(policy.settings_json);
    input.append(",\"review\":").append(request.json).append("}");
  }
  return input;
}

Result<std::string> RegoRuntime::evaluate(const policy::PolicyConfig& policy,
                                          std::string_view input,
                                          const policy::Invocation& call) const {
  auto data = dataFor(policy, call);
  if (!data) return data.error();
  auto entry = cachedModule(policy.module->compiled);
  if (entry && entry->load_error) return makeError(*entry->load_error);
  OpaInstance::Options options;
  options.policy_id = policy.id;
  options.deadline = call.deadline;
  options.info = entry ? entry->info : nullptr;
  auto created = OpaInstance::create(call.engine, policy.module->compiled, std::move(options));
  if (auto* err = std::get_if<wasm::CallError>(&created)) return makeError(describe(*err));
  auto& inst = std::get<std::unique_ptr<OpaInstance>>(created);
  if (!entry) {
    auto fresh = remember(policy.module->compiled, inst->info());
    if (fresh.load_error) return makeError(*fresh.load_error);
  }
  auto set = inst->setData(**data);
  if (auto* err = std::get_if<wasm::CallError>(&set)) return makeError(describe(*err));
  auto result = inst->evaluate(kEntrypoint, input);
  if (auto* err = std::get_if<wasm::CallError>(&result)) return makeError(describe(*err));
  return std::move(std::get<std::string>(result));
}

Result<OrderedJson> RegoRuntime::validate(const policy::PolicyConfig& policy,
                                          const policy::Request& request,
                                          const policy::Invocation& call) const {
  if (flavor_ == Flavor::Gatekeeper && policy.raw) {
    return makeError("Gatekeeper does not support raw validation requests");
  }
  auto result = evaluate(policy, inputFor(policy, request), call);
  if (!result) return result.error();
  if (flavor_ == Flavor::Gatekeeper) return gatekeeperAdmissionResponse(*result, request.uid);
  return opaAdmissionResponse(*result, request.uid);
}

policy::SettingsValidation RegoRuntime::validateSettings(const policy::PolicyConfig& policy,
                                                         const policy::Invocation& call) const {
  auto prepared = prepare(policy, call);
  if (!prepared) return {false, prepared.error().message};
  return {true, std::nullopt};
}

}  // namespace kw::policy
