// policies.yml as the policy-server reads it (src/server/policies_file.cc): YAML or JSON text
// into the policy map. Only parsing: nothing is fetched.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_common.h"
#include "server/policies_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto policies = kw::server::parsePolicies(text, "policies.yml");
  if (policies) {
    for (const auto& [id, entry] : *policies) {
      KW_FUZZ_CHECK(entry.settings.is_object());  // the header's promise
      (void)id;
    }
  } else {
    KW_FUZZ_CHECK(!policies.error().message.empty());
  }
  return 0;
}
