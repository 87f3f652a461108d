// The Wasm layer a policy artifact's manifest names (oci::policyLayerOf), without a registry.
#include <gtest/gtest.h>

#include <string>

#include "oci/registry_client.h"

namespace kw::oci {
namespace {

const Reference& ref() {
  static const Reference r = *parseReference("registry.test/policies/p:v1");
  return r;
}

std::string layerError(const std::string& manifest) {
  auto layer = policyLayerOf(ref(), manifest, "application/vnd.oci.image.manifest.v1+json");
  return layer.ok() ? "accepted" : layer.error().message;
}

TEST(OciPolicyLayer, FindsTheOneWasmLayer) {
  auto layer = policyLayerOf(ref(), R"({"layers":[
      {"mediaType":"application/vnd.oci.image.layer.v1.tar"},
      {"mediaType":"application/vnd.wasm.content.layer.v1+wasm","digest":"sha256:ab","size":12}]})",
                             "");
  ASSERT_TRUE(layer.ok()) << layer.error().message;
  EXPECT_EQ(layer->digest, "sha256:ab");
  EXPECT_EQ(layer->size, 12u);
}

// Found by fuzz/oci_fuzz.cc: json::value() threw type_error on a mediaType or digest that is not
// a string, out of pullPolicy, instead of an error naming the policy.
TEST(OciPolicyLayer, FieldsOfTheWrongTypeAreErrorsNotExceptions) {
  EXPECT_EQ(layerError(R"({"mediaType":[{"digest":"sha256:00"}]})"),
            "the manifest of registry.test/policies/p:v1 has a mediaType that is not a string");
  EXPECT_EQ(layerError(R"({"layers":[{"mediaType":5}]})"),
            "the manifest of registry.test/policies/p:v1 has a layer mediaType that is not a "
            "string");
  EXPECT_EQ(
      layerError(R"({"layers":[{"mediaType":"application/vnd.wasm.content.layer.v1+wasm",)"
                 R"("digest":{"sha256":"ab"}}]})"),
      "the manifest of registry.test/policies/p:v1 has a layer digest that is not a string");
  // A null mediaType is an absent one: the Content-Type the registry sent decides.
  EXPECT_EQ(layerError(R"({"mediaType":null,"layers":[]})"),
            "registry.test/policies/p:v1 has no layer with media type "
            "application/vnd.wasm.content.layer.v1+wasm (found: no layers)");
}

}  // namespace
}  // namespace kw::oci
