// YAML to JSON: policies.yml, sources.yml, settings and metadata files are YAML, while policies
// and the rest of the code work on JSON.
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/result.h"

namespace kw {

// How plain (unquoted, untagged) scalars and mapping keys become JSON. The walk over the tree
// is shared; what differs between readers is only this typing (policies.yml follows the YAML
// 1.2 core schema, policy metadata keeps numbers as text, Rego's yaml.unmarshal follows
// go-yaml's YAML 1.1). Quoted and !!str scalars are always strings.
struct YamlTyping {
  // A plain scalar's value. Empty: coreSchemaScalar.
  std::function<Result<nlohmann::json>(const std::string&)> plain = {};
  // A mapping key's JSON text. Empty: a scalar key's text as written; other keys are refused.
  std::function<Result<std::string>(const YAML::Node&)> key = {};
};

// YAML 1.2 core schema: null, booleans, integers (decimal, 0o octal, 0x hex) and floats; what
// looks like none of them (.inf and .nan included, which JSON can't hold) stays a string.
nlohmann::json coreSchemaScalar(const std::string& plain);

Result<nlohmann::json> yamlToJson(const YAML::Node& node, const YamlTyping& typing);

// The core schema. Throws YAML::Exception on malformed input (and a non-scalar mapping key);
// callers turn it into their own error.
nlohmann::json yamlToJson(const YAML::Node& node);
nlohmann::json parseYamlToJson(std::string_view text);

// The whole file, bounded as readFileBounded does; errors name the path and the reason.
Result<std::string> readTextFile(const std::filesystem::path& path);

// Parses one YAML document; errors read "<source>: invalid YAML at line L, column C: <why>".
Result<YAML::Node> loadYaml(std::string_view text, std::string_view source);

}  // namespace kw
