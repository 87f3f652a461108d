// Kubewarden's Rego execution modes: `opa` and `gatekeeper` policies are Rego compiled to wasm
// by `opa build -t wasm`, evaluated through the OPA ABI (opa_abi.h) on a fresh instance per
// request, always at entrypoint 0 (as Kubewarden 1.10 does).
//
// opa:        input {"request": <request>}, data = the settings object plus, for policies with
//             contextAwareResources, `kubernetes` (see src/host/rego_context.h); the verdict is
//             result[0].result.response, an AdmissionResponse (camelCase) whose uid we overwrite.
// gatekeeper: input {"parameters": <settings>, "review": <request>}, data {"inventory": …}
//             (empty without contextAwareResources);
//             result[0].result lists {"msg": ...} violations: none allows the request, otherwise
//             it is rejected with the messages joined by ", ". Raw requests are refused.
//
// Registration (see Evaluator::setRuntime):
//   evaluator.setRuntime(ExecutionMode::Opa, std::make_shared<kw::policy::OpaRuntime>());
//   evaluator.setRuntime(ExecutionMode::Gatekeeper,
//   std::make_shared<kw::policy::GatekeeperRuntime>());
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "opa/opa_abi.h"
#include "policy/mode_runtime.h"

namespace kw::policy {

class RegoRuntime : public ModeRuntime {
 public:
  enum class Flavor { Opa, Gatekeeper };
  explicit RegoRuntime(Flavor flavor) : flavor_(flavor) {}

  Result<admission::OrderedJson> validate(const policy::PolicyConfig& policy,
                                          const policy::Request& request,
                                          const policy::Invocation& call) const override;
  // Rego policies have no settings validation: always valid, unless the module cannot be
  // loaded at all (see prepare), which is how a policy needing a missing builtin stops the
  // policy-server at boot as it does upstream.
  policy::SettingsValidation validateSettings(const policy::PolicyConfig& policy,
                                              const policy::Invocation& call) const override;

  // Loads the module once (reading the builtins it needs and its entrypoints) and fails when
  // it needs a builtin we do not implement, naming it. Later calls answer from a cache.
  Status prepare(const policy::PolicyConfig& policy, const policy::Invocation& call) const;

 private:
  struct ModuleEntry {
    std::weak_ptr<const wasm::CompiledModule> module;
    opa::ModuleInfoPtr info;
    std::optional<std::string> load_error;  // set when the module needs missing builtins
  };

  // The cached entry, or null when this module has not been loaded yet.
  std::optional<ModuleEntry> cachedModule(const wasm::CompiledModulePtr& module) const;
  ModuleEntry remember(const wasm::CompiledModulePtr& module, opa::ModuleInfoPtr info) const;
  // The data document's text for this policy: the settings (OPA) or the inventory
  // (Gatekeeper) with the Kubernetes context from the dispatcher, rebuilt only when the
  // settings or the context change.
  Result<std::shared_ptr<const std::string>> dataFor(const policy::PolicyConfig& policy,
                                                     const policy::Invocation& call) const;
  Result<std::shared_ptr<const std::string>> buildData(
      const policy::PolicyConfig& policy, const std::shared_ptr<const std::string>& context) const;
  std::string inputFor(const policy::PolicyConfig& policy, const policy::Request& request) const;
  // Evaluates entrypoint 0 on a fresh instance: the result set's JSON text.
  Result<std::string> evaluate(const policy::PolicyConfig& policy, std::string_view input,
                               const policy::Invocation& call) const;

  Flavor flavor_;
  mutable std::mutex mu_;
  mutable std::map<const wasm::CompiledModule*, ModuleEntry> modules_;
  struct CachedData {
    std::string settings;                        // what the data was built from
    std::shared_ptr<const std::string> context;  // held, so its address stays unique
    std::shared_ptr<const std::string> data;
  };
  mutable std::map<std::string, CachedData> data_;  // by policy id
};

class OpaRuntime final : public RegoRuntime {
 public:
  OpaRuntime() : RegoRuntime(Flavor::Opa) {}
};

class GatekeeperRuntime final : public RegoRuntime {
 public:
  GatekeeperRuntime() : RegoRuntime(Flavor::Gatekeeper) {}
};

// OPA's data document: the settings object with key `kubernetes` set to `context` (a user key
// of that name is replaced, with a warning). Errors when the settings are not an object.
Result<std::string> opaData(std::string_view settings_json, std::string_view context);
// Gatekeeper's data document: {"inventory": context}, or an empty inventory.
std::string gatekeeperData(const std::string* context);

// The verdict of an OPA policy: result[0].result.response as an AdmissionResponse with `uid`
// replaced; "cannot interpret OPA policy result" when it is absent.
Result<admission::OrderedJson> opaAdmissionResponse(std::string_view result_set,
                                                    const std::string& uid);
// The verdict of a Gatekeeper policy from its violations (an unreadable result counts as none).
admission::OrderedJson gatekeeperAdmissionResponse(std::string_view result_set,
                                                   const std::string& uid);

}  // namespace kw::policy
