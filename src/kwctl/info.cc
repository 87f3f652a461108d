// kwctl info: our version, the Rego builtins we implement, and where the store and the
// configuration live, in upstream's layout.
#include <algorithm>
#include <iostream>

#include "kwctl/commands.h"
#include "kwctl/remote.h"
#include "opa/builtins.h"
#include "store/store.h"

namespace kw::kwctl {

void addInfoCommand(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("info", "Display system information");
  cmd->callback([&exit_code] {
    std::cout << "kwctl version: " << kKwctlVersionString
              << "\n\nOpen Policy Agent/Gatekeeper implemented builtins:\n";
    auto builtins = opa::implementedBuiltins();
    std::sort(builtins.begin(), builtins.end());
    for (const auto& name : builtins) std::cout << "  - " << name << "\n";
    std::cout << "\nPolicy store: " << store::Store().root().string()
              << "\nConfig directory: " << configDir().string() << "\n";
    exit_code = 0;
  });
}

}  // namespace kw::kwctl
