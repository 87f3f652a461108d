// What the Kubernetes cache (src/kube/reflector.cc) makes of the API server's answers: a watch
// line goes through parseWatchEvent, then its object (ADDED, MODIFIED, DELETED) through
// makeStoredObject, as Reflector::applyEvent does; a list item goes straight to makeStoredObject,
// as the list path does. Input: a selector byte (bit 0: drop managedFields; bit 1: the rest is a
// list item rather than a watch line), then the JSON. Neither function may throw: an exception
// would end the reflector's thread.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_common.h"
#include "kube/reflector.h"

namespace {

using nlohmann::json;

void store(json& object, bool drop_managed_fields) {
  static const kw::kube::ResourceKey key{"v1", "Pod"};
  auto stored = kw::kube::makeStoredObject(object, key, drop_managed_fields);
  if (!stored) {
    KW_FUZZ_CHECK(!stored.error().message.empty());
    return;
  }
  // What the cache keeps is compact JSON that parses back to an object, under a name.
  json kept = json::parse(*stored->second.json);
  KW_FUZZ_CHECK(kept.is_object() && !stored->first.second.empty());
}

void watchLine(std::string_view line, bool drop_managed_fields) {
  auto event = kw::kube::parseWatchEvent(line);
  if (!event) {
    KW_FUZZ_CHECK(!event.error().message.empty());
    return;
  }
  if (event->type == "ERROR") {
    KW_FUZZ_CHECK(!event->message.empty());
    return;
  }
  KW_FUZZ_CHECK(event->object.is_object());
  if (event->type != "BOOKMARK") store(event->object, drop_managed_fields);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kw::fuzz::Selected in;
  if (!kw::fuzz::splitSelector(data, size, in)) return 0;
  const bool drop = in.selector & 1;
  std::string_view text = in.rest;
  if (in.selector & 2) {
    json item = json::parse(text, nullptr, false);
    if (!item.is_discarded()) store(item, drop);
  } else {
    watchLine(text, drop);
  }
  return 0;
}
