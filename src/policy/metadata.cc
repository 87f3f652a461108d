#include "policy/metadata.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <exception>
#include <nlohmann/json.hpp>
#include <utility>

#include "common/yaml_json.h"
#include "common/yaml_quote.h"
#include "wasm/binary/module_binary.h"

namespace kw::policy {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

// ---------------------------------------------------------------------------------------------
// Enum spellings

constexpr std::array<std::pair<ExecutionMode, std::string_view>, 4> kExecutionModes{{
    {ExecutionMode::KubewardenWapc, "kubewarden-wapc"},
    {ExecutionMode::Opa, "opa"},
    {ExecutionMode::Gatekeeper, "gatekeeper"},
    {ExecutionMode::Wasi, "wasi"},
}};
constexpr std::array<std::pair<PolicyType, std::string_view>, 2> kPolicyTypes{{
    {PolicyType::Kubernetes, "kubernetes"},
    {PolicyType::Raw, "raw"},
}};
// Upstream spells the two protocol versions differently ("v1" but "Unknown"); keep it so.
constexpr std::array<std::pair<ProtocolVersion, std::string_view>, 2> kProtocolVersions{{
    {ProtocolVersion::Unknown, "Unknown"},
    {ProtocolVersion::V1, "v1"},
}};

template <typename E, size_t N>
std::string_view nameOf(const std::array<std::pair<E, std::string_view>, N>& table, E value) {
  for (const auto& [e, name] : table) {
    if (e == value) return name;
  }
  return "?";
}

template <typename E, size_t N>
std::optional<E> valueOf(const std::array<std::pair<E, std::string_view>, N>& table,
                         std::string_view s) {
  for (const auto& [e, name] : table) {
    if (name == s) return e;
  }
  return std::nullopt;
}

template <typename E, size_t N>
std::string choices(const std::array<std::pair<E, std::string_view>, N>& table) {
  std::string out;
  for (const auto& [e, name] : table) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

constexpr std::array<std::string_view, 5> kOperations{"CREATE", "UPDATE", "DELETE", "CONNECT", "*"};

// ---------------------------------------------------------------------------------------------
// Decoding. Both JSON and YAML are first turned into a nlohmann::json tree so there is a single
// decoder, and so both formats report type errors with the same field paths.

// Thrown inside the decoder only; decode() turns it into a kw::Error.
struct DecodeError {
  std::string message;
};

[[noreturn]] void decodeFail(const std::string& path, const std::string& what) {
  throw DecodeError{fmt::format("{}: {}", path, what)};
}

std::string typeName(const json& v) {
  return v.is_null() ? "null" : std::string(v.type_name());
}

// The value under `key`, or nullptr when the key is absent. Absent and null are treated alike
// for optional fields, so `annotations:` with nothing after it in YAML means "no annotations".
const json* member(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

const json& required(const json& object, const char* key, const std::string& path) {
  auto it = object.find(key);
  if (it == object.end()) decodeFail(path, "missing required field");
  return *it;
}

std::string asString(const json& v, const std::string& path) {
  if (!v.is_string()) decodeFail(path, fmt::format("expected a string, found {}", typeName(v)));
  return v.get<std::string>();
}

bool asBool(const json& v, const std::string& path) {
  if (!v.is_boolean()) {
    decodeFail(path, fmt::format("expected a boolean (true or false), found {}", typeName(v)));
  }
  return v.get<bool>();
}

void requireObject(const json& v, const std::string& path) {
  if (!v.is_object()) decodeFail(path, fmt::format("expected a mapping, found {}", typeName(v)));
}

void requireArray(const json& v, const std::string& path) {
  if (!v.is_array()) decodeFail(path, fmt::format("expected a list, found {}", typeName(v)));
}

std::vector<std::string> asStringList(const json& v, const std::string& path) {
  requireArray(v, path);
  std::vector<std::string> out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i)
    out.push_back(asString(v[i], fmt::format("{}[{}]", path, i)));
  return out;
}

template <typename E, size_t N>
E asEnum(const json& v, const std::string& path,
         const std::array<std::pair<E, std::string_view>, N>& table) {
  std::string s = asString(v, path);
  auto e = valueOf(table, s);
  if (!e)
    decodeFail(path, fmt::format("unknown value '{}' (expected one of: {})", s, choices(table)));
  return *e;
}

Rule decodeRule(const json& v, const std::string& path) {
  requireObject(v, path);
  Rule rule;
  rule.apiGroups = asStringList(required(v, "apiGroups", path + ".apiGroups"), path + ".apiGroups");
  rule.apiVersions =
      asStringList(required(v, "apiVersions", path + ".apiVersions"), path + ".apiVersions");
  rule.resources = asStringList(required(v, "resources", path + ".resources"), path + ".resources");
  rule.operations =
      asStringList(required(v, "operations", path + ".operations"), path + ".operations");
  return rule;
}

Metadata decode(const json& root) {
  if (!root.is_object()) {
    throw DecodeError{fmt::format("metadata must be a mapping, found {}", typeName(root))};
  }
  Metadata m;
  if (const json* v = member(root, "protocolVersion")) {
    m.protocolVersion = asEnum(*v, "protocolVersion", kProtocolVersions);
  }

  const json& rules = required(root, "rules", "rules");
  requireArray(rules, "rules");
  for (size_t i = 0; i < rules.size(); ++i) {
    m.rules.push_back(decodeRule(rules[i], fmt::format("rules[{}]", i)));
  }

  if (const json* v = member(root, "annotations")) {
    requireObject(*v, "annotations");
    for (const auto& [key, value] : v->items()) {
      m.annotations[key] = asString(value, fmt::format("annotations.{}", key));
    }
  }

  m.mutating = asBool(required(root, "mutating", "mutating"), "mutating");
  if (const json* v = member(root, "backgroundAudit"))
    m.backgroundAudit = asBool(*v, "backgroundAudit");

  if (const json* v = member(root, "contextAwareResources")) {
    requireArray(*v, "contextAwareResources");
    for (size_t i = 0; i < v->size(); ++i) {
      std::string path = fmt::format("contextAwareResources[{}]", i);
      const json& item = (*v)[i];
      requireObject(item, path);
      ContextAwareResource r;
      r.apiVersion =
          asString(required(item, "apiVersion", path + ".apiVersion"), path + ".apiVersion");
      r.kind = asString(required(item, "kind", path + ".kind"), path + ".kind");
      m.contextAwareResources.insert(std::move(r));
    }
  }

  if (const json* v = member(root, "executionMode")) {
    m.executionMode = asEnum(*v, "executionMode", kExecutionModes);
  }
  if (const json* v = member(root, "policyType")) {
    m.policyType = asEnum(*v, "policyType", kPolicyTypes);
  }
  if (const json* v = member(root, "minimumKubewardenVersion")) {
    m.minimumKubewardenVersion = asString(*v, "minimumKubewardenVersion");
  }
  return m;
}

// YAML 1.2 core-schema resolution of an untagged plain scalar, limited to what the metadata
// schema can tell apart: booleans and null. Everything else stays a string, so a number where
// a string is expected (e.g. an annotation value `1`) reads as the text the user wrote.
Result<json> resolvePlainScalar(const std::string& s) {
  if (s == "true" || s == "True" || s == "TRUE") return json(true);
  if (s == "false" || s == "False" || s == "FALSE") return json(false);
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return json(nullptr);
  return json(s);
}

// ---------------------------------------------------------------------------------------------
// YAML emission. yaml-cpp's emitter leaves strings such as `true`, `1.0` or `yes` unquoted (other
// parsers would read them as booleans or numbers) and cannot write block scalars whose trailing
// newlines must be kept or stripped, so the small, fixed metadata shape is written by hand.

// Would a YAML 1.1 or 1.2 parser read this plain scalar as something other than a string?
bool resolvesToNonString(std::string_view s) {
  std::string lower(s);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  static constexpr std::array<std::string_view, 12> kWords{
      "null", "~", "true", "false", "yes", "no", "on", "off", "y", "n", "=", "<<"};
  if (std::find(kWords.begin(), kWords.end(), lower) != kWords.end()) return true;
  if (lower == ".inf" || lower == "+.inf" || lower == "-.inf" || lower == ".nan") return true;
  // Anything number-like (ints, floats, hex, octal, dates, sexagesimals) starts like this.
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (digit(s[0])) return true;
  if (s.size() > 1 && (s[0] == '+' || s[0] == '-' || s[0] == '.') && digit(s[1])) return true;
  return false;
}

bool plainSafe(std::string_view s) {
  if (s.empty()) return false;
  static constexpr std::string_view kIndicators = "-?:,[]{}#&*!|>'\"%@`";
  if (kIndicators.find(s[0]) != std::string_view::npos) return false;
  if (s.front() == ' ' || s.front() == '\t' || s.back() == ' ' || s.back() == '\t') return false;
  if (s.back() == ':') return false;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  if (s.find(": ") != std::string_view::npos || s.find(" #") != std::string_view::npos ||
      s.find(":\t") != std::string_view::npos || s.find("\t#") != std::string_view::npos) {
    return false;
  }
  if (hasYamlSpecialUnicode(s)) return false;
  return !resolvesToNonString(s);
}

// A literal block keeps long multi-line texts (the usage annotation is a whole README) readable.
// Only used when yaml-cpp and other parsers will read it back byte for byte: the first line sets
// the indentation, so it must not start with white space, and only tabs and newlines may appear
// among the control characters.
bool literalSafe(std::string_view s) {
  if (s.find('\n') == std::string_view::npos) return false;
  if (s[0] == ' ' || s[0] == '\t' || s[0] == '\n') return false;
  for (unsigned char c : s) {
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) return false;
  }
  // A line holding only blanks before real text could be taken for indentation.
  size_t first_break = s.find('\n');
  if (s.find_first_not_of(" \t") >= first_break) return false;
  return !hasYamlSpecialUnicode(s);
}

std::string pad(int n) {
  return std::string(static_cast<size_t>(n), ' ');
}

std::string keyText(std::string_view key) {
  return plainSafe(key) ? std::string(key) : yamlDoubleQuoted(key);
}

// The text after "key: " or "- ", newline included. `indent` is the indentation of the line that
// holds the value; block content goes two columns deeper.
std::string scalarText(std::string_view s, int indent) {
  if (plainSafe(s)) return std::string(s) + "\n";
  if (!literalSafe(s)) return yamlDoubleQuoted(s) + "\n";
  size_t end = s.find_last_not_of('\n') + 1;
  size_t trailing = s.size() - end;
  std::string out = trailing == 0 ? "|-\n" : trailing == 1 ? "|\n" : "|+\n";
  std::string_view body = s.substr(0, end);
  size_t pos = 0;
  while (true) {
    size_t nl = body.find('\n', pos);
    std::string_view line = body.substr(pos, nl == std::string_view::npos ? body.npos : nl - pos);
    if (!line.empty()) out += pad(indent + 2) + std::string(line);
    out += '\n';
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  // Kept ("|+") trailing newlines beyond the first appear as empty lines.
  for (size_t i = 1; i < trailing; ++i) out += '\n';
  return out;
}

// `lead` is what starts the line: the indentation, or "- " for the first key of a list item.
void writeStringList(std::string& out, const std::string& lead, int indent, std::string_view key,
                     const std::vector<std::string>& items) {
  out += lead + std::string(key) + ":";
  if (items.empty()) {
    out += " []\n";
    return;
  }
  out += "\n";
  for (const auto& item : items) out += pad(indent) + "- " + scalarText(item, indent);
}

void writeRules(std::string& out, const std::vector<Rule>& rules, int indent) {
  for (const Rule& rule : rules) {
    writeStringList(out, pad(indent) + "- ", indent + 2, "apiGroups", rule.apiGroups);
    writeStringList(out, pad(indent + 2), indent + 2, "apiVersions", rule.apiVersions);
    writeStringList(out, pad(indent + 2), indent + 2, "resources", rule.resources);
    writeStringList(out, pad(indent + 2), indent + 2, "operations", rule.operations);
  }
}

// ---------------------------------------------------------------------------------------------
// Validation helpers

void checkWildcardExclusive(std::vector<std::string>& problems, const std::string& path,
                            const std::vector<std::string>& items) {
  if (items.empty()) {
    problems.push_back(path + ": must not be empty");
    return;
  }
  if (items.size() > 1 && std::find(items.begin(), items.end(), "*") != items.end()) {
    problems.push_back(path + ": '*' must be the only element when it is used");
  }
}

// Kubernetes' own rule for resource lists (admissionregistration validation), kept with its
// quirks, e.g. only the last plain entry decides whether '*' clashes with a plain resource:
// metadata that upstream and the API server accept must be accepted here too.
void checkResources(std::vector<std::string>& problems, const std::string& path,
                    const std::vector<std::string>& resources) {
  if (resources.empty()) {
    problems.push_back(path + ": must not be empty");
    return;
  }
  std::set<std::string> with_wildcard_sub;  // "x" for each "x/*"
  std::set<std::string> sub_with_wildcard;  // "y" for each "*/y"
  bool double_wildcard = false, single_wildcard = false, plain_resource = false;
  for (size_t i = 0; i < resources.size(); ++i) {
    const std::string& r = resources[i];
    if (r.empty()) {
      problems.push_back(fmt::format("{}[{}]: must not be empty", path, i));
      return;
    }
    if (r == "*/*") double_wildcard = true;
    if (r == "*") single_wildcard = true;
    size_t slash = r.find('/');
    if (slash == std::string::npos) {
      plain_resource = r != "*";
      continue;
    }
    std::string res = r.substr(0, slash), sub = r.substr(slash + 1);
    if (with_wildcard_sub.count(res)) {
      problems.push_back(
          fmt::format("{}: '{}/*' is present, so '{}' must not be listed", path, res, r));
      return;
    }
    if (sub_with_wildcard.count(sub)) {
      problems.push_back(
          fmt::format("{}: '*/{}' is present, so '{}' must not be listed", path, sub, r));
      return;
    }
    if (sub == "*") with_wildcard_sub.insert(res);
    if (res == "*") sub_with_wildcard.insert(sub);
  }
  if (resources.size() > 1 && double_wildcard) {
    problems.push_back(path + ": '*/*' must be the only resource when it is used");
  }
  if (single_wildcard && plain_resource) {
    problems.push_back(path +
                       ": '*' cannot be combined with other resources unless they name a "
                       "subresource (e.g. 'pods/status')");
  }
}

bool isNumericIdentifier(std::string_view s) {
  if (s.empty()) return false;
  if (!std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  return s.size() == 1 || s[0] != '0';
}

bool isAlnumIdentifier(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
  });
}

template <typename F>
bool allDotParts(std::string_view s, F&& ok) {
  size_t pos = 0;
  while (true) {
    size_t dot = s.find('.', pos);
    std::string_view part = s.substr(pos, dot == std::string_view::npos ? s.npos : dot - pos);
    if (!ok(part)) return false;
    if (dot == std::string_view::npos) return true;
    pos = dot + 1;
  }
}

// Offset of the first byte that does not begin a well-formed UTF-8 sequence (RFC 3629: no
// overlong forms, no surrogates, nothing past U+10FFFF), or npos when the text is valid.
size_t invalidUtf8At(std::string_view s) {
  static constexpr uint32_t kSmallest[] = {0, 0x80, 0x800, 0x10000};
  for (size_t i = 0; i < s.size();) {
    const auto lead = static_cast<unsigned char>(s[i]);
    size_t more = 0;
    uint32_t cp = lead;
    if (lead >= 0xF0 && lead < 0xF8) {
      more = 3, cp = lead & 0x07;
    } else if (lead >= 0xE0 && lead < 0xF0) {
      more = 2, cp = lead & 0x0F;
    } else if (lead >= 0xC0 && lead < 0xE0) {
      more = 1, cp = lead & 0x1F;
    } else if (lead >= 0x80) {
      return i;
    }
    if (s.size() - i <= more) return i;
    for (size_t k = 1; k <= more; ++k) {
      const auto next = static_cast<unsigned char>(s[i + k]);
      if ((next & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (next & 0x3F);
    }
    if (cp < kSmallest[more] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += more + 1;
  }
  return std::string_view::npos;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string_view toString(ExecutionMode mode) {
  return nameOf(kExecutionModes, mode);
}
std::string_view toString(PolicyType type) {
  return nameOf(kPolicyTypes, type);
}
std::string_view toString(ProtocolVersion v) {
  return nameOf(kProtocolVersions, v);
}

std::optional<ExecutionMode> executionModeFromString(std::string_view s) {
  return valueOf(kExecutionModes, s);
}
std::optional<PolicyType> policyTypeFromString(std::string_view s) {
  return valueOf(kPolicyTypes, s);
}
std::optional<ProtocolVersion> protocolVersionFromString(std::string_view s) {
  return valueOf(kProtocolVersions, s);
}

Result<Metadata> metadataFromJson(std::string_view text) {
  try {
    return decode(json::parse(text.begin(), text.end()));
  } catch (const DecodeError& e) {
    return makeError(e.message);
  } catch (const json::exception& e) {
    return makeError(fmt::format("invalid JSON: {}", e.what()));
  } catch (const std::exception& e) {
    return makeError(e.what());
  }
}

Result<Metadata> metadataFromYaml(std::string_view text) {
  // yaml-cpp passes invalid UTF-8 through, but the JSON written into the module cannot hold it
  // (nlohmann writes U+FFFD instead), so annotate would silently change such text; upstream's
  // reader refuses it too.
  if (size_t at = invalidUtf8At(text); at != std::string_view::npos) {
    return makeError(fmt::format("metadata is not valid UTF-8 (byte {})", at));
  }
  try {
    YAML::Node root = YAML::Load(std::string(text));
    auto tree = yamlToJson(root, YamlTyping{.plain = resolvePlainScalar,
                                            .key = [](const YAML::Node& key) -> Result<std::string> {
                                              if (key.IsScalar()) return key.Scalar();
                                              return makeError("mapping keys must be plain strings");
                                            }});
    if (!tree) return tree.error();
    return decode(*tree);
  } catch (const DecodeError& e) {
    return makeError(e.message);
  } catch (const YAML::Exception& e) {
    return makeError(fmt::format("invalid YAML: {}", e.what()));
  } catch (const std::exception& e) {
    return makeError(e.what());
  }
}

std::string metadataToJson(const Metadata& m) {
  // Field order follows upstream's struct so section payloads look alike byte for byte.
  ordered_json j = ordered_json::object();
  j["protocolVersion"] = toString(m.protocolVersion);
  ordered_json rules = ordered_json::array();
  for (const Rule& r : m.rules) {
    ordered_json rule = ordered_json::object();
    rule["apiGroups"] = r.apiGroups;
    rule["apiVersions"] = r.apiVersions;
    rule["resources"] = r.resources;
    rule["operations"] = r.operations;
    rules.push_back(std::move(rule));
  }
  j["rules"] = std::move(rules);
  if (!m.annotations.empty()) {
    ordered_json annotations = ordered_json::object();
    for (const auto& [k, v] : m.annotations) annotations[k] = v;
    j["annotations"] = std::move(annotations);
  }
  j["mutating"] = m.mutating;
  j["backgroundAudit"] = m.backgroundAudit;
  j["executionMode"] = toString(m.executionMode);
  j["policyType"] = toString(m.policyType);
  ordered_json resources = ordered_json::array();
  for (const auto& r : m.contextAwareResources) {
    resources.push_back(ordered_json{{"apiVersion", r.apiVersion}, {"kind", r.kind}});
  }
  j["contextAwareResources"] = std::move(resources);
  if (m.minimumKubewardenVersion) j["minimumKubewardenVersion"] = *m.minimumKubewardenVersion;
  // Invalid UTF-8 (which JSON cannot carry) is replaced rather than thrown about.
  return j.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

std::string rulesToYaml(const std::vector<Rule>& rules) {
  if (rules.empty()) return "[]\n";
  std::string out;
  writeRules(out, rules, 0);
  return out;
}

std::string contextAwareResourcesToYaml(const std::set<ContextAwareResource>& resources) {
  if (resources.empty()) return "[]\n";
  std::string out;
  for (const auto& r : resources) {
    out += "- apiVersion: " + scalarText(r.apiVersion, 2);
    out += "  kind: " + scalarText(r.kind, 2);
  }
  return out;
}

std::string metadataToYaml(const Metadata& m) {
  std::string out;
  out += "protocolVersion: " + scalarText(toString(m.protocolVersion), 0);
  if (m.rules.empty()) {
    out += "rules: []\n";
  } else {
    out += "rules:\n";
    writeRules(out, m.rules, 0);
  }
  if (!m.annotations.empty()) {
    out += "annotations:\n";
    for (const auto& [k, v] : m.annotations) {
      // YAML limits an implicit key to 1024 characters; a longer one needs the explicit form
      // (`? key` then `: value`), or no reader takes the text back.
      std::string key = keyText(k);
      out += key.size() > 1024 ? "  ? " + key + "\n  : " : "  " + key + ": ";
      out += scalarText(v, 2);
    }
  }
  out += fmt::format("mutating: {}\n", m.mutating);
  out += fmt::format("backgroundAudit: {}\n", m.backgroundAudit);
  out += "executionMode: " + scalarText(toString(m.executionMode), 0);
  out += "policyType: " + scalarText(toString(m.policyType), 0);
  if (m.contextAwareResources.empty()) {
    out += "contextAwareResources: []\n";
  } else {
    out += "contextAwareResources:\n" + contextAwareResourcesToYaml(m.contextAwareResources);
  }
  if (m.minimumKubewardenVersion) {
    out += "minimumKubewardenVersion: " + scalarText(*m.minimumKubewardenVersion, 0);
  }
  return out;
}

bool isSemver(std::string_view v) {
  size_t plus = v.find('+');
  std::string_view build = plus == v.npos ? std::string_view() : v.substr(plus + 1);
  std::string_view rest = v.substr(0, plus);
  size_t dash = rest.find('-');
  std::string_view pre = dash == rest.npos ? std::string_view() : rest.substr(dash + 1);
  std::string_view core = rest.substr(0, dash);

  int parts = 0;
  if (!allDotParts(core, [&](std::string_view p) {
        ++parts;
        return isNumericIdentifier(p);
      })) {
    return false;
  }
  if (parts != 3) return false;
  if (dash != rest.npos && !allDotParts(pre, [](std::string_view p) {
        bool numeric = !p.empty() &&
                       std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; });
        return numeric ? isNumericIdentifier(p) : isAlnumIdentifier(p);
      })) {
    return false;
  }
  if (plus != v.npos && !allDotParts(build, isAlnumIdentifier)) return false;
  return true;
}

Status validate(const Metadata& m) {
  std::vector<std::string> problems;
  for (size_t i = 0; i < m.rules.size(); ++i) {
    const Rule& rule = m.rules[i];
    std::string path = fmt::format("rules[{}]", i);
    checkWildcardExclusive(problems, path + ".apiGroups", rule.apiGroups);
    checkWildcardExclusive(problems, path + ".apiVersions", rule.apiVersions);
    checkResources(problems, path + ".resources", rule.resources);
    for (size_t j = 0; j < rule.operations.size(); ++j) {
      const std::string& op = rule.operations[j];
      if (std::find(kOperations.begin(), kOperations.end(), op) == kOperations.end()) {
        problems.push_back(fmt::format(
            "{}.operations[{}]: '{}' is not a valid operation (expected CREATE, UPDATE, DELETE, "
            "CONNECT or *)",
            path, j, op));
      }
    }
    checkWildcardExclusive(problems, path + ".operations", rule.operations);
  }

  size_t index = 0;
  for (const auto& r : m.contextAwareResources) {
    if (r.apiVersion.empty()) {
      problems.push_back(
          fmt::format("contextAwareResources[{}].apiVersion: must not be empty", index));
    }
    if (r.kind.empty()) {
      problems.push_back(fmt::format("contextAwareResources[{}].kind: must not be empty", index));
    }
    ++index;
  }

  if (m.executionMode == ExecutionMode::KubewardenWapc &&
      m.protocolVersion == ProtocolVersion::Unknown) {
    problems.push_back(
        "protocolVersion: kubewarden-wapc policies must declare a valid protocol "
        "version (v1)");
  }
  if (m.minimumKubewardenVersion && !isSemver(*m.minimumKubewardenVersion)) {
    problems.push_back(fmt::format(
        "minimumKubewardenVersion: '{}' is not a semantic version (expected e.g. 1.10.0)",
        *m.minimumKubewardenVersion));
  }

  if (problems.empty()) return okStatus();
  std::string message;
  for (const auto& p : problems) {
    if (!message.empty()) message += "; ";
    message += p;
  }
  return makeError(std::move(message));
}

Result<std::optional<Metadata>> readMetadata(std::span<const uint8_t> wasm) {
  if (!wasm::binary::isWasm(wasm)) {
    return makeError("not a WebAssembly module (bad magic or version)");
  }
  std::optional<std::string> payload = wasm::binary::customSection(wasm, kMetadataSection);
  if (!payload) return std::optional<Metadata>();
  auto metadata = metadataFromJson(*payload);
  if (!metadata) {
    return makeError(fmt::format("cannot decode the {} section: {}", kMetadataSection,
                                 metadata.error().message));
  }
  return std::optional<Metadata>(std::move(metadata).value());
}

Result<std::vector<uint8_t>> writeMetadata(std::span<const uint8_t> wasm,
                                           const Metadata& metadata) {
  return wasm::binary::withCustomSection(wasm, kMetadataSection, metadataToJson(metadata));
}

}  // namespace kw::policy
