// kubewarden/crypto/v1/is_certificate_trusted with OpenSSL, following upstream's rules: the
// certificate must be inside its validity window (not_before ≤ now; not_after, when the
// request gives one, ≤ the certificate's notAfter); with no chain it is trusted, with a chain
// (intermediates first, root last) it must chain up to that root at the requested time and
// carry the code-signing extended key usage.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace kw::host {

// `payload` is CertificateVerificationRequest JSON; the reply is {"trusted":bool,"reason":str}.
// Errors (bad payload, bad certificate, "Timestamp not_after is not in RFC3339 format") are
// returned unwrapped; the dispatcher adds upstream's "Error when verifying certificate: ".
Result<std::string> isCertificateTrusted(
    std::string_view payload,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace kw::host
