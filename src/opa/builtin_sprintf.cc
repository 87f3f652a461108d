// OPA's sprintf is Go's fmt.Sprintf over Rego values: integral numbers become Go ints, other
// numbers float64, strings Go strings, and every other value an OPA term printed through its
// String() method. This file reproduces the Go verbs, flags, width/precision and the inline
// error forms (%!d(string=x), %!v(MISSING), %!(EXTRA ...)) for those argument kinds.
#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <optional>

#include "opa/builtin_impl.h"

namespace kw::opa {
namespace detail {
namespace {

// Decodes one UTF-8 sequence at s[i]; nullopt for an invalid one (then one byte is consumed).
std::optional<uint32_t> decodeRune(std::string_view s, size_t& i) {
  auto b = [&](size_t k) { return uint8_t(s[k]); };
  uint8_t c0 = b(i);
  if (c0 < 0x80) return ++i, uint32_t(c0);
  size_t len = c0 >= 0xf0 ? 4 : c0 >= 0xe0 ? 3 : c0 >= 0xc2 ? 2 : 0;
  if (len == 0 || c0 > 0xf4 || i + len > s.size()) return ++i, std::nullopt;
  uint32_t r = c0 & (0xff >> (len + 1));
  for (size_t k = 1; k < len; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return ++i, std::nullopt;
    r = r << 6 | (b(i + k) & 0x3f);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (r < kMin[len] || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) return ++i, std::nullopt;
  i += len;
  return r;
}

void appendUtf8(std::string& out, uint32_t r) {
  if (r < 0x80) {
    out.push_back(char(r));
  } else if (r < 0x800) {
    out.push_back(char(0xc0 | r >> 6));
    out.push_back(char(0x80 | (r & 0x3f)));
  } else if (r < 0x10000) {
    out.push_back(char(0xe0 | r >> 12));
    out.push_back(char(0x80 | ((r >> 6) & 0x3f)));
    out.push_back(char(0x80 | (r & 0x3f)));
  } else {
    out.push_back(char(0xf0 | r >> 18));
    out.push_back(char(0x80 | ((r >> 12) & 0x3f)));
    out.push_back(char(0x80 | ((r >> 6) & 0x3f)));
    out.push_back(char(0x80 | (r & 0x3f)));
  }
}

size_t runeCount(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size();) {
    decodeRune(s, i);
    ++n;
  }
  return n;
}

// The first `n` runes of s.
std::string_view runePrefix(std::string_view s, size_t n) {
  size_t i = 0;
  while (i < s.size() && n-- > 0) decodeRune(s, i);
  return s.substr(0, i);
}

void appendEscapedRune(std::string& out, uint32_t r, char quote) {
  switch (r) {
    case '\a':
      out += "\\a";
      return;
    case '\b':
      out += "\\b";
      return;
    case '\f':
      out += "\\f";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    case '\v':
      out += "\\v";
      return;
    case '\\':
      out += "\\\\";
      return;
    default:
      break;
  }
  if (r == uint32_t(quote)) {
    out.push_back('\\');
    out.push_back(quote);
  } else if (r < 0x20 || r == 0x7f) {
    out += fmt::format("\\x{:02x}", r);
  } else if (r >= 0x80 && r < 0xa0) {  // C1 controls are not printable
    out += fmt::format("\\u{:04x}", r);
  } else {
    appendUtf8(out, r);
  }
}

}  // namespace

std::string goQuote(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    size_t at = i;
    auto r = decodeRune(s, i);
    if (r) {
      appendEscapedRune(out, *r, '"');
    } else {
      out += fmt::format("\\x{:02x}", uint8_t(s[at]));
    }
  }
  out.push_back('"');
  return out;
}

std::string regoString(const Json& v) {
  switch (v.type()) {
    case Json::value_t::string:
      return goQuote(v.get_ref<const std::string&>());
    case Json::value_t::number_float:
      return formatGoFloat(v.get<double>());
    case Json::value_t::array: {
      std::string out = "[";
      for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + regoString(v[i]);
      return out + "]";
    }
    case Json::value_t::object: {
      std::string out = "{";
      bool first = true;
      for (const auto& [k, e] : v.items()) {
        out += (first ? "" : ", ") + goQuote(k) + ": " + regoString(e);
        first = false;
      }
      return out + "}";
    }
    default:
      return v.dump();
  }
}

}  // namespace detail

namespace {

using detail::goQuote;
using detail::regoString;

// A float's shortest decimal digits: value = 0.digits × 10^dp (Go's decimal form).
struct Digits {
  std::string d;
  int dp = 0;
};

// Digits of |v| rounded to `sig` significant digits (shortest round-trip when sig < 0), with
// trailing zeros removed as Go does.
Digits floatDigits(double v, int sig) {
  Digits out;
  if (v == 0) return out;
  char buf[64];
  auto r = sig < 0
               ? std::to_chars(buf, buf + sizeof buf, std::fabs(v), std::chars_format::scientific)
               : std::to_chars(buf, buf + sizeof buf, std::fabs(v), std::chars_format::scientific,
                               std::max(sig - 1, 0));
  std::string_view text(buf, size_t(r.ptr - buf));
  size_t e = text.find('e');
  for (char ch : text.substr(0, e)) {
    if (ch != '.') out.d.push_back(ch);
  }
  while (out.d.size() > 1 && out.d.back() == '0') out.d.pop_back();
  out.dp = std::stoi(std::string(text.substr(e + 1))) + 1;
  return out;
}

char digitAt(const Digits& d, int i) {
  return i >= 0 && i < int(d.d.size()) ? d.d[size_t(i)] : '0';
}

std::string fmtE(const Digits& d, int prec, char e) {
  std::string out(1, d.d.empty() ? '0' : d.d[0]);
  if (prec > 0) out.push_back('.');
  for (int i = 1; i <= prec; ++i) out.push_back(digitAt(d, i));
  int exp = d.d.empty() ? 0 : d.dp - 1;
  out += fmt::format("{}{}{:02}", e, exp < 0 ? '-' : '+', std::abs(exp));
  return out;
}

std::string fmtF(const Digits& d, int prec) {
  std::string out;
  if (d.dp > 0) {
    for (int i = 0; i < d.dp; ++i) out.push_back(digitAt(d, i));
  } else {
    out = "0";
  }
  if (prec > 0) out.push_back('.');
  for (int i = 0; i < prec; ++i) out.push_back(digitAt(d, d.dp + i));
  return out;
}

// strconv's %g: exponent form when the exponent is < -4 or >= the precision (6 when shortest).
std::string fmtG(double v, int prec, char e) {
  bool shortest = prec < 0;
  if (prec == 0) prec = 1;
  Digits d = floatDigits(v, shortest ? -1 : prec);
  int nd = int(d.d.size());
  int eprec = shortest ? 6 : (prec > nd && nd >= d.dp ? nd : prec);
  int exp = d.dp - 1;
  if (shortest) prec = nd;
  if (exp < -4 || exp >= eprec) return fmtE(d, std::min(prec, nd) - 1, e);
  return fmtF(d, std::max((prec > d.dp ? nd : prec) - d.dp, 0));
}

}  // namespace

std::string formatGoFloat(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return (std::signbit(v) ? "-" : "") + fmtG(v, -1, 'e');
}

namespace detail {
namespace {

struct Flags {
  bool minus = false, plus = false, sharp = false, space = false, zero = false;
  std::optional<int> width;
  std::optional<int> prec;
};

enum class Kind { String, Int, BigInt, Float, Bool, Null, Composite };

Kind kindOf(const Json& v) {
  switch (v.type()) {
    case Json::value_t::string:
      return Kind::String;
    case Json::value_t::number_integer:
      return Kind::Int;
    case Json::value_t::number_unsigned:
      return v.get<uint64_t>() > uint64_t(INT64_MAX) ? Kind::BigInt : Kind::Int;
    case Json::value_t::number_float:
      return Kind::Float;
    case Json::value_t::boolean:
      return Kind::Bool;
    case Json::value_t::null:
      return Kind::Null;
    default:
      return Kind::Composite;
  }
}

// The Go type OPA hands to fmt for this value, as %T (and the error forms) print it.
std::string_view goType(const Json& v) {
  switch (kindOf(v)) {
    case Kind::String:
      return "string";
    case Kind::Int:
      return "int";
    case Kind::BigInt:
      return "*big.Int";
    case Kind::Float:
      return "float64";
    case Kind::Bool:
      return "ast.Boolean";
    case Kind::Null:
      return "ast.Null";
    default:
      return v.is_array() ? "*ast.Array" : "*ast.object";
  }
}

// What %v prints for the value.
std::string plainText(const Json& v) {
  switch (kindOf(v)) {
    case Kind::String:
      return v.get<std::string>();
    case Kind::Float:
      return formatGoFloat(v.get<double>());
    case Kind::Composite:
      return regoString(v);
    default:
      return v.dump();
  }
}

// How the '0' flag pads: text gets zeros on the left, numbers after their sign, and some
// forms (infinities, integers with a precision) never take zeros.
enum class Fill { Text, Number, Spaces };

// Pads to the width: on the right with '-', else on the left.
std::string pad(std::string s, const Flags& f, Fill fill_kind) {
  if (!f.width) return s;
  size_t n = runeCount(s);
  if (size_t(*f.width) <= n) return s;
  size_t fill = size_t(*f.width) - n;
  if (f.minus) return s + std::string(fill, ' ');
  if (f.zero && fill_kind == Fill::Number) {
    size_t at = !s.empty() && (s[0] == '+' || s[0] == '-' || s[0] == ' ') ? 1 : 0;
    return s.insert(at, fill, '0');
  }
  return std::string(fill, f.zero && fill_kind == Fill::Text ? '0' : ' ') + s;
}

std::string signed_(bool negative, std::string body, const Flags& f) {
  if (negative) return "-" + body;
  if (f.plus) return "+" + body;
  if (f.space) return " " + body;
  return body;
}

std::string hexOf(std::string_view bytes, char verb, const Flags& f) {
  const char* digits = verb == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (f.space && i > 0) out.push_back(' ');
    if (f.sharp && (f.space || i == 0)) out += verb == 'X' ? "0X" : "0x";
    out.push_back(digits[uint8_t(bytes[i]) >> 4]);
    out.push_back(digits[uint8_t(bytes[i]) & 15]);
  }
  return out;
}

// Verbs every value type shares through its string form: %v %s %q %x %X.
std::optional<std::string> formatText(std::string_view text, char verb, const Flags& f) {
  switch (verb) {
    case 'v':
    case 's':
      return pad(std::string(f.prec ? runePrefix(text, size_t(*f.prec)) : text), f, Fill::Text);
    case 'q':
      return pad(goQuote(f.prec ? runePrefix(text, size_t(*f.prec)) : text), f, Fill::Text);
    case 'x':
    case 'X':
      return pad(hexOf(f.prec ? text.substr(0, size_t(*f.prec)) : text, verb, f), f, Fill::Text);
    default:
      return std::nullopt;
  }
}

std::string unsignedDigits(uint64_t u, int base, bool upper) {
  if (u == 0) return "0";
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  for (; u; u /= uint64_t(base)) out.insert(out.begin(), digits[u % uint64_t(base)]);
  return out;
}

std::string quoteRune(uint32_t r) {
  std::string out = "'";
  if (r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) r = 0xfffd;
  appendEscapedRune(out, r, '\'');
  return out + "'";
}

std::optional<std::string> formatInteger(bool negative, uint64_t magnitude, char verb,
                                         const Flags& f) {
  int base = 10;
  std::string prefix;
  switch (verb) {
    case 'v':
    case 'd':
      break;
    case 'b':
      base = 2;
      if (f.sharp) prefix = "0b";
      break;
    case 'o':
      base = 8;
      if (f.sharp) prefix = "0";
      break;
    case 'O':
      base = 8;
      prefix = "0o";
      break;
    case 'x':
      base = 16;
      if (f.sharp) prefix = "0x";
      break;
    case 'X':
      base = 16;
      if (f.sharp) prefix = "0X";
      break;
    case 'c': {
      std::string out;
      appendUtf8(out, negative || magnitude > 0x10ffff ? 0xfffd : uint32_t(magnitude));
      return pad(out, f, Fill::Text);
    }
    case 'q':
      return pad(quoteRune(negative ? 0xfffd : uint32_t(std::min<uint64_t>(magnitude, 0x110000))),
                 f, Fill::Text);
    case 'U':
      return pad(fmt::format("U+{:04X}", magnitude), f, Fill::Text);
    default:
      return std::nullopt;
  }
  std::string digits = unsignedDigits(magnitude, base, verb == 'X');
  // Go zero-pads integers through the digit count, before any 0x prefix is added.
  size_t min_digits = 0;
  if (f.prec) {
    min_digits = size_t(*f.prec);
    if (*f.prec == 0 && magnitude == 0) digits.clear();
  } else if (f.zero && f.width && !f.minus) {
    min_digits = size_t(std::max(*f.width - (negative || f.plus || f.space ? 1 : 0), 0));
  }
  if (digits.size() < min_digits) digits.insert(0, min_digits - digits.size(), '0');
  if (prefix == "0" && !digits.empty() && digits[0] == '0') prefix.clear();
  return pad(signed_(negative, prefix + digits, f), f, Fill::Spaces);
}

std::optional<std::string> formatFloat(double v, char verb, const Flags& f) {
  if (std::isnan(v) || std::isinf(v)) {
    if (!std::strchr("veEfFgG", verb)) return std::nullopt;
    std::string s;
    if (std::isnan(v))
      s = f.plus ? "+NaN" : f.space ? " NaN" : "NaN";
    else if (v < 0)
      s = "-Inf";
    else
      s = f.space && !f.plus ? " Inf" : "+Inf";  // Go keeps the sign of +Inf
    return pad(s, f, Fill::Spaces);
  }
  std::string body;
  char buf[512];
  double a = std::fabs(v);
  switch (verb) {
    case 'v':
      body = fmtG(a, f.prec.value_or(-1), 'e');
      break;
    case 'g':
    case 'G':
      body = fmtG(a, f.prec.value_or(-1), verb == 'G' ? 'E' : 'e');
      break;
    case 'e':
    case 'E':
    case 'f':
    case 'F': {
      auto form =
          verb == 'e' || verb == 'E' ? std::chars_format::scientific : std::chars_format::fixed;
      auto r = std::to_chars(buf, buf + sizeof buf, a, form, std::min(f.prec.value_or(6), 400));
      body.assign(buf, r.ptr);
      if (verb == 'E') {
        for (char& ch : body) ch = ch == 'e' ? 'E' : ch;
      }
      break;
    }
    default:
      return std::nullopt;
  }
  return pad(signed_(std::signbit(v), body, f), f, Fill::Number);
}

std::optional<std::string> formatArg(const Json& v, char verb, const Flags& f) {
  switch (kindOf(v)) {
    case Kind::String:
      return formatText(v.get_ref<const std::string&>(), verb, f);
    case Kind::Int:
      if (v.is_number_unsigned()) return formatInteger(false, v.get<uint64_t>(), verb, f);
      return formatInteger(
          v.get<int64_t>() < 0,
          v.get<int64_t>() < 0 ? 0 - uint64_t(v.get<int64_t>()) : uint64_t(v.get<int64_t>()), verb,
          f);
    case Kind::BigInt:
      return formatInteger(false, v.get<uint64_t>(), verb, f);
    case Kind::Float:
      return formatFloat(v.get<double>(), verb, f);
    case Kind::Bool:
      if (verb == 't') return pad(v.get<bool>() ? "true" : "false", f, Fill::Text);
      return formatText(plainText(v), verb, f);
    default:
      return formatText(plainText(v), verb, f);
  }
}

// The formatting state machine over the format string.
class Formatter {
 public:
  Formatter(std::string_view format, const Json& args) : fmt_(format), args_(args) {}

  std::string run() {
    while (pos_ < fmt_.size()) {
      size_t pct = fmt_.find('%', pos_);
      out_.append(fmt_.substr(pos_, pct - pos_));
      if (pct == std::string_view::npos) break;
      pos_ = pct + 1;
      directive();
    }
    if (!reordered_ && next_ < args_.size()) extra();
    return std::move(out_);
  }

 private:
  void directive() {
    Flags f;
    parseFlags(f);
    bool bad_index = false;
    argIndex(bad_index);
    if (!starOrNumber(f.width, "%!(BADWIDTH)", bad_index, f)) return;
    if (pos_ < fmt_.size() && fmt_[pos_] == '.') {
      ++pos_;
      argIndex(bad_index);
      if (!starOrNumber(f.prec, "%!(BADPREC)", bad_index, f, true)) return;
      if (!f.prec) f.prec = 0;
    }
    argIndex(bad_index);
    if (pos_ >= fmt_.size()) {
      out_ += "%!(NOVERB)";
      return;
    }
    size_t at = pos_;
    decodeRune(fmt_, pos_);
    std::string_view verb = fmt_.substr(at, pos_ - at);
    emit(verb, f, bad_index);
  }

  void emit(std::string_view verb, const Flags& f, bool bad_index) {
    if (verb == "%") {
      out_.push_back('%');
      return;
    }
    if (bad_index) {
      out_ += fmt::format("%!{}(BADINDEX)", verb);
      return;
    }
    if (next_ >= args_.size()) {
      out_ += fmt::format("%!{}(MISSING)", verb);
      return;
    }
    const Json& arg = args_[next_++];
    if (verb == "T") {
      out_ += pad(std::string(goType(arg)), f, Fill::Text);
      return;
    }
    auto text = verb.size() == 1 ? formatArg(arg, verb[0], f) : std::nullopt;
    out_ += text ? *text : fmt::format("%!{}({}={})", verb, goType(arg), plainText(arg));
  }

  void parseFlags(Flags& f) {
    for (; pos_ < fmt_.size(); ++pos_) {
      switch (fmt_[pos_]) {
        case '-':
          f.minus = true;
          f.zero = false;
          break;
        case '+':
          f.plus = true;
          break;
        case '#':
          f.sharp = true;
          break;
        case ' ':
          f.space = true;
          break;
        case '0':
          f.zero = !f.minus;
          break;
        default:
          return;
      }
    }
  }

  // An explicit argument index [n] selects the next argument (1-based).
  void argIndex(bool& bad) {
    if (pos_ >= fmt_.size() || fmt_[pos_] != '[') return;
    reordered_ = true;
    size_t close = fmt_.find(']', pos_);
    if (close == std::string_view::npos) {
      bad = true;
      pos_ = fmt_.size();
      return;
    }
    std::string_view digits = fmt_.substr(pos_ + 1, close - pos_ - 1);
    int n = 0;
    auto r = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (digits.empty() || r.ptr != digits.data() + digits.size() || n < 1 ||
        size_t(n) > args_.size()) {
      bad = true;
    } else {
      next_ = size_t(n - 1);
    }
    pos_ = close + 1;
  }

  // Width or precision: '*' takes an int argument, else decimal digits.
  bool starOrNumber(std::optional<int>& slot, const char* bad_text, bool bad_index, Flags& f,
                    bool is_prec = false) {
    if (pos_ < fmt_.size() && fmt_[pos_] == '*') {
      ++pos_;
      if (bad_index || next_ >= args_.size() || !args_[next_].is_number_integer()) {
        out_ += bad_text;
        if (next_ < args_.size()) ++next_;
        return true;
      }
      int64_t n = args_[next_++].get<int64_t>();
      if (n < 0 && !is_prec) {
        f.minus = true;
        f.zero = false;
        n = -n;
      }
      if (n >= 0 && n < 1'000'000) slot = int(n);
      return true;
    }
    size_t start = pos_;
    while (pos_ < fmt_.size() && fmt_[pos_] >= '0' && fmt_[pos_] <= '9') ++pos_;
    if (pos_ > start)
      slot = std::min(std::stoi(std::string(fmt_.substr(start, std::min<size_t>(pos_ - start, 7)))),
                      1'000'000);
    return true;
  }

  void extra() {
    out_ += "%!(EXTRA ";
    for (size_t i = next_; i < args_.size(); ++i) {
      out_ += fmt::format("{}{}={}", i > next_ ? ", " : "", goType(args_[i]), plainText(args_[i]));
    }
    out_ += ")";
  }

  std::string_view fmt_;
  const Json& args_;
  size_t pos_ = 0;
  size_t next_ = 0;
  bool reordered_ = false;
  std::string out_;
};

}  // namespace

BuiltinResult sprintf(const BuiltinCall& c) {
  auto format = stringArg(c, 0);
  if (!format) return format.error();
  if (!c.args[1].is_array()) return operandError(c, 1, "array");
  return defined(Formatter(**format, c.args[1]).run());
}

}  // namespace detail
}  // namespace kw::opa
