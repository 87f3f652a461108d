#include "kwctl/cli.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "kwctl/commands.h"

namespace kw::kwctl {

int fail(const std::string& message) {
  std::cerr << "Error: " << message << "\n";
  return 1;
}

int run(int argc, char** argv) {
  CLI::App app{"kwctl: run, inspect and annotate Kubewarden policies"};
  app.require_subcommand(1);
  bool verbose = false;
  bool no_color = false;
  app.add_flag("-v,--verbose", verbose, "Log debug messages");
  app.add_flag("--no-color", no_color, "Do not colour log output");
  app.set_version_flag("-V,--version", "kwctl 1.10.0-cpp");

  int exit_code = 0;
  addRunCommand(app, exit_code);
  addBenchCommand(app, exit_code);
  addAnnotateCommand(app, exit_code);
  addInspectCommand(app, exit_code);

  // stdout carries the command's result (JSON, YAML); logs go to stderr.
  auto logger = no_color ? spdlog::stderr_logger_mt("kwctl") : spdlog::stderr_color_mt("kwctl");
  spdlog::set_default_logger(logger);
  app.parse_complete_callback([&] {
    spdlog::set_level(verbose ? spdlog::level::debug : spdlog::level::info);
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}

}  // namespace kw::kwctl
