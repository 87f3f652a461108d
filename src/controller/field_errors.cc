#include "controller/field_errors.h"

#include <set>

namespace kw::controller {
namespace {

std::string typeName(FieldError::Type type) {
  switch (type) {
    case FieldError::Type::kRequired:
      return "Required value";
    case FieldError::Type::kForbidden:
      return "Forbidden";
    case FieldError::Type::kInvalid:
      return "Invalid value";
  }
  return "";
}

// The cause types of metav1.StatusCause, as the API server names them.
std::string causeType(FieldError::Type type) {
  switch (type) {
    case FieldError::Type::kRequired:
      return "FieldValueRequired";
    case FieldError::Type::kForbidden:
      return "FieldValueForbidden";
    case FieldError::Type::kInvalid:
      return "FieldValueInvalid";
  }
  return "";
}

// Go prints strings with %q and numbers and booleans with %v; JSON text matches both for the
// values we report (names, paths, integers).
std::string valueText(const nlohmann::json& value) {
  if (value.is_string() || value.is_number() || value.is_boolean()) return value.dump();
  if (value.is_null()) return "null";
  return value.dump();
}

}  // namespace

FieldError FieldError::required(std::string field, std::string detail) {
  return {Type::kRequired, std::move(field), std::move(detail), nullptr};
}
FieldError FieldError::forbidden(std::string field, std::string detail) {
  return {Type::kForbidden, std::move(field), std::move(detail), nullptr};
}
FieldError FieldError::invalid(std::string field, nlohmann::json value, std::string detail) {
  return {Type::kInvalid, std::move(field), std::move(detail), std::move(value)};
}

std::string errorBody(const FieldError& error) {
  std::string body = typeName(error.type);
  if (error.type == FieldError::Type::kInvalid) body += ": " + valueText(error.bad_value);
  if (!error.detail.empty()) body += ": " + error.detail;
  return body;
}

std::string errorText(const FieldError& error) {
  return error.field + ": " + errorBody(error);
}

std::string aggregateText(const FieldErrors& errors) {
  std::set<std::string> seen;
  std::string joined;
  for (const FieldError& error : errors) {
    std::string text = errorText(error);
    if (!seen.insert(text).second) continue;
    if (seen.size() > 1) joined += ", ";
    joined += text;
  }
  return seen.size() > 1 ? "[" + joined + "]" : joined;
}

nlohmann::json invalidStatus(std::string_view group, std::string_view kind, std::string_view name,
                             const FieldErrors& errors) {
  nlohmann::json causes = nlohmann::json::array();
  for (const FieldError& error : errors)
    causes.push_back(
        {{"reason", causeType(error.type)}, {"message", errorBody(error)}, {"field", error.field}});
  std::string message =
      std::string(kind) + "." + std::string(group) + " \"" + std::string(name) + "\" is invalid";
  if (!errors.empty()) message += ": " + aggregateText(errors);
  return {{"metadata", nlohmann::json::object()},
          {"status", "Failure"},
          {"message", message},
          {"reason", "Invalid"},
          {"details", {{"name", name}, {"group", group}, {"kind", kind}, {"causes", causes}}},
          {"code", 422}};
}

}  // namespace kw::controller
