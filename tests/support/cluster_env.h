// What a test needs from the suite's real control plane (started by the `cluster` CTest fixture,
// tests/cluster/): the kubeconfig, an admin client, and a namespace of its own.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

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

// Polls `condition` (every 20 ms) until it holds or `timeout` passes; its last value.
bool waitFor(const std::function<bool()>& condition,
             std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Compacts etcd's history up to `revision` through its HTTP gateway (POST /v3/kv/compaction),
// so a watch from an older resourceVersion of an uncached resource gets 410 Gone.
Status compactEtcd(const std::string& etcd_url, int64_t revision);
// Writes `object` as JSON under `key` in etcd (PUT /v3/kv/put), which kube-apiserver reads like
// its own protobuf. Only for what its validation refuses and a test must still have: an
// EndpointSlice with a loopback address (see tests/cluster/README.md).
Status storeInEtcd(const std::string& etcd_url, const std::string& key,
                   const nlohmann::json& object);
// A random version-4 UUID, for objects written with storeInEtcd.
std::string randomUid();

// Base fixture: skips (or fails under CI) without a control plane, else connects as admin and
// creates namespace ns_ for this test alone. Namespaces are not deleted: the etcd data goes
// with the control plane at the end of the run, and a failed test's objects stay inspectable
// until then.
class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override;

  // POSTs `object` to `collection` (e.g. "/api/v1/namespaces/<ns>/configmaps") as the admin;
  // the stored object. Fails the test unless the API server answers 201.
  nlohmann::json create(const std::string& collection, const nlohmann::json& object);
  // A ConfigMap in ns_ (created, or replaced with PUT when `replace`); the stored object.
  nlohmann::json putConfigMap(const std::string& name,
                              nlohmann::json labels = nlohmann::json::object(),
                              bool replace = false);
  // A ServiceAccount `name` in ns_ and a client using a fresh token of it (TokenRequest).
  std::shared_ptr<kube::Client> serviceAccountClient(const std::string& name);
  // Role + RoleBinding in ns_ giving the ServiceAccount `verbs` on core `resources`.
  void grant(const std::string& service_account, const std::vector<std::string>& resources,
             const std::vector<std::string>& verbs);

  ClusterEnv env_;
  std::shared_ptr<kube::Client> admin_;
  std::string ns_;
};

}  // namespace kw::test
