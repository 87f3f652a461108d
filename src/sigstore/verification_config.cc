#include "sigstore/verification_config.h"

#include <fmt/format.h>

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>

#include "common/file_read.h"
#include "common/yaml_json.h"

namespace kw::sigstore {
namespace {

using json = nlohmann::json;

// Upstream denies unknown fields, so a typo is an error rather than a silently weaker check.
Status onlyKnownFields(const json& obj, const std::set<std::string>& known,
                       std::string_view where) {
  for (const auto& [key, value] : obj.items()) {
    if (!known.count(key)) return makeError(fmt::format("{}: unknown field `{}`", where, key));
  }
  return okStatus();
}

Result<std::string> stringField(const json& obj, const char* field, std::string_view where) {
  auto it = obj.find(field);
  if (it == obj.end()) return makeError(fmt::format("{}: missing field `{}`", where, field));
  if (!it->is_string()) return makeError(fmt::format("{}: `{}` must be a string", where, field));
  return it->get<std::string>();
}

Result<std::optional<Annotations>> annotationsField(const json& obj, std::string_view where) {
  auto it = obj.find("annotations");
  if (it == obj.end() || it->is_null()) return std::optional<Annotations>();
  if (!it->is_object()) return makeError(fmt::format("{}: `annotations` must be a map", where));
  Annotations out;
  for (const auto& [k, v] : it->items()) {
    if (!v.is_string()) {
      return makeError(fmt::format("{}: annotation `{}` must be a string", where, k));
    }
    out[k] = v.get<std::string>();
  }
  return std::optional<Annotations>(std::move(out));
}

Result<std::optional<std::string>> optionalField(const json& obj, const char* field,
                                                 std::string_view where) {
  if (!obj.contains(field) || obj[field].is_null()) return std::optional<std::string>();
  auto s = stringField(obj, field, where);
  if (!s.ok()) return s.error();
  return std::optional<std::string>(*s);
}

Result<IssuerConstraint> issuerSignature(const json& sig, std::string_view where) {
  auto issuer = stringField(sig, "issuer", where);
  if (!issuer.ok()) return issuer.error();
  auto subject = sig.find("subject");
  if (subject == sig.end()) return makeError(fmt::format("{}: missing field `subject`", where));
  if (!subject->is_object() || subject->size() != 1) {
    return makeError(fmt::format("{}: `subject` must be {{equal: …}} or {{urlPrefix: …}}", where));
  }
  const std::string kind = subject->begin().key();
  const json& value = subject->begin().value();
  if ((kind != "equal" && kind != "urlPrefix") || !value.is_string()) {
    return makeError(fmt::format("{}: `subject` must be {{equal: …}} or {{urlPrefix: …}}", where));
  }
  std::string text = value.get<std::string>();
  if (kind == "urlPrefix" && text.find("://") == std::string::npos) {
    return makeError(fmt::format("{}: urlPrefix `{}` is not a URL", where, text));
  }
  return IssuerConstraint{*issuer, text, kind == "urlPrefix"};
}

Result<Constraint> parseSignature(const json& sig, std::string_view where) {
  if (!sig.is_object()) return makeError(fmt::format("{}: a signature must be a map", where));
  auto kind = stringField(sig, "kind", where);
  if (!kind.ok()) return kind.error();
  auto annotations = annotationsField(sig, where);
  if (!annotations.ok()) return annotations.error();
  Constraint c;
  c.annotations = *annotations;
  if (*kind == "pubKey") {
    if (auto st = onlyKnownFields(sig, {"kind", "owner", "key", "annotations"}, where); !st.ok()) {
      return st.error();
    }
    auto key = stringField(sig, "key", where);
    if (!key.ok()) return key.error();
    auto owner = optionalField(sig, "owner", where);
    if (!owner.ok()) return owner.error();
    c.what = PubKeyConstraint{*key, *owner};
  } else if (*kind == "genericIssuer") {
    if (auto st = onlyKnownFields(sig, {"kind", "issuer", "subject", "annotations"}, where);
        !st.ok()) {
      return st.error();
    }
    auto ic = issuerSignature(sig, where);
    if (!ic.ok()) return ic.error();
    c.what = *ic;
  } else if (*kind == "githubAction") {
    if (auto st = onlyKnownFields(sig, {"kind", "owner", "repo", "annotations"}, where); !st.ok()) {
      return st.error();
    }
    auto owner = stringField(sig, "owner", where);
    if (!owner.ok()) return owner.error();
    auto repo = optionalField(sig, "repo", where);
    if (!repo.ok()) return repo.error();
    c.what = GithubConstraint{*owner, *repo};
  } else {
    return makeError(fmt::format(
        "{}: unknown kind `{}`, expected one of `pubKey`, `genericIssuer`, `githubAction`", where,
        *kind));
  }
  return c;
}

Result<std::vector<Constraint>> parseList(const json& list, std::string_view where) {
  if (!list.is_array()) return makeError(fmt::format("{} must be a list", where));
  std::vector<Constraint> out;
  for (size_t i = 0; i < list.size(); ++i) {
    auto c = parseSignature(list[i], fmt::format("{}[{}]", where, i));
    if (!c.ok()) return c.error();
    out.push_back(std::move(*c));
  }
  return out;
}

// Zero would accept unsigned images; more than the listed signatures could never be met, which
// is a mistake worth reporting when the file is read rather than at every policy download.
Status checkMinimumMatches(const AnyOf& any) {
  if (any.minimum_matches == 0) {
    return makeError(
        "anyOf: `minimumMatches` is 0: it would accept any image; it must be at least 1");
  }
  if (any.minimum_matches > any.signatures.size()) {
    return makeError(fmt::format(
        "anyOf: `minimumMatches` is {} but only {} signature(s) are listed: it can never be met",
        any.minimum_matches, any.signatures.size()));
  }
  return okStatus();
}

Result<VerificationConfig> parseDocument(const json& doc) {
  if (!doc.is_object()) return makeError("Not a valid configuration file: expected a map");
  if (!doc.contains("apiVersion"))
    return makeError("Not a valid configuration file: missing field `apiVersion`");
  if (doc["apiVersion"] != "v1") {
    return makeError(
        fmt::format("Not a supported configuration version: {}", doc["apiVersion"].dump()));
  }
  if (auto st =
          onlyKnownFields(doc, {"apiVersion", "allOf", "anyOf"}, "Not a valid configuration file");
      !st.ok()) {
    return st.error();
  }
  VerificationConfig config;
  if (doc.contains("allOf") && !doc["allOf"].is_null()) {
    auto list = parseList(doc["allOf"], "allOf");
    if (!list.ok()) return list.error();
    // An empty list would be satisfied by any image, signed or not.
    if (list->empty()) {
      return makeError("allOf lists no signature: it would accept any image; list at least one");
    }
    config.all_of = std::move(*list);
  }
  if (doc.contains("anyOf") && !doc["anyOf"].is_null()) {
    const json& any = doc["anyOf"];
    if (!any.is_object()) return makeError("anyOf must be a map");
    if (auto st = onlyKnownFields(any, {"minimumMatches", "signatures"}, "anyOf"); !st.ok()) {
      return st.error();
    }
    AnyOf a;
    if (any.contains("minimumMatches")) {
      const json& m = any["minimumMatches"];
      if (!m.is_number_unsigned() || m.get<uint64_t>() > 255) {
        return makeError("anyOf: `minimumMatches` must be an integer between 0 and 255");
      }
      a.minimum_matches = m.get<uint32_t>();
    }
    if (!any.contains("signatures")) return makeError("anyOf: missing field `signatures`");
    auto list = parseList(any["signatures"], "anyOf.signatures");
    if (!list.ok()) return list.error();
    a.signatures = std::move(*list);
    if (auto st = checkMinimumMatches(a); !st.ok()) return st.error();
    config.any_of = std::move(a);
  }
  if (!config.all_of && !config.any_of) {
    return makeError("config is missing signatures in both allOf and anyOff list");
  }
  return config;
}

}  // namespace

Result<VerificationConfig> parseVerificationConfig(std::string_view yaml, std::string_view source) {
  json doc;
  try {
    doc = parseYamlToJson(yaml);
  } catch (const std::exception& e) {
    return makeError(fmt::format("cannot parse verification config {}: {}", source, e.what()));
  }
  auto config = parseDocument(doc);
  if (!config.ok()) {
    return makeError(fmt::format("verification config {}: {}", source, config.error().message));
  }
  return config;
}

Result<VerificationConfig> readVerificationConfig(const std::filesystem::path& path) {
  auto text = readFileBounded(path);
  if (!text) return makeError("verification config: " + text.error().message);
  return parseVerificationConfig(*text, path.string());
}

}  // namespace kw::sigstore
