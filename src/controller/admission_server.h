// The controller's HTTPS webhook server for its own CRDs (spec §4.1): serves the six paths of
// crd_admission.h (/mutate-policies-kubewarden-io-v1-policyserver, ...) over TLS with the
// shared HTTP(S) server (http/http_server.h). The API server reaches it through the
// Validating/MutatingWebhookConfigurations of crd_webhooks.h.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "controller/crd_admission.h"

namespace kw::kube {
class Client;
}

namespace kw::controller {

struct AdmissionServerOptions {
  std::string address = "0.0.0.0";
  uint16_t port = 9443;             // 0: any free port, see AdmissionServer::port()
  std::string cert_file, key_file;  // PEM, required (the API server only calls HTTPS)
  unsigned threads = 2;             // imagePullSecret lookups block a thread on the API server
};

// controller-runtime's layout, which upstream's chart mounts: <dir>/tls.crt and <dir>/tls.key
// (default dir /tmp/k8s-webhook-server/serving-certs).
AdmissionServerOptions admissionServerOptionsFromCertDir(const std::string& cert_dir,
                                                         uint16_t port = 9443);

class AdmissionServer {
 public:
  // `context.secret_type` answers imagePullSecret lookups (kubeSecretTypeLookup below, or a
  // cache); without it a PolicyServer with an imagePullSecret is refused.
  AdmissionServer(AdmissionServerOptions options, CrdAdmissionContext context);
  ~AdmissionServer();  // stops
  AdmissionServer(const AdmissionServer&) = delete;
  AdmissionServer& operator=(const AdmissionServer&) = delete;

  // Loads the certificate, binds and serves on background threads; errors are readable text.
  Status start();
  uint16_t port() const;  // the bound port, after start()
  // Finishes in-flight requests, then returns; idempotent.
  void stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Reads Secrets through the API (GET /api/v1/namespaces/<ns>/secrets/<name>): their type,
// nullopt on 404, an Error with the API's reason otherwise.
SecretTypeLookup kubeSecretTypeLookup(std::shared_ptr<kube::Client> client);

}  // namespace kw::controller
