// regex.split, regex.find_n and regex.template_match. OPA uses Go's RE2 syntax; we run
// patterns on std::regex (ECMAScript) after translating the RE2 forms policies use: a leading
// flag group (?i) (?m) (?s), named groups (?P<name>...) / (?<name>...), \A, \z and \Q...\E.
// What RE2 refuses (back-references, look-around) is refused here too; Unicode classes (\pL)
// are not supported. Matching is per byte, where Go matches per character: `.` against a
// multi-byte character differs.
#include <fmt/format.h>

#include <cstring>
#include <map>
#include <memory>
#include <regex>

#include "opa/builtin_impl.h"

namespace kw::opa::detail {
namespace {

struct Translation {
  std::string pattern;
  std::regex::flag_type flags = std::regex::ECMAScript;
};

// Copies the escape sequence at p[i] (the backslash), translating the RE2-only ones.
Status translateEscape(std::string_view p, size_t& i, bool in_class, std::string& out) {
  if (i + 1 >= p.size()) return makeError("trailing backslash at end of expression");
  char e = p[i + 1];
  i += 2;
  if (e >= '1' && e <= '9') return makeError(fmt::format("invalid escape sequence: `\\{}`", e));
  if (e == 'p' || e == 'P') return makeError("Unicode character classes (\\p) are not supported");
  if (in_class || e == '\0' || !std::strchr("AzQ", e)) {
    out.push_back('\\');
    out.push_back(e);
  } else if (e == 'A') {
    out.push_back('^');
  } else if (e == 'z') {
    out.push_back('$');
  } else {  // \Q...\E: everything up to \E is literal
    size_t end = p.find("\\E", i);
    std::string_view lit = p.substr(i, end == std::string_view::npos ? end : end - i);
    for (char ch : lit) {
      if (std::strchr("\\^$.|?*+()[]{}/", ch)) out.push_back('\\');
      out.push_back(ch);
    }
    i = end == std::string_view::npos ? p.size() : end + 2;
  }
  return okStatus();
}

// Handles "(?" at p[i]: named groups become plain groups; a leading flag group sets flags.
Status translateGroup(std::string_view p, size_t& i, Translation& t, bool& dot_all) {
  std::string_view rest = p.substr(i + 2);
  if (rest.starts_with("P<") || (rest.starts_with("<") && !rest.starts_with("<=") &&
                                 !rest.starts_with("<!"))) {
    size_t close = p.find('>', i);
    if (close == std::string_view::npos) return makeError("invalid named capture");
    t.pattern.push_back('(');
    i = close + 1;
    return okStatus();
  }
  if (rest.starts_with(":")) {
    t.pattern += "(?:";
    i += 3;
    return okStatus();
  }
  size_t close = rest.find(')');
  std::string_view flags = rest.substr(0, close);
  bool only_flags = close != std::string_view::npos && !flags.empty() &&
                    flags.find_first_not_of("ims") == std::string_view::npos;
  if (!only_flags || !t.pattern.empty()) {
    return makeError("invalid or unsupported Perl syntax: `(?" +
                     std::string(rest.substr(0, std::min<size_t>(rest.size(), 2))) + "`");
  }
  for (char f : flags) {
    if (f == 'i') t.flags |= std::regex::icase;
    if (f == 'm') t.flags |= std::regex::multiline;
    if (f == 's') dot_all = true;
  }
  i += 2 + close + 1;
  return okStatus();
}

Result<Translation> translate(std::string_view p) {
  Translation t;
  bool dot_all = false;
  bool in_class = false;
  for (size_t i = 0; i < p.size();) {
    char ch = p[i];
    if (ch == '\\') {
      auto s = translateEscape(p, i, in_class, t.pattern);
      if (!s) return s.error();
    } else if (in_class) {
      if (ch == ']') in_class = false;
      t.pattern.push_back(ch);
      ++i;
    } else if (ch == '[') {
      in_class = true;
      t.pattern.push_back(ch);
      ++i;
      if (i < p.size() && p[i] == '^') t.pattern.push_back(p[i++]);
      if (i < p.size() && p[i] == ']') {  // a leading ] is literal
        t.pattern += "\\]";
        ++i;
      }
    } else if (ch == '(' && i + 1 < p.size() && p[i + 1] == '?') {
      auto s = translateGroup(p, i, t, dot_all);
      if (!s) return s.error();
    } else if (ch == '.' && dot_all) {
      t.pattern += "[\\s\\S]";
      ++i;
    } else {
      t.pattern.push_back(ch);
      ++i;
    }
  }
  return t;
}

// Compiled patterns, per thread: policies call these builtins with a handful of constant
// patterns, so compiling once per pattern matters.
Result<std::shared_ptr<const std::regex>> compile(const std::string& pattern) {
  thread_local std::map<std::string, std::shared_ptr<const std::regex>> cache;
  if (auto it = cache.find(pattern); it != cache.end()) return it->second;
  auto t = translate(pattern);
  if (!t) return makeError(fmt::format("error parsing regexp: {}", t.error().message));
  try {
    auto re = std::make_shared<const std::regex>(t->pattern, t->flags);
    if (cache.size() >= 256) cache.clear();
    cache.emplace(pattern, re);
    return re;
  } catch (const std::regex_error& e) {
    return makeError(fmt::format("error parsing regexp: {}: `{}`", e.what(), pattern));
  }
}

size_t runeWidth(const std::string& s, size_t pos) {
  if (pos >= s.size()) return 1;
  uint8_t c = uint8_t(s[pos]);
  size_t w = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
  return std::min(w, s.size() - pos);
}

using Span = std::pair<size_t, size_t>;

// Go's FindAll: successive leftmost matches; an empty match right after the previous match is
// skipped, and after an empty match the search moves on by one character. n < 0: no limit.
std::vector<Span> findAll(const std::regex& re, const std::string& s, int64_t n) {
  std::vector<Span> out;
  size_t pos = 0;
  std::optional<size_t> prev_end;
  while ((n < 0 || int64_t(out.size()) < n) && pos <= s.size()) {
    std::smatch m;
    auto flags = pos > 0 ? std::regex_constants::match_prev_avail
                         : std::regex_constants::match_default;
    if (!std::regex_search(s.begin() + std::ptrdiff_t(pos), s.end(), m, re, flags)) break;
    size_t b = pos + size_t(m.position(0)), e = b + size_t(m.length(0));
    bool accept = true;
    if (e == pos) {
      accept = !(prev_end && *prev_end == b);
      pos += runeWidth(s, pos);
    } else {
      pos = e;
    }
    prev_end = e;
    if (accept) out.emplace_back(b, e);
  }
  return out;
}

std::string quoteMeta(std::string_view s) {
  std::string out;
  for (char ch : s) {
    if (std::strchr("\\.+*?()|[]{}^$", ch) && ch != '\0') out.push_back('\\');
    out.push_back(ch);
  }
  return out;
}

// Positions of the outermost delimited parts: pairs [start, one past end).
Result<std::vector<size_t>> delimiterIndices(std::string_view s, char open, char close) {
  std::vector<size_t> idxs;
  int level = 0;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == open) {
      if (level++ == 0) start = i;
    } else if (s[i] == close) {
      if (--level == 0) {
        idxs.push_back(start);
        idxs.push_back(i + 1);
      } else if (level < 0) {
        return makeError(fmt::format("unbalanced braces in {}", goQuote(s)));
      }
    }
  }
  if (level != 0) return makeError(fmt::format("unbalanced braces in {}", goQuote(s)));
  return idxs;
}

Result<char> delimiter(const BuiltinCall& c, size_t index, std::string_view which) {
  auto d = stringArg(c, index);
  if (!d) return d.error();
  if ((*d)->size() != 1) {
    return fail(c, fmt::format("{} delimiter has to be exactly one character long but is {} long",
                               which, (*d)->size()));
  }
  return (**d)[0];
}

}  // namespace

BuiltinResult regexSplit(const BuiltinCall& c) {
  auto pattern = stringArg(c, 0);
  if (!pattern) return pattern.error();
  auto value = stringArg(c, 1);
  if (!value) return value.error();
  auto re = compile(**pattern);
  if (!re) return fail(c, re.error().message);
  const std::string& s = **value;
  if (!(*pattern)->empty() && s.empty()) return defined(Json::array({""}));
  Json out = Json::array();
  size_t beg = 0, end = 0;
  for (const Span& m : findAll(**re, s, -1)) {
    end = m.first;
    if (m.second != 0) out.push_back(s.substr(beg, end - beg));
    beg = m.second;
  }
  if (end != s.size()) out.push_back(s.substr(beg));
  return defined(std::move(out));
}

BuiltinResult regexFindN(const BuiltinCall& c) {
  auto pattern = stringArg(c, 0);
  if (!pattern) return pattern.error();
  auto value = stringArg(c, 1);
  if (!value) return value.error();
  if (!c.args[2].is_number_integer()) return operandError(c, 2, "integer number");
  auto re = compile(**pattern);
  if (!re) return fail(c, re.error().message);
  Json out = Json::array();
  for (const Span& m : findAll(**re, **value, c.args[2].get<int64_t>())) {
    out.push_back((*value)->substr(m.first, m.second - m.first));
  }
  return defined(std::move(out));
}

// The template's delimited parts are regular expressions, the rest is literal text; the value
// must match the whole template.
BuiltinResult regexTemplateMatch(const BuiltinCall& c) {
  auto tpl = stringArg(c, 0);
  if (!tpl) return tpl.error();
  auto value = stringArg(c, 1);
  if (!value) return value.error();
  auto open = delimiter(c, 2, "start");
  if (!open) return open.error();
  auto close = delimiter(c, 3, "end");
  if (!close) return close.error();
  const std::string& t = **tpl;
  auto idxs = delimiterIndices(t, *open, *close);
  if (!idxs) return fail(c, idxs.error().message);
  std::string pattern = "^";
  size_t end = 0;
  for (size_t i = 0; i < idxs->size(); i += 2) {
    std::string part = t.substr((*idxs)[i] + 1, (*idxs)[i + 1] - (*idxs)[i] - 2);
    if (auto re = compile("^" + part + "$"); !re) return fail(c, re.error().message);
    pattern += quoteMeta(std::string_view(t).substr(end, (*idxs)[i] - end)) + "(" + part + ")";
    end = (*idxs)[i + 1];
  }
  pattern += quoteMeta(std::string_view(t).substr(end)) + "$";
  auto re = compile(pattern);
  if (!re) return fail(c, re.error().message);
  return defined(std::regex_search(**value, **re));
}

}  // namespace kw::opa::detail
