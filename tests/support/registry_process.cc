#include "support/registry_process.h"

#include <fcntl.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "support/server_process.h"
#include "support/test_env.h"
#include "support/test_http.h"

namespace kw::test {
namespace fs = std::filesystem;
namespace {

using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using CertPtr = std::unique_ptr<X509, decltype(&X509_free)>;

fs::path makeTempDir() {
  static int counter = 0;
  fs::path dir = fs::temp_directory_path() /
                 ("kw-registry-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

KeyPtr newKey() {
  return KeyPtr(EVP_EC_gen("P-256"), &EVP_PKEY_free);
}

void addExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A certificate for `cn` signed by `issuer_key` (self-signed when `issuer` is null).
CertPtr makeCert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key, bool ca) {
  CertPtr cert(X509_new(), &X509_free);
  X509_set_version(cert.get(), 2);
  unsigned char serial[8];
  RAND_bytes(serial, sizeof serial);
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 2 * 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509* signer = issuer ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  if (ca) {
    addExt(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    addExt(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    addExt(cert.get(), signer, NID_basic_constraints, "CA:FALSE");
    addExt(cert.get(), signer, NID_ext_key_usage, "serverAuth");
    addExt(cert.get(), signer, NID_subject_alt_name, "IP:127.0.0.1");
  }
  X509_sign(cert.get(), issuer_key, EVP_sha256());
  return cert;
}

std::string certPem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

std::string keyPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

std::string base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

}  // namespace

std::string RegistryProcess::unavailableReason(Mode mode) {
  if (::access(kBinary, X_OK) != 0) {
    return std::string(kBinary) + " is missing (apt-get install docker-registry); skipping";
  }
  if (mode == Mode::BasicAuth && ::access("/usr/bin/htpasswd", X_OK) != 0) {
    return "/usr/bin/htpasswd is missing (apt-get install apache2-utils); skipping";
  }
  return {};
}

RegistryProcess::RegistryProcess(Mode mode) : mode_(mode), dir_(makeTempDir()), port_(freePort()) {
  if (std::string why = unavailableReason(mode); !why.empty()) {
    error_ = why;
    return;
  }
  if (!writeConfig(error_)) return;
  std::string config = (dir_ / "config.yml").string();
  pid_ = spawnLogged({kBinary, "serve", config}, dir_ / "registry.log");
  ready_ = waitReady(20000);
  if (!ready_) error_ = "docker-registry did not answer /v2/ on " + host() + ": " + log();
}

RegistryProcess::~RegistryProcess() {
  stop();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void RegistryProcess::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

std::string RegistryProcess::log() const {
  std::ifstream in(dir_ / "registry.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool RegistryProcess::writeConfig(std::string& why) {
  std::ostringstream yml;
  yml << "version: 0.1\n"
      << "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
      << "storage:\n  filesystem:\n    rootdirectory: " << storageDir().string() << "\n"
      << "  delete:\n    enabled: true\n"
      << "http:\n  addr: 127.0.0.1:" << port_ << "\n  secret: kw-test-secret\n";
  if (mode_ == Mode::Tls) {
    KeyPtr ca_key = newKey();
    KeyPtr server_key = newKey();
    CertPtr ca = makeCert(ca_key.get(), "kubewarden-cpp test CA", nullptr, ca_key.get(), true);
    CertPtr server = makeCert(server_key.get(), "127.0.0.1", ca.get(), ca_key.get(), false);
    ca_pem_ = certPem(ca.get());
    std::ofstream(dir_ / "ca.pem") << ca_pem_;
    std::ofstream(dir_ / "server.pem") << certPem(server.get());
    std::ofstream(dir_ / "server-key.pem") << keyPem(server_key.get());
    yml << "  tls:\n    certificate: " << (dir_ / "server.pem").string()
        << "\n    key: " << (dir_ / "server-key.pem").string() << "\n";
  }
  if (mode_ == Mode::BasicAuth) {
    std::string cmd = std::string("htpasswd -Bbn ") + kUser + " " + kPassword;
    CommandResult res = runCommand(cmd);
    if (res.status != 0 || res.out.find(':') == std::string::npos) {
      why = "htpasswd -Bbn failed: " + res.out;
      return false;
    }
    std::ofstream(dir_ / "htpasswd") << res.out;
    yml << "auth:\n  htpasswd:\n    realm: kw-test\n    path: " << (dir_ / "htpasswd").string()
        << "\n";
    writeDockerConfig(dockerConfigDir(), host(), kUser, kPassword);
  }
  std::ofstream(dir_ / "config.yml") << yml.str();
  return true;
}

bool RegistryProcess::waitReady(int timeout_ms) {
  std::string scheme = mode_ == Mode::Tls ? "https" : "http";
  std::string url = scheme + "://" + host() + "/v2/";
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < end) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    long status = probeStatus(url, 1000);
    if (status == 200 || status == 401) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

oci::Sources RegistryProcess::sources() const {
  oci::Sources s;
  if (mode_ == Mode::Http) s.insecure_sources.insert(host());
  if (mode_ == Mode::Tls) {
    oci::SourceAuthority ca;
    ca.type = oci::SourceAuthority::Type::Data;
    ca.data = ca_pem_;
    s.source_authorities[host()].push_back(ca);
  }
  if (mode_ == Mode::BasicAuth) s.insecure_sources.insert(host());  // htpasswd over plain HTTP
  return s;
}

oci::ClientOptions RegistryProcess::clientOptions() const {
  oci::ClientOptions o;
  o.sources = sources();
  o.docker_config_dir = mode_ == Mode::BasicAuth ? dockerConfigDir() : dir_ / "no-docker-config";
  return o;
}

fs::path RegistryProcess::blobDataPath(const std::string& digest) const {
  std::string hex = digest.substr(digest.find(':') + 1);
  return storageDir() / "docker/registry/v2/blobs/sha256" / hex.substr(0, 2) / hex / "data";
}

void RegistryProcess::writeDockerConfig(const fs::path& dir, const std::string& host,
                                        const std::string& user, const std::string& password) {
  fs::create_directories(dir);
  std::ofstream(dir / "config.json") << "{\"auths\":{\"" << host << "\":{\"auth\":\""
                                     << base64(user + ":" + password) << "\"}}}\n";
}

}  // namespace kw::test
