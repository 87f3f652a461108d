// yaml.marshal / yaml.unmarshal / yaml.is_valid. OPA converts through Go's sigs.k8s.io/yaml,
// i.e. go-yaml v2 (YAML 1.1 scalars), so the emitter below writes what go-yaml writes: block
// style, keys in its natural order, indentless sequences under keys, plain scalars where they
// read back as the same string, double quotes where a plain scalar would change type, single
// quotes where YAML syntax forbids a plain one, and literal blocks for multi-line strings.
// Differences left: go-yaml folds very long strings at 80 columns; we never fold.
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>

#include "common/yaml_json.h"
#include "opa/builtin_impl.h"
#include "opa/regexp.h"

namespace kw::opa::detail {
namespace {

bool isDigit(uint32_t ch) {
  return ch >= '0' && ch <= '9';
}
// unicode.IsLetter, approximated: ASCII letters, and any non-ASCII character.
bool isLetter(unsigned char ch) {
  return std::isalpha(ch) || ch >= 0x80;
}

// go-yaml's map key order: letters sort after other characters, digit runs numerically.
bool goKeyLess(const std::string& a, const std::string& b) {
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (a[i] == b[i]) continue;
    bool al = isLetter(uint8_t(a[i])), bl = isLetter(uint8_t(b[i]));
    if (al && bl) return uint8_t(a[i]) < uint8_t(b[i]);
    if (al || bl) return bl;
    int64_t an = 0, bn = 0;
    if (a[i] == '0' || b[i] == '0') {
      for (size_t j = i; j-- > 0 && isDigit(uint8_t(a[j]));) {
        if (a[j] != '0') {
          an = bn = 1;
          break;
        }
      }
    }
    size_t ai = i, bi = i;
    for (; ai < a.size() && isDigit(uint8_t(a[ai])); ++ai) an = an * 10 + (a[ai] - '0');
    for (; bi < b.size() && isDigit(uint8_t(b[bi])); ++bi) bn = bn * 10 + (b[bi] - '0');
    if (an != bn) return an < bn;
    if (ai != bi) return ai < bi;
    return uint8_t(a[i]) < uint8_t(b[i]);
  }
  return a.size() < b.size();
}

// --- YAML 1.1 plain scalar resolution (go-yaml v2) ---------------------------------------------

std::optional<bool> yamlBool(std::string_view s) {
  static const char* kTrue[] = {"y",    "Y",    "yes", "Yes", "YES", "true",
                                "True", "TRUE", "on",  "On",  "ON"};
  static const char* kFalse[] = {"n",     "N",     "no",  "No",  "NO", "false",
                                 "False", "FALSE", "off", "Off", "OFF"};
  for (const char* t : kTrue) {
    if (s == t) return true;
  }
  for (const char* f : kFalse) {
    if (s == f) return false;
  }
  return std::nullopt;
}

bool yamlNull(std::string_view s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

bool yamlSpecialFloat(std::string_view s) {
  static const char* kSpecial[] = {".nan",  ".NaN",  ".NAN",  ".inf",  ".Inf",  ".INF",
                                   "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF"};
  for (const char* k : kSpecial) {
    if (s == k) return true;
  }
  return false;
}

// Go's strconv.ParseInt(s, 0, 64) after go-yaml drops underscores: sign, then 0x/0o/0b/0
// prefixes select the base.
std::optional<Json> yamlInt(std::string s) {
  std::erase(s, '_');
  std::string_view v = s;
  bool negative = false;
  if (!v.empty() && (v[0] == '+' || v[0] == '-')) {
    negative = v[0] == '-';
    v.remove_prefix(1);
  }
  int base = 10;
  if (v.size() > 2 && v[0] == '0' && std::strchr("xXoObB", v[1])) {
    base = std::strchr("xX", v[1]) ? 16 : std::strchr("oO", v[1]) ? 8 : 2;
    v.remove_prefix(2);
  } else if (v.size() > 1 && v[0] == '0') {
    base = 8;
    v.remove_prefix(1);
  }
  uint64_t u = 0;
  auto r = std::from_chars(v.data(), v.data() + v.size(), u, base);
  if (v.empty() || r.ec != std::errc() || r.ptr != v.data() + v.size()) return std::nullopt;
  if (negative) {
    if (u > uint64_t(INT64_MAX) + 1) return std::nullopt;
    return Json(int64_t(0 - u));
  }
  if (u > uint64_t(INT64_MAX)) return Json(u);
  return Json(int64_t(u));
}

using Pattern = Result<std::shared_ptr<const Regexp>>;

// Whether a fixed, anchored pattern (compiled once by the caller) matches the whole string.
bool matches(const Pattern& re, std::string_view s) {
  return re.ok() && (*re)->matches(s);
}

std::optional<double> yamlFloat(std::string s) {
  static const Pattern kFloat =
      Regexp::compile(R"(^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$)");
  std::erase(s, '_');
  if (!matches(kFloat, s)) return std::nullopt;
  return std::strtod(s.c_str(), nullptr);
}

bool looksLikeTimestamp(const std::string& s) {
  static const Pattern kDate =
      Regexp::compile(R"((?s)^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt \t].*)?$)");
  return matches(kDate, s);
}

// Base-60 numbers ("1:20") are YAML 1.1 floats too; go-yaml quotes strings that look like them.
bool looksLikeBase60(const std::string& s) {
  static const Pattern kBase60 =
      Regexp::compile(R"(^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$)");
  return matches(kBase60, s);
}

// A plain scalar's value, or an error when JSON cannot hold it (.inf, .nan).
Result<Json> resolvePlain(const std::string& s) {
  if (yamlNull(s)) return Json(nullptr);
  if (auto b = yamlBool(s)) return Json(*b);
  if (yamlSpecialFloat(s)) return makeError("cannot represent " + s + " in JSON");
  if (!s.empty() && std::strchr("+-.0123456789", s[0])) {
    if (auto i = yamlInt(s)) return *i;
    if (auto f = yamlFloat(s)) return Json(*f);
  }
  return Json(s);
}

// True when a plain scalar with this text would not read back as a string.
bool resolvesToNonString(const std::string& s) {
  if (yamlNull(s) || yamlBool(s) || yamlSpecialFloat(s) || s == "<<") return true;
  if (!s.empty() && std::strchr("+-.0123456789", s[0])) {
    if (yamlInt(s) || yamlFloat(s) || looksLikeBase60(s) || looksLikeTimestamp(s)) return true;
  }
  return false;
}

// --- emitting ----------------------------------------------------------------------------

bool isBlank(char ch) {
  return ch == ' ' || ch == '\t';
}

// libyaml's analysis for block context: can the string be written plain, or single-quoted?
struct ScalarAnalysis {
  bool plain = true;
  bool single = true;
};

ScalarAnalysis analyse(std::string_view s) {
  ScalarAnalysis a;
  if (s.empty()) return {false, true};
  if (s.starts_with("---") || s.starts_with("...")) a.plain = false;
  if (isBlank(s.front()) || isBlank(s.back())) a.plain = false;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char ch = uint8_t(s[i]);
    bool followed_by_blank = i + 1 >= s.size() || isBlank(s[i + 1]);
    if (ch < 0x20 || ch == 0x7f) return {false, false};  // needs escapes: double quotes
    if (i == 0 && std::strchr("#,[]{}&*!|>'\"%@`", ch)) a.plain = false;
    if (i == 0 && (ch == '?' || ch == ':' || ch == '-') && followed_by_blank) a.plain = false;
    if (i > 0 && ch == ':' && followed_by_blank) a.plain = false;
    if (i > 0 && ch == '#' && isBlank(s[i - 1])) a.plain = false;
  }
  return a;
}

std::string doubleQuoted(std::string_view s) {
  std::string out = "\"";
  for (unsigned char ch : s) {
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\0':
        out += "\\0";
        break;
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\v':
        out += "\\v";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\r':
        out += "\\r";
        break;
      case 0x1b:
        out += "\\e";
        break;
      default:
        if (ch < 0x20 || ch == 0x7f) {
          out += fmt::format("\\x{:02X}", ch);
        } else {
          out.push_back(char(ch));
        }
    }
  }
  return out + "\"";
}

std::string singleQuoted(std::string_view s) {
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? "''" : std::string(1, ch);
  return out + "'";
}

// A literal block (|, |- or |+) whose lines are indented to `indent`, or nullopt when a
// literal cannot carry the string (leading blank, trailing blanks on a line, control chars).
std::optional<std::string> literalBlock(std::string_view s, int indent) {
  if (isBlank(s.front())) return std::nullopt;
  std::string_view body = s;
  const char* chomp = "-";
  if (body.ends_with('\n')) {
    chomp = body.ends_with("\n\n") ? "+" : "";
    body.remove_suffix(1);
  }
  std::string out = std::string("|") + chomp + "\n";
  while (true) {
    size_t nl = body.find('\n');
    std::string_view line = body.substr(0, nl);
    if (!line.empty() && isBlank(line.back())) return std::nullopt;
    for (unsigned char ch : line) {
      if ((ch < 0x20 && ch != '\t') || ch == 0x7f) return std::nullopt;
    }
    if (!line.empty()) out += std::string(size_t(indent), ' ') + std::string(line);
    out.push_back('\n');
    if (nl == std::string_view::npos) break;
    body.remove_prefix(nl + 1);
  }
  return out;
}

// A string scalar's text; literal blocks end with their own newline, other forms do not.
std::string stringScalar(const std::string& s, int indent, bool is_key) {
  if (!is_key && s.find('\n') != std::string::npos) {
    if (resolvesToNonString(s)) return doubleQuoted(s);
    if (auto block = literalBlock(s, indent)) return *block;
    return doubleQuoted(s);
  }
  ScalarAnalysis a = analyse(s);
  if (s.find('\n') != std::string::npos || !a.single) return doubleQuoted(s);
  if (resolvesToNonString(s)) return doubleQuoted(s);
  return a.plain ? s : singleQuoted(s);
}

std::string scalarText(const Json& v, int indent) {
  if (v.is_string()) return stringScalar(v.get_ref<const std::string&>(), indent, false);
  if (v.is_number_float()) return formatGoFloat(v.get<double>());
  return v.dump();  // null, booleans, integers
}

void emitMapping(const Json& obj, int indent, bool first_inline, std::string& out);
void emitSequence(const Json& arr, int indent, bool first_inline, std::string& out);

// The value after "key:" (after_key) or after "-"; `indent` is that line's indentation.
void emitValue(const Json& v, int indent, bool after_key, std::string& out) {
  if (v.is_object() && !v.empty()) {
    out += after_key ? "\n" : " ";
    emitMapping(v, indent + 2, !after_key, out);
  } else if (v.is_array() && !v.empty()) {
    out += after_key ? "\n" : " ";
    emitSequence(v, after_key ? indent : indent + 2, !after_key, out);
  } else if (v.is_object() || v.is_array()) {
    out += v.is_object() ? " {}\n" : " []\n";
  } else {
    std::string text = scalarText(v, indent + 2);
    out += " " + text;
    if (!text.ends_with('\n')) out.push_back('\n');
  }
}

void emitMapping(const Json& obj, int indent, bool first_inline, std::string& out) {
  std::vector<std::string> keys;
  for (const auto& [k, _] : obj.items()) keys.push_back(k);
  std::sort(keys.begin(), keys.end(), goKeyLess);
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i > 0 || !first_inline) out += std::string(size_t(indent), ' ');
    out += stringScalar(keys[i], indent, true) + ":";
    emitValue(obj[keys[i]], indent, true, out);
  }
}

void emitSequence(const Json& arr, int indent, bool first_inline, std::string& out) {
  for (size_t i = 0; i < arr.size(); ++i) {
    if (i > 0 || !first_inline) out += std::string(size_t(indent), ' ');
    out += "-";
    emitValue(arr[i], indent, false, out);
  }
}

std::string toYaml(const Json& v) {
  std::string out;
  if (v.is_object() && !v.empty()) {
    emitMapping(v, 0, false, out);
  } else if (v.is_array() && !v.empty()) {
    emitSequence(v, 0, false, out);
  } else if (v.is_object() || v.is_array()) {
    out = v.is_object() ? "{}\n" : "[]\n";
  } else {
    out = scalarText(v, 0);
    if (!out.ends_with('\n')) out.push_back('\n');
  }
  return out;
}

// --- parsing -----------------------------------------------------------------------------

// JSON keys are strings: non-string scalar keys are written as go-yaml prints them.
Result<std::string> keyText(const YAML::Node& key) {
  if (key.IsNull()) return std::string("null");
  if (!key.IsScalar()) return makeError("a mapping key must be a scalar");
  if (key.Tag() == "!" || key.Tag() == "tag:yaml.org,2002:str") return key.Scalar();
  auto v = resolvePlain(key.Scalar());
  if (!v) return v.error();
  if (v->is_string()) return v->get<std::string>();
  if (v->is_number_float()) return formatGoFloat(v->get<double>());
  return v->dump();
}

// go-yaml v2's typing of scalars and keys over the shared walk.
Result<Json> fromYaml(const YAML::Node& n) {
  return yamlToJson(n, YamlTyping{.plain = resolvePlain, .key = keyText});
}

}  // namespace

BuiltinResult yamlMarshal(const BuiltinCall& c) {
  return defined(toYaml(c.args[0]));
}

BuiltinResult yamlUnmarshal(const BuiltinCall& c) {
  auto in = stringArg(c, 0);
  if (!in) return in.error();
  try {
    auto v = fromYaml(YAML::Load(**in));
    if (!v) return fail(c, v.error().message);
    return defined(std::move(*v));
  } catch (const YAML::Exception& e) {
    return fail(c, e.what());
  }
}

BuiltinResult yamlIsValid(const BuiltinCall& c) {
  auto in = stringArg(c, 0);
  if (!in) return in.error();
  try {
    YAML::Load(**in);
    return defined(true);
  } catch (const YAML::Exception&) {
    return defined(false);
  }
}

}  // namespace kw::opa::detail
