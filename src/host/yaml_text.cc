#include "host/yaml_text.h"

#include <array>
#include <cctype>

#include "common/yaml_quote.h"

namespace kw::host {
namespace {

bool isDigits(std::string_view s, bool (*digit)(char)) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!digit(c) && c != '_') return false;
  }
  return true;
}

bool dec(char c) {
  return c >= '0' && c <= '9';
}
bool hex(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}
bool oct(char c) {
  return c >= '0' && c <= '7';
}
bool bin(char c) {
  return c == '0' || c == '1';
}

// Decimal or float text such as "12", "-1.5", "3e4", ".5".
bool looksDecimal(std::string_view s) {
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
  size_t e = s.find_first_of("eE");
  std::string_view mantissa = s.substr(0, e);
  size_t dot = mantissa.find('.');
  std::string_view whole = mantissa.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? "" : mantissa.substr(dot + 1);
  if (whole.empty() && frac.empty()) return false;
  if (!whole.empty() && !isDigits(whole, dec)) return false;
  if (!frac.empty() && !isDigits(frac, dec)) return false;
  if (e == std::string_view::npos) return true;
  std::string_view exp = s.substr(e + 1);
  if (!exp.empty() && (exp[0] == '+' || exp[0] == '-')) exp.remove_prefix(1);
  return isDigits(exp, dec);
}

// Scalars a YAML reader would take for null, a boolean or a number.
bool ambiguous(std::string_view s) {
  static constexpr std::array<std::string_view, 31> kWords = {
      "~",  "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE", "y",
      "Y",  "yes",  "Yes",  "YES",  "n",    "N",    "no",   "No",    "NO",    "on",    "On",
      "ON", "off",  "Off",  "OFF",  ".inf", ".Inf", ".INF", ".nan",  ".NaN"};
  for (auto w : kWords) {
    if (s == w) return true;
  }
  std::string_view body = s;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) body.remove_prefix(1);
  if (body == ".inf" || body == ".Inf" || body == ".INF" || body == ".NAN") return true;
  if (body.size() > 2 && body[0] == '0') {
    char p = body[1];
    if (p == 'x' && isDigits(body.substr(2), hex)) return true;
    if (p == 'o' && isDigits(body.substr(2), oct)) return true;
    if (p == 'b' && isDigits(body.substr(2), bin)) return true;
  }
  return looksDecimal(s);
}

bool control(unsigned char c) {
  return c < 0x20 || c == 0x7f;
}

// A literal block keeps the text verbatim only when no line needs escaping.
bool literalBlockSafe(std::string_view s) {
  if (s.empty() || s[0] == ' ') return false;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c != '\n' && control(c)) return false;
    if (c == '\n' && i > 0 && s[i - 1] == ' ') return false;
  }
  return s.back() != ' ';
}

}  // namespace

bool yamlPlainSafe(std::string_view s) {
  if (s.empty() || s.front() == ' ' || s.back() == ' ') return false;
  if (ambiguous(s)) return false;
  if (s.starts_with("---") || s.starts_with("...")) return false;
  static constexpr std::string_view kLeading = "#,[]{}&*!|>'\"%@`";
  if (kLeading.find(s[0]) != std::string_view::npos) return false;
  if ((s[0] == '-' || s[0] == '?' || s[0] == ':') && (s.size() == 1 || s[1] == ' ')) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (control(c)) return false;
    if (c == ':' && (i + 1 == s.size() || s[i + 1] == ' ')) return false;
    if (c == '#' && s[i - 1] == ' ') return false;
  }
  return true;
}

std::string yamlScalar(std::string_view s) {
  if (yamlPlainSafe(s)) return std::string(s);
  bool single_ok = s.find('\'') == std::string_view::npos;
  for (char ch : s) {
    if (control(static_cast<unsigned char>(ch))) single_ok = false;
  }
  if (single_ok) return "'" + std::string(s) + "'";
  return yamlDoubleQuoted(s);
}

void appendYamlString(std::string& out, std::string_view value, int indent) {
  if (value.find('\n') == std::string_view::npos || !literalBlockSafe(value)) {
    out += ' ';
    out += yamlScalar(value);
    out += '\n';
    return;
  }
  size_t trailing = 0;
  while (trailing < value.size() && value[value.size() - 1 - trailing] == '\n') ++trailing;
  out += trailing == 0 ? " |-\n" : trailing == 1 ? " |\n" : " |+\n";
  std::string_view body = value;
  if (trailing > 0) body.remove_suffix(1);  // the last newline ends the last line
  const std::string pad(size_t(indent), ' ');
  size_t start = 0;
  while (start <= body.size()) {
    size_t end = body.find('\n', start);
    if (end == std::string_view::npos) end = body.size();
    std::string_view line = body.substr(start, end - start);
    if (!line.empty()) out += pad;
    out += line;
    out += '\n';
    start = end + 1;
  }
}

}  // namespace kw::host
