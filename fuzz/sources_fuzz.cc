// sources.yml (src/oci/sources.cc), read by kwctl and the policy-server: insecure registries and
// extra certificate authorities. Certificate files it names are recorded, not read, here.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_common.h"
#include "oci/sources.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto sources = kw::oci::parseSources(text, "sources.yml");
  if (!sources) KW_FUZZ_CHECK(!sources.error().message.empty());
  return 0;
}
