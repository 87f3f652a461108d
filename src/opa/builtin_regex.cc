// regex.split, regex.find_n and regex.template_match, with Go's regexp syntax and semantics
// (regexp.h: RE2, leftmost-first, per UTF-8 character, linear time).
#include <fmt/format.h>

#include <cstring>
#include <map>
#include <memory>

#include "opa/builtin_impl.h"
#include "opa/regexp.h"

namespace kw::opa::detail {
namespace {

// Compiled patterns, per thread: policies call these builtins with a handful of constant
// patterns, so compiling once per pattern matters.
Result<std::shared_ptr<const Regexp>> compile(const std::string& pattern) {
  thread_local std::map<std::string, std::shared_ptr<const Regexp>> cache;
  if (auto it = cache.find(pattern); it != cache.end()) return it->second;
  auto re = Regexp::compile(pattern);
  if (!re) return re.error();
  if (cache.size() >= 256) cache.clear();
  cache.emplace(pattern, *re);
  return *re;
}

using Span = Regexp::Span;

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
  for (const Span& m : (*re)->findAll(s)) {
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
  for (const Span& m : (*re)->findAll(**value, c.args[2].get<int64_t>())) {
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
  return defined((*re)->matches(**value));
}

}  // namespace kw::opa::detail
