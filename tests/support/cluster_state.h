// The state file of the test control plane (build/cluster/env): how to reach it and what runs.
// One KEY='value' per line, so a shell can `source` it and C++ reads it with readClusterState.
// Shared by the harness (kw-cluster) that writes it and the tests that read it.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>

namespace kw::test {

using ClusterState = std::map<std::string, std::string>;

// Keys written by kw-cluster.
inline constexpr const char* kClusterStatus = "KW_CLUSTER_STATUS";  // running | failed | stopped
inline constexpr const char* kClusterError = "KW_CLUSTER_ERROR";    // why it is not running
inline constexpr const char* kClusterKubeconfig = "KUBECONFIG";
inline constexpr const char* kClusterServer = "KW_CLUSTER_SERVER";
inline constexpr const char* kClusterEtcd = "KW_CLUSTER_ETCD";
inline constexpr const char* kClusterCa = "KW_CLUSTER_CA";
inline constexpr const char* kClusterTools = "KW_CLUSTER_TOOLS";
inline constexpr const char* kClusterEtcdPid = "KW_CLUSTER_ETCD_PID";
inline constexpr const char* kClusterApiserverPid = "KW_CLUSTER_APISERVER_PID";
inline constexpr const char* kClusterEtcdLog = "KW_CLUSTER_ETCD_LOG";
inline constexpr const char* kClusterApiserverLog = "KW_CLUSTER_APISERVER_LOG";
inline constexpr const char* kClusterStartupMs = "KW_CLUSTER_STARTUP_MS";
// kube-controller-manager (deployment, replicaset, endpointslice, garbage collector, namespace,
// service accounts, disruption): its pid, log and secure-port URL (/healthz).
inline constexpr const char* kClusterKcmPid = "KW_CLUSTER_KCM_PID";
inline constexpr const char* kClusterKcmLog = "KW_CLUSTER_KCM_LOG";
inline constexpr const char* kClusterKcmUrl = "KW_CLUSTER_KCM_URL";
// The kubelet stand-in (kw-kubelet-standin, a test double), with `--kubelet-standin`. When it
// could not start and the run is not strict, KW_CLUSTER_STANDIN_ERROR says why.
inline constexpr const char* kClusterStandin = "KW_CLUSTER_STANDIN";  // the binary
inline constexpr const char* kClusterStandinPid = "KW_CLUSTER_STANDIN_PID";
inline constexpr const char* kClusterStandinLog = "KW_CLUSTER_STANDIN_LOG";
inline constexpr const char* kClusterStandinDir = "KW_CLUSTER_STANDIN_DIR";
inline constexpr const char* kClusterStandinNode = "KW_CLUSTER_STANDIN_NODE";
inline constexpr const char* kClusterStandinError = "KW_CLUSTER_STANDIN_ERROR";
// Our kubewarden-controller, with `--controller` (make cluster).
inline constexpr const char* kClusterController = "KW_CLUSTER_CONTROLLER";  // the binary
inline constexpr const char* kClusterControllerPid = "KW_CLUSTER_CONTROLLER_PID";
inline constexpr const char* kClusterControllerLog = "KW_CLUSTER_CONTROLLER_LOG";
inline constexpr const char* kClusterControllerHealth = "KW_CLUSTER_CONTROLLER_HEALTH";
// Only with `kw-cluster start --policy-server` (make cluster).
inline constexpr const char* kClusterPolicyServer = "KW_CLUSTER_POLICY_SERVER";  // the binary
inline constexpr const char* kClusterPolicyServerPid = "KW_CLUSTER_POLICY_SERVER_PID";
inline constexpr const char* kClusterPolicyServerUrl = "KW_CLUSTER_POLICY_SERVER_URL";
inline constexpr const char* kClusterPolicyServerLog = "KW_CLUSTER_POLICY_SERVER_LOG";

// nullopt when the file is missing or unreadable.
std::optional<ClusterState> readClusterState(const std::filesystem::path& file);
// Written to a temporary name and renamed, so a reader never sees half a file.
// Values must not contain a single quote or a newline (false if one does).
bool writeClusterState(const std::filesystem::path& file, const ClusterState& state);

}  // namespace kw::test
