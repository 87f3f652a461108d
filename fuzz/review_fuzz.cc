// The policy-server's /validate and /validate_raw body parsing (src/server/api.cc): the simdjson
// fast path (scanReview) first, and the strict nlohmann parser (parseStrict) when it declines,
// as Api::evaluate does. Besides crashes, checks the promise review_scan.h makes: a body the fast
// path accepts is one the strict parser accepts too, and both read the same `request`.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "admission/strict_json.h"
#include "fuzz_common.h"
#include "server/review_scan.h"

namespace {

using kw::admission::Json;

// The strict path's reading of a body the fast path accepted.
void checkAgreement(std::string_view body, const kw::server::ReviewFields& f) {
  Json doc;
  try {
    doc = kw::admission::parseStrict(body);
  } catch (const std::exception&) {
    kw::fuzz::broken("scanReview accepted a body that parseStrict refuses");
  }
  KW_FUZZ_CHECK(doc.is_object() && doc.contains("request"));
  const Json& request = doc["request"];
  KW_FUZZ_CHECK(Json::parse(f.request_json) == request);
  if (request.is_object() && request.contains("uid") && request["uid"].is_string()) {
    KW_FUZZ_CHECK(f.uid == request["uid"].get<std::string>());
  }
}

void scanAs(std::string_view body, bool raw) {
  kw::server::ReviewFields f;
  if (kw::server::scanReview(body, raw, f)) {
    checkAgreement(body, f);
    return;
  }
  try {
    (void)kw::admission::parseStrict(body);
  } catch (const kw::admission::DuplicateField&) {
  } catch (const Json::exception&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  scanAs(body, false);
  scanAs(body, true);
  return 0;
}
