#include "oci/digest.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <fstream>
#include <vector>

namespace kw::oci {

struct Sha256Stream::Ctx {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Sha256Stream::Sha256Stream() : ctx_(std::make_unique<Ctx>()) {
  EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr);
}

Sha256Stream::~Sha256Stream() = default;

void Sha256Stream::update(const void* data, size_t size) {
  EVP_DigestUpdate(ctx_->md, data, size);
}

std::string Sha256Stream::hexDigest() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_->md, out, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(kHex[out[i] >> 4]);
    hex.push_back(kHex[out[i] & 0xf]);
  }
  return hex;
}

Result<std::string> sha256File(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return makeError(fmt::format("cannot read {}", path.string()));
  Sha256Stream hash;
  std::vector<char> buf(1 << 16);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.gcount() > 0) hash.update(buf.data(), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) return makeError(fmt::format("error while reading {}", path.string()));
  return hash.hexDigest();
}

std::string ociDigest(std::string_view bytes) {
  Sha256Stream hash;
  hash.update(bytes.data(), bytes.size());
  return "sha256:" + hash.hexDigest();
}

}  // namespace kw::oci
