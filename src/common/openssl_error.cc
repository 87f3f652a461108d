#include "common/openssl_error.h"

#include <openssl/err.h>

namespace kw {

std::string lastOpensslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

}  // namespace kw
