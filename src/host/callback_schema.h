// The variants of CallbackRequest and the kinds of their fields: shared by the decoders
// (callback_request.cc) and the writers (callback_request_text.cc). Internal to src/host.
#pragma once

#include <string_view>
#include <vector>

namespace kw::host::schema {

enum class Kind {
  Str,
  OptStr,
  Bool,
  StrList,
  OptStrMap,
  Keyless,
  KeylessPrefix,
  Bytes,
  OptBytesList
};

struct FieldSpec {
  const char* name;
  Kind kind;
};

struct VariantSpec {
  std::string_view name;
  std::vector<FieldSpec> fields;
};

// The variant called `name`, or null.
const VariantSpec* findVariant(std::string_view name);
// True for Option<…> fields: absent and null mean None.
bool optional(Kind k);

}  // namespace kw::host::schema
