#include "host/callback_request.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <optional>

#include "host/callback_schema.h"

namespace kw::host {
namespace {

using nlohmann::json;
using schema::findVariant;
using schema::Kind;
using schema::optional;
using schema::VariantSpec;

const char* expected(Kind k) {
  switch (k) {
    case Kind::Str:
      return "a string";
    case Kind::OptStr:
      return "a string or null";
    case Kind::Bool:
      return "a boolean";
    case Kind::StrList:
      return "a sequence of strings";
    case Kind::OptStrMap:
      return "a map of strings or null";
    case Kind::Keyless:
      return "a sequence of {issuer, subject}";
    case Kind::KeylessPrefix:
      return "a sequence of {issuer, url_prefix}";
    case Kind::Bytes:
      return "a sequence of bytes";
    case Kind::OptBytesList:
      return "a sequence of byte sequences or null";
  }
  return "";
}

bool isStrList(const json& v) {
  if (!v.is_array()) return false;
  for (const auto& e : v) {
    if (!e.is_string()) return false;
  }
  return true;
}

bool isBytes(const json& v) {
  if (!v.is_array()) return false;
  for (const auto& e : v) {
    if (!e.is_number_integer() || e.get<int64_t>() < 0 || e.get<int64_t>() > 255) return false;
  }
  return true;
}

// Keeps only the two string fields of each entry; nullopt when one is missing.
std::optional<json> pairList(const json& v, const char* a, const char* b) {
  if (!v.is_array()) return std::nullopt;
  json out = json::array();
  for (const auto& e : v) {
    if (!e.is_object() || !e.contains(a) || !e.contains(b) || !e[a].is_string() ||
        !e[b].is_string()) {
      return std::nullopt;
    }
    out.push_back(json{{a, e[a]}, {b, e[b]}});
  }
  return out;
}

// Checks one field value against its kind; returns the normalised value.
std::optional<json> checked(Kind kind, const json& v) {
  if (optional(kind) && v.is_null()) return json(nullptr);
  switch (kind) {
    case Kind::Str:
    case Kind::OptStr:
      if (v.is_string()) return v;
      break;
    case Kind::Bool:
      if (v.is_boolean()) return v;
      break;
    case Kind::StrList:
      if (isStrList(v)) return v;
      break;
    case Kind::OptStrMap:
      if (v.is_object()) {
        for (const auto& [k, e] : v.items()) {
          if (!e.is_string()) return std::nullopt;
        }
        return v;
      }
      break;
    case Kind::Keyless:
      return pairList(v, "issuer", "subject");
    case Kind::KeylessPrefix:
      return pairList(v, "issuer", "url_prefix");
    case Kind::Bytes:
      if (isBytes(v)) return v;
      break;
    case Kind::OptBytesList:
      if (v.is_array()) {
        for (const auto& e : v) {
          if (!isBytes(e)) return std::nullopt;
        }
        return v;
      }
      break;
  }
  return std::nullopt;
}

// ---- YAML → JSON, guided by the field kind ------------------------------------------------

bool yamlNull(const YAML::Node& n) {
  if (!n || n.IsNull()) return true;
  if (!n.IsScalar() || n.Tag() == "!") return false;  // quoted scalars are strings
  const std::string& s = n.Scalar();
  return s == "~" || s == "null" || s == "Null" || s == "NULL";
}

json yamlValue(const YAML::Node& n, Kind kind);

json yamlList(const YAML::Node& n, Kind item) {
  if (!n.IsSequence()) return json("<not a sequence>");
  json out = json::array();
  for (const auto& e : n) out.push_back(yamlValue(e, item));
  return out;
}

json yamlValue(const YAML::Node& n, Kind kind) {
  if (optional(kind) && yamlNull(n)) return nullptr;
  switch (kind) {
    case Kind::Str:
    case Kind::OptStr:
      if (n.IsScalar()) return n.Scalar();
      break;
    case Kind::Bool:
      if (n.IsScalar() && (n.Scalar() == "true" || n.Scalar() == "false")) {
        return n.Scalar() == "true";
      }
      break;
    case Kind::StrList:
      return yamlList(n, Kind::Str);
    case Kind::OptStrMap:
    case Kind::Keyless:
    case Kind::KeylessPrefix:
      if (n.IsMap()) {
        json out = json::object();
        for (const auto& kv : n) out[kv.first.as<std::string>()] = yamlValue(kv.second, Kind::Str);
        return out;
      }
      if (n.IsSequence() && kind != Kind::OptStrMap) {
        json out = json::array();
        for (const auto& e : n) out.push_back(yamlValue(e, Kind::OptStrMap));
        return out;
      }
      break;
    case Kind::Bytes:
      if (n.IsSequence()) {
        json out = json::array();
        for (const auto& e : n) {
          try {
            out.push_back(e.as<unsigned>());
          } catch (const YAML::Exception&) {
            out.push_back(e.IsScalar() ? json(e.Scalar()) : json(nullptr));
          }
        }
        return out;
      }
      break;
    case Kind::OptBytesList:
      if (n.IsSequence()) {
        json out = json::array();
        for (const auto& e : n) out.push_back(yamlValue(e, Kind::Bytes));
        return out;
      }
      break;
  }
  return "<unreadable>";  // fails the kind check with a clear message
}

}  // namespace

bool isSigstoreRequest(std::string_view type) {
  return type.starts_with("Sigstore");
}

Result<CallbackRequest> requestFromJson(std::string_view type, const json& value) {
  const VariantSpec* spec = findVariant(type);
  if (!spec) return makeError(fmt::format("unknown variant `{}`", type));
  if (!value.is_object()) {
    return makeError(
        fmt::format("invalid type: {}, expected struct variant {}", value.type_name(), type));
  }
  CallbackRequest out{std::string(type), json::object()};
  for (const auto& f : spec->fields) {
    auto it = value.find(f.name);
    if (it == value.end()) {
      if (optional(f.kind)) {
        out.fields[f.name] = nullptr;
        continue;
      }
      // Older SDKs leave out disable_cache; false is what they mean.
      if (f.kind == Kind::Bool) {
        out.fields[f.name] = false;
        continue;
      }
      return makeError(fmt::format("missing field `{}`", f.name));
    }
    auto v = checked(f.kind, *it);
    if (!v) {
      return makeError(
          fmt::format("invalid type for field `{}`: expected {}", f.name, expected(f.kind)));
    }
    out.fields[f.name] = std::move(*v);
  }
  return out;
}

Result<CallbackRequest> requestFromYaml(std::string_view text) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return makeError(fmt::format("recorded request is not valid YAML: {}", e.what()));
  }
  std::string tag = root.Tag();
  if (tag.size() < 2 || tag[0] != '!') {
    return makeError("recorded request has no `!Variant` tag");
  }
  tag.erase(0, 1);
  const VariantSpec* spec = findVariant(tag);
  if (!spec) return makeError(fmt::format("recorded request has unknown variant `{}`", tag));
  if (!root.IsMap()) return makeError(fmt::format("recorded {} request is not a mapping", tag));
  json obj = json::object();
  for (const auto& f : spec->fields) {
    YAML::Node n = root[f.name];
    if (!n) continue;
    obj[f.name] = yamlValue(n, f.kind);
  }
  auto r = requestFromJson(tag, obj);
  if (!r) return makeError(fmt::format("recorded {} request: {}", tag, r.error().message));
  return r;
}

std::string requestKey(const CallbackRequest& request) {
  return request.type + request.fields.dump();
}

std::string sigstoreV2Payload(const CallbackRequest& request) {
  json out = request.fields;
  out["type"] = request.type;
  return out.dump();
}

}  // namespace kw::host
