// Loading ../shared/fixtures/conformance/dev.json for the conformance suites. Templated on
// the JSON type: suites that re-serialise payloads need nlohmann::ordered_json to keep the
// reference's key order.
#pragma once

#include <fstream>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "support/test_env.h"

namespace kw::test {

// The cases whose `kind` is one of `kinds`; empty when ../shared is absent.
template <typename Json>
std::vector<Json> devJsonCases(std::initializer_list<std::string_view> kinds) {
  std::vector<Json> out;
  if (!haveShared()) return out;
  std::ifstream in(sharedDir() / "fixtures/conformance/dev.json");
  Json doc = Json::parse(in);
  for (auto& c : doc["cases"]) {
    std::string kind = c.value("kind", "");
    for (std::string_view k : kinds) {
      if (kind == k) out.push_back(c);
    }
  }
  return out;
}

}  // namespace kw::test
