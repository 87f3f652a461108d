#include "host/callback_schema.h"

#include "host/callback_request.h"

namespace kw::host::schema {

// Field order is declaration order in upstream's enum: serde_yaml writes fields in that order.
const std::vector<VariantSpec>& variants() {
  static const std::vector<VariantSpec> kVariants = {
      {kOciManifestDigest, {{"image", Kind::Str}}},
      {kSigstorePubKeyVerify,
       {{"image", Kind::Str}, {"pub_keys", Kind::StrList}, {"annotations", Kind::OptStrMap}}},
      {kSigstoreKeylessVerify,
       {{"image", Kind::Str}, {"keyless", Kind::Keyless}, {"annotations", Kind::OptStrMap}}},
      {kSigstoreKeylessPrefixVerify,
       {{"image", Kind::Str},
        {"keyless_prefix", Kind::KeylessPrefix},
        {"annotations", Kind::OptStrMap}}},
      {kSigstoreGithubActionsVerify,
       {{"image", Kind::Str},
        {"owner", Kind::Str},
        {"repo", Kind::OptStr},
        {"annotations", Kind::OptStrMap}}},
      {kSigstoreCertificateVerify,
       {{"image", Kind::Str},
        {"certificate", Kind::Bytes},
        {"certificate_chain", Kind::OptBytesList},
        {"require_rekor_bundle", Kind::Bool},
        {"annotations", Kind::OptStrMap}}},
      {kDnsLookupHost, {{"host", Kind::Str}}},
      {kKubernetesListResourceNamespace,
       {{"api_version", Kind::Str},
        {"kind", Kind::Str},
        {"namespace", Kind::Str},
        {"label_selector", Kind::OptStr},
        {"field_selector", Kind::OptStr}}},
      {kKubernetesListResourceAll,
       {{"api_version", Kind::Str},
        {"kind", Kind::Str},
        {"label_selector", Kind::OptStr},
        {"field_selector", Kind::OptStr}}},
      {kKubernetesGetResource,
       {{"api_version", Kind::Str},
        {"kind", Kind::Str},
        {"name", Kind::Str},
        {"namespace", Kind::OptStr},
        {"disable_cache", Kind::Bool}}},
      {kKubernetesGetResourcePluralName, {{"api_version", Kind::Str}, {"kind", Kind::Str}}},
  };
  return kVariants;
}

const VariantSpec* findVariant(std::string_view name) {
  for (const auto& v : variants()) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

bool optional(Kind k) {
  return k == Kind::OptStr || k == Kind::OptStrMap || k == Kind::OptBytesList;
}

}  // namespace kw::host::schema
