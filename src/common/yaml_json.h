// YAML to JSON with the YAML 1.2 core schema: policies.yml settings and kwctl settings files
// are YAML, while policies receive JSON. Quoted and !!str scalars stay strings; plain scalars
// become null, booleans, integers (decimal, 0o octal, 0x hex) or floats when they look like one.
#pragma once

#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>
#include <string_view>

namespace kw {

nlohmann::json yamlToJson(const YAML::Node& node);
// Throws YAML::Exception on malformed input; callers turn it into their own error.
nlohmann::json parseYamlToJson(std::string_view text);

}  // namespace kw
