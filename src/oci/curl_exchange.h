// The per-request state libcurl's callbacks share, and the callbacks themselves: response
// headers, streamed or collected bodies, uploads from disk, progress, verbose logging with
// credentials redacted, and the extra CAs of sources.yml added to each TLS context.
#pragma once

#include <curl/curl.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "oci/http_transport.h"

namespace kw::oci {
class TlsAuthorities;
}

namespace kw::oci::detail {

struct Exchange {
  const HttpRequest* request = nullptr;
  HttpResponse* response = nullptr;
  const ProgressFn* progress = nullptr;
  FILE* upload = nullptr;
  uint64_t upload_size = 0;
  uint64_t moved = 0;
  long status = 0;  // of the response being received (redirects and 100 Continue included)
  bool sink_failed = false;
  bool body_too_large = false;  // a collected body passed request->max_body
  bool verbose = false;
  const TlsAuthorities* authorities = nullptr;
  std::string host;

  uint64_t total() const;
  void reportProgress(size_t n);
};

// Authorization, cookies and the like become "<redacted>".
std::string redactHeader(const std::string& header);

size_t onHeader(char* data, size_t size, size_t n, void* user);
size_t onBody(char* data, size_t size, size_t n, void* user);
size_t onRead(char* buffer, size_t size, size_t n, void* user);
CURLcode onSslCtx(CURL* handle, void* ssl_ctx, void* user);

}  // namespace kw::oci::detail
