// Small pieces of YAML text in serde_yaml's (libyaml's) style, for record/replay session files:
// scalars stay plain when YAML reads them back as the same string, and are quoted otherwise.
#pragma once

#include <string>
#include <string_view>

namespace kw::host {

// True when `s` can be written as a plain scalar and reads back as this same string.
bool yamlPlainSafe(std::string_view s);

// `s` as a single-line scalar: plain, 'single-quoted', or "double-quoted" with escapes.
std::string yamlScalar(std::string_view s);

// Appends `value` for a mapping key or sequence item whose children sit at `indent` spaces:
// multi-line strings become a literal block (`|`, `|-` or `|+`), others a scalar on the same
// line. `out` ends right after the key's colon or the item's dash.
void appendYamlString(std::string& out, std::string_view value, int indent);

}  // namespace kw::host
