// Writers for CallbackRequest: serde_yaml text for sessions and Rust Debug text for replay
// mismatch errors.
#include <fmt/format.h>

#include <functional>

#include "common/yaml_quote.h"
#include "host/callback_request.h"
#include "host/callback_schema.h"
#include "host/yaml_text.h"

namespace kw::host {
namespace {

using nlohmann::json;
using schema::findVariant;
using schema::Kind;
using schema::optional;
using schema::VariantSpec;

// ---- Rust Debug -------------------------------------------------------------------------

std::string debugStr(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (appendShortEscape(out, c)) continue;
    if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\u{{{:x}}}", c);
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::string debugList(const json& v, const std::function<std::string(const json&)>& item) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + item(v[i]);
  return out + "]";
}

std::string debugValue(Kind kind, const json& v) {
  auto str = [](const json& e) { return debugStr(e.get<std::string>()); };
  auto byte = [](const json& e) { return std::to_string(e.get<uint64_t>()); };
  if (optional(kind)) {
    if (v.is_null()) return "None";
    Kind inner = kind == Kind::OptStr ? Kind::Str : kind == Kind::OptBytesList ? Kind::Bytes : kind;
    if (kind == Kind::OptBytesList) {
      return "Some(" + debugList(v, [&](const json& e) { return debugValue(inner, e); }) + ")";
    }
    if (kind == Kind::OptStrMap) {
      std::string out = "Some({";
      bool first = true;
      for (const auto& [k, e] : v.items()) {
        out += (first ? "" : ", ") + debugStr(k) + ": " + str(e);
        first = false;
      }
      return out + "})";
    }
    return "Some(" + debugValue(inner, v) + ")";
  }
  switch (kind) {
    case Kind::Str:
      return str(v);
    case Kind::Bool:
      return v.get<bool>() ? "true" : "false";
    case Kind::StrList:
      return debugList(v, str);
    case Kind::Bytes:
      return debugList(v, byte);
    case Kind::Keyless:
      return debugList(v, [&](const json& e) {
        return fmt::format("KeylessInfo {{ issuer: {}, subject: {} }}", str(e["issuer"]),
                           str(e["subject"]));
      });
    case Kind::KeylessPrefix:
      return debugList(v, [&](const json& e) {
        return fmt::format("KeylessPrefixInfo {{ issuer: {}, url_prefix: {} }}", str(e["issuer"]),
                           str(e["url_prefix"]));
      });
    default:
      return v.dump();
  }
}

// ---- serde_yaml text ----------------------------------------------------------------------

void appendYamlValue(std::string& out, Kind kind, const json& v, int indent);

void appendPairs(std::string& out, const json& obj, const std::vector<const char*>& keys,
                 int indent) {
  // The first key follows the sequence dash; the others line up under it.
  bool first = true;
  for (const char* k : keys) {
    if (!first) out += std::string(size_t(indent), ' ');
    out += k;
    out += ':';
    appendYamlString(out, obj[k].get<std::string>(), indent + 2);
    first = false;
  }
}

void appendYamlValue(std::string& out, Kind kind, const json& v, int indent) {
  const std::string pad(size_t(indent), ' ');
  if (v.is_null()) {
    out += " null\n";
    return;
  }
  switch (kind) {
    case Kind::Str:
    case Kind::OptStr:
      appendYamlString(out, v.get<std::string>(), indent + 2);
      return;
    case Kind::Bool:
      out += v.get<bool>() ? " true\n" : " false\n";
      return;
    default:
      break;
  }
  if (v.empty()) {
    out += v.is_object() ? " {}\n" : " []\n";
    return;
  }
  out += '\n';
  if (kind == Kind::OptStrMap) {
    for (const auto& [k, e] : v.items()) {
      out += pad + "  " + yamlScalar(k) + ':';
      appendYamlString(out, e.get<std::string>(), indent + 4);
    }
    return;
  }
  // Sequences inside a mapping are not indented (libyaml's default).
  for (const auto& e : v) {
    out += pad + '-';
    switch (kind) {
      case Kind::StrList:
        appendYamlString(out, e.get<std::string>(), indent + 2);
        break;
      case Kind::Bytes:
        out += ' ' + std::to_string(e.get<uint64_t>()) + '\n';
        break;
      case Kind::Keyless:
        out += ' ';
        appendPairs(out, e, {"issuer", "subject"}, indent + 2);
        break;
      case Kind::KeylessPrefix:
        out += ' ';
        appendPairs(out, e, {"issuer", "url_prefix"}, indent + 2);
        break;
      case Kind::OptBytesList:
        if (e.empty()) {
          out += " []\n";
        } else {
          // A nested sequence starts on the dash's line.
          bool first = true;
          for (const auto& b : e) {
            out += first ? " - " : pad + "  - ";
            out += std::to_string(b.get<uint64_t>()) + '\n';
            first = false;
          }
        }
        break;
      default:
        break;
    }
  }
}

}  // namespace

std::string requestToYaml(const CallbackRequest& request) {
  const VariantSpec* spec = findVariant(request.type);
  std::string out = "!" + request.type + "\n";
  if (!spec) return out;
  for (const auto& f : spec->fields) {
    out += f.name;
    out += ':';
    appendYamlValue(out, f.kind, request.fields.value(f.name, json(nullptr)), 0);
  }
  return out;
}

std::string requestDebug(const CallbackRequest& request) {
  const VariantSpec* spec = findVariant(request.type);
  if (!spec) return request.type;
  std::string out = request.type + " { ";
  bool first = true;
  for (const auto& f : spec->fields) {
    out += (first ? "" : ", ") + std::string(f.name) + ": " +
           debugValue(f.kind, request.fields.value(f.name, json(nullptr)));
    first = false;
  }
  return out + " }";
}

}  // namespace kw::host
