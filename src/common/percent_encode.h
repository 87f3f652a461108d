// Percent-encoding of a URL query value (RFC 3986): unreserved characters stay, every other
// byte becomes %XX. Used for Kubernetes API list parameters and registry token scopes.
#pragma once

#include <string>
#include <string_view>

namespace kw {

std::string percentEncode(std::string_view s);

}  // namespace kw
