// Executes `unreachable` during validate: the host must report a trap, not crash.
#include "wapc_guest.h"

static int32_t validate_raw(const uint8_t* payload, size_t len) {
  __builtin_trap();
}

KW_POLICY(.validate_raw = validate_raw)
