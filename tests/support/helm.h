// Running the real helm binary (scripts/tools.sh links it into build/tools/bin) from tests, and
// reading what it renders.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace kw::test {

std::filesystem::path helmBinary();                            // build/tools/bin/helm
std::filesystem::path chartDir(const std::string& chart);      // <source>/charts/<chart>
std::filesystem::path chartTestData(const std::string& file);  // tests/charts/data/<file>

struct HelmResult {
  int status = -1;
  std::string out;  // stdout and stderr together
};
// Runs helm with `args` (each shell-quoted), with its cache/config/data folders under the
// build folder so tests never touch ~/.config/helm.
HelmResult helm(const std::vector<std::string>& args);

// Every non-empty YAML document of a rendered manifest stream, as JSON (via yaml-cpp).
std::vector<nlohmann::json> parseManifests(const std::string& text);
// The object of `kind` named `name` (null JSON if absent).
nlohmann::json findObject(const std::vector<nlohmann::json>& objects, const std::string& kind,
                          const std::string& name);
std::vector<nlohmann::json> objectsOfKind(const std::vector<nlohmann::json>& objects,
                                          const std::string& kind);
// True if one rule of a Role/ClusterRole allows `verb` on `resource` of `group`.
bool roleAllows(const nlohmann::json& role, const std::string& group, const std::string& resource,
                const std::string& verb);

}  // namespace kw::test
