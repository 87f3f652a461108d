#include "controller/crd_validation.h"

namespace kw::controller {
namespace {

using nlohmann::json;

constexpr std::string_view kRules = "spec.rules";
constexpr std::string_view kMustBeSpecified = "a value must be specified";
constexpr size_t kMaxPolicyServerName = 63;  // a DNS-1035 label: the Service name derives from it

const json& member(const json& object, const char* key) {
  static const json kNull;
  if (!object.is_object()) return kNull;
  auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

const json& spec(const json& object) {
  return member(object, "spec");
}

bool emptyList(const json& list) {
  return !list.is_array() || list.empty();
}

bool containsEmptyString(const json& list) {
  if (!list.is_array()) return false;
  for (const json& item : list)
    if (item.is_string() && item.get_ref<const std::string&>().empty()) return true;
  return false;
}

// A rule whose lists are all present: report the first "" entry of each list.
void checkEmptyEntries(const json& rule, FieldErrors& errors) {
  const std::string rules(kRules);
  if (containsEmptyString(member(rule, "operations")))
    errors.push_back(FieldError::invalid(rules + ".operations", "",
                                         "field value cannot contain the empty string"));
  for (const char* list : {"apiVersions", "resources"}) {
    if (!containsEmptyString(member(rule, list))) continue;
    const std::string name = std::string("rule.") + list;
    errors.push_back(FieldError::invalid(rules + "." + name, "",
                                         name + " value cannot contain the empty string"));
  }
}

std::string stringField(const json& object, const char* key) {
  const json& value = member(object, key);
  return value.is_string() ? value.get<std::string>() : std::string();
}

// IntOrString printed as Go's String() does: the number or the text.
std::string intOrString(const json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

}  // namespace

FieldErrors validatePolicyRules(const json& policy) {
  const std::string rules_path(kRules);
  const json& rules = member(spec(policy), "rules");
  if (emptyList(rules)) return {FieldError::required(rules_path, std::string(kMustBeSpecified))};
  FieldErrors errors;
  for (const json& rule : rules) {
    if (emptyList(member(rule, "operations"))) {
      errors.push_back(
          FieldError::required(rules_path + ".operations", std::string(kMustBeSpecified)));
    } else if (emptyList(member(rule, "apiVersions")) || emptyList(member(rule, "resources"))) {
      errors.push_back(
          FieldError::required(rules_path, "apiVersions and resources must have specified values"));
    } else {
      checkEmptyEntries(rule, errors);
    }
  }
  return errors;
}

FieldErrors validatePolicyTimeout(const json& policy) {
  const json& timeout = member(spec(policy), "timeoutSeconds");
  if (!timeout.is_number_integer()) return {};
  const int64_t seconds = timeout.get<int64_t>();
  if (seconds >= 1 && seconds <= 30) return {};
  return {FieldError::invalid("spec.timeoutSeconds", seconds,
                              "the timeout value must be between 1 and 30 seconds")};
}

FieldErrors validatePolicyCreate(const json& policy) {
  FieldErrors errors = validatePolicyRules(policy);
  for (FieldError& error : validatePolicyTimeout(policy)) errors.push_back(std::move(error));
  return errors;
}

FieldErrors validatePolicyUpdate(const json& old_policy, const json& policy) {
  FieldErrors errors = validatePolicyCreate(policy);
  if (!errors.empty()) return errors;
  if (stringField(spec(policy), "policyServer") != stringField(spec(old_policy), "policyServer"))
    return {FieldError::forbidden("spec.policyServer", "the field is immutable")};
  if (stringField(spec(policy), "mode") == "monitor" &&
      stringField(spec(old_policy), "mode") == "protect")
    return {FieldError::forbidden("spec.mode",
                                  "field cannot transition from protect to monitor. Recreate "
                                  "instead.")};
  return {};
}

FieldErrors validatePolicyServer(const json& policy_server, const ControllerOptions& options,
                                 const SecretTypeLookup& lookup) {
  FieldErrors errors;
  const std::string name = stringField(member(policy_server, "metadata"), "name");
  if (name.size() > kMaxPolicyServerName)
    errors.push_back(FieldError::invalid("metadata.name", name,
                                         "the PolicyServer name cannot be longer than " +
                                             std::to_string(kMaxPolicyServerName) + " characters"));

  const std::string secret = stringField(spec(policy_server), "imagePullSecret");
  if (!secret.empty()) {
    std::string problem;
    auto type = lookup ? lookup(options.deployments_namespace, secret)
                       : Result<std::optional<std::string>>(makeError("no Secret lookup"));
    if (!type.ok())
      problem = "cannot get spec.ImagePullSecret: " + type.error().message;
    else if (!type->has_value())
      problem = "cannot get spec.ImagePullSecret: secrets \"" + secret + "\" not found";
    else if (**type != "kubernetes.io/dockerconfigjson")
      problem = "spec.ImagePullSecret secret \"" + secret +
                "\" is not of type kubernetes.io/dockerconfigjson";
    if (!problem.empty())
      errors.push_back(FieldError::invalid("spec.imagePullSecret", secret, problem));
  }

  const json& min_available = member(spec(policy_server), "minAvailable");
  const json& max_unavailable = member(spec(policy_server), "maxUnavailable");
  if (!min_available.is_null() && !max_unavailable.is_null())
    errors.push_back(FieldError::invalid("spec",
                                         "minAvailable: " + intOrString(min_available) +
                                             ", maxUnavailable: " + intOrString(max_unavailable),
                                         "minAvailable and maxUnavailable cannot be both set"));
  return errors;
}

}  // namespace kw::controller
