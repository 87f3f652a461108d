// OCI references (src/oci/reference.cc: policy URLs, kwctl arguments, sigstore subjects) and the
// manifests a registry serves for them (oci::policyLayerOf, what pullPolicy reads). A registry is
// untrusted input. Input: a selector byte, then (even) the reference text or (odd) the manifest's
// Content-Type up to the first newline and the manifest after it. Besides crashes, checks that a
// parsed reference written out by whole() parses back to the same reference.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_common.h"
#include "oci/reference.h"
#include "oci/registry_client.h"

namespace {

void reference(std::string_view text) {
  auto ref = kw::oci::parseReference(text);
  if (!ref) return;
  auto again = kw::oci::parseReference(ref->whole());
  KW_FUZZ_CHECK(again.ok());
  KW_FUZZ_CHECK(again->registry == ref->registry && again->repository == ref->repository &&
                again->tag == ref->tag && again->digest == ref->digest);
  (void)ref->apiHost();
  (void)ref->manifestRef();
}

void manifest(std::string_view input) {
  static const auto ref = *kw::oci::parseReference("registry.test/policies/fuzz:v1");
  size_t newline = input.find('\n');
  std::string content_type(input.substr(0, newline));
  std::string bytes(newline == std::string_view::npos ? "" : input.substr(newline + 1));
  auto layer = kw::oci::policyLayerOf(ref, bytes, content_type);
  if (!layer) KW_FUZZ_CHECK(!layer.error().message.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kw::fuzz::Selected in;
  if (!kw::fuzz::splitSelector(data, size, in)) return 0;
  std::string_view rest = in.rest;
  if (in.selector & 1) {
    manifest(rest);
  } else {
    reference(rest);
  }
  return 0;
}
