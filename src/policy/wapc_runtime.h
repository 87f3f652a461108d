// Kubewarden's waPC policies: validate, validate_settings and protocol_version as waPC
// operations on a fresh instance (or on a reused one, for `kwctl bench --reuse-instance`).
#pragma once

#include <memory>

#include "policy/mode_runtime.h"

namespace kw::wapc {
class WapcInstance;
}

namespace kw::policy {

class WapcRuntime : public ModeRuntime {
 public:
  Result<admission::OrderedJson> validate(const PolicyConfig& policy, const Request& request,
                                          const Invocation& call) const override;
  SettingsValidation validateSettings(const PolicyConfig& policy,
                                      const Invocation& call) const override;

  Result<admission::OrderedJson> validateOn(wapc::WapcInstance* reuse, const PolicyConfig& policy,
                                            const Request& request, const Invocation& call) const;
  Result<std::string> protocolVersion(const PolicyConfig& policy, const Invocation& call) const;
  Result<std::unique_ptr<wapc::WapcInstance>> newInstance(const PolicyConfig& policy,
                                                          const Invocation& call) const;

 private:
  Result<std::string> invoke(wapc::WapcInstance* reuse, const PolicyConfig& policy,
                             std::string_view operation, std::string_view payload,
                             const Invocation& call) const;
};

// {"request": <request>, "settings": <settings>}, assembled from the texts we already hold so
// the hot path builds no DOM. Shared with the WASI runtime, which sends the same document.
std::string validationPayload(std::string_view request_json, std::string_view settings_json);

// Turns a guest's ValidationResponse JSON into the AdmissionResponse, diffing a mutation
// against request.object (or the whole request for raw policies).
Result<admission::OrderedJson> admissionFromValidation(std::string_view reply,
                                                       const PolicyConfig& policy,
                                                       const Request& request);

// Parses a SettingsValidationResponse ({"valid": bool, "message"?: str}).
SettingsValidation settingsFromReply(std::string_view reply);

}  // namespace kw::policy
