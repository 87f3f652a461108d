// The `oci/v1/verify` and `oci/v2/verify` request payloads (policy-sdk
// SigstoreVerificationInputV1/V2) turned into the image to check and the constraints every
// one of which must hold, as upstream's callback handler builds them.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "sigstore/constraints.h"

namespace kw::sigstore {

struct VerificationRequest {
  std::string image;
  std::vector<Constraint> all_of;
  bool certificate = false;  // SigstoreCertificateVerify: upstream words its errors differently
};

// V1 is externally tagged: {"SigstorePubKeyVerify":{…}} or {"SigstoreKeylessVerify":{…}}.
Result<VerificationRequest> parseVerificationInputV1(std::string_view payload);
// V2 is internally tagged: {"type":"SigstorePubKeyVerify", …} and four more variants.
Result<VerificationRequest> parseVerificationInputV2(std::string_view payload);

}  // namespace kw::sigstore
