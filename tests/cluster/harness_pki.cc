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

// A leaf certificate signed by the CA, with the given extensions.
bool issue(Step& step, const Pki& pki, const std::string& name, const std::string& subject,
           const std::string& extensions, fs::path& cert, fs::path& key) {
  cert = pki.dir / (name + ".crt");
  key = pki.dir / (name + ".key");
  fs::path csr = pki.dir / (name + ".csr"), ext = pki.dir / (name + ".ext");
  std::ofstream(ext) << extensions;
  std::vector<std::string> req = {"req", "-new"};
  req.insert(req.end(), kNewKey.begin(), kNewKey.end());
  req.insert(req.end(), {"-keyout", key.string(), "-out", csr.string(), "-subj", subject});
  return step.run(name + " key and request", req) &&
         step.run(name + " certificate",
                  {"x509", "-req", "-in", csr.string(), "-CA", pki.ca_cert.string(), "-CAkey",
                   pki.ca_key.string(), "-CAcreateserial", "-days", "30", "-extfile", ext.string(),
                   "-out", cert.string()});
}

}  // namespace

bool makePki(const fs::path& dir, Pki& pki, std::string& error) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  if (ec) {
    error = "cannot create " + dir.string() + ": " + ec.message();
    return false;
  }
  pki.dir = dir;
  fs::path log = dir / "openssl.log";
  Step step{log, error};

  pki.ca_cert = dir / "ca.crt";
  pki.ca_key = dir / "ca.key";
  std::vector<std::string> ca = {"req", "-x509"};
  ca.insert(ca.end(), kNewKey.begin(), kNewKey.end());
  ca.insert(ca.end(), {"-keyout", pki.ca_key.string(), "-out", pki.ca_cert.string(), "-days", "30",
                       "-subj", "/CN=kubewarden-cpp test CA"});
  if (!step.run("CA", ca)) return false;

  if (!issue(step, pki, "apiserver", "/CN=kube-apiserver",
             "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
             pki.serving_cert, pki.serving_key))
    return false;
  if (!issue(step, pki, "admin", "/O=system:masters/CN=kubewarden-cpp-admin",
             "extendedKeyUsage=clientAuth\n", pki.admin_cert, pki.admin_key))
    return false;

  // RSA as kubeadm makes it: RS256 is the one algorithm every token verifier accepts.
  pki.sa_key = dir / "sa.key";
  pki.sa_pub = dir / "sa.pub";
  return step.run("service-account key", {"genpkey", "-algorithm", "RSA", "-pkeyopt",
                                          "rsa_keygen_bits:2048", "-out", pki.sa_key.string()}) &&
         step.run("service-account public key",
                  {"pkey", "-in", pki.sa_key.string(), "-pubout", "-out", pki.sa_pub.string()});
}

}  // namespace kw::cluster
