#include "admission/admission_response.h"

#include "common/base64.h"

namespace kw::admission {
namespace {

constexpr std::string_view kNullObjectMutation =
    "Incoming object is null, which happens only with DELETE operations, but the policy is "
    "attempting a mutation. This is not allowed";

template <typename T>
std::optional<T> optionalField(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  return it->get<T>();
}

OrderedJson skeleton(const std::string& uid, bool allowed) {
  OrderedJson r;
  r["uid"] = uid;
  r["allowed"] = allowed;
  return r;
}

// auditAnnotations and warnings are always present upstream (null when absent).
void finish(OrderedJson& r, const ValidationResponse* v) {
  r["auditAnnotations"] = v && v->audit_annotations ? OrderedJson(*v->audit_annotations) : nullptr;
  r["warnings"] = v && v->warnings ? OrderedJson(*v->warnings) : nullptr;
}

}  // namespace

Result<ValidationResponse> parseValidationResponse(std::string_view text) {
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return makeError("the policy's response is not a JSON object");
  }
  try {
    ValidationResponse v;
    auto accepted = j.find("accepted");
    if (accepted == j.end() || !accepted->is_boolean()) {
      return makeError("the policy's response lacks the boolean field `accepted`");
    }
    v.accepted = accepted->get<bool>();
    v.message = optionalField<std::string>(j, "message");
    if (auto code = j.find("code"); code != j.end() && !code->is_null()) {
      // The SDKs declare it u16: anything else is a malformed response, not a status.
      if (!code->is_number_unsigned() || code->get<uint64_t>() > 65535) {
        return makeError("the policy's response has a `code` that is not an integer 0-65535");
      }
      v.code = code->get<int>();
    }
    v.mutated_object = optionalField<Json>(j, "mutated_object");
    v.audit_annotations = optionalField<Json>(j, "audit_annotations");
    v.warnings = optionalField<Json>(j, "warnings");
    return v;
  } catch (const Json::exception& e) {
    return makeError(std::string("the policy's response has a field of the wrong type: ") +
                     e.what());
  }
}

OrderedJson toAdmissionResponse(const std::string& uid, const ValidationResponse& v,
                                const Json* base) {
  if (v.mutated_object && (!base || base->is_null())) {
    OrderedJson r = skeleton(uid, false);
    r["status"] = {{"message", kNullObjectMutation}};
    finish(r, &v);
    return r;
  }
  OrderedJson r = skeleton(uid, v.accepted);
  if (v.mutated_object) {
    Json patch = Json::diff(*base, *v.mutated_object);
    if (!patch.empty()) {
      r["patchType"] = "JSONPatch";
      r["patch"] = base64Encode(patch.dump());
    }
  }
  if (v.message || v.code) {
    OrderedJson status = OrderedJson::object();
    if (v.message) status["message"] = *v.message;
    if (v.code) status["code"] = *v.code;
    r["status"] = std::move(status);
  }
  finish(r, &v);
  return r;
}

OrderedJson reject(const std::string& uid, std::string_view message, std::optional<int> code) {
  OrderedJson r = skeleton(uid, false);
  OrderedJson status = {{"message", message}};
  if (code) status["code"] = *code;
  r["status"] = std::move(status);
  finish(r, nullptr);
  return r;
}

OrderedJson rejectInternalServerError(const std::string& uid, std::string_view message) {
  return reject(uid, "internal server error: " + std::string(message), 500);
}

}  // namespace kw::admission
