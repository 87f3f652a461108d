// The command table: one function per subcommand, each in its own .cc file. A function adds
// its subcommand and flags to `app`, and its callback stores the process exit code in
// `exit_code`. Errors are printed as one line on stderr: "Error: <message>".
#pragma once

#include <CLI/CLI.hpp>

namespace kw::kwctl {

void addRunCommand(CLI::App& app, int& exit_code);
void addBenchCommand(CLI::App& app, int& exit_code);
void addAnnotateCommand(CLI::App& app, int& exit_code);
void addInspectCommand(CLI::App& app, int& exit_code);

// Prints "Error: <message>" on stderr and returns the exit code for failures (1).
int fail(const std::string& message);

}  // namespace kw::kwctl
