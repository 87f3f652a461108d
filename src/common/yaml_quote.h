// Double-quoted YAML scalars as kwctl writes them (policy metadata, record/replay sessions):
// escapes that every YAML 1.1 and 1.2 reader, yaml-cpp and libyaml alike, reads back to the
// same bytes. OPA's yaml.marshal and Rust Debug text use other escape styles on purpose and
// keep their own writers (src/opa/builtin_yaml.cc, src/host/callback_request_text.cc).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace kw {

// Whether `s` holds, at byte `i`, U+0085, U+2028 or U+2029 (line breaks to YAML 1.1 readers)
// or U+FEFF (a byte-order mark) in UTF-8; `*len` receives its length in bytes.
bool yamlSpecialUnicodeAt(std::string_view s, size_t i, size_t* len);
bool hasYamlSpecialUnicode(std::string_view s);

// Appends the escape that YAML double-quoted scalars, C and Rust Debug text all spell the same
// way (\" \\ \n \t \r) for `c`; false, appending nothing, for any other byte. The writers
// differ only in how they spell the remaining control characters.
bool appendShortEscape(std::string& out, unsigned char c);

// `s` in double quotes: `"` and `\` escaped, \n \t \r by name, other C0 controls and DEL as
// \xNN, and the special Unicode characters above as \uXXXX; all other bytes as they are.
std::string yamlDoubleQuoted(std::string_view s);

}  // namespace kw
