#include "sigstore/constraints.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

namespace kw::sigstore {
namespace {

// Every requested annotation must be in the payload's "optional" object with the same
// string value; no request means no check.
bool annotationsMatch(const std::optional<Annotations>& wanted, const SignatureLayer& layer) {
  if (!wanted || wanted->empty()) return true;
  if (!layer.optional.is_object()) return false;
  for (const auto& [key, value] : *wanted) {
    auto it = layer.optional.find(key);
    if (it == layer.optional.end() || !it->is_string() || it->get<std::string>() != value) {
      return false;
    }
  }
  return true;
}

struct GithubRepo {
  std::string owner;
  std::string repo;
};

// Owner and repository from a GitHub Actions workflow identity such as
// https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main.
std::optional<GithubRepo> parseGithubUrl(const std::string& url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return std::nullopt;
  auto host_begin = scheme_end + 3;
  auto path_begin = url.find('/', host_begin);
  if (path_begin == std::string::npos) return std::nullopt;
  std::string host = url.substr(host_begin, path_begin - host_begin);
  if (auto colon = host.find(':'); colon != std::string::npos) host.resize(colon);
  if (host != "github.com") return std::nullopt;
  auto owner_end = url.find('/', path_begin + 1);
  if (owner_end == std::string::npos) return std::nullopt;
  auto repo_end = url.find_first_of("/?#", owner_end + 1);
  GithubRepo r{url.substr(path_begin + 1, owner_end - path_begin - 1),
               url.substr(owner_end + 1, repo_end == std::string::npos ? std::string::npos
                                                                       : repo_end - owner_end - 1)};
  if (r.owner.empty() || r.repo.empty()) return std::nullopt;
  return r;
}

std::string normalizedPrefix(const std::string& prefix) {
  return !prefix.empty() && prefix.back() == '/' ? prefix : prefix + "/";
}

bool layerMatches(const PubKeyConstraint&, EVP_PKEY* key, const SignatureLayer& l) {
  return verifySignature(key, l.payload, l.signature);
}

bool issuerMatches(const IssuerConstraint& c, const SignatureLayer& l) {
  if (!l.identity || l.identity->issuer != c.issuer) return false;
  if (!c.url_prefix) return l.identity->subject == c.subject;
  return l.identity->subject.rfind(normalizedPrefix(c.subject), 0) == 0;
}

bool githubMatches(const GithubConstraint& c, const SignatureLayer& l) {
  if (!l.identity || l.identity->issuer != kGithubActionsIssuer) return false;
  if (l.identity->subject_is_email) return false;
  auto repo = parseGithubUrl(l.identity->subject);
  if (!repo) {
    spdlog::info(
        "sigstore: the certificate subject {} is not a GitHub URL, despite the GitHub "
        "Actions issuer",
        l.identity->subject);
    return false;
  }
  return repo->owner == c.owner && (!c.repo || *c.repo == repo->repo);
}

bool certificateSatisfied(const Constraint& c, const CertificateConstraint& cc,
                          const std::vector<SignatureLayer>& layers) {
  auto certs = parseCertificates(cc.certificate);
  if (!certs.ok()) {
    spdlog::info("sigstore: certificate constraint unusable: {}", certs.error().message);
    return false;
  }
  X509* cert = certs->front().get();
  if (cc.chain) {
    std::vector<Cert> anchors;
    for (const auto& bytes : *cc.chain) {
      auto parsed = parseCertificates(bytes);
      if (!parsed.ok()) {
        spdlog::info("sigstore: certificate chain unusable: {}", parsed.error().message);
        return false;
      }
      anchors.insert(anchors.end(), parsed->begin(), parsed->end());
    }
    if (auto st = verifyChain(cert, {}, anchors, std::nullopt); !st.ok()) {
      spdlog::info("sigstore: {}", st.error().message);
      return false;
    }
  }
  if (!validAt(cert, std::nullopt)) {
    spdlog::info("sigstore: the given certificate is not valid now");
    return false;
  }
  if (auto st = checkCodeSigningUsage(cert); !st.ok()) {
    spdlog::info("sigstore: {}", st.error().message);
    return false;
  }
  Pkey key = certPublicKey(cert);
  for (const auto& l : layers) {
    if (l.integrated_time) {
      // The signature must have been logged while the certificate was valid.
      if (!validAt(cert, l.integrated_time)) continue;
    } else if (cc.require_rekor_bundle) {
      continue;
    }
    if (verifySignature(key.get(), l.payload, l.signature) && annotationsMatch(c.annotations, l)) {
      return true;
    }
  }
  return false;
}

void emitAnnotations(YAML::Emitter& out, const std::optional<Annotations>& a) {
  out << YAML::Key << "annotations" << YAML::Value;
  if (!a) {
    out << YAML::Null;
    return;
  }
  out << YAML::BeginMap;
  for (const auto& [k, v] : *a) out << YAML::Key << k << YAML::Value << v;
  out << YAML::EndMap;
}

}  // namespace

bool satisfied(const Constraint& c, const std::vector<SignatureLayer>& layers) {
  if (const auto* pk = std::get_if<PubKeyConstraint>(&c.what)) {
    auto key = parsePublicKeyPem(pk->key_pem);
    if (!key.ok()) {
      spdlog::info("sigstore: cannot create public key verifier: {}", key.error().message);
      return false;
    }
    for (const auto& l : layers) {
      if (layerMatches(*pk, key->get(), l) && annotationsMatch(c.annotations, l)) return true;
    }
    return false;
  }
  if (const auto* cc = std::get_if<CertificateConstraint>(&c.what)) {
    return certificateSatisfied(c, *cc, layers);
  }
  for (const auto& l : layers) {
    bool identity_ok = false;
    if (const auto* ic = std::get_if<IssuerConstraint>(&c.what))
      identity_ok = issuerMatches(*ic, l);
    if (const auto* gc = std::get_if<GithubConstraint>(&c.what))
      identity_ok = githubMatches(*gc, l);
    if (identity_ok && annotationsMatch(c.annotations, l)) return true;
  }
  return false;
}

std::string describe(const Constraint& c) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  if (const auto* pk = std::get_if<PubKeyConstraint>(&c.what)) {
    out << YAML::Key << "kind" << YAML::Value << "pubKey";
    out << YAML::Key << "owner" << YAML::Value;
    if (pk->owner)
      out << *pk->owner;
    else
      out << YAML::Null;
    out << YAML::Key << "key" << YAML::Value << YAML::Literal << pk->key_pem;
  } else if (const auto* ic = std::get_if<IssuerConstraint>(&c.what)) {
    out << YAML::Key << "kind" << YAML::Value << "genericIssuer";
    out << YAML::Key << "issuer" << YAML::Value << ic->issuer;
    out << YAML::Key << "subject" << YAML::Value << YAML::BeginMap;
    if (ic->url_prefix) {
      out << YAML::Key << "urlPrefix" << YAML::Value << normalizedPrefix(ic->subject);
    } else {
      out << YAML::Key << "equal" << YAML::Value << ic->subject;
    }
    out << YAML::EndMap;
  } else if (const auto* gc = std::get_if<GithubConstraint>(&c.what)) {
    out << YAML::Key << "kind" << YAML::Value << "githubAction";
    out << YAML::Key << "owner" << YAML::Value << gc->owner;
    out << YAML::Key << "repo" << YAML::Value;
    if (gc->repo)
      out << *gc->repo;
    else
      out << YAML::Null;
  } else {
    const auto& cc = std::get<CertificateConstraint>(c.what);
    out << YAML::Key << "kind" << YAML::Value << "certificate";
    out << YAML::Key << "requireRekorBundle" << YAML::Value << cc.require_rekor_bundle;
  }
  emitAnnotations(out, c.annotations);
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

Status evaluate(const VerificationConfig& config, const std::vector<SignatureLayer>& layers) {
  // Configs from files are checked when read; host-call payloads (an empty `pub_keys`, say)
  // reach here directly, so a config that constrains nothing fails here too.
  bool all_empty = !config.all_of || config.all_of->empty();
  bool any_empty = !config.any_of || config.any_of->signatures.empty();
  if (all_empty && any_empty) {
    return makeError("Image verification failed: no signatures to verify");
  }
  if (config.any_of && config.any_of->minimum_matches == 0) {
    return makeError("Image verification failed: anyOf.minimumMatches must be at least 1");
  }
  if (config.all_of) {
    std::string unsatisfied;
    for (const auto& c : *config.all_of) {
      if (!satisfied(c, layers)) unsatisfied += describe(c);
    }
    if (!unsatisfied.empty()) {
      return makeError(
          "Image verification failed: missing signatures\nThe following constraints were not "
          "satisfied:\n" +
          unsatisfied);
    }
  }
  if (config.any_of) {
    std::string unsatisfied;
    uint32_t matches = 0;
    for (const auto& c : config.any_of->signatures) {
      if (satisfied(c, layers)) {
        ++matches;
      } else {
        unsatisfied += describe(c);
      }
    }
    if (matches < config.any_of->minimum_matches) {
      return makeError(fmt::format(
          "Image verification failed: minimum number of signatures not reached: needed {}, got "
          "{}\nThe following constraints were not satisfied:\n{}",
          config.any_of->minimum_matches, matches, unsatisfied));
    }
  }
  return okStatus();
}

}  // namespace kw::sigstore
