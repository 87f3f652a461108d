// Policy metadata (src/policy/metadata.cc): the JSON of a module's io.kubewarden.metadata section
// and metadata.yml, then upstream's semantic checks. What decodes must survive its own encoders:
// JSON and YAML written by metadataToJson/metadataToYaml read back to the same Metadata (kwctl
// annotate writes what the policy-server later reads).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_common.h"
#include "policy/metadata.h"

namespace {

void roundTrip(const kw::policy::Metadata& m) {
  (void)kw::policy::validate(m);
  auto json = kw::policy::metadataFromJson(kw::policy::metadataToJson(m));
  KW_FUZZ_CHECK(json.ok() && *json == m);
  auto yaml = kw::policy::metadataFromYaml(kw::policy::metadataToYaml(m));
  KW_FUZZ_CHECK(yaml.ok() && *yaml == m);
  (void)kw::policy::rulesToYaml(m.rules);
  (void)kw::policy::contextAwareResourcesToYaml(m.contextAwareResources);
}

}  // namespace

// The first byte picks the decoder (odd: YAML, even: JSON), so one corpus holds both formats.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kw::fuzz::Selected in;
  if (!kw::fuzz::splitSelector(data, size, in)) return 0;
  std::string_view text = in.rest;
  auto m = (in.selector & 1) ? kw::policy::metadataFromYaml(text) : kw::policy::metadataFromJson(text);
  if (m) roundTrip(*m);
  return 0;
}
