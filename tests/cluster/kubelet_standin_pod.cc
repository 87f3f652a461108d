#include "cluster/kubelet_standin_pod.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>

#include "common/base64.h"

namespace kw::cluster {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string podName(const json& pod) {
  return pod["metadata"].value("namespace", "") + "/" + pod["metadata"].value("name", "");
}

Status writeFile(const fs::path& file, const std::string& bytes) {
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << bytes;
  if (!out.flush()) return makeError("cannot write " + file.string());
  return okStatus();
}

// The key → bytes of a Secret (data is base64) or a ConfigMap (data is text, binaryData base64).
Result<std::map<std::string, std::string>> contents(const json& object, bool secret) {
  std::map<std::string, std::string> out;
  auto decodeAll = [&](const char* field) -> Status {
    // A named copy: items() of a temporary would dangle inside the range-for.
    json map = object.value(field, json::object());
    for (const auto& [key, value] : map.items()) {
      auto bytes = base64Decode(value.get<std::string>());
      if (!bytes) return makeError(std::string(field) + "." + key + ": " + bytes.error().message);
      out[key] = std::move(*bytes);
    }
    return okStatus();
  };
  if (secret) {
    if (auto s = decodeAll("data"); !s) return s.error();
    return out;
  }
  json data = object.value("data", json::object());
  for (const auto& [key, value] : data.items())
    out[key] = value.get<std::string>();
  if (auto s = decodeAll("binaryData"); !s) return s.error();
  return out;
}

// One Secret or ConfigMap volume: every key as a file, or only `items` at their paths.
Status writeSourceVolume(const json& source, bool secret, const fs::path& dir,
                         const ObjectGetter& get) {
  std::string name = source.value(secret ? "secretName" : "name", "");
  auto object = get(secret ? "secrets" : "configmaps", name);
  if (!object) {
    bool missing = object.error().message.find("not found") != std::string::npos;
    if (missing && source.value("optional", false)) return okStatus();  // empty, as upstream
    return makeError((secret ? "Secret " : "ConfigMap ") + name + ": " + object.error().message);
  }
  auto files = contents(*object, secret);
  if (!files) return files.error();
  if (!source.contains("items")) {
    for (const auto& [key, bytes] : *files)
      if (auto s = writeFile(dir / key, bytes); !s) return s;
    return okStatus();
  }
  for (const auto& item : source["items"]) {
    std::string key = item.value("key", "");
    auto it = files->find(key);
    if (it == files->end()) return makeError("key " + key + " is not in " + name);
    if (auto s = writeFile(dir / item.value("path", key), it->second); !s) return s;
  }
  return okStatus();
}

// Writes every volume under `root`/<name>; the folder of each by volume name.
Result<std::map<std::string, fs::path>> writeVolumes(const json& pod, const fs::path& root,
                                                     const ObjectGetter& get) {
  std::map<std::string, fs::path> out;
  for (const auto& volume : pod["spec"].value("volumes", json::array())) {
    std::string name = volume.value("name", "");
    fs::path dir = root / name;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return makeError("cannot create " + dir.string() + ": " + ec.message());
    Status written = okStatus();
    if (volume.contains("secret"))
      written = writeSourceVolume(volume["secret"], true, dir, get);
    else if (volume.contains("configMap"))
      written = writeSourceVolume(volume["configMap"], false, dir, get);
    else if (!volume.contains("emptyDir"))
      written = makeError("only secret, configMap and emptyDir volumes are supported");
    if (!written) return makeError("volume " + name + ": " + written.error().message);
    out[name] = dir;
  }
  return out;
}

Result<Mounts> mountsOf(const json& container, const std::map<std::string, fs::path>& volumes) {
  Mounts mounts;
  for (const auto& mount : container.value("volumeMounts", json::array())) {
    std::string name = mount.value("name", "");
    auto it = volumes.find(name);
    if (it == volumes.end()) return makeError("volumeMount of unknown volume " + name);
    fs::path host = it->second;
    if (auto sub = mount.value("subPath", ""); !sub.empty()) host /= sub;
    std::string path = mount.value("mountPath", "");
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    mounts.emplace_back(path, host);
  }
  std::sort(mounts.begin(), mounts.end(),
            [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  return mounts;
}

// The value of one env entry: `value`, or a fieldRef / secretKeyRef / configMapKeyRef.
Result<std::string> envValue(const json& entry, const json& pod, const std::string& pod_ip,
                             const Mounts& mounts, const ObjectGetter& get) {
  if (!entry.contains("valueFrom")) return translatePath(entry.value("value", ""), mounts);
  const json& from = entry["valueFrom"];
  if (from.contains("fieldRef")) {
    std::string path = from["fieldRef"].value("fieldPath", "");
    if (path == "metadata.name" || path == "metadata.namespace")
      return pod["metadata"].value(path.substr(9), "");
    if (path == "spec.nodeName" || path == "spec.serviceAccountName")
      return pod["spec"].value(path.substr(5), "");
    if (path == "status.podIP") return pod_ip;
    return makeError("fieldRef " + path + " is not supported");
  }
  for (const char* ref : {"secretKeyRef", "configMapKeyRef"}) {
    if (!from.contains(ref)) continue;
    bool secret = std::string(ref) == "secretKeyRef";
    std::string name = from[ref].value("name", ""), key = from[ref].value("key", "");
    auto object = get(secret ? "secrets" : "configmaps", name);
    if (!object) return makeError(name + ": " + object.error().message);
    auto files = contents(*object, secret);
    if (!files) return files.error();
    auto it = files->find(key);
    if (it == files->end()) return makeError("key " + key + " is not in " + name);
    return it->second;
  }
  return makeError("valueFrom is not supported");
}

}  // namespace

std::string translatePath(const std::string& value, const Mounts& mounts) {
  for (const auto& [path, host] : mounts) {
    if (value == path) return host.string();
    if (value.size() > path.size() && value.compare(0, path.size(), path) == 0 &&
        value[path.size()] == '/')
      return host.string() + value.substr(path.size());
  }
  return value;
}

Result<PodLaunch> preparePod(const json& pod, const std::string& pod_ip, const fs::path& folder,
                             const fs::path& binary, const fs::path& kubeconfig,
                             const ObjectGetter& get) {
  auto fail = [&](const std::string& why) { return makeError("Pod " + podName(pod) + ": " + why); };
  const json& containers = pod["spec"].value("containers", json::array());
  if (containers.size() != 1)
    return fail("has " + std::to_string(containers.size()) +
                " containers; the stand-in runs exactly one");
  const json& container = containers[0];
  auto volumes = writeVolumes(pod, folder / "volumes", get);
  if (!volumes) return fail(volumes.error().message);
  auto mounts = mountsOf(container, *volumes);
  if (!mounts) return fail(mounts.error().message);

  PodLaunch launch;
  launch.cwd = folder;
  launch.args.push_back(binary.string());
  for (const auto& arg : container.value("args", json::array()))
    launch.args.push_back(translatePath(arg.get<std::string>(), *mounts));
  // Bound to the Pod's own address, like a container in its network namespace.
  launch.args.insert(launch.args.end(), {"--addr", pod_ip});

  fs::path home = folder / "home";
  std::error_code ec;
  fs::create_directories(home, ec);
  launch.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + home.string(),
                "HOSTNAME=" + pod["metadata"].value("name", "")};
  if (!kubeconfig.empty()) launch.env.push_back("KUBECONFIG=" + kubeconfig.string());
  // A sanitizer run (make test-asan) configures every process it starts through these; a Pod's
  // policy-server is one of them, not a container of its own.
  for (const char* name : {"ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS"}) {
    if (const char* value = std::getenv(name))
      launch.env.push_back(std::string(name) + "=" + value);
  }
  for (const auto& entry : container.value("env", json::array())) {
    auto value = envValue(entry, pod, pod_ip, *mounts, get);
    if (!value) return fail("env " + entry.value("name", "") + ": " + value.error().message);
    launch.env.push_back(entry.value("name", "") + "=" + *value);
  }
  return launch;
}

}  // namespace kw::cluster
