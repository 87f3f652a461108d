// kwctl run: validate the settings, then the request, and print the AdmissionResponse.
#include <iostream>

#include "kwctl/commands.h"
#include "kwctl/policy_loader.h"

namespace kw::kwctl {
namespace {

int runPolicy(const RunFlags& flags) {
  auto prepared = prepare(flags, wasm::CompileTier::Fast);
  if (!prepared) return fail(prepared.error().message);
  Prepared& p = **prepared;

  auto settings = p.evaluator->validateSettings(p.config);
  if (!settings.valid) {
    admission::OrderedJson answer = {{"valid", false}};
    if (settings.message) answer["message"] = *settings.message;
    std::cout << answer.dump() << "\n";
    return fail("Provided settings are not valid");
  }
  policy::Request request{p.request_json, p.uid, &p.request};
  std::cout << p.evaluator->validate(p.config, request).dump() << "\n";
  // Writes the recorded host-capability session, when recording.
  if (auto recorded = p.host->finish(); !recorded) return fail(recorded.error().message);
  return 0;
}

}  // namespace

void addRunCommand(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("run", "Run a policy against a request");
  auto flags = std::make_shared<RunFlags>();
  addRunFlags(*cmd, *flags);
  cmd->callback([flags, &exit_code] { exit_code = runPolicy(*flags); });
}

}  // namespace kw::kwctl
