// Hands the host an out-of-bounds response buffer: the host must bounds-check guest pointers
// and turn this into an error rather than reading outside linear memory.
#include "wapc_guest.h"

static int32_t validate_raw(const uint8_t* payload, size_t len) {
  wapc_import_guest_response((const uint8_t*)(uintptr_t)0xFFFFFF00u, 4096);
  return 1;
}

KW_POLICY(.validate_raw = validate_raw)
