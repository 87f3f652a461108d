#include "common/yaml_json.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <regex>

#include "common/file_read.h"

namespace kw {

using Json = nlohmann::json;

namespace {

constexpr std::string_view kStrTag = "tag:yaml.org,2002:str";

bool isNullWord(const std::string& s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

// A plain (unquoted, untagged) scalar typed by the YAML 1.2 core schema.
Json plainScalar(const std::string& s) {
  static const std::regex kInt("[-+]?[0-9]+");
  static const std::regex kOct("0o[0-7]+");
  static const std::regex kHex("0x[0-9a-fA-F]+");
  static const std::regex kFloat("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
  if (isNullWord(s)) return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  try {
    if (std::regex_match(s, kInt)) {
      if (s[0] == '-') return std::stoll(s);
      return std::stoull(s[0] == '+' ? s.substr(1) : s);
    }
    if (std::regex_match(s, kOct)) return std::stoull(s.substr(2), nullptr, 8);
    if (std::regex_match(s, kHex)) return std::stoull(s.substr(2), nullptr, 16);
  } catch (const std::out_of_range&) {
    return std::stod(s);  // too large for 64 bits: upstream falls back to a float too
  }
  if (std::regex_match(s, kFloat)) return std::stod(s);
  // .inf and .nan have no JSON form: they stay strings.
  return s;
}

}  // namespace

Json yamlToJson(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      Json o = Json::object();
      for (const auto& kv : n) o[kv.first.Scalar()] = yamlToJson(kv.second);
      return o;
    }
    case YAML::NodeType::Sequence: {
      Json a = Json::array();
      for (const auto& v : n) a.push_back(yamlToJson(v));
      return a;
    }
    case YAML::NodeType::Scalar:
      // "!" marks a quoted scalar; !!str an explicit string tag.
      if (n.Tag() == "!" || n.Tag() == kStrTag) return n.Scalar();
      return plainScalar(n.Scalar());
    default:
      return nullptr;
  }
}

Json parseYamlToJson(std::string_view text) {
  return yamlToJson(YAML::Load(std::string(text)));
}

Result<std::string> readTextFile(const std::filesystem::path& path) {
  return readFileBounded(path, kMaxTextFileBytes);
}

Result<YAML::Node> loadYaml(std::string_view text, std::string_view source) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) return makeError(fmt::format("{}: invalid YAML: {}", source, e.msg));
    return makeError(fmt::format("{}: invalid YAML at line {}, column {}: {}", source,
                                 e.mark.line + 1, e.mark.column + 1, e.msg));
  }
}

}  // namespace kw
