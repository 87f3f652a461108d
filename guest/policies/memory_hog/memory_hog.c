// Grows linear memory 1 MiB at a time until the host refuses, touching every page so lazy
// hosts really commit it. Exercises the host's memory limit.
#include <string.h>

#include "wapc_guest.h"

enum { kWasmPage = 64 * 1024, kPagesPerStep = 16, kTouchStride = 4096 };

static void touch(uint32_t first_page, uint32_t pages) {
  volatile uint8_t* base = (volatile uint8_t*)((uintptr_t)first_page * kWasmPage);
  for (size_t off = 0; off < (size_t)pages * kWasmPage; off += kTouchStride) base[off] = 1;
}

static size_t append_u32(char* out, uint32_t v) {
  char tmp[10];
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
  return n;
}

static int32_t validate_raw(const uint8_t* payload, size_t len) {
  uint32_t mib = 0;
  for (;;) {
    int32_t old = (int32_t)__builtin_wasm_memory_grow(0, kPagesPerStep);
    if (old < 0) break;
    touch((uint32_t)old, kPagesPerStep);
    mib++;
  }
  // The heap is exhausted by now, so build the reply in static storage instead of malloc.
  static char reply[96];
  static const char kHead[] =
      "{\"accepted\":false,\"message\":\"memory_hog: memory.grow refused after ";
  static const char kTail[] = " MiB\"}";
  size_t n = sizeof(kHead) - 1;
  memcpy(reply, kHead, n);
  n += append_u32(reply + n, mib);
  memcpy(reply + n, kTail, sizeof(kTail) - 1);
  n += sizeof(kTail) - 1;
  wapc_respond(reply, n);
  return 1;
}

KW_POLICY(.validate_raw = validate_raw)
