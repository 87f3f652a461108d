// Sends its settings to the host's kubewarden/test/echo capability and reports what came
// back, exercising the whole __host_call / __host_response / __host_error round trip.
#include "wapc_guest.h"

static const char* reply_message(kw_json_doc* doc, const wapc_host_result* r) {
  kw_sb sb;
  kw_sb_init(&sb);
  if (!r->ok) kw_sb_append_cstr(&sb, "host error: ");
  kw_sb_append(&sb, r->data ? r->data : "", r->len);
  const char* msg = sb.oom ? NULL : kw_json_strndup(doc, kw_sb_cstr(&sb), sb.len);
  kw_sb_free(&sb);
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
  wapc_host_result r = {false, NULL, 0};
  if (!payload.oom) {
    wapc_host_call("kubewarden", "test", "echo", payload.data, payload.len, &r);
  }
  kw_sb_free(&payload);
  out->accepted = r.ok;
  out->message = reply_message(doc, &r);
  wapc_host_result_free(&r);
  if (!out->message) {
    out->message = "out of memory";
    return false;
  }
  return true;
}

KW_POLICY(.validate = validate)
