// Field errors in the shape Kubernetes reports them (k8s.io/apimachinery field.Error and
// apierrors.NewInvalid), so our CRD admission answers read exactly like upstream's: a message
// "<Kind>.<group> \"<name>\" is invalid: <path>: <Type>: <detail>" and a 422 Status whose
// details list one cause per error.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kw::controller {

struct FieldError {
  enum class Type { kRequired, kForbidden, kInvalid };
  Type type;
  std::string field;  // dotted path, e.g. "spec.rules.operations"
  std::string detail;
  nlohmann::json bad_value;  // kInvalid only: printed after "Invalid value: "

  static FieldError required(std::string field, std::string detail);
  static FieldError forbidden(std::string field, std::string detail);
  static FieldError invalid(std::string field, nlohmann::json value, std::string detail);
};
using FieldErrors = std::vector<FieldError>;

// "Required value: <detail>", "Forbidden: <detail>", "Invalid value: \"x\": <detail>".
std::string errorBody(const FieldError& error);
// "<field>: <body>".
std::string errorText(const FieldError& error);
// One error as is; several (duplicates dropped) as "[a, b]", like apimachinery's aggregate.
std::string aggregateText(const FieldErrors& errors);

// The metav1.Status of apierrors.NewInvalid: code 422, reason Invalid, details with causes.
// `kind` without group, e.g. "ClusterAdmissionPolicy".
nlohmann::json invalidStatus(std::string_view group, std::string_view kind, std::string_view name,
                             const FieldErrors& errors);

}  // namespace kw::controller
