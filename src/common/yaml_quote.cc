#include "common/yaml_quote.h"

#include <fmt/format.h>

namespace kw {

bool yamlSpecialUnicodeAt(std::string_view s, size_t i, size_t* len) {
  auto at = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  if (i + 1 < s.size() && at(i) == 0xC2 && at(i + 1) == 0x85) {
    *len = 2;
    return true;
  }
  if (i + 2 < s.size() && at(i) == 0xE2 && at(i + 1) == 0x80 &&
      (at(i + 2) == 0xA8 || at(i + 2) == 0xA9)) {
    *len = 3;
    return true;
  }
  if (i + 2 < s.size() && at(i) == 0xEF && at(i + 1) == 0xBB && at(i + 2) == 0xBF) {
    *len = 3;
    return true;
  }
  return false;
}

bool hasYamlSpecialUnicode(std::string_view s) {
  size_t len;
  for (size_t i = 0; i < s.size(); ++i) {
    if (yamlSpecialUnicodeAt(s, i, &len)) return true;
  }
  return false;
}

namespace {

unsigned codePoint(std::string_view s, size_t i, size_t len) {
  if (len == 2) return 0x85;
  if (static_cast<unsigned char>(s[i]) == 0xEF) return 0xFEFF;
  return static_cast<unsigned char>(s[i + 2]) == 0xA8 ? 0x2028 : 0x2029;
}

}  // namespace

bool appendShortEscape(std::string& out, unsigned char c) {
  switch (c) {
    case '"':
      out += "\\\"";
      return true;
    case '\\':
      out += "\\\\";
      return true;
    case '\n':
      out += "\\n";
      return true;
    case '\t':
      out += "\\t";
      return true;
    case '\r':
      out += "\\r";
      return true;
    default:
      return false;
  }
}

std::string yamlDoubleQuoted(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len;
    if (yamlSpecialUnicodeAt(s, i, &len)) {
      out += fmt::format("\\u{:04X}", codePoint(s, i, len));
      i += len - 1;
      continue;
    }
    if (appendShortEscape(out, c)) continue;
    if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02X}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace kw
