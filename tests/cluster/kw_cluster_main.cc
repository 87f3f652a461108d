// kw-cluster start|stop --dir DIR --tools DIR: the test control plane's command line, run by
// the CTest fixtures cluster_setup and cluster_cleanup (tests/CMakeLists.txt).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "cluster/harness.h"

int main(int argc, char** argv) {
  const char* usage =
      "usage: kw-cluster start|stop --dir DIR [--tools DIR] [--timeout SECONDS] [--strict]\n"
      "                  [--policy-server BIN --policies FILE]\n"
      "                  [--kubelet-standin BIN [--standin-policy-server BIN]]\n"
      "                  [--crds CHART_OR_DIR] [--controller BIN [--controller-arg ARG]...]\n";
  if (argc < 2) {
    std::fputs(usage, stderr);
    return 2;
  }
  std::string mode = argv[1];
  kw::cluster::Options options;
  bool strict_flag = false;
  for (int i = 2; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--strict") {
      strict_flag = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fputs(usage, stderr);
      return 2;
    }
    const char* value = argv[++i];
    if (flag == "--dir")
      options.dir = value;
    else if (flag == "--tools")
      options.tools = value;
    else if (flag == "--timeout")
      options.ready_timeout = std::chrono::seconds(std::atoi(value));
    else if (flag == "--policy-server")
      options.policy_server = value;
    else if (flag == "--policies")
      options.policies = value;
    else if (flag == "--kubelet-standin")
      options.kubelet_standin = value;
    else if (flag == "--standin-policy-server")
      options.standin_policy_server = value;
    else if (flag == "--crds")
      options.crds = std::filesystem::absolute(value);
    else if (flag == "--controller")
      options.controller = std::filesystem::absolute(value);
    else if (flag == "--controller-arg")
      options.controller_args.push_back(value);
    else {
      std::fputs(usage, stderr);
      return 2;
    }
  }
  if (options.dir.empty() || options.policy_server.empty() != options.policies.empty()) {
    std::fputs(usage, stderr);
    return 2;
  }
  // Absolute, because the state file is read from other working directories.
  options.dir = std::filesystem::absolute(options.dir).lexically_normal();
  if (!options.dir.has_filename()) options.dir = options.dir.parent_path();  // "build/cluster/"
  if (options.tools.empty()) options.tools = options.dir.parent_path() / "tools" / "bin";
  options.tools = std::filesystem::absolute(options.tools);
  if (!options.kubelet_standin.empty()) {
    options.kubelet_standin = std::filesystem::absolute(options.kubelet_standin);
    if (options.standin_policy_server.empty())
      options.standin_policy_server = options.kubelet_standin.parent_path() / "policy-server";
    options.standin_policy_server = std::filesystem::absolute(options.standin_policy_server);
  }
  // Under CI a control plane that can't start must fail the run, never turn into skips.
  const char* ci = std::getenv("CI");
  options.strict = strict_flag || (ci != nullptr && std::strcmp(ci, "true") == 0);
  if (mode == "start") return kw::cluster::start(options);
  if (mode == "stop") return kw::cluster::stop(options);
  std::fputs(usage, stderr);
  return 2;
}
