// Sends its settings to the host's kubewarden/test/echo capability through `host`.`call` and
// reports what came back on stdin: the whole WASI host-call round trip in one policy.
#include "wasi_guest.h"

#include <string.h>

static const char* describe(kw_json_doc* doc, const kw_host_result* r) {
  const char* prefix = r->ok ? "" : "host error: ";
  size_t prefix_len = strlen(prefix);
  size_t len = r->data ? r->len : 0;
  char* msg = kw_json_alloc(doc, prefix_len + len + 1);
  if (!msg) return NULL;
  memcpy(msg, prefix, prefix_len);
  if (len) memcpy(msg + prefix_len, r->data, len);
  msg[prefix_len + len] = '\0';
  return msg;
}

static bool validate(kw_json_doc* doc, const kw_json* request, const kw_json* settings,
                     kw_validation* out) {
  kw_sb payload;
  kw_sb_init(&payload);
  if (settings) {
    kw_json_write(&payload, settings);
  } else {
    kw_sb_append_cstr(&payload, "{}");
  }
  kw_host_result r = {false, NULL, 0};
  if (!payload.oom) kw_host_call("kubewarden", "test", "echo", payload.data, payload.len, &r);
  kw_sb_free(&payload);
  out->accepted = r.ok;
  out->message = describe(doc, &r);
  kw_host_result_free(&r);
  if (!out->message) {
    out->message = "out of memory";
    return false;
  }
  return true;
}

KW_WASI_POLICY(.validate = validate)
