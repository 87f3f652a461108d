// Kubernetes label and field selectors, parsed once and evaluated in memory. Used by the cache
// (kube::CachedReader) and by the test double, so both agree on the API's matching rules.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace kw::kube {

using Labels = std::vector<std::pair<std::string, std::string>>;

struct LabelRequirement {
  enum class Op { kEquals, kNotEquals, kIn, kNotIn, kExists, kDoesNotExist };
  std::string key;
  Op op = Op::kExists;
  std::vector<std::string> values;
};

// All requirements must hold (the API ANDs the comma-separated terms).
class LabelSelector {
 public:
  // Grammar of the API's `labelSelector`: `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a)`,
  // `k`, `!k`. Errors name the offending term.
  static Result<LabelSelector> parse(std::string_view text);
  bool matches(const Labels& labels) const;
  bool empty() const { return reqs_.empty(); }

 private:
  std::vector<LabelRequirement> reqs_;
};

// Only metadata.name and metadata.namespace are evaluated here; `supported()` says whether a
// selector stays within those (anything else must go to the API server).
class FieldSelector {
 public:
  struct Term {
    std::string field;
    bool negated = false;
    std::string value;
  };
  static Result<FieldSelector> parse(std::string_view text);
  bool supported() const;
  bool matches(std::string_view ns, std::string_view name) const;
  bool empty() const { return terms_.empty(); }
  const std::vector<Term>& terms() const { return terms_; }

 private:
  std::vector<Term> terms_;
};

}  // namespace kw::kube
