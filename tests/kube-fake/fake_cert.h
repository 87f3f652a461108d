// Self-signed certificate for the Kubernetes test double, made in memory at start-up.
#pragma once

#include <string>

namespace kw::kube::fake {

struct CertPair {
  std::string cert_pem;  // also the CA clients trust
  std::string key_pem;
};

// EC P-256, valid one day, CN and subjectAltName for 127.0.0.1 and localhost.
CertPair makeSelfSignedCert();

}  // namespace kw::kube::fake
