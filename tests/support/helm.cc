#include "support/helm.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "common/yaml_json.h"
#include "support/test_env.h"

namespace kw::test {
namespace fs = std::filesystem;

fs::path helmBinary() {
  return binDir().parent_path() / "tools" / "bin" / "helm";
}

fs::path chartDir(const std::string& chart) {
  return sourceDir() / "charts" / chart;
}

fs::path chartTestData(const std::string& file) {
  return sourceDir() / "tests" / "charts" / "data" / file;
}

namespace {
std::string shellQuote(const std::string& arg) {
  std::string quoted = "'";
  for (char c : arg) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}
}  // namespace

HelmResult helm(const std::vector<std::string>& args) {
  fs::path home = binDir().parent_path() / "tests" / "helm-home";
  std::string cmd = "HELM_CACHE_HOME=" + shellQuote((home / "cache").string()) +
                    " HELM_CONFIG_HOME=" + shellQuote((home / "config").string()) +
                    " HELM_DATA_HOME=" + shellQuote((home / "data").string()) + " " +
                    shellQuote(helmBinary().string());
  for (const auto& arg : args) cmd += " " + shellQuote(arg);
  auto run = runCommand(cmd + " 2>&1");
  return HelmResult{run.status, run.out};
}

std::vector<nlohmann::json> parseManifests(const std::string& text) {
  std::vector<nlohmann::json> objects;
  for (const auto& doc : YAML::LoadAll(text)) {
    if (!doc || doc.IsNull()) continue;
    objects.push_back(yamlToJson(doc));
  }
  return objects;
}

nlohmann::json findObject(const std::vector<nlohmann::json>& objects, const std::string& kind,
                          const std::string& name) {
  for (const auto& object : objects) {
    if (object.value("kind", "") == kind && object["metadata"].value("name", "") == name) {
      return object;
    }
  }
  return nullptr;
}

std::vector<nlohmann::json> objectsOfKind(const std::vector<nlohmann::json>& objects,
                                          const std::string& kind) {
  std::vector<nlohmann::json> found;
  for (const auto& object : objects) {
    if (object.value("kind", "") == kind) found.push_back(object);
  }
  return found;
}

namespace {
bool listHas(const nlohmann::json& list, const std::string& item) {
  if (!list.is_array()) return false;
  return std::any_of(list.begin(), list.end(), [&](const nlohmann::json& entry) {
    return entry.is_string() && (entry == item || entry == "*");
  });
}
}  // namespace

bool roleAllows(const nlohmann::json& role, const std::string& group, const std::string& resource,
                const std::string& verb) {
  if (!role.contains("rules")) return false;
  for (const auto& rule : role["rules"]) {
    if (listHas(rule.value("apiGroups", nlohmann::json::array()), group) &&
        listHas(rule.value("resources", nlohmann::json::array()), resource) &&
        listHas(rule.value("verbs", nlohmann::json::array()), verb)) {
      return true;
    }
  }
  return false;
}

}  // namespace kw::test
