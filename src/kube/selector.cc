#include "kube/selector.h"

#include <algorithm>
#include <cctype>

namespace kw::kube {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Splits on commas that are not inside a `( … )` value set.
std::vector<std::string_view> splitTerms(std::string_view text) {
  std::vector<std::string_view> out;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || (text[i] == ',' && depth == 0)) {
      out.push_back(trim(text.substr(start, i - start)));
      start = i + 1;
    } else if (text[i] == '(') {
      ++depth;
    } else if (text[i] == ')') {
      --depth;
    }
  }
  return out;
}

bool validKey(std::string_view key) {
  if (key.empty()) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
           c == '/';
  });
}

Error badTerm(std::string_view kind, std::string_view term, std::string_view why) {
  return makeError("invalid " + std::string(kind) + " selector term \"" + std::string(term) +
                   "\": " + std::string(why));
}

// `key in (a, b)` / `key notin (a)`; `word` is " in " or " notin ".
Result<LabelRequirement> parseSetTerm(std::string_view term, size_t at, std::string_view word,
                                      LabelRequirement::Op op) {
  LabelRequirement req{std::string(trim(term.substr(0, at))), op, {}};
  std::string_view rest = trim(term.substr(at + word.size()));
  if (rest.size() < 2 || rest.front() != '(' || rest.back() != ')')
    return badTerm("label", term, "expected a parenthesised value list");
  rest = rest.substr(1, rest.size() - 2);
  size_t start = 0;
  for (size_t i = 0; i <= rest.size(); ++i) {
    if (i == rest.size() || rest[i] == ',') {
      req.values.emplace_back(trim(rest.substr(start, i - start)));
      start = i + 1;
    }
  }
  if (!validKey(req.key)) return badTerm("label", term, "invalid key");
  return req;
}

Result<LabelRequirement> parseLabelTerm(std::string_view term) {
  using Op = LabelRequirement::Op;
  if (size_t at = term.find(" notin "); at != std::string_view::npos)
    return parseSetTerm(term, at, " notin ", Op::kNotIn);
  if (size_t at = term.find(" in "); at != std::string_view::npos)
    return parseSetTerm(term, at, " in ", Op::kIn);
  LabelRequirement req;
  if (size_t at = term.find("!="); at != std::string_view::npos) {
    req = {std::string(trim(term.substr(0, at))),
           Op::kNotEquals,
           {std::string(trim(term.substr(at + 2)))}};
  } else if (size_t at = term.find("=="); at != std::string_view::npos) {
    req = {std::string(trim(term.substr(0, at))),
           Op::kEquals,
           {std::string(trim(term.substr(at + 2)))}};
  } else if (size_t at = term.find('='); at != std::string_view::npos) {
    req = {std::string(trim(term.substr(0, at))),
           Op::kEquals,
           {std::string(trim(term.substr(at + 1)))}};
  } else if (!term.empty() && term.front() == '!') {
    req = {std::string(trim(term.substr(1))), Op::kDoesNotExist, {}};
  } else {
    req = {std::string(term), Op::kExists, {}};
  }
  if (!validKey(req.key)) return badTerm("label", term, "invalid key");
  return req;
}

const std::string* findLabel(const Labels& labels, const std::string& key) {
  for (const auto& [k, v] : labels)
    if (k == key) return &v;
  return nullptr;
}

bool holds(const LabelRequirement& req, const Labels& labels) {
  using Op = LabelRequirement::Op;
  const std::string* value = findLabel(labels, req.key);
  auto listed = [&] {
    return value && std::find(req.values.begin(), req.values.end(), *value) != req.values.end();
  };
  switch (req.op) {
    case Op::kExists:
      return value != nullptr;
    case Op::kDoesNotExist:
      return value == nullptr;
    case Op::kEquals:
      return value && *value == req.values.front();
    // Like the API server: `!=` and `notin` also select objects without the label.
    case Op::kNotEquals:
      return !value || *value != req.values.front();
    case Op::kIn:
      return listed();
    case Op::kNotIn:
      return !listed();
  }
  return false;
}

}  // namespace

Result<LabelSelector> LabelSelector::parse(std::string_view text) {
  LabelSelector sel;
  if (trim(text).empty()) return sel;
  for (std::string_view term : splitTerms(text)) {
    if (term.empty()) return badTerm("label", text, "empty term");
    auto req = parseLabelTerm(term);
    if (!req) return req.error();
    sel.reqs_.push_back(std::move(*req));
  }
  return sel;
}

bool LabelSelector::matches(const Labels& labels) const {
  return std::all_of(reqs_.begin(), reqs_.end(),
                     [&](const LabelRequirement& r) { return holds(r, labels); });
}

Result<FieldSelector> FieldSelector::parse(std::string_view text) {
  FieldSelector sel;
  if (trim(text).empty()) return sel;
  for (std::string_view term : splitTerms(text)) {
    Term t;
    size_t at = term.find("!=");
    size_t len = 2;
    if (at != std::string_view::npos) {
      t.negated = true;
    } else if ((at = term.find("==")) == std::string_view::npos) {
      at = term.find('=');
      len = 1;
    }
    if (at == std::string_view::npos) return badTerm("field", term, "expected field=value");
    t.field = std::string(trim(term.substr(0, at)));
    t.value = std::string(trim(term.substr(at + len)));
    if (t.field.empty()) return badTerm("field", term, "empty field name");
    sel.terms_.push_back(std::move(t));
  }
  return sel;
}

bool FieldSelector::supported() const {
  return std::all_of(terms_.begin(), terms_.end(), [](const Term& t) {
    return t.field == "metadata.name" || t.field == "metadata.namespace";
  });
}

bool FieldSelector::matches(std::string_view ns, std::string_view name) const {
  return std::all_of(terms_.begin(), terms_.end(), [&](const Term& t) {
    std::string_view actual = t.field == "metadata.name" ? name : ns;
    return (actual == t.value) != t.negated;
  });
}

}  // namespace kw::kube
