#include "server/review_scan.h"

#include <simdjson.h>

#include <algorithm>
#include <vector>

namespace kw::server {
namespace {

namespace dom = simdjson::dom;
namespace od = simdjson::ondemand;

// AdmissionReviews are a few KiB; larger bodies take the strict path, so the thread-local
// parsers (whose buffers grow to the largest document seen) stay under about 1 MiB each.
constexpr size_t kMaxFastBody = 64 << 10;

// A \u escape of a UTF-16 surrogate. The two parsers may judge a lone one differently, so such
// bodies take the strict path, whose verdict is the reference.
bool hasSurrogateEscape(std::string_view s) {
  for (size_t i = s.find("\\u"); i != std::string_view::npos; i = s.find("\\u", i + 2)) {
    if (i + 3 >= s.size() || (s[i + 2] != 'd' && s[i + 2] != 'D')) continue;
    char c = s[i + 3];
    if ((c >= '8' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) return true;
  }
  return false;
}

// Every object in the document has distinct (unescaped) keys, as the strict parser demands.
class DistinctKeys {
 public:
  bool check(dom::element e) {
    dom::object object;
    if (e.get_object().get(object) == simdjson::SUCCESS) return checkObject(object);
    dom::array array;
    if (e.get_array().get(array) == simdjson::SUCCESS) {
      for (dom::element item : array) {
        if (!check(item)) return false;
      }
    }
    return true;
  }

 private:
  bool checkObject(dom::object object) {
    const size_t start = keys_.size();
    for (dom::key_value_pair field : object) keys_.push_back(field.key);
    auto first = keys_.begin() + std::ptrdiff_t(start);
    std::sort(first, keys_.end());
    bool distinct = std::adjacent_find(first, keys_.end()) == keys_.end();
    keys_.resize(start);
    if (!distinct) return false;
    for (dom::key_value_pair field : object) {
      if (!check(field.value)) return false;
    }
    return true;
  }

  std::vector<std::string_view> keys_;  // a stack: each object's keys above its parent's
};

enum class Slot { kAbsent, kNull, kPresent };

Slot lookup(dom::object o, std::string_view key, dom::element& value) {
  if (o.at_key(key).get(value) != simdjson::SUCCESS) return Slot::kAbsent;
  return value.is_null() ? Slot::kNull : Slot::kPresent;
}

// Absent and null are fine; anything else must be a string.
bool optionalString(dom::object o, std::string_view key, std::string_view* out = nullptr) {
  dom::element v;
  if (lookup(o, key, v) != Slot::kPresent) return true;
  std::string_view s;
  if (v.get_string().get(s) != simdjson::SUCCESS) return false;
  if (out) *out = s;
  return true;
}

bool requiredString(dom::object o, std::string_view key, std::string_view* out) {
  dom::element v;
  return lookup(o, key, v) == Slot::kPresent && v.get_string().get(*out) == simdjson::SUCCESS;
}

// {group, version, <last>}; optional ones may be absent or null.
bool triple(dom::object parent, std::string_view key, bool required, std::string_view last,
            std::string_view* out) {
  dom::element v;
  if (lookup(parent, key, v) != Slot::kPresent) return !required;
  dom::object o;
  if (v.get_object().get(o) != simdjson::SUCCESS) return false;
  return requiredString(o, "group", &out[0]) && requiredString(o, "version", &out[1]) &&
         requiredString(o, last, &out[2]);
}

bool userInfo(dom::object request) {
  dom::element v;
  dom::object u;
  if (lookup(request, "userInfo", v) != Slot::kPresent) return false;
  if (v.get_object().get(u) != simdjson::SUCCESS) return false;
  if (!optionalString(u, "username") || !optionalString(u, "uid")) return false;
  dom::element groups;
  if (lookup(u, "groups", groups) == Slot::kPresent) {
    dom::array a;
    if (groups.get_array().get(a) != simdjson::SUCCESS) return false;
    for (dom::element g : a) {
      if (!g.is_string()) return false;
    }
  }
  dom::element extra;
  return lookup(u, "extra", extra) != Slot::kPresent || extra.is_object();
}

// policy-evaluator's AdmissionRequest, as the strict path's checkRequest accepts it.
bool admissionRequest(dom::object r, ReviewFields& f) {
  std::string_view kind[3], resource[3], request_kind[3], ignored[3];
  bool ok = requiredString(r, "uid", &f.uid) && triple(r, "kind", true, "kind", kind) &&
            triple(r, "resource", true, "resource", resource) &&
            optionalString(r, "subResource", &f.subresource) &&
            triple(r, "requestKind", false, "kind", request_kind) &&
            triple(r, "requestResource", false, "resource", ignored) &&
            optionalString(r, "requestSubResource") && optionalString(r, "name", &f.name) &&
            optionalString(r, "namespace", &f.ns) && requiredString(r, "operation", &f.operation) &&
            userInfo(r);
  dom::element dry_run;
  if (!ok || (lookup(r, "dryRun", dry_run) == Slot::kPresent && !dry_run.is_bool())) return false;
  f.kind_group = kind[0], f.kind_version = kind[1], f.kind = kind[2];
  f.resource_group = resource[0], f.resource_version = resource[1], f.resource = resource[2];
  f.request_kind = request_kind[2];
  dom::element ns;
  f.has_namespace = lookup(r, "namespace", ns) == Slot::kPresent && ns.is_string();
  return true;
}

bool shape(dom::element root, bool raw, ReviewFields& f) {
  dom::object body;
  if (root.get_object().get(body) != simdjson::SUCCESS) return false;
  dom::element request;
  if (raw) {
    if (body.at_key("request").get(request) != simdjson::SUCCESS) return false;
    dom::object r;
    if (request.get_object().get(r) == simdjson::SUCCESS) optionalString(r, "uid", &f.uid);
    return true;
  }
  if (!optionalString(body, "apiVersion") || !optionalString(body, "kind")) return false;
  dom::object r;
  if (lookup(body, "request", request) != Slot::kPresent) return false;
  return request.get_object().get(r) == simdjson::SUCCESS && admissionRequest(r, f);
}

// The bytes of the top-level `request` value of a body already validated.
bool requestBytes(const simdjson::padded_string& body, std::string_view& out) {
  thread_local od::parser parser(kMaxFastBody);
  od::document doc;
  od::object top;
  if (parser.iterate(body).get(doc) != simdjson::SUCCESS) return false;
  if (doc.get_object().get(top) != simdjson::SUCCESS) return false;
  for (auto field : top) {
    std::string_view key;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) return false;
    if (key != "request") continue;
    od::value value;
    od::json_type type;
    if (field.value().get(value) != simdjson::SUCCESS) return false;
    if (value.type().get(type) != simdjson::SUCCESS) return false;
    bool ok = true;
    if (type == od::json_type::object) {
      od::object o;
      ok = value.get_object().get(o) == simdjson::SUCCESS &&
           o.raw_json().get(out) == simdjson::SUCCESS;
    } else if (type == od::json_type::array) {
      od::array a;
      ok = value.get_array().get(a) == simdjson::SUCCESS &&
           a.raw_json().get(out) == simdjson::SUCCESS;
    } else {
      out = value.raw_json_token();
    }
    // The raw text runs up to the next token: drop the whitespace.
    while (!out.empty() && (out.back() == ' ' || out.back() == '\n' || out.back() == '\r' ||
                            out.back() == '\t')) {
      out.remove_suffix(1);
    }
    return ok;
  }
  return false;
}

}  // namespace

bool scanReview(std::string_view body, bool raw, ReviewFields& out) {
  if (body.size() > kMaxFastBody || hasSurrogateEscape(body)) return false;
  thread_local dom::parser parser(kMaxFastBody);
  thread_local simdjson::padded_string padded;
  thread_local DistinctKeys keys;
  padded = simdjson::padded_string(body);
  dom::element root;
  if (parser.parse(padded).get(root) != simdjson::SUCCESS) return false;
  ReviewFields f;
  if (!keys.check(root) || !shape(root, raw, f)) return false;
  if (!requestBytes(padded, f.request_json)) return false;
  out = f;
  return true;
}

}  // namespace kw::server
