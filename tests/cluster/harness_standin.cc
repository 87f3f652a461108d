#include "cluster/harness_standin.h"

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "cluster/harness_http.h"
#include "cluster/harness_process.h"

namespace kw::cluster {
using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

bool nodeReady(const std::string& server, const Pki& pki, std::string& last) {
  auto answer = httpsGet(server + "/api/v1/nodes/" + kStandinNode, pki.ca_cert, pki.admin_cert,
                         pki.admin_key);
  last = answer.describe();
  if (answer.status != 200) return false;
  auto node = json::parse(answer.body, nullptr, false);
  if (node.is_discarded()) return false;
  for (const auto& c : node.value(json::json_pointer("/status/conditions"), json::array()))
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  return false;
}

}  // namespace

bool startStandin(const StandinLaunch& l, const Pki& pki, test::ClusterState& state,
                  const std::function<void()>& save, std::string& error) {
  for (const auto& bin : {l.binary, l.policy_server})
    if (::access(bin.c_str(), X_OK) != 0) {
      error = bin.string() + " is missing: build it first (cmake --build build --target " +
              bin.filename().string() + ")";
      return false;
    }
  std::error_code ec;
  std::filesystem::create_directories(l.dir / "logs", ec);
  auto log = l.dir / "logs" / "kw-kubelet-standin.log";
  pid_t pid =
      spawnDaemon({l.binary.string(), "--kubeconfig", l.kubeconfig.string(), "--policy-server",
                   l.policy_server.string(), "--dir", l.dir.string(), "--node-name", kStandinNode},
                  log);
  if (pid < 0) {
    error = "fork failed for kw-kubelet-standin";
    return false;
  }
  state[test::kClusterStandin] = l.binary.string();
  state[test::kClusterStandinPid] = std::to_string(pid);
  state[test::kClusterStandinLog] = log.string();
  state[test::kClusterStandinDir] = l.dir.string();
  state[test::kClusterStandinNode] = kStandinNode;
  save();
  auto deadline = Clock::now() + l.timeout;
  std::string last = "no answer yet";
  while (Clock::now() < deadline) {
    if (childExited(pid)) {
      error = "kw-kubelet-standin exited during start-up:\n" + tailOf(log);
      return false;
    }
    if (nodeReady(l.server, pki, last)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  error = "node " + std::string(kStandinNode) + " not Ready after " +
          std::to_string(l.timeout.count()) + " s; last: " + last + "\n" + tailOf(log);
  return false;
}

}  // namespace kw::cluster
