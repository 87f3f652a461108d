// Kubewarden's guest reply types and their JSON form, shared by both guest flavours: the waPC
// SDK (wapc_guest.h) sends these documents through __guest_response, the WASI SDK
// (wasi_guest.h) writes them to stdout. Keeping one definition means a policy's callbacks
// read the same in both flavours and the wire format cannot drift between them.
#ifndef KW_GUEST_KW_RESPONSE_H_
#define KW_GUEST_KW_RESPONSE_H_

#include <stdbool.h>
#include <stdint.h>

#include "json.h"

#ifdef __cplusplus
extern "C" {
#endif

// Reply to `validate`. Strings must stay valid until the callback returns to the SDK, so
// allocate dynamic ones in `doc` (kw_json_strndup) rather than on the stack.
typedef struct kw_validation {
  bool accepted;
  const char* message;            // Optional, NUL-terminated.
  int32_t code;                   // Optional; 0 leaves it out.
  const kw_json* mutated_object;  // Optional; set to mutate (usually a node of `doc`).
} kw_validation;

typedef struct kw_settings_validation {
  bool valid;
  const char* message;  // Optional, NUL-terminated.
} kw_settings_validation;

// Parsed validation. `request` is payload.request, `settings` is payload.settings (NULL when
// absent). Returning false reports out->message as a failure instead of a reply (a waPC error,
// or stderr plus a non-zero exit code for WASI).
typedef bool (*kw_validate_fn)(kw_json_doc* doc, const kw_json* request, const kw_json* settings,
                               kw_validation* out);
// `settings` is the parsed payload (NULL for an empty one). Same false semantics as above.
typedef bool (*kw_validate_settings_fn)(kw_json_doc* doc, const kw_json* settings,
                                        kw_settings_validation* out);

// Appends {"accepted":..,"message":..,"code":..,"mutated_object":..} (absent fields left out).
void kw_write_validation(kw_sb* sb, const kw_validation* v);
// Appends {"valid":..,"message":..}.
void kw_write_settings_validation(kw_sb* sb, const kw_settings_validation* v);

#ifdef __cplusplus
}
#endif

#endif  // KW_GUEST_KW_RESPONSE_H_
