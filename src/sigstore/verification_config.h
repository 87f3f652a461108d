// The verification config file (spec §1.6, `kwctl verify --verification-config-path`, the
// policy-server's `--verification-path`): apiVersion v1 with allOf and/or anyOf lists of
// pubKey, genericIssuer and githubAction signatures.
#pragma once

#include <filesystem>
#include <string_view>

#include "common/result.h"
#include "sigstore/constraints.h"

namespace kw::sigstore {

// `source` names the file in error messages.
Result<VerificationConfig> parseVerificationConfig(std::string_view yaml, std::string_view source);
Result<VerificationConfig> readVerificationConfig(const std::filesystem::path& path);

}  // namespace kw::sigstore
