// Never returns from validate: exercises the host's execution deadline / epoch interruption.
#include "wapc_guest.h"

// volatile forces a load per iteration, so the optimizer cannot prove the loop infinite
// (and therefore UB-removable) nor hoist the check.
static volatile int g_spin = 1;

static int32_t validate_raw(const uint8_t* payload, size_t len) {
  while (g_spin) {
  }
  wapc_respond_cstr("{\"accepted\":true}");
  return 1;
}

KW_POLICY(.validate_raw = validate_raw)
