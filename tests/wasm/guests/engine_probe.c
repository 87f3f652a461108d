// A guest that exercises the engine interface directly: typed host calls (i32 and i64),
// traps, memory growth against the cap, deep recursion and an endless loop.
#include <stdint.h>

#define EXPORT(name) __attribute__((export_name(name)))
#define IMPORT(name) __attribute__((import_module("env"), import_name(name)))

IMPORT("host_i64") int64_t host_i64(int64_t x);
IMPORT("host_fail") void host_fail(void);
IMPORT("host_f64") double host_f64(double x);

EXPORT("add") int32_t add(int32_t a, int32_t b) { return a + b; }
EXPORT("add64") int64_t add64(int64_t a, int64_t b) { return a + b; }
EXPORT("call_host") int64_t call_host(int64_t x) { return host_i64(x) + 1; }
EXPORT("call_host_f64") double call_host_f64(double x) { return host_f64(x) * 2; }
EXPORT("call_fail") int32_t call_fail(void) {
  host_fail();
  return 7;  // never reached: the host ends the call
}
EXPORT("grow") int32_t grow(int32_t pages) { return __builtin_wasm_memory_grow(0, pages); }
EXPORT("pages") int32_t pages(void) { return __builtin_wasm_memory_size(0); }
EXPORT("trap") void trap(void) { __builtin_trap(); }
EXPORT("read_at") int32_t read_at(uint32_t ptr) { return *(volatile int32_t*)(uintptr_t)ptr; }

static int32_t counter;
EXPORT("bump") int32_t bump(void) { return ++counter; }

EXPORT("recurse") int32_t recurse(int32_t n) {
  volatile int32_t pad[16];
  pad[0] = n;
  return n <= 0 ? 0 : recurse(n - 1) + pad[0];
}

EXPORT("spin") void spin(void) {
  volatile int32_t forever = 1;
  while (forever) {
  }
}
