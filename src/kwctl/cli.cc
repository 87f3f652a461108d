#include "kwctl/cli.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "kwctl/commands.h"

namespace kw::kwctl {
namespace {
// Set while parsing, before any subcommand callback runs.
bool g_verbose = false;
}  // namespace

bool verboseEnabled() {
  return g_verbose;
}

int fail(const std::string& message) {
  std::cerr << "Error: " << message << "\n";
  return 1;
}

int run(int argc, char** argv) {
  CLI::App app{"kwctl: run, inspect, annotate and distribute Kubewarden policies"};
  app.name("kwctl");
  app.require_subcommand(1);
  bool no_color = false;
  app.add_flag("-v,--verbose", g_verbose, "Increase verbosity");
  app.add_flag("--no-color", no_color, "Disable colored output for logs");
  // As upstream's clap: -V prints the version, --version adds a pointer to `kwctl info`.
  const std::string version = std::string("kwctl ") + kKwctlVersionString;
  app.set_version_flag("-V", version);
  app.add_flag_callback(
         "--version",
         [version] {
           throw CLI::CallForVersion(
               version + "\n\nUse the `info` command to display system information.\n", 0);
         },
         "Display program version information and exit")
      ->configurable(false);
  // Subcommands created from here on hand unknown flags up, so `kwctl pull URI -v` works as
  // well as `kwctl -v pull URI` (a subcommand's own -v, e.g. scaffold artifacthub, wins).
  app.fallthrough();

  int exit_code = 0;
  addRunCommand(app, exit_code);
  addBenchCommand(app, exit_code);
  addAnnotateCommand(app, exit_code);
  addInspectCommand(app, exit_code);
  addPullCommand(app, exit_code);
  addPushCommand(app, exit_code);
  addPoliciesCommand(app, exit_code);
  addRmCommand(app, exit_code);
  addDigestCommand(app, exit_code);
  addInfoCommand(app, exit_code);
  addSaveCommand(app, exit_code);
  addLoadCommand(app, exit_code);
  addScaffoldCommand(app, exit_code);
  addVerifyCommand(app, exit_code);
  addCompletionsCommand(app, exit_code);

  // stdout carries the command's result (JSON, YAML); logs go to stderr.
  auto logger = no_color ? spdlog::stderr_logger_mt("kwctl") : spdlog::stderr_color_mt("kwctl");
  spdlog::set_default_logger(logger);
  app.parse_complete_callback(
      [&] { spdlog::set_level(g_verbose ? spdlog::level::debug : spdlog::level::info); });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // app.exit prints the message (or the help); usage errors then exit 2, as clap's do in
    // upstream kwctl, instead of CLI11's own codes (106, 109, …) that scripts would not expect.
    return app.exit(e) == 0 ? 0 : 2;
  }
  return exit_code;
}

}  // namespace kw::kwctl
