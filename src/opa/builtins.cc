#include "opa/builtins.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <map>

#include "common/percent_encode.h"
#include "common/rfc3339.h"
#include "opa/builtin_impl.h"

namespace kw::opa {
namespace detail {

std::string_view typeName(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return "boolean";
    case Json::value_t::string:
      return "string";
    case Json::value_t::array:
      return "array";
    case Json::value_t::object:
      return "object";
    default:
      return "number";
  }
}

Error fail(const BuiltinCall& c, std::string_view message) {
  return makeError(fmt::format("{}: {}", c.name, message));
}

Error operandError(const BuiltinCall& c, size_t index, std::string_view want) {
  return fail(
      c, fmt::format("operand {} must be {} but got {}", index + 1, want, typeName(c.args[index])));
}

Result<const std::string*> stringArg(const BuiltinCall& c, size_t index) {
  const Json& v = c.args[index];
  if (!v.is_string()) return operandError(c, index, "string");
  return &v.get_ref<const std::string&>();
}

}  // namespace detail

namespace {

using detail::defined;
using detail::fail;
using detail::operandError;
using detail::stringArg;
using detail::undefined;

// --- trace ---------------------------------------------------------------------------------

BuiltinResult trace(const BuiltinCall& c) {
  auto note = stringArg(c, 0);
  if (!note) return note.error();
  spdlog::debug("[{}] rego trace: {}", c.ctx.policy_id, **note);
  if (c.ctx.traces) c.ctx.traces->push_back(**note);
  return defined(true);
}

// --- encodings -----------------------------------------------------------------------------

BuiltinResult base64UrlEncodeNoPad(const BuiltinCall& c) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  auto in = stringArg(c, 0);
  if (!in) return in.error();
  const std::string& s = **in;
  std::string out;
  out.reserve((s.size() * 4 + 2) / 3);
  for (size_t i = 0; i < s.size(); i += 3) {
    uint32_t chunk = uint32_t(uint8_t(s[i])) << 16;
    if (i + 1 < s.size()) chunk |= uint32_t(uint8_t(s[i + 1])) << 8;
    if (i + 2 < s.size()) chunk |= uint32_t(uint8_t(s[i + 2]));
    size_t chars = std::min<size_t>(4, (s.size() - i) * 4 / 3 + 1);  // 1→2, 2→3, 3→4
    for (size_t k = 0; k < chars; ++k) out.push_back(kAlphabet[(chunk >> (18 - 6 * k)) & 63]);
  }
  return defined(out);
}


BuiltinResult hexEncode(const BuiltinCall& c) {
  auto in = stringArg(c, 0);
  if (!in) return in.error();
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve((*in)->size() * 2);
  for (unsigned char ch : **in) {
    out.push_back(kDigits[ch >> 4]);
    out.push_back(kDigits[ch & 15]);
  }
  return defined(out);
}

// Go's encoding/hex error text (its %#U of the byte), which OPA passes through.
std::string invalidHexByte(unsigned char ch) {
  std::string text = fmt::format("encoding/hex: invalid byte: U+{:04X}", ch);
  if (ch >= 0x20 && ch < 0x7f) {
    text += fmt::format(" '{}'", char(ch));
  } else if (ch >= 0xa0) {  // the byte read as a code point, printed as UTF-8
    text += fmt::format(" '{}{}'", char(0xc0 | ch >> 6), char(0x80 | (ch & 0x3f)));
  }
  return text;
}

BuiltinResult hexDecode(const BuiltinCall& c) {
  auto in = stringArg(c, 0);
  if (!in) return in.error();
  const std::string& s = **in;
  std::string out;
  out.reserve(s.size() / 2);
  for (size_t i = 0; i < s.size(); ++i) {
    if (hexDigitValue(s[i]) < 0) return fail(c, invalidHexByte(uint8_t(s[i])));
  }
  if (s.size() % 2) return fail(c, "encoding/hex: odd length hex string");
  for (size_t i = 0; i < s.size(); i += 2) {
    out.push_back(char(hexDigitValue(s[i]) << 4 | hexDigitValue(s[i + 1])));
  }
  return defined(out);
}

// --- urlquery (Go's net/url query escaping) --------------------------------------------------

// Go's url.QueryUnescape, with its error text.
Result<std::string> queryUnescape(std::string_view s) {
  auto out = percentDecode(s, PercentStyle::kForm, /*strict=*/true);
  if (!out) return makeError("invalid URL escape " + detail::goQuote(out.error().message));
  return out;
}

BuiltinResult urlqueryEncode(const BuiltinCall& c) {
  auto in = stringArg(c, 0);
  if (!in) return in.error();
  return defined(percentEncode(**in, PercentStyle::kForm));
}

BuiltinResult urlqueryDecode(const BuiltinCall& c) {
  auto in = stringArg(c, 0);
  if (!in) return in.error();
  auto out = queryUnescape(**in);
  if (!out) return fail(c, out.error().message);
  return defined(*out);
}

// Values are strings or collections of strings; keys come out sorted, as Go's url.Values.Encode.
BuiltinResult urlqueryEncodeObject(const BuiltinCall& c) {
  const Json& obj = c.args[0];
  if (!obj.is_object()) return operandError(c, 0, "object");
  std::string out;
  auto add = [&](const std::string& k, const Json& v) {
    if (!out.empty()) out.push_back('&');
    out += percentEncode(k, PercentStyle::kForm) + "=" +
               percentEncode(v.get_ref<const std::string&>(), PercentStyle::kForm);
  };
  for (const auto& [key, value] : obj.items()) {  // nlohmann objects iterate in key order
    if (value.is_string()) {
      add(key, value);
      continue;
    }
    if (!value.is_array()) return fail(c, "values must be string, array[string], or set[string]");
    for (const Json& v : value) {
      if (!v.is_string()) return fail(c, "values must be string, array[string], or set[string]");
      add(key, v);
    }
  }
  return defined(out);
}

// Go's url.ParseQuery: pairs split on '&', a ';' is an error, repeated keys collect values.
BuiltinResult urlqueryDecodeObject(const BuiltinCall& c) {
  auto in = stringArg(c, 0);
  if (!in) return in.error();
  std::string_view rest = **in;
  Json out = Json::object();
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view part = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (part.find(';') != std::string_view::npos) {
      return fail(c, "invalid semicolon separator in query");
    }
    if (part.empty()) continue;
    size_t eq = part.find('=');
    auto key = queryUnescape(part.substr(0, eq));
    if (!key) return fail(c, key.error().message);
    auto value = queryUnescape(eq == std::string_view::npos ? "" : part.substr(eq + 1));
    if (!value) return fail(c, value.error().message);
    Json& slot = out[*key];
    if (slot.is_null()) slot = Json::array();
    slot.push_back(*value);
  }
  return defined(std::move(out));
}

// --- json ----------------------------------------------------------------------------------

BuiltinResult jsonIsValid(const BuiltinCall& c) {
  auto in = stringArg(c, 0);
  if (!in) return in.error();
  return defined(Json::accept(**in));
}

// A patch path given as an array of segments becomes a JSON pointer.
Result<std::string> patchPointer(const Json& path) {
  if (path.is_string()) return path.get<std::string>();
  if (!path.is_array()) return makeError("a patch path must be a string or an array");
  std::string out;
  for (const Json& seg : path) {
    std::string text;
    if (seg.is_string()) {
      text = seg.get<std::string>();
    } else if (seg.is_number_integer()) {
      text = seg.dump();
    } else {
      return makeError("a patch path segment must be a string or an integer");
    }
    out.push_back('/');
    for (char ch : text) {  // JSON pointer escapes
      out += ch == '~' ? std::string("~0") : ch == '/' ? std::string("~1") : std::string(1, ch);
    }
  }
  return out;
}

// Checks one operation and rewrites its paths into JSON pointers.
Result<Json> normalisePatch(const Json& op) {
  static const std::map<std::string, const char*, std::less<>> kNeeds = {
      {"add", "value"},    {"replace", "value"}, {"test", "value"},
      {"remove", nullptr}, {"move", "from"},     {"copy", "from"}};
  if (!op.is_object()) return makeError("a patch must be an object");
  auto name = op.find("op");
  if (name == op.end() || !name->is_string()) return makeError("a patch needs a string `op`");
  auto need = kNeeds.find(name->get<std::string>());
  if (need == kNeeds.end()) return makeError("unknown patch op " + name->dump());
  auto path = op.find("path");
  if (path == op.end()) return makeError("a patch needs a `path`");
  Json out = op;
  auto ptr = patchPointer(*path);
  if (!ptr) return ptr.error();
  out["path"] = *ptr;
  if (need->second && !op.contains(need->second)) {
    return makeError(fmt::format("a `{}` patch needs `{}`", need->first, need->second));
  }
  if (op.contains("from")) {
    auto from = patchPointer(op["from"]);
    if (!from) return from.error();
    out["from"] = *from;
  }
  return out;
}

// RFC 6902, applied atomically: a patch that does not apply makes the result undefined.
BuiltinResult jsonPatch(const BuiltinCall& c) {
  const Json& patches = c.args[1];
  if (!patches.is_array()) return operandError(c, 1, "array");
  Json ops = Json::array();
  for (const Json& op : patches) {
    auto normal = normalisePatch(op);
    if (!normal) return fail(c, normal.error().message);
    ops.push_back(std::move(*normal));
  }
  try {
    return defined(c.args[0].patch(ops));
  } catch (const Json::exception&) {
    return undefined();
  }
}

// --- glob ----------------------------------------------------------------------------------

BuiltinResult globQuoteMeta(const BuiltinCall& c) {
  auto in = stringArg(c, 0);
  if (!in) return in.error();
  std::string out;
  for (char ch : **in) {
    if (std::strchr("*?\\[]{}", ch) && ch != '\0') out.push_back('\\');
    out.push_back(ch);
  }
  return defined(out);
}

// --- semver (semver.org 2.0) -----------------------------------------------------------------

struct SemVer {
  uint64_t core[3] = {0, 0, 0};
  std::vector<std::string_view> pre;
};

bool isIdentChar(char ch) {
  return std::isalnum(uint8_t(ch)) || ch == '-';
}
bool allDigits(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
}

// Dot-separated non-empty identifiers; numeric ones without leading zeros when `strict`.
std::optional<std::vector<std::string_view>> identifiers(std::string_view s, bool strict) {
  std::vector<std::string_view> out;
  while (true) {
    size_t dot = s.find('.');
    std::string_view id = s.substr(0, dot);
    if (id.empty() || !std::all_of(id.begin(), id.end(), isIdentChar)) return std::nullopt;
    if (strict && allDigits(id) && id.size() > 1 && id[0] == '0') return std::nullopt;
    out.push_back(id);
    if (dot == std::string_view::npos) return out;
    s = s.substr(dot + 1);
  }
}

std::optional<SemVer> parseSemver(std::string_view s) {
  SemVer v;
  size_t plus = s.find('+');
  if (plus != std::string_view::npos && !identifiers(s.substr(plus + 1), false))
    return std::nullopt;
  s = s.substr(0, plus);
  size_t dash = s.find('-');
  if (dash != std::string_view::npos) {
    auto pre = identifiers(s.substr(dash + 1), true);
    if (!pre) return std::nullopt;
    v.pre = std::move(*pre);
  }
  s = s.substr(0, dash);
  for (int i = 0; i < 3; ++i) {
    size_t dot = s.find('.');
    if ((i < 2) == (dot == std::string_view::npos)) return std::nullopt;
    std::string_view part = s.substr(0, dot);
    if (!allDigits(part) || (part.size() > 1 && part[0] == '0')) return std::nullopt;
    auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), v.core[i]);
    if (ec != std::errc()) return std::nullopt;
    if (dot != std::string_view::npos) s = s.substr(dot + 1);
  }
  return v;
}

int compareIdentifier(std::string_view a, std::string_view b) {
  bool an = allDigits(a), bn = allDigits(b);
  if (an && bn) {
    if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;  // no leading zeros
  } else if (an != bn) {
    return an ? -1 : 1;  // numeric identifiers sort before alphanumeric ones
  }
  int r = a.compare(b);
  return r < 0 ? -1 : r > 0 ? 1 : 0;
}

int compareSemver(const SemVer& a, const SemVer& b) {
  for (int i = 0; i < 3; ++i) {
    if (a.core[i] != b.core[i]) return a.core[i] < b.core[i] ? -1 : 1;
  }
  if (a.pre.empty() || b.pre.empty()) {
    return a.pre.empty() == b.pre.empty() ? 0 : a.pre.empty() ? 1 : -1;
  }
  for (size_t i = 0; i < std::min(a.pre.size(), b.pre.size()); ++i) {
    if (int r = compareIdentifier(a.pre[i], b.pre[i])) return r;
  }
  if (a.pre.size() == b.pre.size()) return 0;
  return a.pre.size() < b.pre.size() ? -1 : 1;
}

BuiltinResult semverIsValid(const BuiltinCall& c) {
  const Json& v = c.args[0];
  return defined(v.is_string() && parseSemver(v.get_ref<const std::string&>()).has_value());
}

BuiltinResult semverCompare(const BuiltinCall& c) {
  std::optional<SemVer> v[2];
  for (size_t i = 0; i < 2; ++i) {
    auto s = stringArg(c, i);
    if (!s) return s.error();
    v[i] = parseSemver(**s);
    if (!v[i]) {
      return fail(c, fmt::format("operand {}: string {} is not a valid SemVer", i + 1,
                                 detail::goQuote(**s)));
    }
  }
  return defined(compareSemver(*v[0], *v[1]));
}

// --- time ----------------------------------------------------------------------------------

constexpr int64_t kNanos = 1'000'000'000;

BuiltinResult timeNowNs(const BuiltinCall& c) {
  if (!c.ctx.now_ns) {
    auto now = std::chrono::system_clock::now().time_since_epoch();
    c.ctx.now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now).count();
  }
  return defined(*c.ctx.now_ns);
}

// Go's time.Parse(time.RFC3339, s), as a count of nanoseconds.
Result<int64_t> parseRfc3339(std::string_view s) {
  auto bad = [&](std::string_view why) {
    return makeError(fmt::format("parsing time {} as RFC3339: {}", detail::goQuote(s), why));
  };
  auto t = kw::parseRfc3339(s, Rfc3339Dialect::kGo);
  if (!t) return bad(t.error().message);
  __int128 ns = __int128(t->seconds) * kNanos + t->nanos;
  if (ns > INT64_MAX || ns < INT64_MIN) return bad("out of the range of a 64-bit nanosecond count");
  return int64_t(ns);
}

BuiltinResult parseRfc3339Ns(const BuiltinCall& c) {
  auto in = stringArg(c, 0);
  if (!in) return in.error();
  auto ns = parseRfc3339(**in);
  if (!ns) return fail(c, ns.error().message);
  return defined(*ns);
}

Result<int64_t> nanosArg(const BuiltinCall& c, const Json& v) {
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX)) {
      return fail(c, "timestamp too big");
    }
    return v.get<int64_t>();
  }
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (d != d || d >= 9.2233720368547758e18 || d < -9.2233720368547758e18) {
      return fail(c, "timestamp too big");
    }
    return int64_t(d);
  }
  return fail(c, fmt::format("operand 1 must be number or array[number, string] but got {}",
                             detail::typeName(v)));
}

// TZif files (RFC 8536) of the system time zone database, since GCC 12's <chrono> has none.
class TzifReader {
 public:
  explicit TzifReader(std::string data) : data_(std::move(data)) {}

  // Seconds east of UTC at `secs`: the type of the last transition at or before it (the first
  // type before any transition). Past the table we keep its last type, which the full
  // ("fat") files Debian ships extend to 2037.
  std::optional<int64_t> offsetAt(int64_t secs) const {
    if (data_.size() < 44 || data_.compare(0, 4, "TZif") != 0) return std::nullopt;
    size_t header = 0;
    size_t time_size = 4;
    if (data_[4] >= '2') {  // skip the 32-bit block, use the 64-bit one
      header = 44 + blockSize(0, 4);
      time_size = 8;
      if (data_.size() < header + 44) return std::nullopt;
    }
    uint32_t timecnt = count(header, 3), typecnt = count(header, 4);
    size_t times = header + 44, indexes = times + timecnt * time_size;
    size_t types = indexes + timecnt;
    if (typecnt == 0 || data_.size() < types + typecnt * 6) return std::nullopt;
    size_t type = 0;
    for (uint32_t i = 0; i < timecnt; ++i) {
      int64_t at = time_size == 8 ? int64_t(be(times + i * 8, 8)) : int32_t(be(times + i * 4, 4));
      if (at > secs) break;
      type = uint8_t(data_[indexes + i]);
    }
    if (type >= typecnt) return std::nullopt;
    return int64_t(int32_t(be(types + type * 6, 4)));
  }

 private:
  uint64_t be(size_t at, size_t n) const {
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = v << 8 | uint8_t(data_[at + i]);
    return v;
  }
  // Header counts: isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt.
  uint32_t count(size_t header, int which) const {
    return uint32_t(be(header + 20 + size_t(which) * 4, 4));
  }
  size_t blockSize(size_t header, size_t time_size) const {
    return count(header, 3) * (time_size + 1) + count(header, 4) * 6 + count(header, 5) +
           count(header, 2) * (time_size + 4) + count(header, 1) + count(header, 0);
  }

  std::string data_;
};

bool isZoneName(std::string_view tz) {
  if (tz.empty() || tz.front() == '/' || tz.find("..") != std::string_view::npos) return false;
  return std::all_of(tz.begin(), tz.end(), [](char ch) {
    return std::isalnum(uint8_t(ch)) || ch == '/' || ch == '_' || ch == '-' || ch == '+';
  });
}

// Seconds east of UTC for `tz` at `secs`: UTC, the host's local zone, or an IANA name read
// from /usr/share/zoneinfo (upstream compiles the database in; here the host must have it).
Result<int64_t> zoneOffset(const BuiltinCall& c, std::string_view tz, int64_t secs) {
  if (tz.empty() || tz == "UTC") return int64_t(0);
  if (tz == "Local") {
    time_t t = time_t(secs);
    struct tm local {};
    if (!localtime_r(&t, &local)) return fail(c, "cannot convert to local time");
    return int64_t(local.tm_gmtoff);
  }
  std::optional<int64_t> offset;
  if (isZoneName(tz)) {
    std::ifstream in("/usr/share/zoneinfo/" + std::string(tz), std::ios::binary);
    if (in) {
      std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      offset = TzifReader(std::move(data)).offsetAt(secs);
    }
  }
  if (!offset) return fail(c, fmt::format("unknown time zone {}", tz));
  return *offset;
}

// date(ns) or date([ns, tz]) → [year, month, day].
BuiltinResult date(const BuiltinCall& c) {
  const Json& arg = c.args[0];
  const Json* ns_value = &arg;
  std::string tz;
  if (arg.is_array()) {
    if (arg.size() != 2) return fail(c, "expected [ns, time zone]");
    if (!arg[1].is_string()) return fail(c, "the time zone must be a string");
    ns_value = &arg[0];
    tz = arg[1].get<std::string>();
  }
  auto ns = nanosArg(c, *ns_value);
  if (!ns) return ns.error();
  int64_t secs = *ns / kNanos - (*ns % kNanos < 0 ? 1 : 0);  // floor, for times before 1970
  auto offset = zoneOffset(c, tz, secs);
  if (!offset) return offset.error();
  int64_t local = secs + *offset;
  int64_t days = local / 86400 - (local % 86400 < 0 ? 1 : 0);
  CivilDate d = civilFromDays(days);
  return defined(Json::array({d.year, d.month, d.day}));
}

// Kubewarden 1.10 (burrego) registers the two time parsers without OPA's `time.` prefix, so
// a module calling time.parse_rfc3339_ns or time.date is refused as needing a missing builtin.
// The names are kept exactly as upstream registers them.
const Builtin kBuiltins[] = {
    {"base64url.encode_no_pad", 1, base64UrlEncodeNoPad},
    {"date", 1, date},
    {"glob.quote_meta", 1, globQuoteMeta},
    {"hex.decode", 1, hexDecode},
    {"hex.encode", 1, hexEncode},
    {"json.is_valid", 1, jsonIsValid},
    {"json.patch", 2, jsonPatch},
    {"parse_rfc3339_ns", 1, parseRfc3339Ns},
    {"regex.find_n", 3, detail::regexFindN},
    {"regex.split", 2, detail::regexSplit},
    {"regex.template_match", 4, detail::regexTemplateMatch},
    {"semver.compare", 2, semverCompare},
    {"semver.is_valid", 1, semverIsValid},
    {"sprintf", 2, detail::sprintf},
    {"time.now_ns", 0, timeNowNs},
    {"trace", 1, trace},
    {"urlquery.decode", 1, urlqueryDecode},
    {"urlquery.decode_object", 1, urlqueryDecodeObject},
    {"urlquery.encode", 1, urlqueryEncode},
    {"urlquery.encode_object", 1, urlqueryEncodeObject},
    {"yaml.is_valid", 1, detail::yamlIsValid},
    {"yaml.marshal", 1, detail::yamlMarshal},
    {"yaml.unmarshal", 1, detail::yamlUnmarshal},
};

}  // namespace

const Builtin* findBuiltin(std::string_view name) {
  for (const Builtin& b : kBuiltins) {
    if (b.name == name) return &b;
  }
  return nullptr;
}

std::vector<std::string> implementedBuiltins() {
  std::vector<std::string> out;
  for (const Builtin& b : kBuiltins) out.emplace_back(b.name);
  std::sort(out.begin(), out.end());
  return out;
}

BuiltinResult callBuiltin(std::string_view name, std::span<const Json> args, BuiltinContext& ctx) {
  const Builtin* b = findBuiltin(name);
  if (!b) return makeError(fmt::format("{}: not implemented", name));
  BuiltinCall call{b->name, args, ctx};
  if (args.size() != b->arity) {
    return fail(call, fmt::format("expects {} arguments, got {}", b->arity, args.size()));
  }
  try {
    return b->fn(call);
  } catch (const std::exception& e) {
    // Builtins validate their inputs; this only catches what a library throws unexpectedly.
    return fail(call, e.what());
  }
}

}  // namespace kw::opa
