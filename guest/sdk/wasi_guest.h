// Kubewarden WASI guest SDK (C11, wasm32-wasi command modules) on top of wasi-libc.
//
// A WASI policy is an ordinary program: the host runs `_start` with argv
// ["policy.wasm", "validate"] and stdin {"request": ..., "settings": ...}, or argv
// ["policy.wasm", "validate-settings"] and the settings document on stdin, and reads the
// ValidationResponse / SettingsValidationResponse JSON from stdout. Exit code 0 means the reply
// is valid; anything else is an evaluation failure whose stderr the host reports.
//
//   static bool validate(kw_json_doc* doc, const kw_json* request, const kw_json* settings,
//                        kw_validation* out) {
//     out->accepted = true;
//     return true;
//   }
//   KW_WASI_POLICY(.validate = validate)
//
// KW_WASI_POLICY defines main(), which dispatches on argv[1], parses stdin with json.h and
// writes the reply built from the same kw_validation types the waPC SDK uses.
#ifndef KW_GUEST_WASI_GUEST_H_
#define KW_GUEST_WASI_GUEST_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "kw_response.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---------------------------------------------------------------------------------------------
// Host capabilities
// ---------------------------------------------------------------------------------------------

// Kubewarden's WASI host-call import: returns 0 on success and 1 on failure. The reply (or the
// error text) is not returned in memory: the host appends it to this program's stdin.
__attribute__((import_module("host"), import_name("call")))
int32_t kw_wasi_import_host_call(const uint8_t* bd_ptr, size_t bd_len, const uint8_t* ns_ptr,
                                 size_t ns_len, const uint8_t* op_ptr, size_t op_len,
                                 const uint8_t* payload_ptr, size_t payload_len);

// Result of a host call: `data` (malloc'd, NUL-terminated) holds the reply when `ok`, the host's
// error string otherwise.
typedef struct kw_host_result {
  bool ok;
  char* data;
  size_t len;
} kw_host_result;

// Calls the host and collects what it appended to stdin. Returns out->ok. Release the result
// with kw_host_result_free(). Call it only after stdin has been read to its end (the SDK does
// that before running the policy's callbacks), or the reply would mix with the input.
bool kw_host_call(const char* binding, const char* ns, const char* op, const void* payload,
                  size_t len, kw_host_result* out);
void kw_host_result_free(kw_host_result* r);

// ---------------------------------------------------------------------------------------------
// Program entry
// ---------------------------------------------------------------------------------------------

// Exit codes of kw_wasi_main.
enum {
  KW_WASI_EXIT_OK = 0,
  KW_WASI_EXIT_FAILURE = 1,  // the input could not be handled; the reason is on stderr
  KW_WASI_EXIT_USAGE = 2,    // missing or unknown action in argv[1]
};

typedef struct kw_wasi_policy {
  kw_validate_fn validate;
  // Optional: settings are accepted unconditionally without it.
  kw_validate_settings_fn validate_settings;
} kw_wasi_policy;

// Reads the rest of stdin into `sb` (NUL-terminated); false on a read error or no memory.
bool kw_wasi_read_stdin(kw_sb* sb);

// Runs the action named by argv[1] and returns the process exit code.
int kw_wasi_main(const kw_wasi_policy* policy, int argc, char** argv);

#define KW_WASI_POLICY(...)                                                 \
  int main(int argc, char** argv) {                                         \
    static const kw_wasi_policy kw_wasi_policy_definition_ = {__VA_ARGS__}; \
    return kw_wasi_main(&kw_wasi_policy_definition_, argc, argv);           \
  }

#ifdef __cplusplus
}
#endif

#endif  // KW_GUEST_WASI_GUEST_H_
