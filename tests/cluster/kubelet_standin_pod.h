// Part of the kubelet stand-in (a test double, see kubelet_standin.h): how one Pod's container
// becomes a process on this machine. Volumes (Secret, ConfigMap, emptyDir) are written into a
// folder of the Pod's own; container paths in the env and args that fall under a volumeMount
// are rewritten to that folder, since the process sees the host's file system, not the image's.
#pragma once

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace kw::cluster {

struct PodLaunch {
  std::vector<std::string> args;  // the binary, the container's args (translated), --addr
  std::vector<std::string> env;   // "KEY=value", the container's env (translated) and a few more
  std::filesystem::path cwd;      // the Pod's folder
};

// Reads one object of the Pod's namespace: plural is "secrets" or "configmaps". A missing
// object is an error whose message contains "not found".
using ObjectGetter =
    std::function<Result<nlohmann::json>(const std::string& plural, const std::string& name)>;

// (mountPath, host folder) pairs, longest mountPath first.
using Mounts = std::vector<std::pair<std::string, std::filesystem::path>>;

// `value` with a leading container path under a mount replaced by the host folder; other
// values unchanged ("/pki/cert" → "<folder>/volumes/certs/cert").
std::string translatePath(const std::string& value, const Mounts& mounts);

// Writes the Pod's volumes under `folder`/volumes and builds the command line of its first
// container: `binary` (the image is ignored: the stand-in runs only our policy-server), the
// container's args, then --addr `pod_ip`. `kubeconfig` (may be empty) becomes KUBECONFIG.
// Errors name the Pod, the volume or env entry, and why.
Result<PodLaunch> preparePod(const nlohmann::json& pod, const std::string& pod_ip,
                             const std::filesystem::path& folder,
                             const std::filesystem::path& binary,
                             const std::filesystem::path& kubeconfig, const ObjectGetter& get);

}  // namespace kw::cluster
