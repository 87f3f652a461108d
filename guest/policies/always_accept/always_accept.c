// Accepts everything without parsing, so server benchmarks measure the host, not the guest.
#include "wapc_guest.h"

static int32_t validate_raw(const uint8_t* payload, size_t len) {
  static const char kReply[] = "{\"accepted\":true}";
  wapc_respond(kReply, sizeof(kReply) - 1);
  return 1;
}

KW_POLICY(.validate_raw = validate_raw)
