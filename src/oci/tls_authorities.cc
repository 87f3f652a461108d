#include "oci/tls_authorities.h"

#include <fmt/format.h>

#include "common/file_read.h"

namespace kw::oci {
namespace {

Status load(const SourceAuthority& authority, net::CaCertificates& out) {
  if (authority.type == SourceAuthority::Type::Data) return out.add(authority.data);
  auto read = readFileBounded(authority.path);
  if (!read) return read.error();
  return out.add(*read);
}

}  // namespace

TlsAuthorities::TlsAuthorities(const Sources& sources) {
  for (const auto& [host, authorities] : sources.source_authorities) {
    auto certs = std::make_shared<net::CaCertificates>();
    for (const auto& authority : authorities) {
      Status st = load(authority, *certs);
      if (!st) {
        std::string what = authority.type == SourceAuthority::Type::Path
                               ? authority.path
                               : std::string("inline data");
        errors_[host] = fmt::format("cannot load the certificate authority ({}) for {}: {}", what,
                                    host, st.error().message);
      }
    }
    certs_[host] = std::move(certs);
  }
}

std::shared_ptr<const net::CaCertificates> TlsAuthorities::forHost(const std::string& host) const {
  auto it = certs_.find(host);
  return it == certs_.end() ? nullptr : it->second;
}

Status TlsAuthorities::status(const std::string& host) const {
  auto it = errors_.find(host);
  if (it != errors_.end()) return makeError(it->second);
  return okStatus();
}

}  // namespace kw::oci
