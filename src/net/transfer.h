// The per-request state libcurl's callbacks share, and the callbacks themselves: response
// headers, streamed or collected bodies, uploads from disk, progress, verbose logging with
// credentials redacted, and extra certificate authorities added to each TLS context.
#pragma once

#include <curl/curl.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "net/http_client.h"

namespace kw::net::detail {

struct Transfer {
  const Request* request = nullptr;
  Response* response = nullptr;
  FILE* upload = nullptr;
  uint64_t upload_size = 0;
  uint64_t moved = 0;
  bool stopped = false;    // the sink said stop
  bool too_large = false;  // a collected body passed request->max_body

  uint64_t total() const;
  void reportProgress(size_t n);
};

// Authorization, cookies and the like become "<redacted>".
std::string redactHeader(const std::string& header);

size_t onHeader(char* data, size_t size, size_t n, void* user);
size_t onBody(char* data, size_t size, size_t n, void* user);
size_t onRead(char* buffer, size_t size, size_t n, void* user);
CURLcode onSslCtx(CURL* handle, void* ssl_ctx, void* user);

}  // namespace kw::net::detail
