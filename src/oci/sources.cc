#include "oci/sources.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "common/yaml_json.h"

namespace kw::oci {

using Json = nlohmann::json;

namespace {

Result<SourceAuthority> parseAuthority(const Json& a, const std::string& at,
                                       std::string_view source) {
  auto fail = [&](std::string_view field, std::string_view problem) {
    return makeError(fmt::format("{}: {}: field \"{}\": {}", source, at, field, problem));
  };
  if (!a.is_object()) return makeError(fmt::format("{}: {}: expected a map", source, at));
  SourceAuthority out;
  auto type = a.find("type");
  if (type == a.end() || (*type != "Path" && *type != "Data")) {
    return fail("type", "expected Path or Data");
  }
  out.type = *type == "Path" ? SourceAuthority::Type::Path : SourceAuthority::Type::Data;
  const char* field = out.type == SourceAuthority::Type::Path ? "path" : "data";
  auto value = a.find(field);
  if (value == a.end() || !value->is_string()) return fail(field, "expected a string");
  (out.type == SourceAuthority::Type::Path ? out.path : out.data) = value->get<std::string>();
  return out;
}

Status parseInsecure(const Json& doc, std::string_view source, Sources& out) {
  auto it = doc.find("insecure_sources");
  if (it == doc.end() || it->is_null()) return okStatus();
  if (!it->is_array()) {
    return makeError(fmt::format("{}: field \"insecure_sources\": expected a list", source));
  }
  for (const Json& host : *it) {
    if (!host.is_string()) {
      return makeError(
          fmt::format("{}: field \"insecure_sources\": expected a list of strings", source));
    }
    out.insecure_sources.insert(host.get<std::string>());
  }
  return okStatus();
}

Status parseAuthorities(const Json& doc, std::string_view source, Sources& out) {
  auto it = doc.find("source_authorities");
  if (it == doc.end() || it->is_null()) return okStatus();
  if (!it->is_object()) {
    return makeError(fmt::format("{}: field \"source_authorities\": expected a map", source));
  }
  for (const auto& [host, list] : it->items()) {
    std::string at = fmt::format("source_authorities \"{}\"", host);
    if (!list.is_array()) return makeError(fmt::format("{}: {}: expected a list", source, at));
    auto& authorities = out.source_authorities[host];
    for (size_t i = 0; i < list.size(); ++i) {
      auto a = parseAuthority(list[i], fmt::format("{}[{}]", at, i), source);
      if (!a) return a.error();
      authorities.push_back(std::move(*a));
    }
  }
  return okStatus();
}

}  // namespace

Result<Sources> parseSources(std::string_view text, std::string_view source) {
  auto doc = loadYaml(text, source);
  if (!doc) return doc.error();
  Sources out;
  if (doc->IsNull()) return out;
  if (!doc->IsMap()) return makeError(fmt::format("{}: expected a map", source));
  // YAML that JSON cannot hold (a map or list as a key) is an error, not an exception.
  auto j = yamlToJson(*doc, {});
  if (!j) return makeError(fmt::format("{}: {}", source, j.error().message));
  if (auto ok = parseInsecure(*j, source, out); !ok) return ok.error();
  if (auto ok = parseAuthorities(*j, source, out); !ok) return ok.error();
  return out;
}

Result<Sources> readSourcesFile(const std::filesystem::path& path) {
  auto text = readTextFile(path);
  if (!text) return text.error();
  return parseSources(*text, path.string());
}

}  // namespace kw::oci
