// What a policy answers (ValidationResponse, snake_case, policy-sdk shape) and what Kubernetes
// receives (AdmissionResponse, camelCase), with the conversion Kubewarden applies: a mutation
// becomes a base64 RFC 6902 JSON Patch against the request's object.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace kw::admission {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

struct ValidationResponse {
  bool accepted = false;
  std::optional<std::string> message;
  std::optional<int> code;
  std::optional<Json> mutated_object;
  std::optional<Json> audit_annotations;
  std::optional<Json> warnings;
};

// Parses the guest's JSON reply. Unknown fields are ignored, as serde does upstream.
Result<ValidationResponse> parseValidationResponse(std::string_view json);

// Converts a verdict into an AdmissionResponse. `base` is what a mutation is diffed against:
// request.object for admission requests, the whole request for raw ones. `base` may be null
// when there is no object (DELETE), and then a mutation is refused as upstream does.
OrderedJson toAdmissionResponse(const std::string& uid, const ValidationResponse& v,
                                const Json* base);

// {"uid", "allowed": false, "status": {"message": "internal server error: <message>",
// "code": 500}}: every runtime failure of a policy becomes this, never an HTTP error.
OrderedJson rejectInternalServerError(const std::string& uid, std::string_view message);

// A rejection with a message and an optional code (no "internal server error" prefix).
OrderedJson reject(const std::string& uid, std::string_view message, std::optional<int> code);

}  // namespace kw::admission
