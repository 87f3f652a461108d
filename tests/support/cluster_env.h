// What a test needs from the suite's real control plane (started by the `cluster` CTest fixture,
// tests/cluster/): the kubeconfig, an admin client, and a namespace of its own.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "common/result.h"
#include "kube/client.h"
#include "support/cluster_state.h"

namespace kw::test {

struct ClusterEnv {
  ClusterState state;  // every key of the state file
  std::filesystem::path kubeconfig;
  std::string server;   // https://127.0.0.1:PORT
  std::filesystem::path tools;  // kubectl, etcd, kube-apiserver
};

// The state file: $KW_CLUSTER_ENV, else <build>/cluster/env.
std::filesystem::path clusterEnvFile();
// The running control plane, or nullopt with the reason in `why`.
std::optional<ClusterEnv> findCluster(std::string& why);
// CI=true: a missing control plane fails the test instead of skipping it.
bool clusterRequired();

// A DNS-1123 name from the running test's name plus a random suffix, unique per test run.
std::string uniqueNamespaceName();
// POSTs a Namespace; its name on success.
Result<std::string> createNamespace(kube::Client& client, const std::string& name);
// The admin's config with its credentials swapped for a bearer token (a ServiceAccount's).
kube::Config withToken(kube::Config config, const std::string& token);

// Base fixture: skips (or fails under CI) without a control plane, else connects as admin and
// creates namespace ns_ for this test alone. Namespaces are not deleted: the etcd data goes
// with the control plane at the end of the run, and a failed test's objects stay inspectable
// until then.
class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override;

  ClusterEnv env_;
  std::shared_ptr<kube::Client> admin_;
  std::string ns_;
};

}  // namespace kw::test
