// kw-cluster start|stop --dir DIR --tools DIR: the test control plane's command line, run by
// the CTest fixtures cluster_setup and cluster_cleanup (tests/CMakeLists.txt).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "cluster/harness.h"

int main(int argc, char** argv) {
  const char* usage = "usage: kw-cluster start|stop --dir DIR [--tools DIR] [--timeout SECONDS]\n";
  if (argc < 2) {
    std::fputs(usage, stderr);
    return 2;
  }
  std::string mode = argv[1];
  kw::cluster::Options options;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--dir") options.dir = argv[i + 1];
    else if (flag == "--tools") options.tools = argv[i + 1];
    else if (flag == "--timeout") options.ready_timeout = std::chrono::seconds(std::atoi(argv[i + 1]));
    else {
      std::fputs(usage, stderr);
      return 2;
    }
  }
  if (options.dir.empty() || (argc % 2) != 0) {
    std::fputs(usage, stderr);
    return 2;
  }
  // Absolute, because the state file is read from other working directories.
  options.dir = std::filesystem::absolute(options.dir).lexically_normal();
  if (!options.dir.has_filename()) options.dir = options.dir.parent_path();  // "build/cluster/"
  if (options.tools.empty()) options.tools = options.dir.parent_path() / "tools" / "bin";
  options.tools = std::filesystem::absolute(options.tools);
  // Under CI a control plane that can't start must fail the run, never turn into skips.
  const char* ci = std::getenv("CI");
  options.strict = ci != nullptr && std::strcmp(ci, "true") == 0;
  if (mode == "start") return kw::cluster::start(options);
  if (mode == "stop") return kw::cluster::stop(options);
  std::fputs(usage, stderr);
  return 2;
}
