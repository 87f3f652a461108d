// kwctl save / load: move policies between stores (air-gapped installs) as .tar.gz files.
#include <spdlog/spdlog.h>

#include "kwctl/archive.h"
#include "kwctl/commands.h"

namespace kw::kwctl {

void addSaveCommand(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("save", "Save policies to a tar.gz file");
  auto policies = std::make_shared<std::vector<std::string>>();
  auto output = std::make_shared<std::string>();
  cmd->add_option("policies", *policies, "List of policies to save")->required();
  cmd->add_option("-o,--output", *output, "Path of the tar.gz file to write")->required();
  cmd->callback([policies, output, &exit_code] {
    auto ok = saveArchive(store::Store(), *policies, *output);
    exit_code = ok ? 0 : fail(ok.error().message);
  });
}

void addLoadCommand(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("load", "Load policies from a tar.gz file");
  auto input = std::make_shared<std::string>();
  cmd->add_option("--input", *input, "Path of the tar.gz file to read")->required();
  cmd->callback([input, &exit_code] {
    auto loaded = loadArchive(store::Store(), *input);
    if (!loaded) {
      exit_code = fail(loaded.error().message);
      return;
    }
    for (const auto& name : *loaded) spdlog::debug("loaded {}", name);
    exit_code = 0;
  });
}

}  // namespace kw::kwctl
