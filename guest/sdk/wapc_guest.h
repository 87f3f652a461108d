// waPC guest runtime plus the Kubewarden policy layer on top of it (C11, wasm32-wasi).
//
// A policy defines its callbacks and registers them with KW_POLICY(...):
//
//   static bool validate(kw_json_doc* doc, const kw_json* request, const kw_json* settings,
//                        kw_validation* out) {
//     out->accepted = true;
//     return true;
//   }
//   KW_POLICY(.validate = validate)
//
// The SDK owns the `__guest_call` export, reads the operation and payload, answers
// `protocol_version` itself, parses the validate payload, and serializes the reply.
#ifndef KW_GUEST_WAPC_GUEST_H_
#define KW_GUEST_WAPC_GUEST_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "kw_response.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---------------------------------------------------------------------------------------------
// Raw waPC protocol
// ---------------------------------------------------------------------------------------------

#define WAPC_IMPORT(name) __attribute__((import_module("wapc"), import_name(name)))

WAPC_IMPORT("__guest_request") void wapc_import_guest_request(uint8_t* op_ptr, uint8_t* ptr);
WAPC_IMPORT("__guest_response") void wapc_import_guest_response(const uint8_t* ptr, size_t len);
WAPC_IMPORT("__guest_error") void wapc_import_guest_error(const uint8_t* ptr, size_t len);
WAPC_IMPORT("__host_call")
int32_t wapc_import_host_call(const uint8_t* bd_ptr, size_t bd_len, const uint8_t* ns_ptr,
                              size_t ns_len, const uint8_t* op_ptr, size_t op_len,
                              const uint8_t* ptr, size_t len);
WAPC_IMPORT("__host_response_len") size_t wapc_import_host_response_len(void);
WAPC_IMPORT("__host_response") void wapc_import_host_response(uint8_t* ptr);
WAPC_IMPORT("__host_error_len") size_t wapc_import_host_error_len(void);
WAPC_IMPORT("__host_error") void wapc_import_host_error(uint8_t* ptr);
WAPC_IMPORT("__console_log") void wapc_import_console_log(const uint8_t* ptr, size_t len);

// Handler for one waPC operation: return 1 after wapc_respond(), 0 after wapc_fail().
typedef int32_t (*wapc_handler)(const uint8_t* payload, size_t len);

// Registers (or replaces) the handler for `op`. `op` must stay valid (use a literal).
bool wapc_register_function(const char* op, wapc_handler fn);

void wapc_respond(const void* data, size_t len);
void wapc_respond_cstr(const char* s);
void wapc_fail(const char* msg, size_t len);
void wapc_fail_cstr(const char* msg);
void wapc_console_log(const char* msg, size_t len);

// Result of a host call: `data` (malloc'd, NUL-terminated) holds the response when `ok`, the
// host's error string otherwise.
typedef struct wapc_host_result {
  bool ok;
  char* data;
  size_t len;
} wapc_host_result;

// Returns out->ok. Release the result with wapc_host_result_free().
bool wapc_host_call(const char* binding, const char* ns, const char* op, const void* payload,
                    size_t len, wapc_host_result* out);
void wapc_host_result_free(wapc_host_result* r);

// Defined by the guest (KW_POLICY does it): registers the guest's operations. The SDK calls it
// once, lazily, so the module works whether or not the host calls `wapc_init`/`_initialize`.
void wapc_guest_init(void);

// ---------------------------------------------------------------------------------------------
// Kubewarden policy layer
// ---------------------------------------------------------------------------------------------

// kw_validation, kw_settings_validation and the callback types come from kw_response.h.
typedef struct kw_policy {
  kw_validate_fn validate;
  // Alternative to `validate` for policies that never look at the payload (it wins if both
  // are set): it receives the raw bytes and must respond itself (wapc_respond/wapc_fail).
  wapc_handler validate_raw;
  // Optional: settings are accepted unconditionally without it.
  kw_validate_settings_fn validate_settings;
} kw_policy;

// Registers validate, validate_settings and protocol_version. `policy` must outlive the module.
void kw_register_policy(const kw_policy* policy);

#define KW_POLICY(...)                                            \
  void wapc_guest_init(void) {                                    \
    static const kw_policy kw_policy_definition_ = {__VA_ARGS__}; \
    kw_register_policy(&kw_policy_definition_);                   \
  }

// Serializes and sends a validation reply; returns 1, or 0 if it had to report an error.
int32_t kw_respond_validation(const kw_validation* v);
int32_t kw_respond_settings(const kw_settings_validation* v);

// Logs through the Kubewarden tracing host capability; `level` is e.g. "info" or "warning".
void kw_log(const char* level, const char* msg);

#ifdef __cplusplus
}
#endif

#endif  // KW_GUEST_WAPC_GUEST_H_
