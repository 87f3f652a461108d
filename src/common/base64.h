// Standard base64 (RFC 4648 alphabet with '+' and '/'), shared by every place that carries bytes
// as text: registry Basic auth, docker config.json, kubeconfig *-data, cosign signatures,
// AdmissionResponse patches.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace kw {

// Padded with '=' to a multiple of four characters; no line breaks.
std::string base64Encode(std::string_view bytes);

// Padding is optional and whitespace (space, tab, CR, LF) is skipped, because kubeconfigs and
// hand-written files wrap long values. Any other non-alphabet character is an error naming it.
Result<std::string> base64Decode(std::string_view text);

}  // namespace kw
