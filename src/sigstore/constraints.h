// Verification constraints: what a signature must prove, as in the verification config file
// (spec §1.6) and the `oci/v*/verify` payloads. A constraint is satisfied when at least one
// signature layer satisfies it; with several constraints upstream requires all of them
// (allOf) or a minimum number (anyOf).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/result.h"
#include "sigstore/signature_layer.h"

namespace kw::sigstore {

using Annotations = std::map<std::string, std::string>;

struct PubKeyConstraint {
  std::string key_pem;
  std::optional<std::string> owner;  // informational, as upstream
};
struct IssuerConstraint {
  std::string issuer;
  std::string subject;      // exact subject, or a URL prefix when `url_prefix`
  bool url_prefix = false;  // the prefix is post-fixed with "/" when missing
};
struct GithubConstraint {
  std::string owner;
  std::optional<std::string> repo;
};
struct CertificateConstraint {
  std::string certificate;                        // PEM or DER
  std::optional<std::vector<std::string>> chain;  // PEM or DER each; none = cert trusted as is
  bool require_rekor_bundle = false;
};

struct Constraint {
  std::variant<PubKeyConstraint, IssuerConstraint, GithubConstraint, CertificateConstraint> what;
  std::optional<Annotations> annotations;
};

struct AnyOf {
  uint32_t minimum_matches = 1;
  std::vector<Constraint> signatures;
};
struct VerificationConfig {
  std::optional<std::vector<Constraint>> all_of;
  std::optional<AnyOf> any_of;
};

inline constexpr const char* kGithubActionsIssuer = "https://token.actions.githubusercontent.com";

// Whether any layer satisfies `c`. Unusable constraints (a key that does not parse) are
// unsatisfied, with the reason logged.
bool satisfied(const Constraint& c, const std::vector<SignatureLayer>& layers);

// Upstream's allOf/anyOf evaluation; the error text lists the unsatisfied constraints.
Status evaluate(const VerificationConfig& config, const std::vector<SignatureLayer>& layers);

// The constraint as upstream prints it in errors (YAML of the config entry).
std::string describe(const Constraint& c);

}  // namespace kw::sigstore
