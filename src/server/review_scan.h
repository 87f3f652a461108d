// The fast path for reading an admission request body (issue #15): simdjson validates the
// whole body and checks its shape without building an nlohmann DOM, and hands the guest the
// `request` value as the client sent it, byte for byte, instead of serialising it again.
// It accepts only bodies the strict nlohmann path (api.cc) would accept; anything else, errors
// included, falls back to that path, which gives the exact error message.
#pragma once

#include <string_view>

namespace kw::server {

// What logs and metrics need from a request, plus the request JSON for the guest. Views into
// storage owned by the parser that filled them (valid until its next use on this thread).
struct ReviewFields {
  std::string_view uid, name, ns, operation, subresource;
  std::string_view kind_group, kind_version, kind;
  std::string_view resource_group, resource_version, resource;
  std::string_view request_kind;  // requestKind.kind, "" when absent
  bool has_namespace = false;
  std::string_view request_json;  // the `request` value's own bytes (fast path only)
};

// True when `body` is a well-formed AdmissionReview (`raw`: {"request": <any JSON>}) that the
// strict path would accept: `out` is filled. False means "take the strict path", not "bad".
// Uses thread-local parsers; bodies over a size cap always take the strict path, so the
// parsers' memory stays small.
bool scanReview(std::string_view body, bool raw, ReviewFields& out);

}  // namespace kw::server
