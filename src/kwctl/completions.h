// Shell completion scripts (bash, zsh, fish) generated from the CLI11 app itself, so every
// subcommand and flag added later is completed without touching this code.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "common/result.h"

namespace kw::kwctl {

Result<std::string> completionScript(CLI::App& app, const std::string& shell);

}  // namespace kw::kwctl
