// Hands `host`.`call` a binding that lies outside linear memory. The host must end the run
// with an error instead of reading out of bounds.
#include <stdint.h>

#include "wasi_guest.h"

int main(void) {
  const uint8_t* outside = (const uint8_t*)(uintptr_t)0xfffffff0u;
  kw_wasi_import_host_call(outside, 64, (const uint8_t*)"test", 4, (const uint8_t*)"echo", 4,
                           (const uint8_t*)"{}", 2);
  return 0;
}
