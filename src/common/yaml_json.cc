#include "common/yaml_json.h"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include "common/file_read.h"

namespace kw {

using Json = nlohmann::json;

namespace {

constexpr std::string_view kStrTag = "tag:yaml.org,2002:str";

bool isNullWord(const std::string& s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

// Scanners for the core schema's number forms; each consumes what it recognises.
struct Scan {
  std::string_view s;
  size_t pos = 0;
  bool sign() { return pos < s.size() && (s[pos] == '+' || s[pos] == '-') && ++pos; }
  size_t digits(std::string_view set) {
    size_t start = pos;
    while (pos < s.size() && set.find(s[pos]) != std::string_view::npos) ++pos;
    return pos - start;
  }
  bool literal(std::string_view lit) {
    if (s.substr(pos, lit.size()) != lit) return false;
    pos += lit.size();
    return true;
  }
  bool end() const { return pos == s.size(); }
};

constexpr std::string_view kDec = "0123456789";

bool isDecimalInt(std::string_view s) {  // [-+]?[0-9]+
  Scan c{s};
  c.sign();
  return c.digits(kDec) > 0 && c.end();
}

bool isPrefixedInt(std::string_view s, std::string_view prefix, std::string_view set) {
  Scan c{s};
  return c.literal(prefix) && c.digits(set) > 0 && c.end();
}

bool isFloat(std::string_view s) {  // [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
  Scan c{s};
  c.sign();
  if (c.literal(".")) {
    if (c.digits(kDec) == 0) return false;
  } else {
    if (c.digits(kDec) == 0) return false;
    if (c.literal(".")) c.digits(kDec);
  }
  if (c.literal("e") || c.literal("E")) {
    c.sign();
    if (c.digits(kDec) == 0) return false;
  }
  return c.end();
}

bool isQuotedOrStrTagged(const YAML::Node& n) {
  // yaml-cpp tags a quoted scalar "!"; !!str is the explicit string tag.
  return n.Tag() == "!" || n.Tag() == kStrTag;
}

Result<std::string> scalarKey(const YAML::Node& key) {
  if (!key.IsScalar()) return makeError("a mapping key must be a scalar");
  return key.Scalar();
}

Result<Json> walk(const YAML::Node& n, const YamlTyping& typing) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      Json o = Json::object();
      for (const auto& kv : n) {
        auto k = typing.key ? typing.key(kv.first) : scalarKey(kv.first);
        if (!k) return k.error();
        auto v = walk(kv.second, typing);
        if (!v) return v.error();
        o[*k] = std::move(*v);
      }
      return o;
    }
    case YAML::NodeType::Sequence: {
      Json a = Json::array();
      for (const auto& item : n) {
        auto v = walk(item, typing);
        if (!v) return v.error();
        a.push_back(std::move(*v));
      }
      return a;
    }
    case YAML::NodeType::Scalar:
      if (isQuotedOrStrTagged(n)) return Json(n.Scalar());
      if (typing.plain) return typing.plain(n.Scalar());
      return coreSchemaScalar(n.Scalar());
    default:
      return Json(nullptr);
  }
}

// A float scalar as JSON: the nearest double (a tiny one is 0, as Rust's parser gives), or the
// text itself when it overflows, since JSON has no infinity (as `.inf` stays a string above).
// std::stod would throw out_of_range for both, out of every reader of YAML.
Json toDouble(const std::string& s) {
  double v = std::strtod(s.c_str(), nullptr);
  if (std::isinf(v)) return s;
  return v;
}

}  // namespace

Json coreSchemaScalar(const std::string& s) {
  if (isNullWord(s)) return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  try {
    if (isDecimalInt(s)) {
      if (s[0] == '-') return std::stoll(s);
      return std::stoull(s[0] == '+' ? s.substr(1) : s);
    }
    if (isPrefixedInt(s, "0o", "01234567")) return std::stoull(s.substr(2), nullptr, 8);
    if (isPrefixedInt(s, "0x", "0123456789abcdefABCDEF")) {
      return std::stoull(s.substr(2), nullptr, 16);
    }
  } catch (const std::out_of_range&) {
    return toDouble(s);  // too large for 64 bits: upstream falls back to a float too
  }
  if (isFloat(s)) return toDouble(s);
  return s;
}

Result<Json> yamlToJson(const YAML::Node& node, const YamlTyping& typing) {
  return walk(node, typing);
}

Json yamlToJson(const YAML::Node& node) {
  auto j = walk(node, {});
  if (!j) throw YAML::ParserException(node.Mark(), j.error().message);
  return std::move(*j);
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
