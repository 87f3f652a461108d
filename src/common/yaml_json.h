// YAML to JSON with the YAML 1.2 core schema: policies.yml settings and kwctl settings files
// are YAML, while policies receive JSON. Quoted and !!str scalars stay strings; plain scalars
// become null, booleans, integers (decimal, 0o octal, 0x hex) or floats when they look like one.
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/result.h"

namespace kw {

nlohmann::json yamlToJson(const YAML::Node& node);
// Throws YAML::Exception on malformed input; callers turn it into their own error.
nlohmann::json parseYamlToJson(std::string_view text);

// The whole file, bounded as readFileBounded does; errors name the path and the reason.
Result<std::string> readTextFile(const std::filesystem::path& path);

// Parses one YAML document; errors read "<source>: invalid YAML at line L, column C: <why>".
Result<YAML::Node> loadYaml(std::string_view text, std::string_view source);

}  // namespace kw
