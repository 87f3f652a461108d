// The command table: one function per subcommand, each in its own .cc file. A function adds
// its subcommand and flags to `app`, and its callback stores the process exit code in
// `exit_code`. Errors are printed as one line on stderr: "Error: <message>".
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace kw::kwctl {

void addRunCommand(CLI::App& app, int& exit_code);
void addBenchCommand(CLI::App& app, int& exit_code);
void addAnnotateCommand(CLI::App& app, int& exit_code);
void addInspectCommand(CLI::App& app, int& exit_code);
void addPullCommand(CLI::App& app, int& exit_code);
void addPushCommand(CLI::App& app, int& exit_code);
void addPoliciesCommand(CLI::App& app, int& exit_code);
void addRmCommand(CLI::App& app, int& exit_code);
void addDigestCommand(CLI::App& app, int& exit_code);
void addInfoCommand(CLI::App& app, int& exit_code);
void addSaveCommand(CLI::App& app, int& exit_code);
void addLoadCommand(CLI::App& app, int& exit_code);
void addScaffoldCommand(CLI::App& app, int& exit_code);
void addVerifyCommand(CLI::App& app, int& exit_code);
// Needs the whole app to describe it, so it is added last.
void addCompletionsCommand(CLI::App& app, int& exit_code);

// Prints "Error: <message>" on stderr and returns the exit code for failures (1).
int fail(const std::string& message);

// The global -v/--verbose flag: debug logs, and the registry client's (redacted) HTTP log.
bool verboseEnabled();

// Our version, as `kwctl --version` and `kwctl info` print it.
inline constexpr const char* kKwctlVersionString = "1.10.0-cpp";

}  // namespace kw::kwctl
