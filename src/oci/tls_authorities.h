// Extra certificate authorities from sources.yml `source_authorities`, loaded once per host and
// trusted beside the system roots on every connection to that host.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "common/result.h"
#include "net/ca_certificates.h"
#include "oci/sources.h"

namespace kw::oci {

class TlsAuthorities {
 public:
  explicit TlsAuthorities(const Sources& sources);

  // The host's authorities; null when sources.yml names none.
  std::shared_ptr<const net::CaCertificates> forHost(const std::string& host) const;
  // An error when one of the host's authorities could not be loaded; requests to it fail.
  Status status(const std::string& host) const;

 private:
  std::map<std::string, std::shared_ptr<net::CaCertificates>> certs_;
  std::map<std::string, std::string> errors_;
};

}  // namespace kw::oci
