#include "cluster/harness_pki.h"

#include <fstream>
#include <vector>

#include "cluster/harness_process.h"

namespace kw::cluster {
namespace fs = std::filesystem;
namespace {

// P-256 keys: generated in milliseconds, and accepted by Go's TLS, libcurl and OpenSSL alike.
const std::vector<std::string> kNewKey = {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                          "-nodes"};

struct Step {
  const fs::path& log;
  std::string& error;
  bool run(const std::string& what, std::vector<std::string> args) {
    args.insert(args.begin(), "openssl");
    int status = runLogged(args, log);
    if (status == 0) return true;
    error = "openssl failed (" + what + ", exit " + std::to_string(status) + "):\n" + tailOf(log);
    return false;
  }
};

// A fresh folder for one set of credentials; false (with `error`) if it can't be made.
bool freshDir(const fs::path& dir, std::string& error) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  if (ec) error = "cannot create " + dir.string() + ": " + ec.message();
  return !ec;
}

// A self-signed CA: dir/ca.crt and dir/ca.key.
bool makeCa(Step& step, const fs::path& dir, const std::string& common_name, fs::path& cert,
            fs::path& key) {
  cert = dir / "ca.crt";
  key = dir / "ca.key";
  std::vector<std::string> ca = {"req", "-x509"};
  ca.insert(ca.end(), kNewKey.begin(), kNewKey.end());
  ca.insert(ca.end(), {"-keyout", key.string(), "-out", cert.string(), "-days", "30", "-subj",
                       "/CN=" + common_name});
  return step.run("CA", ca);
}

// A leaf certificate signed by the CA in `dir`, with the given extensions.
bool issue(Step& step, const fs::path& dir, const fs::path& ca_cert, const fs::path& ca_key,
           const std::string& name, const std::string& subject, const std::string& extensions,
           fs::path& cert, fs::path& key) {
  cert = dir / (name + ".crt");
  key = dir / (name + ".key");
  fs::path csr = dir / (name + ".csr"), ext = dir / (name + ".ext");
  std::ofstream(ext) << extensions;
  std::vector<std::string> req = {"req", "-new"};
  req.insert(req.end(), kNewKey.begin(), kNewKey.end());
  req.insert(req.end(), {"-keyout", key.string(), "-out", csr.string(), "-subj", subject});
  return step.run(name + " key and request", req) &&
         step.run(name + " certificate",
                  {"x509", "-req", "-in", csr.string(), "-CA", ca_cert.string(), "-CAkey",
                   ca_key.string(), "-CAcreateserial", "-days", "30", "-extfile", ext.string(),
                   "-out", cert.string()});
}

}  // namespace

bool makePki(const fs::path& dir, Pki& pki, std::string& error) {
  if (!freshDir(dir, error)) return false;
  pki.dir = dir;
  fs::path log = dir / "openssl.log";
  Step step{log, error};
  if (!makeCa(step, dir, "kubewarden-cpp test CA", pki.ca_cert, pki.ca_key)) return false;

  if (!issue(step, dir, pki.ca_cert, pki.ca_key, "apiserver", "/CN=kube-apiserver",
             "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
             pki.serving_cert, pki.serving_key))
    return false;
  if (!issue(step, dir, pki.ca_cert, pki.ca_key, "admin",
             "/O=system:masters/CN=kubewarden-cpp-admin", "extendedKeyUsage=clientAuth\n",
             pki.admin_cert, pki.admin_key))
    return false;
  // With --use-service-account-credentials=false every controller acts as this one identity;
  // the bootstrap role system:kube-controller-manager only covers the manager's own needs (not,
  // say, the deployment controller's writes), so it is a master like the admin.
  if (!issue(step, dir, pki.ca_cert, pki.ca_key, "controller-manager",
             "/O=system:masters/CN=system:kube-controller-manager", "extendedKeyUsage=clientAuth\n",
             pki.kcm_cert, pki.kcm_key))
    return false;

  // RSA as kubeadm makes it: RS256 is the one algorithm every token verifier accepts.
  pki.sa_key = dir / "sa.key";
  pki.sa_pub = dir / "sa.pub";
  return step.run("service-account key", {"genpkey", "-algorithm", "RSA", "-pkeyopt",
                                          "rsa_keygen_bits:2048", "-out", pki.sa_key.string()}) &&
         step.run("service-account public key",
                  {"pkey", "-in", pki.sa_key.string(), "-pubout", "-out", pki.sa_pub.string()});
}

bool makeServingPki(const fs::path& dir, const std::vector<std::string>& dns_names, ServingPki& pki,
                    std::string& error) {
  if (!freshDir(dir, error)) return false;
  pki.dir = dir;
  fs::path log = dir / "openssl.log";
  Step step{log, error};
  if (!makeCa(step, dir, "kubewarden-cpp webhook CA", pki.ca_cert, pki.ca_key)) return false;
  std::string san = "subjectAltName=IP:127.0.0.1";
  for (const auto& name : dns_names) san += ",DNS:" + name;
  return issue(step, dir, pki.ca_cert, pki.ca_key, "serving", "/CN=kubewarden-cpp policy-server",
               san + "\nextendedKeyUsage=serverAuth\n", pki.cert, pki.key);
}

}  // namespace kw::cluster
